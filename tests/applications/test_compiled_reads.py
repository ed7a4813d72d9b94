"""The compiled read path answers exactly as the executor does, and leaves it every document it cannot plan."""

import re

import pytest

from acikkapi.schema import build_schema
from acikkapi.settings import Settings
from tests.documents import TRACKED
from tests.helpers import AYSE, apply, sign_in_to_track

COMPILER = build_schema(Settings(allow_development_secret=True)).compiler
# A directive makes a document the executor's: the same selection, answered the normal way.
def by_the_executor(document: str) -> str:
    return document.replace("trackedApplication {", "trackedApplication @include(if: true) {", 1)

DOCUMENTS = {
    "the whole view": TRACKED,
    "aliases and __typename":
        "{ t: trackedApplication { __typename no: trackingNo s: status place { __typename k: kind kindLabel } } }",
    "a fragment and an inline fragment": """
        { trackedApplication { ...Summary ... on CitizenApplication { history { position statusLabel at } } } }
        fragment Summary on CitizenApplication { trackingNo kindLabel province { name } categories { category } }""",
    "a named operation among others": """
        query Other { __typename }
        query View { trackedApplication { trackingNo firstName files { fileName size } } }""",
}


def without_link_times(body: str) -> str:
    """Links carry the second they expire: two answers a second apart differ there only."""
    return re.sub(r"\?s=[^\"]+", "?…", body)


@pytest.fixture(scope="module")
async def token(world) -> str:
    phone = "5330000701"
    tracking_no = await apply(world, AYSE, phone)
    return await sign_in_to_track(world, tracking_no, AYSE, phone)


@pytest.mark.parametrize("name", DOCUMENTS)
async def test_a_planned_document_is_answered_byte_for_byte_as_the_executor_answers_it(world, token, name):
    document = DOCUMENTS[name]
    operation = "View" if "query View" in document else None
    assert COMPILER.compile(document, operation) is not None
    assert COMPILER.compile(by_the_executor(document), operation) is None
    compiled = await world.post({"query": document, "operationName": operation}, token=token)
    executed = await world.post({"query": by_the_executor(document), "operationName": operation}, token=token)
    assert (compiled.status_code, compiled.headers["content-type"]) == (200, executed.headers["content-type"])
    assert "errors" not in compiled.json(), compiled.text
    assert without_link_times(compiled.text) == without_link_times(executed.text)


@pytest.mark.parametrize("document", [
    "{ trackedApplication { trackingNo @include(if: true) } }",
    "{ trackedApplication { trackingNo } applicantProfile { tcKimlikNo } }",
    "{ trackedApplication { trackingNo trackingNo: subject } }",
    "{ trackedApplication { ... on Query { __typename } } }",
    "{ trackedApplication { trackingNo } __schema { queryType { name } } }",
    "{ provinces { id } }",
    "{ trackedApplication { nosuchfield } }",
    "{ trackedApplication { trackingNo ",
])
def test_what_cannot_be_planned_is_left_to_the_executor(document):
    assert COMPILER.compile(document, None) is None


async def test_an_expected_error_is_the_executors_answer(world):
    compiled = await world.post({"query": TRACKED})
    executed = await world.post({"query": by_the_executor(TRACKED)})
    assert compiled.json() == executed.json()
    assert compiled.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
