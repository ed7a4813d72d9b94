"""Staff sign-in by SMS code (AKS and Yetkili only), `me`, signOut and the session's life."""

from datetime import datetime, timedelta, timezone

from tests.helpers import AKS_ANKARA, AYSE, MIA_ANKARA, YETKILI_ANKARA, sign_in_to_apply, staff_sign_in
from tests.signin.support import (
    ME, SIGN_OUT, SmsWatch, challenge_row, no_code_can_verify, other_code, request_staff, sha256, verify,
)

AKS_ISTANBUL = {"tckn": "10000000696", "phone": "5321000006"}


async def me(world, token: str | None) -> dict | None:
    return (await world.gql(ME, token=token))["me"]


async def sign_out(world, token: str | None) -> dict:
    return (await world.gql(SIGN_OUT, token=token))["signOut"]


async def move_last_seen(world, token: str, minutes: int) -> None:
    await world.sql("UPDATE auth_session SET last_seen_at = now() - make_interval(mins => $2) "
                    "WHERE token_hash = $1", sha256(token), minutes)


class TestStaffSignIn:
    async def test_aks_signs_in_and_me_shows_the_role_and_province(self, world):
        token = await staff_sign_in(world, AKS_ANKARA)
        user = await me(world, token)
        assert user["role"] == "AKS"
        assert user["roleLabel"] == "Açık Kapı Sorumlusu"
        assert user["province"] == {"id": 6, "name": "Ankara"}
        assert user["units"] == []
        assert (user["firstName"], user["lastName"]) == ("Elif", "Arslan")
        deadline = datetime.fromisoformat(user["sessionExpiresAt"])
        assert timedelta(minutes=29) < deadline - datetime.now(timezone.utc) <= timedelta(minutes=30)

    async def test_yetkili_signs_in_and_me_shows_the_units(self, world):
        token = await staff_sign_in(world, YETKILI_ANKARA)
        user = await me(world, token)
        assert user["role"] == "YETKILI"
        assert user["roleLabel"] == "Yetkili"
        assert user["province"] == {"id": 6, "name": "Ankara"}
        assert {"detsisNo": 55461037, "name": "ANKARA İL MİLLÎ EĞİTİM MÜDÜRLÜĞÜ"} in user["units"]

    async def test_staff_code_opens_a_staff_session(self, world):
        before = len(await world.sms_to(AKS_ANKARA["phone"]))
        challenge = await request_staff(world, AKS_ANKARA["tckn"], "0 532 100 00 01")  # any spelling of it
        assert challenge["phoneHint"] == "532*****01"
        code = await world.last_code(AKS_ANKARA["phone"], before + 1)
        result = await verify(world, challenge["id"], code)
        assert (result["__typename"], result["purpose"]) == ("SignedIn", "STAFF")

    async def test_mia_cannot_sign_in_by_sms(self, world):
        async with SmsWatch(world) as watch:
            challenge = await request_staff(world, MIA_ANKARA["tckn"], MIA_ANKARA["phone"])
            await watch.assert_nothing_sent()
        assert challenge["__typename"] == "Challenge"
        assert challenge["phoneHint"] == "532*****03"  # answered like anyone else
        assert await world.sms_to(MIA_ANKARA["phone"]) == []
        assert (await challenge_row(world, challenge["id"]))["user_id"] is None
        assert await no_code_can_verify(world, challenge["id"])
        result = await verify(world, challenge["id"], other_code("000000"))
        assert (result["__typename"], result["code"]) == ("WrongCode", "CODE_WRONG")


class TestMe:
    async def test_without_a_token_me_is_null(self, world):
        assert await me(world, None) is None

    async def test_with_an_unknown_token_me_is_null(self, world):
        assert await me(world, "x" * 43) is None

    async def test_citizen_apply_token_is_not_staff(self, world):
        token = await sign_in_to_apply(world, AYSE, "5320000601")
        assert await me(world, token) is None


class TestSignOut:
    async def test_sign_out_ends_the_session(self, world):
        token = await staff_sign_in(world, AKS_ANKARA)
        assert await me(world, token) is not None
        assert await sign_out(world, token) == {"__typename": "Done", "ok": True}
        assert await me(world, token) is None
        again = await sign_out(world, token)
        assert again["__typename"] == "Unauthenticated", again

    async def test_sign_out_without_a_token_is_refused(self, world):
        result = await sign_out(world, None)
        assert result["__typename"] == "Unauthenticated", result

    async def test_sign_out_ends_only_that_session(self, world):
        first = await staff_sign_in(world, AKS_ANKARA)
        second = await staff_sign_in(world, AKS_ANKARA)
        assert (await sign_out(world, first))["__typename"] == "Done"
        assert await me(world, first) is None
        assert (await me(world, second))["role"] == "AKS"


class TestSessionLife:
    async def test_session_idle_for_more_than_thirty_minutes_is_gone(self, world):
        token = await staff_sign_in(world, AKS_ANKARA)
        await move_last_seen(world, token, 31)
        assert await me(world, token) is None
        assert (await sign_out(world, token))["__typename"] == "Unauthenticated"

    async def test_session_used_within_thirty_minutes_stays(self, world):
        token = await staff_sign_in(world, AKS_ANKARA)
        await move_last_seen(world, token, 29)
        assert (await me(world, token))["role"] == "AKS"
        rows = await world.sql("SELECT now() - last_seen_at AS idle FROM auth_session WHERE token_hash = $1",
                               sha256(token))
        assert rows[0]["idle"] < timedelta(minutes=1)  # the request counted as use
        await move_last_seen(world, token, 29)
        assert (await me(world, token))["role"] == "AKS"

    async def test_session_past_its_absolute_end_is_gone(self, world):
        token = await staff_sign_in(world, AKS_ANKARA)
        await world.sql("UPDATE auth_session SET expires_at = now() - interval '1 second' WHERE token_hash = $1",
                        sha256(token))
        assert await me(world, token) is None

    async def test_deactivated_user_loses_the_session(self, world):
        token = await staff_sign_in(world, AKS_ISTANBUL)
        assert (await me(world, token))["province"]["id"] == 34
        await world.sql("UPDATE app_user SET active = false WHERE tckn = $1", AKS_ISTANBUL["tckn"])
        try:
            assert await me(world, token) is None
            assert (await sign_out(world, token))["__typename"] == "Unauthenticated"
            # and cannot get a new code either
            async with SmsWatch(world) as watch:
                challenge = await request_staff(world, AKS_ISTANBUL["tckn"], AKS_ISTANBUL["phone"])
                await watch.assert_nothing_sent()
            assert challenge["__typename"] == "Challenge"
        finally:
            await world.sql("UPDATE app_user SET active = true WHERE tckn = $1", AKS_ISTANBUL["tckn"])
