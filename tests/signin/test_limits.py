"""How many codes go out per hour: per T.C. Kimlik No and phone, per phone and per client address."""

import asyncio

from tests.helpers import AKS_ANKARA, ANNA, AYSE, YETKILI_ANKARA, ZEYNEP
from tests.signin.support import (
    FATMA, HASAN, ISMAIL, REQUEST_APPLY, SmsWatch, person_input, request_apply, request_staff, request_tracking,
    valid_tcknumbers,
)

SETTINGS = {"otp_hourly_limit_per_identity": 3, "otp_hourly_limit_per_phone": 3, "otp_hourly_limit_per_client": 4}


def assert_rate_limited(result: dict) -> None:
    assert (result["__typename"], result["code"]) == ("RateLimited", "RATE_LIMITED"), result


class TestLimitPerIdentity:
    def test_module_limits_are_in_force(self, world):
        assert {name: getattr(world.settings, name) for name in SETTINGS} == SETTINGS

    async def test_fourth_code_for_one_tckn_and_phone_within_the_hour_is_refused(self, world):
        phone = "5320000303"
        for n in range(1, 4):
            assert (await request_apply(world, ISMAIL, phone))["__typename"] == "Challenge"
            await world.wait_for_sms(phone, n)
        async with SmsWatch(world) as watch:
            assert_rate_limited(await request_apply(world, ISMAIL, phone))
            await watch.assert_nothing_sent()
        assert len(await world.sms_to(phone)) == 3
        # the same number with another phone has an allowance of its own
        assert (await request_apply(world, ISMAIL, "5320000302"))["__typename"] == "Challenge"
        await world.wait_for_sms("5320000302", 1)

    async def test_codes_older_than_an_hour_no_longer_count(self, world):
        for _ in range(3):
            await request_apply(world, ISMAIL, "5320000301")
        assert_rate_limited(await request_apply(world, ISMAIL, "5320000301"))
        await world.sql("UPDATE otp_challenge SET created_at = created_at - interval '61 minutes' "
                        "WHERE tckn = $1", ISMAIL["tckn"])
        assert (await request_apply(world, ISMAIL, "5320000301"))["__typename"] == "Challenge"

    async def test_identity_mismatches_do_not_count_against_the_person(self, world):
        for _ in range(4):
            wrong = person_input(ANNA, "5320000306", motherMaidenInitials="XY")
            data = await world.gql(REQUEST_APPLY, {"input": wrong})
            assert data["requestApplicationCode"]["__typename"] == "IdentityMismatch"
        assert (await request_apply(world, ANNA, "5320000306"))["__typename"] == "Challenge"
        await world.wait_for_sms("5320000306", 1)

    async def test_concurrent_requests_cannot_pass_the_limit(self, world):
        tckn = next(valid_tcknumbers(250000001))
        results = await asyncio.gather(*(request_staff(world, tckn, "5320000340") for _ in range(8)))
        kinds = sorted(result["__typename"] for result in results)
        assert kinds == ["Challenge"] * 3 + ["RateLimited"] * 5, results


class TestLimitPerPhone:
    async def test_fourth_code_to_one_phone_within_the_hour_is_refused(self, world):
        phone = "5320000311"
        for n, person in enumerate([AYSE, ZEYNEP, FATMA], start=1):
            assert (await request_apply(world, person, phone))["__typename"] == "Challenge"
            await world.wait_for_sms(phone, n)
        async with SmsWatch(world) as watch:
            assert_rate_limited(await request_apply(world, HASAN, phone))
            await watch.assert_nothing_sent()
        assert len(await world.sms_to(phone)) == 3

    async def test_staff_requests_with_made_up_numbers_do_not_use_up_a_staff_phone(self, world):
        numbers = valid_tcknumbers(200000001)
        for _ in range(4):
            assert (await request_staff(world, next(numbers), YETKILI_ANKARA["phone"]))["__typename"] == "Challenge"
        before = len(await world.sms_to(YETKILI_ANKARA["phone"]))
        challenge = await request_staff(world, YETKILI_ANKARA["tckn"], YETKILI_ANKARA["phone"])
        assert challenge["__typename"] == "Challenge", challenge
        await world.wait_for_sms(YETKILI_ANKARA["phone"], before + 1)


class TestLimitPerClient:
    async def test_fifth_code_from_one_address_within_the_hour_is_refused(self, world):
        address = world.new_address()
        numbers = valid_tcknumbers(300000001)
        for n in range(4):
            result = await request_staff(world, next(numbers), f"53200003{20 + n}", address=address)
            assert result["__typename"] == "Challenge", result
        # the fifth, even for a real staff member, sends nothing
        async with SmsWatch(world) as watch:
            before = len(await world.sms_to(AKS_ANKARA["phone"]))
            assert_rate_limited(await request_staff(world, AKS_ANKARA["tckn"], AKS_ANKARA["phone"],
                                                    address=address))
            await watch.assert_nothing_sent()
        assert len(await world.sms_to(AKS_ANKARA["phone"])) == before
        rows = await world.sql("SELECT count(*) AS n FROM otp_challenge WHERE client_ip = $1::inet", address)
        assert rows[0]["n"] == 4
        # another address is not affected
        assert (await request_staff(world, next(numbers), "5320000329"))["__typename"] == "Challenge"


class TestTrackingIgnoresThePhoneLimit:
    async def test_a_flooded_phone_does_not_reveal_that_an_application_exists(self, world):
        from tests.helpers import apply

        phone = "5320000391"
        tracking_no = await apply(world, HASAN, phone)  # one code to the phone
        for person in (AYSE, ZEYNEP):
            assert (await request_apply(world, person, phone))["__typename"] == "Challenge"
        assert_rate_limited(await request_apply(world, FATMA, phone))  # the phone is at its limit
        sent = len(await world.sms_to(phone))
        result = await request_tracking(world, tracking_no, HASAN["tckn"])
        assert result["__typename"] == "Challenge", result  # answered like any tracking request
        await world.wait_for_sms(phone, sent + 1)
