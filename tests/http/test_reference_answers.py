"""Reference data is served from the server's cache: an anonymous request for it alone gets a shared answer that
HTTP caches may keep (ETag, Cache-Control: public), a change reaches clients within the check period, and
everything else is executed as before and says no-store."""

import asyncio

import pytest

from tests.helpers import AKS_ANKARA, staff_sign_in

CHECK_SECONDS = 0.3
SETTINGS = {"reference_check_seconds": CHECK_SECONDS, "reference_max_age_seconds": 120, "max_tokens": 200}

CATEGORIES = "{ serviceCategories { id name subcategories { id name } } }"
PLACES = "query($id: Int!) { places(districtId: $id) { id name kind kindLabel } }"
GRAPHQL_RESPONSE = "application/graphql-response+json"


async def post(world, document: str, variables: dict | None = None, **kwargs):
    body = {"query": document, **({"variables": variables} if variables is not None else {})}
    return await world.post(body, **kwargs)


async def get(world, document: str, headers: dict | None = None):
    return await world.http.get("/graphql", params={"query": document},
                                headers={"X-Forwarded-For": world.new_address(), **(headers or {})})


def shared(response) -> bool:
    return response.headers.get("cache-control") == "public, max-age=120" and "etag" in response.headers


async def categories_from_the_database(world) -> list[dict]:
    rows = await world.sql("SELECT id, name, parent_id FROM service_category WHERE active "
                           "ORDER BY parent_id NULLS FIRST, position, name")
    children: dict[int, list] = {}
    for row in rows:
        if row["parent_id"] is not None:
            children.setdefault(row["parent_id"], []).append({"id": row["id"], "name": row["name"]})
    return [{"id": row["id"], "name": row["name"], "subcategories": children.get(row["id"], [])}
            for row in rows if row["parent_id"] is None]


