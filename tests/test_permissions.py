"""Who may do what, walked as a table: every kind of caller against every guarded operation.

Anonymous callers, a citizen applying, a citizen tracking, and each staff role that signs in by SMS.
A row says what the caller gets: the data, or the error code it is refused with.
"""

import pytest

from tests.documents import ME, PROFILE, REGISTER, SIGN_OUT, SUBMIT, TRACKED
from tests.helpers import (
    AKS_ANKARA, AYSE, YETKILI_ANKARA, ZEYNEP, apply, first_category, sign_in_to_apply, sign_in_to_track,
    staff_sign_in,
)

ALLOWED = "allowed"
# caller → (applicantProfile, trackedApplication, submitApplication, me, signOut, registerApplication)
TABLE = {
    "anonymous": ("UNAUTHENTICATED", "UNAUTHENTICATED", "UNAUTHENTICATED", None, "UNAUTHENTICATED",
                  "UNAUTHENTICATED"),
    "applying citizen": (ALLOWED, "PERMISSION_DENIED", ALLOWED, None, ALLOWED, "PERMISSION_DENIED"),
    "tracking citizen": ("PERMISSION_DENIED", ALLOWED, "PERMISSION_DENIED", None, ALLOWED, "PERMISSION_DENIED"),
    "AKS": ("PERMISSION_DENIED", "PERMISSION_DENIED", "PERMISSION_DENIED", "AKS", ALLOWED, ALLOWED),
    "Yetkili": ("PERMISSION_DENIED", "PERMISSION_DENIED", "PERMISSION_DENIED", "YETKILI", ALLOWED,
                "PERMISSION_DENIED"),
}


@pytest.fixture(scope="module")
async def tracking_no(world) -> int:
    return await apply(world, ZEYNEP, "5340000001")


@pytest.fixture
async def token(world, tracking_no, caller) -> str | None:
    """A fresh session of `caller`'s kind for each test, so no test depends on another's sign-out."""
    sign_in = {
        "anonymous": None,
        "applying citizen": lambda: sign_in_to_apply(world, AYSE, "5340000002"),
        "tracking citizen": lambda: sign_in_to_track(world, tracking_no, ZEYNEP, "5340000001"),
        "AKS": lambda: staff_sign_in(world, AKS_ANKARA),
        "Yetkili": lambda: staff_sign_in(world, YETKILI_ANKARA),
    }[caller]
    return await sign_in() if sign_in else None


def query_outcome(body: dict, field: str) -> str:
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    assert body["data"][field] is not None
    return ALLOWED


def payload_outcome(payload: dict) -> str:
    return payload["code"] if "code" in payload else ALLOWED


@pytest.mark.parametrize("caller", TABLE)
class TestEveryCallerAgainstEveryOperation:
    async def test_applicant_profile(self, world, token, caller):
        body = await world.gql_raw(PROFILE, token=token)
        assert query_outcome(body, "applicantProfile") == TABLE[caller][0], body

    async def test_tracked_application(self, world, token, caller):
        body = await world.gql_raw(TRACKED, token=token)
        assert query_outcome(body, "trackedApplication") == TABLE[caller][1], body

    async def test_me(self, world, token, caller):
        me = (await world.gql(ME, token=token))["me"]
        assert (me and me["role"]) == TABLE[caller][3]

    async def test_submit_application(self, world, token, caller):
        category, subcategory = await first_category(world)
        # An empty subject: an allowed caller gets as far as the validation, and nothing is registered.
        data = {"sameAsResidence": True, "phone": "5340000002", "subject": "",
                "categories": [{"categoryId": category, "subcategoryId": subcategory}]}
        payload = (await world.gql(SUBMIT, {"input": data}, token=token))["submitApplication"]
        expected = TABLE[caller][2]
        assert payload["code"] == ("VALIDATION_FAILED" if expected == ALLOWED else expected), payload

    async def test_register_application(self, world, token, caller):
        category, subcategory = await first_category(world)
        data = {"tcKimlikNo": AYSE["tckn"], "arrivalDate": "2026-01-05",
                "application": {"sameAsResidence": True, "phone": "5340000003", "subject": "",
                                "categories": [{"categoryId": category, "subcategoryId": subcategory}]}}
        payload = (await world.gql(REGISTER, {"input": data}, token=token))["registerApplication"]
        expected = TABLE[caller][5]
        assert payload["code"] == ("VALIDATION_FAILED" if expected == ALLOWED else expected), payload

    async def test_sign_out(self, world, token, caller):
        payload = (await world.gql(SIGN_OUT, token=token))["signOut"]
        assert payload_outcome(payload) == TABLE[caller][4], payload
