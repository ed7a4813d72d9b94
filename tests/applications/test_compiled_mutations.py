"""The compiled path runs a planned mutation as the executor would: the same answer, byte for byte, for a
success, an expected error and a failure; and a document or a variable it cannot take is the executor's."""

import re

import pytest

from tests.applications.support import submit_input
from tests.applications.test_compiled_reads import COMPILER
from tests.documents import SUBMIT
from tests.helpers import AYSE, MEHMET, ZEYNEP, sign_in_to_apply


def by_the_executor(document: str) -> str:
    """The same selection, with a directive the plan does not take."""
    return document.replace("submitApplication(input: $input) {", "submitApplication(input: $input) @include(if: true) {", 1)


def without_tracking_numbers(body: str) -> str:
    return re.sub(r'"(trackingNo|no)":\d+', r'"\1":…', body)


DOCUMENTS = {
    "the form's own document": SUBMIT,
    "aliases, a fragment on the interface, a named fragment": """
        mutation Apply($input: SubmitApplicationInput!) {
          sent: submitApplication(input: $input) {
            kind: __typename
            ...Done
            ... on Error { code why: message }
          }
        }
        fragment Done on SubmitApplicationSuccess { no: trackingNo message }""",
}


@pytest.mark.parametrize("name", DOCUMENTS)
async def test_a_planned_mutation_answers_as_the_executor_does(world, name):
    document = DOCUMENTS[name]
    assert COMPILER.compile(document, None) is not None
    assert COMPILER.compile(by_the_executor(document), None) is None
    answers = []
    for person, phone, query in ((AYSE, "5330000801", document), (ZEYNEP, "5330000802", by_the_executor(document))):
        token = await sign_in_to_apply(world, person, phone)
        response = await world.post({"query": query, "variables": {"input": await submit_input(world, phone)}},
                                    token=token)
        assert response.status_code == 200 and "Success" in response.text, response.text
        answers.append((response.headers["content-type"], without_tracking_numbers(response.text)))
    assert answers[0] == answers[1]


async def test_an_expected_error_is_the_same_payload(world):
    phone = "5330000803"
    token = await sign_in_to_apply(world, MEHMET, phone)
    form = await submit_input(world, "5330000899")  # not the verified phone
    compiled = await world.post({"query": SUBMIT, "variables": {"input": form}}, token=token)
    executed = await world.post({"query": by_the_executor(SUBMIT), "variables": {"input": form}}, token=token)
    assert compiled.text == executed.text
    assert compiled.json()["data"]["submitApplication"]["code"] == "PHONE_NOT_VERIFIED"


@pytest.mark.parametrize("variables", [
    {},  # the input is required
    {"input": {"subject": 5}},  # wrong types, missing fields
    {"input": "nothing"},
])
async def test_a_variable_the_executor_refuses_is_refused_as_it_does(world, variables):
    accept = {"Accept": "application/graphql-response+json"}
    compiled = await world.post({"query": SUBMIT, "variables": variables}, headers=accept)
    executed = await world.post({"query": by_the_executor(SUBMIT), "variables": variables}, headers=accept)
    assert compiled.status_code == executed.status_code == 400
    assert compiled.json() == executed.json()


async def test_a_failure_after_it_ran_is_masked_as_the_executor_masks_it(world):
    await world.sql("""CREATE FUNCTION refuse_application() RETURNS trigger LANGUAGE plpgsql AS $$
                       BEGIN RAISE EXCEPTION 'refused by a test trigger'; END $$""")
    await world.sql("""CREATE TRIGGER refuse_application BEFORE INSERT ON application
                       FOR EACH ROW EXECUTE FUNCTION refuse_application()""")
    try:
        bodies = []
        for person, phone, query in ((AYSE, "5330000804", SUBMIT), (ZEYNEP, "5330000805", by_the_executor(SUBMIT))):
            token = await sign_in_to_apply(world, person, phone)
            response = await world.post({"query": query, "variables": {"input": await submit_input(world, phone)}},
                                        token=token)
            assert response.status_code == 200
            body = response.json()
            assert body["errors"][0]["extensions"].pop("correlationId")
            bodies.append(body)
    finally:
        await world.sql("DROP TRIGGER refuse_application ON application")
        await world.sql("DROP FUNCTION refuse_application()")
    assert bodies[0] == bodies[1]
    assert bodies[0]["data"] is None and bodies[0]["errors"][0]["extensions"] == {"code": "INTERNAL_ERROR"}
    assert "trigger" not in str(bodies[0]) and "INSERT" not in str(bodies[0])


@pytest.mark.parametrize("document", [
    "mutation { signOut { __typename } }",  # not a planned mutation
    "mutation($i: SubmitApplicationInput!) { a: submitApplication(input: $i) { __typename } "
    "b: submitApplication(input: $i) { __typename } }",
    "mutation($i: SubmitApplicationInput!) { submitApplication(input: $i) { __typename } signOut { __typename } }",
    "mutation($i: SubmitApplicationInput!) { submitApplication(input: $i) { ... on Error { code code: message } } }",
    "mutation($i: SubmitApplicationInput!) @deprecated { submitApplication(input: $i) { __typename } }",
])
def test_what_cannot_be_planned_is_left_to_the_executor(document):
    assert COMPILER.compile(document, None) is None
