"""The workflow's steps take the compiled path (schema/compiled.py) and answer exactly as the executor does:
a step done, a step the table refuses, and a value the executor refuses."""

from tests.applications.test_compiled_reads import COMPILER
from tests.documents import ROUTE
from tests.workflow.support import MILLI_EGITIM, SAGLIK, Staff, register, snapshot


def by_the_executor(document: str) -> str:
    return document.replace("routeApplication(input: $input) {", "routeApplication(input: $input) @include(if: true) {", 1)


async def test_a_routing_is_answered_by_the_plan_as_by_the_executor(world):
    staff = await Staff.of(world)
    assert COMPILER.compile(ROUTE, None) is not None and COMPILER.compile(by_the_executor(ROUTE), None) is None
    answers = []
    for document in (ROUTE, by_the_executor(ROUTE)):
        tracking_no = await register(world, staff.aks)
        response = await world.post({"query": document, "variables": {
            "input": {"trackingNo": tracking_no, "unitNos": [MILLI_EGITIM]}}}, token=staff.aks)
        assert "WorkflowStepDone" in response.text, response.text
        answers.append(response.text.replace(str(tracking_no), "…"))
    assert answers[0] == answers[1]


async def test_a_refused_step_is_the_same_typed_error_and_changes_nothing(world):
    staff = await Staff.of(world)
    tracking_no = await register(world, staff.aks)
    before = await snapshot(world, tracking_no)
    variables = {"input": {"trackingNo": tracking_no, "unitNos": [SAGLIK]}}
    compiled = await world.post({"query": ROUTE, "variables": variables}, token=staff.yetkili)  # not the AKS
    executed = await world.post({"query": by_the_executor(ROUTE), "variables": variables}, token=staff.yetkili)
    assert compiled.text == executed.text and '"code":' in compiled.text
    assert await snapshot(world, tracking_no) == before


async def test_a_value_out_of_range_is_refused_as_the_executor_refuses_it(world):
    staff = await Staff.of(world)
    accept = {"Accept": "application/graphql-response+json"}
    variables = {"input": {"trackingNo": 2 ** 40, "unitNos": [MILLI_EGITIM]}}  # no Int holds it
    compiled = await world.post({"query": ROUTE, "variables": variables}, token=staff.aks, headers=accept)
    executed = await world.post({"query": by_the_executor(ROUTE), "variables": variables}, token=staff.aks,
                                headers=accept)
    assert compiled.status_code == executed.status_code == 400
    assert compiled.json() == executed.json()