async def answered_within(seconds: float, ask, condition):
    """Asks again and again until the answer meets `condition`; fails after `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        response = await ask()
        if condition(response):
            return response
        assert loop.time() < deadline, response.text[:300]
        await asyncio.sleep(0.02)


@pytest.fixture
async def district(world) -> int:
    return (await world.gql("{ districts(provinceId: 6) { id } }"))["districts"][0]["id"]


class TestSharedAnswers:
    async def test_a_second_anonymous_request_gets_the_same_bytes_as_the_first(self, world):
        first, second = await post(world, CATEGORIES), await post(world, CATEGORIES)
        assert (first.status_code, second.status_code) == (200, 200)
        assert first.content == second.content
        assert first.headers["content-type"] == second.headers["content-type"]
        assert shared(first) and shared(second) and first.headers["etag"] == second.headers["etag"]
        assert first.json()["data"]["serviceCategories"] == await categories_from_the_database(world)

    async def test_get_and_post_get_the_same_answer(self, world, district):
        document = f"{{ places(districtId: {district}) {{ id name kind }} }}"
        by_post = await post(world, document)
        by_get = await get(world, document, headers={"Accept": "application/json"})
        assert by_post.json()["data"]["places"] and shared(by_post)
        assert by_get.content == by_post.content and shared(by_get)

    async def test_answers_differ_by_variables_and_by_media_type(self, world, district):
        ankara = await post(world, PLACES, {"id": district})
        other = await post(world, PLACES, {"id": district + 1})
        assert ankara.json() != other.json()
        assert ankara.json()["data"]["places"][0]["kindLabel"] in ("Mahalle", "Köy")
        graphql_response = await post(world, PLACES, {"id": district}, headers={"Accept": GRAPHQL_RESPONSE})
        assert graphql_response.headers["content-type"] == GRAPHQL_RESPONSE
        assert graphql_response.content == ankara.content
        assert graphql_response.headers["etag"] != ankara.headers["etag"]

    async def test_a_client_address_that_is_not_an_ip_is_still_refused(self, world):
        assert shared(await post(world, "{ provinces { id } }"))
        response = await post(world, "{ provinces { id } }", address="not-an-ip")
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"] == {"code": "INVALID_CLIENT_ADDRESS"}


class TestRevalidation:
    async def test_a_get_with_the_current_etag_gets_304_without_a_body(self, world):
        first = await get(world, "{ provinces { id name } }")
        etag = first.headers["etag"]
        for if_none_match in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            again = await get(world, "{ provinces { id name } }", headers={"If-None-Match": if_none_match})
            assert (again.status_code, again.content) == (304, b""), if_none_match
            assert again.headers["etag"] == etag and shared(again)

    async def test_a_get_with_another_etag_gets_the_answer(self, world):
        first = await get(world, "{ provinces { id name } }")
        again = await get(world, "{ provinces { id name } }", headers={"If-None-Match": '"eski"'})
        assert again.status_code == 200 and again.content == first.content


class TestChanges:
    async def test_a_renamed_category_is_served_within_the_check_period(self, world):
        before = await post(world, CATEGORIES)
        category = before.json()["data"]["serviceCategories"][0]
        await world.sql("UPDATE service_category SET name = name || ' (güncel)' WHERE id = $1", category["id"])
        after = await answered_within(
            CHECK_SECONDS + 2, lambda: post(world, CATEGORIES),
            lambda response: response.json()["data"]["serviceCategories"][0]["name"] == category["name"] + " (güncel)")
        assert shared(after) and after.headers["etag"] != before.headers["etag"]
        assert after.json()["data"]["serviceCategories"] == await categories_from_the_database(world)

    async def test_a_deactivated_subcategory_leaves_the_tree(self, world):
        tree = (await post(world, CATEGORIES)).json()["data"]["serviceCategories"]
        subcategory = tree[1]["subcategories"][0]
        await world.sql("UPDATE service_category SET active = false WHERE id = $1", subcategory["id"])
        await answered_within(
            CHECK_SECONDS + 2, lambda: post(world, CATEGORIES),
            lambda response: subcategory not in response.json()["data"]["serviceCategories"][1]["subcategories"])

    async def test_a_renamed_place_reaches_requests_that_are_executed_too(self, world, district):
        document = "query($id: Int!) { places(districtId: $id) { id name } me { firstName } }"
        place = (await world.gql(document, {"id": district}))["places"][0]
        await world.sql("UPDATE place SET name = 'Yeni Mahalle' WHERE id = $1", place["id"])
        await answered_within(
            CHECK_SECONDS + 2, lambda: post(world, document, {"id": district}),
            lambda response: {"id": place["id"], "name": "Yeni Mahalle"} in response.json()["data"]["places"])


class TestNotShared:
    async def test_a_signed_in_request_is_executed_and_says_no_store(self, world):
        token = await staff_sign_in(world, AKS_ANKARA)
        assert shared(await post(world, "{ provinces { id } }"))
        response = await post(world, "{ provinces { id } }", token=token)
        assert response.status_code == 200 and len(response.json()["data"]["provinces"]) == 81
        assert response.headers["cache-control"] == "no-store" and "etag" not in response.headers

    async def test_reference_fields_beside_other_fields_are_executed_and_say_no_store(self, world):
        for _ in range(2):
            response = await post(world, "{ provinces { id } me { firstName } }")
            assert response.json()["data"]["me"] is None and len(response.json()["data"]["provinces"]) == 81
            assert response.headers["cache-control"] == "no-store" and "etag" not in response.headers

    async def test_typename_alone_is_not_reference_data(self, world):
        response = await post(world, "{ __typename }")
        assert response.headers["cache-control"] == "no-store"

    @pytest.mark.parametrize("document, code", [
        ("{ provinces { id } " + " ".join(f"a{i}: provinces {{ id }}" for i in range(20)) + " }", "TOO_MANY_ALIASES"),
        ("{ provinces { " + "districts { provinces { " * 6 + "id" + " } }" * 6 + " } }", "QUERY_TOO_DEEP"),
        ("{ provinces { id " + "__typename " * 250 + "} }", None),  # a short document, past max_tokens
    ])
    async def test_the_limits_still_refuse_a_document_every_time(self, world, document, code):
        assert shared(await post(world, "{ provinces { id } }"))
        for _ in range(2):
            response = await post(world, document, headers={"Accept": GRAPHQL_RESPONSE})
            assert response.status_code == 400, response.text[:300]
            assert response.headers["cache-control"] == "no-store" and "etag" not in response.headers
            codes = [error["extensions"]["code"] for error in response.json()["errors"]]
            assert code is None or code in codes, codes
