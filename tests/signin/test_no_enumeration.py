"""The tracking and staff code requests answer alike whether or not anything matched."""

from datetime import datetime

import pytest

from tests.helpers import AKS_ANKARA, AYSE, ZEYNEP, apply
from tests.signin.support import (
    SmsWatch, challenge_row, no_code_can_verify, other_code, request_staff, request_tracking, valid_tcknumbers,
    verify,
)

TRACKING_PHONE = "5320000401"


def shape(challenge: dict) -> dict:
    """What a response reveals besides the random id and the clock."""
    expires = datetime.fromisoformat(challenge["expiresAt"])
    resend = datetime.fromisoformat(challenge["resendAvailableAt"])
    return {"typename": challenge["__typename"], "keys": sorted(challenge), "phoneHint": challenge["phoneHint"],
            "ttl_minus_cooldown": round((expires - resend).total_seconds()),
            "id_length": len(challenge["id"])}


@pytest.fixture(scope="module")
async def tracking_no(world) -> int:
    return await apply(world, AYSE, TRACKING_PHONE)


class TestRequestTrackingCode:
    async def test_real_and_unknown_applications_answer_alike_and_only_the_real_one_sends(
            self, world, tracking_no):
        await world.wait_for_sms(TRACKING_PHONE, 2)  # the apply code and the tracking number
        async with SmsWatch(world) as watch:
            missing = await request_tracking(world, tracking_no + 1000, AYSE["tckn"])
            wrong_tckn = await request_tracking(world, tracking_no, ZEYNEP["tckn"])
            await watch.assert_nothing_sent()
        real = await request_tracking(world, tracking_no, AYSE["tckn"])
        assert real["__typename"] == "Challenge", real
        assert real["phoneHint"] is None
        assert shape(missing) == shape(real)
        assert shape(wrong_tckn) == shape(real)
        messages = await world.wait_for_sms(TRACKING_PHONE, 3)
        assert "onay kodunuz" in messages[-1]

    async def test_unmatched_tracking_challenges_never_verify(self, world, tracking_no):
        missing = await request_tracking(world, tracking_no + 2000, AYSE["tckn"])
        wrong_tckn = await request_tracking(world, tracking_no, ZEYNEP["tckn"])
        for challenge in (missing, wrong_tckn):
            result = await verify(world, challenge["id"], "000000")
            assert (result["__typename"], result["code"]) == ("WrongCode", "CODE_WRONG"), result
            assert "Kalan deneme hakkınız: 4" in result["message"]
            assert await no_code_can_verify(world, challenge["id"])


UNKNOWN_TCKN = next(valid_tcknumbers(400000001))


class TestRequestStaffCode:
    @pytest.mark.parametrize("tckn, phone", [
        (UNKNOWN_TCKN, "5320000411"),                # nobody
        (UNKNOWN_TCKN, AKS_ANKARA["phone"]),         # a staff phone with another number
        (AKS_ANKARA["tckn"], "5320000412"),          # a staff number with another phone
    ], ids=["unknown", "unknown-tckn", "unknown-phone"])
    async def test_unknown_staff_is_answered_like_a_known_one_but_gets_no_code(self, world, tckn, phone):
        async with SmsWatch(world) as watch:
            unknown = await request_staff(world, tckn, phone)
            await watch.assert_nothing_sent()
        before = len(await world.sms_to(AKS_ANKARA["phone"]))
        known = await request_staff(world, AKS_ANKARA["tckn"], AKS_ANKARA["phone"])
        await world.wait_for_sms(AKS_ANKARA["phone"], before + 1)
        assert known["phoneHint"] == "532*****01"
        assert unknown["__typename"] == "Challenge", unknown
        assert unknown["phoneHint"] == f"{phone[:3]}*****{phone[-2:]}"
        assert {**shape(unknown), "phoneHint": None} == {**shape(known), "phoneHint": None}

    async def test_unknown_staff_challenge_can_never_be_verified(self, world):
        unknown = await request_staff(world, UNKNOWN_TCKN, "5320000413")
        assert await no_code_can_verify(world, unknown["id"])
        row = await challenge_row(world, unknown["id"])
        assert row["user_id"] is None
        for attempt in range(5):
            result = await verify(world, unknown["id"], other_code("000000", attempt))
            assert (result["__typename"], result["code"]) == ("WrongCode", "CODE_WRONG"), result
        result = await verify(world, unknown["id"], "123456")
        assert (result["__typename"], result["code"]) == ("TooManyAttempts", "TOO_MANY_ATTEMPTS")
