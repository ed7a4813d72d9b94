"""One-time codes through verifyCode, resendCode and cancelCode."""

import hashlib
import uuid
from datetime import datetime, timedelta

import pytest

from tests.helpers import AKS_ANKARA, AYSE, ZEYNEP, apply, staff_sign_in
from tests.signin.support import (
    CANCEL, FATMA, RESEND, apply_code, challenge_row, other_code, request_tracking, verify,
)


class TestVerifyCode:
    async def test_right_code_opens_an_apply_session(self, world):
        challenge_id, code = await apply_code(world, AYSE, "5320000101")
        signed_in = await verify(world, challenge_id, code)
        assert signed_in["__typename"] == "SignedIn"
        assert signed_in["purpose"] == "APPLY"
        assert len(signed_in["token"]) >= 32
        rows = await world.sql("SELECT purpose FROM auth_session WHERE token_hash = $1",
                               hashlib.sha256(signed_in["token"].encode()).digest())
        assert [row["purpose"] for row in rows] == ["APPLY"]

    async def test_right_code_opens_a_tracking_session(self, world):
        tracking_no = await apply(world, FATMA, "5320000102")
        before = len(await world.sms_to("5320000102"))
        challenge = await request_tracking(world, tracking_no, FATMA["tckn"])
        code = await world.last_code("5320000102", before + 1)
        signed_in = await verify(world, challenge["id"], code)
        assert signed_in["__typename"] == "SignedIn"
        assert signed_in["purpose"] == "TRACK"

    async def test_right_code_opens_a_staff_session(self, world):
        token = await staff_sign_in(world, AKS_ANKARA)
        rows = await world.sql("SELECT purpose FROM auth_session WHERE token_hash = $1",
                               hashlib.sha256(token.encode()).digest())
        assert [row["purpose"] for row in rows] == ["STAFF"]

    async def test_wrong_code_is_a_code_error_with_the_tries_left(self, world):
        challenge_id, code = await apply_code(world, AYSE, "5320000103")
        result = await verify(world, challenge_id, other_code(code))
        assert result["__typename"] == "WrongCode"
        assert result["code"] == "CODE_WRONG"
        assert "Kalan deneme hakkınız: 4" in result["message"]
        result = await verify(world, challenge_id, other_code(code, 2))
        assert "Kalan deneme hakkınız: 3" in result["message"]

    async def test_after_five_wrong_tries_even_the_right_code_is_refused(self, world):
        challenge_id, code = await apply_code(world, AYSE, "5320000104")
        for attempt in range(1, 6):
            result = await verify(world, challenge_id, other_code(code, attempt))
            assert (result["__typename"], result["code"]) == ("WrongCode", "CODE_WRONG"), result
            assert f"Kalan deneme hakkınız: {5 - attempt}" in result["message"]
        result = await verify(world, challenge_id, code)
        assert result["__typename"] == "TooManyAttempts"
        assert result["code"] == "TOO_MANY_ATTEMPTS"
        assert (await challenge_row(world, challenge_id))["consumed_at"] is None

    async def test_expired_code_is_refused(self, world):
        challenge_id, code = await apply_code(world, AYSE, "5320000105")
        await world.sql("UPDATE otp_challenge SET expires_at = now() - interval '1 second' WHERE id = $1",
                        uuid.UUID(challenge_id))
        result = await verify(world, challenge_id, code)
        assert (result["__typename"], result["code"]) == ("CodeExpired", "CODE_EXPIRED")

    async def test_used_code_cannot_be_reused(self, world):
        challenge_id, code = await apply_code(world, AYSE, "5320000106")
        assert (await verify(world, challenge_id, code))["__typename"] == "SignedIn"
        again = await verify(world, challenge_id, code)
        assert (again["__typename"], again["code"]) == ("CodeInvalid", "CODE_INVALID")

    async def test_code_works_only_for_its_own_challenge(self, world):
        first_id, first_code = await apply_code(world, AYSE, "5320000107")
        second_id, second_code = await apply_code(world, AYSE, "5320000108")
        assert first_code != second_code
        result = await verify(world, second_id, first_code)
        assert (result["__typename"], result["code"]) == ("WrongCode", "CODE_WRONG")
        assert (await verify(world, first_id, first_code))["__typename"] == "SignedIn"

    @pytest.mark.parametrize("challenge_id", [str(uuid.uuid4()), "not-a-uuid", "", "1' OR '1'='1"])
    async def test_unknown_or_malformed_challenge_is_invalid(self, world, challenge_id):
        result = await verify(world, challenge_id, "123456")
        assert (result["__typename"], result["code"]) == ("CodeInvalid", "CODE_INVALID")


