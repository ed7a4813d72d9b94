"""The workflow walked as a table: every (status, action, role) through the GraphQL endpoint. An allowed step
moves the application to the next status; a refused one returns its typed error (the role's PERMISSION_DENIED,
or TRANSITION_NOT_ALLOWED naming the current status) and changes nothing: status, version, history, routings,
categories, flags, files and messages are as they were."""

import pytest

from acikkapi.models import ApplicationStatus
from acikkapi.services.workflow import WORKFLOW, Action
from tests.documents import ANSWER, CLOSE, RETURN_ANSWER, REVIEW, ROUTE, SEND_TO_MIA, SET_FLAGS, UPDATE_CATEGORIES
from tests.helpers import first_category, staff_session
from tests.workflow.support import ANALIST, REACHED_BY, SAGLIK, Prepared, Staff, prepare, snapshot, step

SETTINGS = {"staff_identity_lookups_per_hour": 10_000}  # every application here is registered at the desk

# The expected table, written out from seed 000 §3–5 and SPEC §4 (independently of services/workflow.py):
# (status, action) → the status after the step, for the one role that may take it.
POOL, ROUTED, ANSWERED, WITH_MIA, EVALUATED, CLOSED = REACHED_BY
WITH_THE_AKS = (POOL, ROUTED, ANSWERED, EVALUATED)
ALLOWED = {
    **{(s, "UPDATE_CATEGORIES"): s for s in WITH_THE_AKS},
    **{(s, "SET_FLAGS"): s for s in WITH_THE_AKS},
    **{(s, "ROUTE"): ROUTED for s in WITH_THE_AKS},
    (ROUTED, "ANSWER"): ANSWERED,  # the last waiting unit answers
    **{(s, "RETURN_ANSWER"): ROUTED for s in (ROUTED, ANSWERED, EVALUATED)},
    **{(s, "SEND_TO_MIA"): WITH_MIA for s in (POOL, ANSWERED, EVALUATED)},
    (WITH_MIA, "MIA_REVIEW"): EVALUATED,
    **{(s, "CLOSE"): CLOSED for s in WITH_THE_AKS},
}
ROLE_OF = {"UPDATE_CATEGORIES": "AKS", "SET_FLAGS": "AKS", "ROUTE": "AKS", "ANSWER": "YETKILI",
           "RETURN_ANSWER": "AKS", "SEND_TO_MIA": "AKS", "MIA_REVIEW": "MIA", "CLOSE": "AKS"}
ROLES = ("AKS", "YETKILI", "MIA", "ANALIST")
DOCUMENTS = {"UPDATE_CATEGORIES": UPDATE_CATEGORIES, "SET_FLAGS": SET_FLAGS, "ROUTE": ROUTE, "ANSWER": ANSWER,
             "RETURN_ANSWER": RETURN_ANSWER, "SEND_TO_MIA": SEND_TO_MIA, "MIA_REVIEW": REVIEW, "CLOSE": CLOSE}
# In the pool an application has no routing yet: there is nothing to answer or return.
TRIPLES = [(status, action, role) for status in REACHED_BY for action in ROLE_OF for role in ROLES
           if not (status == POOL and action in ("ANSWER", "RETURN_ANSWER"))]


def test_the_code_declares_the_table_the_seed_describes():
    declared = {(status.name, action.name): (step.when_all_answered or step.to or status).name
                for (status, action), step in WORKFLOW.items()}
    assert declared == ALLOWED
    assert {action.name: {role.name for role in step.roles} for (_, action), step in WORKFLOW.items()} == \
        {action: {role} for action, role in ROLE_OF.items()}
    assert {action.name for action in Action} == set(ROLE_OF) and len(ApplicationStatus) == len(REACHED_BY)


@pytest.fixture(scope="module")
async def staff(world) -> Staff:
    return await Staff.of(world)


@pytest.fixture(scope="module")
async def tokens(world, staff) -> dict:
    return {"AKS": staff.aks, "YETKILI": staff.yetkili_kecioren, "MIA": staff.mia,
            "ANALIST": await staff_session(world, ANALIST["tckn"])}


@pytest.fixture(scope="module")
async def shared(world, staff) -> dict[str, Prepared]:
    """One application in each status for the refused steps (which change nothing)."""
    return {status: await prepare(world, staff, status) for status in REACHED_BY}


async def inputs(world, action: str, app: Prepared) -> dict:
    category, subcategory = await first_category(world)
    return {
        "UPDATE_CATEGORIES": {"trackingNo": app.tracking_no,
                              "categories": [{"categoryId": category, "subcategoryId": subcategory,
                                              "description": "Güncellendi"}]},
        "SET_FLAGS": {"trackingNo": app.tracking_no, "isSpecial": False, "isConfidential": False,
                      "priorityGroup": "GAZI"},
        "ROUTE": {"trackingNo": app.tracking_no, "unitNos": [SAGLIK]},
        "ANSWER": {"routingId": app.kecioren, "answer": "İlçe müdürlüğünün cevabı."},  # the Yetkili's own unit
        "RETURN_ANSWER": {"routingId": app.milli_egitim, "reason": "Cevap eksik."},
        "SEND_TO_MIA": {"trackingNo": app.tracking_no, "confirm": True},
        "MIA_REVIEW": {"trackingNo": app.tracking_no, "note": "Uygundur."},
        "CLOSE": {"trackingNo": app.tracking_no, "result": "OLUMLU", "answer": "Talebiniz karşılanmıştır."},
    }[action]


def expected(status: str, action: str, role: str) -> str:
    if ROLE_OF[action] != role:
        return "PERMISSION_DENIED"
    if (status, action) not in ALLOWED:
        return "TRANSITION_NOT_ALLOWED"
    return ALLOWED[status, action]


@pytest.mark.parametrize("status, action, role", TRIPLES)
async def test_every_status_action_and_role(world, staff, tokens, shared, status, action, role):
    outcome = expected(status, action, role)
    allowed = outcome in REACHED_BY
    app = await prepare(world, staff, status) if allowed else shared[status]
    before = await snapshot(world, app.tracking_no)

    payload = await step(world, tokens[role], DOCUMENTS[action], **await inputs(world, action, app))

    after = await snapshot(world, app.tracking_no)
    if allowed:
        assert payload["__typename"] == "WorkflowStepDone", payload
        assert (payload["status"], payload["statusLabel"]) == (outcome, ApplicationStatus[outcome].value)
        assert (after["status"], after["version"], after["events"]) == \
            (outcome, before["version"] + 1, before["events"] + 1)
    else:
        assert payload["code"] == outcome, payload
        assert after == before
        if outcome == "TRANSITION_NOT_ALLOWED":
            assert f"“{ApplicationStatus[status].value}”" in payload["message"]
