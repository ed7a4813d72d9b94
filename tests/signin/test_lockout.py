"""Nobody can lock someone else out by asking for codes with their T.C. Kimlik No.

The person's allowance counts codes per number and phone (per number and tracking number for tracking), so
made-up phones, names or tracking numbers never use it up. Requests that match nothing count against the
address they come from, which is refused after a few.
"""

import pytest

from tests.helpers import AKS_ANKARA, YETKILI_ANKARA, apply, staff_sign_in
from tests.signin.support import (
    FATMA, HASAN, REQUEST_APPLY, SmsWatch, person_input, request_apply, request_staff, request_tracking,
    valid_tcknumbers,
)

SETTINGS = {"otp_hourly_limit_per_identity": 3, "otp_hourly_limit_per_phone": 3, "otp_hourly_limit_per_client": 30,
            "otp_hourly_failures_per_client": 5, "otp_hourly_lookups_per_client": 5}
ATTEMPTS = 8  # more than every limit above except the address's total


def kinds(results: list[dict]) -> list[str]:
    return [result.get("code", result["__typename"]) for result in results]


class TestStaffCode:
    async def test_made_up_phones_do_not_lock_a_staff_member_out(self, world):
        attacker = world.new_address()
        results = [await request_staff(world, AKS_ANKARA["tckn"], f"53900001{n:02d}", address=attacker)
                   for n in range(ATTEMPTS)]
        # the attacker's address is refused once it has had its share of requests that matched nothing
        assert kinds(results) == ["Challenge"] * 5 + ["RATE_LIMITED"] * 3
        token = await staff_sign_in(world, AKS_ANKARA)  # from the staff member's own address
        assert token


class TestApplicationCode:
    async def test_identity_mismatches_with_someones_number_do_not_lock_them_out(self, world):
        attacker = world.new_address()
        results = []
        for n in range(ATTEMPTS):
            wrong = person_input(FATMA, f"53900002{n:02d}", lastName="YANLIŞ")
            results.append((await world.gql(REQUEST_APPLY, {"input": wrong}, address=attacker))
                           ["requestApplicationCode"])
        assert kinds(results) == ["IDENTITY_MISMATCH"] * 5 + ["RATE_LIMITED"] * 3
        # refused from that address even with a person's right details…
        async with SmsWatch(world) as watch:
            refused = await request_apply(world, HASAN, "5390000299", address=attacker)
            await watch.assert_nothing_sent()
        assert refused["code"] == "RATE_LIMITED", refused
        # …while the person herself still gets her code
        assert (await request_apply(world, FATMA, "5390000201"))["__typename"] == "Challenge"
        await world.wait_for_sms("5390000201", 1)

    async def test_codes_sent_to_other_phones_do_not_use_up_the_persons_own_phone(self, world):
        for n in range(4):  # someone who knows her details, with phones of their own
            assert (await request_apply(world, HASAN, f"53900003{n:02d}"))["__typename"] == "Challenge"
        assert (await request_apply(world, HASAN, "5390000399"))["__typename"] == "Challenge"
        await world.wait_for_sms("5390000399", 1)


class TestTrackingCode:
    async def test_made_up_tracking_numbers_do_not_lock_the_applicant_out(self, world):
        phone = "5390000401"
        tracking_no = await apply(world, HASAN, phone)
        attacker = world.new_address()
        results = [await request_tracking(world, tracking_no + 1000 + n, HASAN["tckn"], address=attacker)
                   for n in range(ATTEMPTS)]
        assert kinds(results) == ["Challenge"] * 5 + ["RATE_LIMITED"] * 3
        sent = len(await world.sms_to(phone))
        assert (await request_tracking(world, tracking_no, HASAN["tckn"]))["__typename"] == "Challenge"
        await world.wait_for_sms(phone, sent + 1)


class TestOneAddressManyPeople:
    """An office or a carrier NAT: many honest people behind one address."""

    async def test_staff_signing_in_from_one_address_do_not_block_citizens_applying_there(self, world):
        office = world.new_address()
        colleagues = valid_tcknumbers(290000001)
        results = [await request_staff(world, next(colleagues), f"53900008{n:02d}", address=office)
                   for n in range(6)]
        assert kinds(results)[-1] == "RATE_LIMITED"  # the staff share of the address is used up…
        applied = await request_apply(world, FATMA, "5390000810", address=office)
        assert applied["__typename"] == "Challenge", applied  # …not the citizens'

    async def test_citizens_tracking_from_one_address_do_not_block_staff_signing_in_there(self, world):
        office = world.new_address()
        results = [await request_tracking(world, 900000 + n, FATMA["tckn"], address=office) for n in range(6)]
        assert kinds(results)[-1] == "RATE_LIMITED"  # the tracking share of the address is used up…
        signed = await request_staff(world, next(valid_tcknumbers(292000001)), "5390000960", address=office)
        assert signed["__typename"] == "Challenge", signed  # …not the staff's

    async def test_citizens_mistyping_at_one_address_do_not_block_staff_signing_in_there(self, world):
        office = world.new_address()
        for n in range(6):
            wrong = person_input(FATMA, f"53900009{n:02d}", lastName="YANLIŞ")
            await world.gql(REQUEST_APPLY, {"input": wrong}, address=office)
        signed = await request_staff(world, next(valid_tcknumbers(291000001)), "5390000950", address=office)
        assert signed["__typename"] == "Challenge", signed


class TestLimitsTellNothing:
    """Staff and tracking requests answer alike whether or not they matched: so do their limits."""

    @pytest.mark.parametrize("staff", ["real", "made-up"])
    async def test_a_staff_number_and_phone_reach_the_limit_alike(self, world, staff):
        tckn, phone = ((YETKILI_ANKARA["tckn"], YETKILI_ANKARA["phone"]) if staff == "real"
                       else (next(valid_tcknumbers(280000001)), "5390000501"))
        results = [await request_staff(world, tckn, phone) for _ in range(4)]
        assert kinds(results) == ["Challenge"] * 3 + ["RATE_LIMITED"]

    @pytest.mark.parametrize("application", ["real", "made-up"])
    async def test_a_tracking_number_reaches_the_limit_alike(self, world, application):
        tracking_no = await apply(world, FATMA, "5390000601")
        if application == "made-up":
            tracking_no += 5000
        results = [await request_tracking(world, tracking_no, FATMA["tckn"]) for _ in range(4)]
        assert kinds(results) == ["Challenge"] * 3 + ["RATE_LIMITED"]

    @pytest.mark.parametrize("application", ["real", "made-up"])
    async def test_tracking_requests_count_against_the_address_alike(self, world, application):
        tracking_nos = [await apply(world, FATMA, f"53900007{n:02d}") for n in range(3)]
        if application == "made-up":
            tracking_nos = [number + 5000 for number in tracking_nos]
        address = world.new_address()
        results = [await request_tracking(world, tracking_nos[n % 3], FATMA["tckn"], address=address)
                   for n in range(6)]
        assert kinds(results) == ["Challenge"] * 5 + ["RATE_LIMITED"]
