"""GraphiQL and introspection in production: off by default; staff (analysts) may still introspect, and the
standard introspection query that GraphiQL and schema tools send passes for them."""

import json

from graphql import get_introspection_query

from acikkapi.settings import Settings
from tests.helpers import AKS_ANKARA, AYSE, YETKILI_ANKARA, sign_in_to_apply, staff_sign_in

GRAPHQL_RESPONSE = "application/graphql-response+json"
STANDARD = get_introspection_query(descriptions=True)


async def run(world, document: str, token: str | None = None):
    headers = {"Content-Type": "application/json", "Accept": GRAPHQL_RESPONSE, "X-Forwarded-For": world.new_address()}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return await world.http.post("/graphql", content=json.dumps({"query": document}), headers=headers)


def assert_introspection_refused(response) -> None:
    assert response.status_code == 400, response.text[:500]
    body = response.json()
    assert "data" not in body, body
    assert {error["extensions"]["code"] for error in body["errors"]} == {"INTROSPECTION_NOT_ALLOWED"}, body
    assert "personel" in body["errors"][0]["message"]


def assert_standard_introspection_ran(response) -> None:
    assert response.status_code == 200, response.text[:500]
    body = response.json()
    assert "errors" not in body, body["errors"]
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


def test_graphiql_is_off_unless_configured():
    assert Settings().graphiql is False


async def test_the_graphiql_page_is_not_served(world):
    response = await world.http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert "<script" not in response.text


async def test_an_anonymous_client_may_not_introspect(world):
    assert_introspection_refused(await run(world, STANDARD))
    assert_introspection_refused(await run(world, '{ __type(name: "Query") { name } }'))
    assert_introspection_refused(await run(world, "query { ...F } fragment F on Query { __schema { types { name } } }"))


async def test_typename_is_not_introspection(world):
    response = await run(world, "{ __typename }")
    assert response.status_code == 200 and response.json() == {"data": {"__typename": "Query"}}


async def test_an_applicant_may_not_introspect(world):
    token = await sign_in_to_apply(world, AYSE, "5320000801")
    assert_introspection_refused(await run(world, STANDARD, token))


async def test_staff_may_run_the_standard_introspection_query(world):
    for staff in (AKS_ANKARA, YETKILI_ANKARA):
        assert_standard_introspection_ran(await run(world, STANDARD, await staff_sign_in(world, staff)))


async def test_staff_are_still_held_to_the_introspection_depth(world):
    token = await staff_sign_in(world, AKS_ANKARA)
    inner = "name"
    for _ in range(12):
        inner = f"fields {{ type {{ {inner} }} }}"
    response = await run(world, f"{{ __schema {{ types {{ {inner} }} }} }}", token)
    assert response.status_code == 400
    assert "QUERY_TOO_DEEP" in {error["extensions"]["code"] for error in response.json()["errors"]}
