"""Inputs are checked before any outside call; identity service failures are typed errors, never a 500."""

import time

import pytest

from acikkapi.services.identity import HttpIdentityService
from tests.helpers import AYSE, ZEYNEP
from tests.signin.support import (
    REQUEST_APPLY, REQUEST_STAFF, REQUEST_TRACKING, SmsWatch, person_input, wrong_checksum,
)

MISMATCH = "Girdiğiniz bilgiler uyumsuzdur. Lütfen kontrol edin."


@pytest.fixture
def identity_calls(monkeypatch) -> list[dict]:
    """Every call the server makes to the identity service (the server runs in this process)."""
    calls: list[dict] = []
    original = HttpIdentityService.verify

    async def spy(self, **kwargs):
        calls.append(kwargs)
        return await original(self, **kwargs)

    monkeypatch.setattr(HttpIdentityService, "verify", spy)
    return calls


@pytest.fixture
async def identity_restored(world):
    yield
    await world.control("identity", down=False, delay=0)


async def request_apply_raw(world, input: dict) -> dict:
    response = await world.post({"query": REQUEST_APPLY, "variables": {"input": input}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["requestApplicationCode"]


async def challenges_for(world, tckn: str) -> int:
    return (await world.sql("SELECT count(*) AS n FROM otp_challenge WHERE tckn = $1", tckn))[0]["n"]


class TestRequestApplicationCode:
    async def test_identity_spy_sees_a_good_request(self, world, identity_calls):
        # keeps the "no identity call" assertions below from passing vacuously
        result = await request_apply_raw(world, person_input(AYSE, "5320000501"))
        assert result["__typename"] == "Challenge"
        assert [call["tckn"] for call in identity_calls] == [AYSE["tckn"]]
        await world.wait_for_sms("5320000501", 1)

    async def test_wrong_checksum_is_refused_before_the_identity_service_and_sms(self, world, identity_calls):
        tckn = wrong_checksum(AYSE["tckn"])
        async with SmsWatch(world) as watch:
            result = await request_apply_raw(world, person_input(AYSE, "5320000502", tcKimlikNo=tckn))
            await watch.assert_nothing_sent()
        assert result["__typename"] == "ValidationFailed", result
        assert result["field"] == "tcKimlikNo"
        assert identity_calls == []
        assert await challenges_for(world, tckn) == 0

    @pytest.mark.parametrize("phone", ["4320000503", "532000050", "53200005031", "telefon", "", "+1 532 000 05 03"])
    async def test_bad_phone_is_refused_before_the_identity_service_and_sms(self, world, identity_calls, phone):
        async with SmsWatch(world) as watch:
            result = await request_apply_raw(world, person_input(ZEYNEP, phone))
            await watch.assert_nothing_sent()
        assert result["__typename"] == "ValidationFailed", result
        assert result["field"] == "phone"
        assert identity_calls == []

    async def test_identity_mismatch_is_its_own_error(self, world, identity_calls):
        async with SmsWatch(world) as watch:
            result = await request_apply_raw(world, person_input(AYSE, "5320000504", motherMaidenInitials="ZZ"))
            await watch.assert_nothing_sent()
        assert result == {"__typename": "IdentityMismatch", "code": "IDENTITY_MISMATCH", "message": MISMATCH, "field": None}
        assert len(identity_calls) == 1

    async def test_identity_service_down_is_service_unavailable(self, world, identity_restored):
        await world.control("identity", down=True)
        async with SmsWatch(world) as watch:
            result = await request_apply_raw(world, person_input(AYSE, "5320000505"))
            await watch.assert_nothing_sent()
        assert result["__typename"] == "ServiceUnavailable", result
        assert result["code"] == "SERVICE_UNAVAILABLE"

    async def test_identity_service_slower_than_the_timeout_is_service_unavailable(self, world, identity_restored):
        assert world.settings.http_timeout_seconds == 2
        await world.control("identity", delay=3)
        started = time.monotonic()
        async with SmsWatch(world) as watch:
            result = await request_apply_raw(world, person_input(AYSE, "5320000506"))
            await watch.assert_nothing_sent()
        assert result["__typename"] == "ServiceUnavailable", result
        assert result["code"] == "SERVICE_UNAVAILABLE"
        assert time.monotonic() - started < 3.5

    async def test_identity_service_back_again_works(self, world):
        result = await request_apply_raw(world, person_input(AYSE, "5320000507"))
        assert result["__typename"] == "Challenge", result


class TestRequestStaffAndTrackingCode:
    async def test_staff_wrong_checksum_is_a_validation_error(self, world):
        async with SmsWatch(world) as watch:
            data = await world.gql(REQUEST_STAFF, {"input": {"tcKimlikNo": "10000000079", "phone": "5321000001"}})
            await watch.assert_nothing_sent()
        result = data["requestStaffCode"]
        assert (result["__typename"], result["field"]) == ("ValidationFailed", "tcKimlikNo"), result

    @pytest.mark.parametrize("phone", ["12345", "5٣٢١٠٠٠٠٠١"])  # Arabic-Indic digits are digits to \d, not to us
    async def test_staff_bad_phone_is_a_validation_error(self, world, phone):
        data = await world.gql(REQUEST_STAFF, {"input": {"tcKimlikNo": "10000000078", "phone": phone}})
        result = data["requestStaffCode"]
        assert (result["__typename"], result["field"]) == ("ValidationFailed", "phone"), result

    async def test_a_number_in_other_digits_is_a_validation_error(self, world):
        data = await world.gql(REQUEST_STAFF, {"input": {"tcKimlikNo": "١٠٠٠٠٠٠٠٠٧٨", "phone": "5321000001"}})
        result = data["requestStaffCode"]
        assert (result["__typename"], result["field"]) == ("ValidationFailed", "tcKimlikNo"), result

    async def test_tracking_wrong_checksum_is_a_validation_error(self, world):
        data = await world.gql(REQUEST_TRACKING, {"input": {"trackingNo": 1, "tcKimlikNo": "12345678901"}})
        result = data["requestTrackingCode"]
        assert (result["__typename"], result["field"]) == ("ValidationFailed", "tcKimlikNo"), result


class TestTurkishNames:
    async def test_a_name_lower_cased_the_non_turkish_way_still_matches(self, world):
        from tests.helpers import MEHMET, REQUEST_APPLY, apply_input

        typed = MEHMET["ad"].title()  # "Mehmet Ali̇": a browser's lower-casing leaves a combining dot
        assert "\u0307" in typed
        data = await world.gql(REQUEST_APPLY, {"input": apply_input(MEHMET, "5320009901", firstName=typed)})
        assert data["requestApplicationCode"]["__typename"] == "Challenge", data