class TestCancelCode:
    async def test_cancelled_challenge_cannot_be_verified(self, world):
        challenge_id, code = await apply_code(world, AYSE, "5320000111")
        cancelled = (await world.gql(CANCEL, {"id": challenge_id}))["cancelCode"]
        assert cancelled == {"__typename": "Done", "ok": True}
        result = await verify(world, challenge_id, code)
        assert (result["__typename"], result["code"]) == ("CodeInvalid", "CODE_INVALID")
        assert (await challenge_row(world, challenge_id))["cancelled_at"] is not None


class TestCodeStorage:
    async def test_code_is_stored_only_as_a_hash(self, world):
        challenge_id, code = await apply_code(world, ZEYNEP, "5320000121")
        row = await challenge_row(world, challenge_id)
        assert isinstance(row["code_hash"], bytes) and len(row["code_hash"]) == 32
        assert row["code_hash"] != hashlib.sha256(code.encode()).digest()
        for column, value in row.items():
            if isinstance(value, datetime):
                continue  # a timestamp cannot carry the code (its microseconds could match by chance)
            if isinstance(value, bytes):
                assert code.encode() not in value, column
                assert code not in value.hex(), column
            else:
                assert code not in str(value), column
        # …and the hash is of the code that was sent
        assert (await verify(world, challenge_id, code))["__typename"] == "SignedIn"


class TestResendCode:
    async def test_resend_before_the_cooldown_is_refused(self, world):
        challenge_id, code = await apply_code(world, AYSE, "5320000131")
        result = (await world.gql(RESEND, {"id": challenge_id}))["resendCode"]
        assert (result["__typename"], result["code"]) == ("ResendTooSoon", "RESEND_TOO_SOON")
        assert (await challenge_row(world, challenge_id))["sends"] == 1
        assert len(await world.sms_to("5320000131")) == 1
        assert (await verify(world, challenge_id, code))["__typename"] == "SignedIn"

    async def test_resend_after_the_cooldown_sends_a_new_code_and_retires_the_old(self, world):
        phone = "5320000132"
        challenge_id, old = await apply_code(world, AYSE, phone)
        await world.sql("UPDATE otp_challenge SET last_sent_at = last_sent_at - interval '61 seconds' "
                        "WHERE id = $1", uuid.UUID(challenge_id))
        result = (await world.gql(RESEND, {"id": challenge_id}))["resendCode"]
        assert result["__typename"] == "Challenge", result
        assert result["id"] == challenge_id
        assert result["phoneHint"] == "532*****32"
        resend_at = datetime.fromisoformat(result["resendAvailableAt"])
        assert resend_at - datetime.now(resend_at.tzinfo) > timedelta(seconds=50)
        new = await world.last_code(phone, 2)
        assert new != old
        stale = await verify(world, challenge_id, old)
        assert (stale["__typename"], stale["code"]) == ("WrongCode", "CODE_WRONG")
        assert (await verify(world, challenge_id, new))["__typename"] == "SignedIn"

    async def test_resends_are_capped(self, world):
        phone = "5320000133"
        challenge_id, _ = await apply_code(world, ZEYNEP, phone)
        for n in range(world.settings.otp_max_resends):
            await world.sql("UPDATE otp_challenge SET last_sent_at = last_sent_at - interval '61 seconds' "
                            "WHERE id = $1", uuid.UUID(challenge_id))
            result = (await world.gql(RESEND, {"id": challenge_id}))["resendCode"]
            assert result["__typename"] == "Challenge", result
            await world.wait_for_sms(phone, n + 2)
        await world.sql("UPDATE otp_challenge SET last_sent_at = last_sent_at - interval '61 seconds' "
                        "WHERE id = $1", uuid.UUID(challenge_id))
        result = (await world.gql(RESEND, {"id": challenge_id}))["resendCode"]
        assert (result["__typename"], result["code"]) == ("RateLimited", "RATE_LIMITED")
        code = await world.last_code(phone, world.settings.otp_max_resends + 1)
        assert (await verify(world, challenge_id, code))["__typename"] == "SignedIn"
