"""Başvuru Kayıt by an AKS (seed §3.1): a written or in-person application registered for a citizen.

The identity and residence come from the identity service by T.C. Kimlik No; the AKS types the rest.
"""

import asyncio
import json
from datetime import date, timedelta

import pytest

from tests.applications.support import counts, png_bytes, submit_input, wait_for_tracking_sms
from tests.documents import REGISTER
from tests.helpers import AKS_ANKARA, AYSE, istanbul_today, staff_sign_in, YETKILI_ANKARA, ZEYNEP
from tests.signin.support import valid_tcknumbers

AKS_ISTANBUL = {"tckn": "10000000696", "phone": "5321000006"}


async def register(world, token, person: dict, phone: str, arrival: date | None = None, key: str | None = None,
                   **changes) -> dict:
    data = {"tcKimlikNo": person["tckn"], "arrivalDate": (arrival or istanbul_today()).isoformat(),
            "application": await submit_input(world, phone, **changes), "idempotencyKey": key}
    return (await world.gql(REGISTER, {"input": data}, token=token))["registerApplication"]


async def test_an_aks_registers_an_application_for_a_citizen_of_the_province(world):
    token = await staff_sign_in(world, AKS_ANKARA)
    arrival = istanbul_today() - timedelta(days=2)
    result = await register(world, token, AYSE, "5350000001", arrival)
    assert result["__typename"] == "SubmitApplicationSuccess", result
    sms = await wait_for_tracking_sms(world, "5350000001", result["trackingNo"])
    assert sms.startswith("Sayın AYŞE YILMAZ")
    [row] = await world.sql(
        "SELECT a.channel, a.arrival_date, a.applicant_first_name, a.subject_province_id, u.tckn AS creator, "
        "e.actor_label, e.status FROM application a JOIN app_user u ON u.id = a.created_by_id "
        "JOIN application_event e ON e.application_id = a.id WHERE a.tracking_no = $1", result["trackingNo"])
    assert (row["channel"], row["arrival_date"], row["applicant_first_name"]) == ("BANKO", arrival, "AYŞE")
    assert (row["subject_province_id"], row["creator"], row["status"]) == (6, AKS_ANKARA["tckn"], "HAVUZDA")
    assert row["actor_label"] == "Elif Arslan (Açık Kapı Sorumlusu)"


class TestIdempotencyKey:
    async def test_a_repeated_registration_with_one_key_answers_with_the_first_application(self, world):
        token = await staff_sign_in(world, AKS_ANKARA)
        first = await register(world, token, AYSE, "5350000011", key="kayit-0001-abcdef")
        assert first["__typename"] == "SubmitApplicationSuccess", first
        before = await counts(world)
        again = await register(world, token, AYSE, "5350000011", key="kayit-0001-abcdef")
        assert again == first
        assert await counts(world) == before
        other = await register(world, token, AYSE, "5350000011", key="kayit-0002-abcdef")
        assert other["trackingNo"] != first["trackingNo"]

    async def test_concurrent_registrations_with_one_key_make_one_application(self, world):
        token = await staff_sign_in(world, AKS_ANKARA)
        before = await counts(world)
        results = await asyncio.gather(*[register(world, token, AYSE, "5350000012", key="kayit-0003-abcdef")
                                         for _ in range(4)])
        assert len({r["trackingNo"] for r in results}) == 1, results
        assert (await counts(world))["applications"] == before["applications"] + 1

    async def test_another_officers_key_is_their_own(self, world):
        ankara, istanbul = await staff_sign_in(world, AKS_ANKARA), await staff_sign_in(world, AKS_ISTANBUL)
        mine = await register(world, ankara, AYSE, "5350000013", key="kayit-0004-abcdef")
        theirs = await register(world, istanbul, ZEYNEP, "5350000014", key="kayit-0004-abcdef")
        assert theirs["__typename"] == "SubmitApplicationSuccess" and theirs["trackingNo"] != mine["trackingNo"]

    @pytest.mark.parametrize("key", ["kısa", "x" * 65, "anahtar\u0000sıfır", "çok-türkçe-anahtar"])
    async def test_a_malformed_key_is_refused(self, world, key):
        token = await staff_sign_in(world, AKS_ANKARA)
        result = await register(world, token, AYSE, "5350000015", key=key)
        assert (result["__typename"], result["field"]) == ("ValidationFailed", "idempotencyKey"), result


async def test_an_aks_cannot_register_an_address_in_another_province(world):
    token = await staff_sign_in(world, AKS_ANKARA)
    before = await counts(world)
    result = await register(world, token, ZEYNEP, "5350000002")  # residence: İstanbul
    assert (result["__typename"], result["code"]) == ("IdentityLookupRefused", "IDENTITY_LOOKUP_REFUSED"), result
    assert await counts(world) == before
    istanbul = await staff_sign_in(world, AKS_ISTANBUL)
    assert (await register(world, istanbul, ZEYNEP, "5350000002"))["__typename"] == "SubmitApplicationSuccess"


async def test_a_yetkili_cannot_register(world):
    token = await staff_sign_in(world, YETKILI_ANKARA)
    result = await register(world, token, AYSE, "5350000003")
    assert result["code"] == "PERMISSION_DENIED", result


async def test_without_a_token_nothing_is_registered(world):
    result = await register(world, None, AYSE, "5350000004")
    assert result["code"] == "UNAUTHENTICATED", result


async def test_an_unknown_identity_number_is_refused(world):
    token = await staff_sign_in(world, AKS_ANKARA)
    result = await register(world, token, {"tckn": "20000000046"}, "5350000005")
    assert (result["__typename"], result["code"]) == ("IdentityLookupRefused", "IDENTITY_LOOKUP_REFUSED"), result


async def test_a_wrong_checksum_is_refused_before_the_identity_service(world):
    token = await staff_sign_in(world, AKS_ANKARA)
    result = await register(world, token, {"tckn": "20000000047"}, "5350000006")
    assert (result["code"], result["field"]) == ("VALIDATION_FAILED", "tcKimlikNo"), result


async def test_an_arrival_date_in_the_future_is_refused(world):
    token = await staff_sign_in(world, AKS_ANKARA)
    result = await register(world, token, AYSE, "5350000007", istanbul_today() + timedelta(days=2))
    assert (result["code"], result["field"]) == ("VALIDATION_FAILED", "arrivalDate"), result


async def test_the_identity_service_being_down_is_a_clear_error(world):
    token = await staff_sign_in(world, AKS_ANKARA)
    try:
        await world.control("identity", down=True)
        result = await register(world, token, AYSE, "5350000008")
    finally:
        await world.control("identity", down=False)
    assert (result["__typename"], result["code"]) == ("ServiceUnavailable", "SERVICE_UNAVAILABLE"), result


async def test_a_scanned_petition_is_attached(world):
    token = await staff_sign_in(world, AKS_ANKARA)
    variables = {"input": {"tcKimlikNo": AYSE["tckn"], "arrivalDate": istanbul_today().isoformat(),
                           "application": {**await submit_input(world, "5350000009"), "files": [None]}}}
    response = await world.http.post(
        "/graphql", headers={"Authorization": f"Bearer {token}", "GraphQL-Preflight": "1",
                             "X-Forwarded-For": world.new_address()},
        data={"operations": json.dumps({"query": REGISTER, "variables": variables}),
              "map": json.dumps({"0": ["variables.input.application.files.0"]})},
        files=[("0", ("dilekce.png", png_bytes(), "image/png"))])
    result = response.json()["data"]["registerApplication"]
    assert result["__typename"] == "SubmitApplicationSuccess", result
    [row] = await world.sql("SELECT t.file_name, t.content_type, t.uploaded_by_id IS NOT NULL AS by_staff "
                            "FROM attachment t JOIN application a ON a.id = t.application_id "
                            "WHERE a.tracking_no = $1", result["trackingNo"])
    assert tuple(row) == ("dilekce.png", "image/png", True)


# ------------------------------------------------------------------------- identity lookups by staff

REFUSAL = "Bu T.C. Kimlik No ile başvuru kaydı yapılamıyor."
_officer_numbers = valid_tcknumbers(700000001)


async def new_aks(world) -> dict:
    """A fresh AKS of Ankara, so the hourly allowance counts only this test's lookups."""
    tckn = next(_officer_numbers)
    phone = "536" + tckn[-7:]
    await world.sql("INSERT INTO app_user (tckn, first_name, last_name, phone, role, province_id, active) "
                    "VALUES ($1, 'Deniz', 'Aksu', $2, 'AKS', 6, true)", tckn, phone)
    return {"tckn": tckn, "phone": phone}


async def lookups_by(world, officer: dict) -> list[tuple]:
    rows = await world.sql(
        "SELECT l.tckn, l.purpose, l.outcome, now() - l.created_at < interval '1 minute' AS recent "
        "FROM identity_lookup l JOIN app_user u ON u.id = l.user_id WHERE u.tckn = $1 ORDER BY l.id",
        officer["tckn"])
    return [tuple(row) for row in rows]


async def test_an_unknown_number_and_a_residence_in_another_province_are_refused_alike(world):
    token = await staff_sign_in(world, await new_aks(world))
    unknown = await register(world, token, {"tckn": "20000000046"}, "5350000011")
    elsewhere = await register(world, token, ZEYNEP, "5350000012")  # residence: İstanbul
    assert unknown == elsewhere == {"__typename": "IdentityLookupRefused", "code": "IDENTITY_LOOKUP_REFUSED",
                                    "message": REFUSAL, "field": "tcKimlikNo"}


async def test_every_lookup_is_recorded_with_who_whose_why_and_the_outcome(world):
    officer = await new_aks(world)
    token = await staff_sign_in(world, officer)
    assert (await register(world, token, AYSE, "5350000013"))["__typename"] == "SubmitApplicationSuccess"
    assert (await register(world, token, ZEYNEP, "5350000014"))["code"] == "IDENTITY_LOOKUP_REFUSED"
    assert (await register(world, token, {"tckn": "20000000046"}, "5350000015"))["code"] == "IDENTITY_LOOKUP_REFUSED"
    try:
        await world.control("identity", down=True)
        assert (await register(world, token, AYSE, "5350000016"))["code"] == "SERVICE_UNAVAILABLE"
    finally:
        await world.control("identity", down=False)
    # refused before any lookup: nothing to record
    assert (await register(world, token, {"tckn": "20000000047"}, "5350000017"))["code"] == "VALIDATION_FAILED"
    purpose = "REGISTER_APPLICATION"
    assert await lookups_by(world, officer) == [
        (AYSE["tckn"], purpose, "FOUND", True), (ZEYNEP["tckn"], purpose, "OTHER_PROVINCE", True),
        ("20000000046", purpose, "NOT_FOUND", True), (AYSE["tckn"], purpose, "UNAVAILABLE", True)]


@pytest.mark.parametrize("mistake", [{"subject": " "}, {"email": "yok"}, {"categories": []},
                                     {"sameAsResidence": False, "provinceId": 6, "districtId": 1, "placeId": 1}])
async def test_a_form_that_cannot_be_registered_costs_no_identity_lookup(world, mistake):
    officer = await new_aks(world)
    token = await staff_sign_in(world, officer)
    result = await register(world, token, AYSE, "5350000020", **mistake)
    assert result["__typename"] == "ValidationFailed", result
    assert await lookups_by(world, officer) == []


async def test_an_officer_gets_a_limited_number_of_lookups_per_hour(world):
    officer = await new_aks(world)
    token = await staff_sign_in(world, officer)
    limit = world.settings.staff_identity_lookups_per_hour
    results = await asyncio.gather(*(register(world, token, {"tckn": "20000000046"}, "5350000018")
                                     for _ in range(limit + 5)))
    codes = sorted(result["code"] for result in results)
    assert codes == ["IDENTITY_LOOKUP_REFUSED"] * limit + ["TOO_MANY_IDENTITY_LOOKUPS"] * 5, codes
    before = await counts(world)
    refused = await register(world, token, AYSE, "5350000019")  # even a good one, until the hour has passed
    assert (refused["__typename"], refused["code"]) == ("TooManyIdentityLookups", "TOO_MANY_IDENTITY_LOOKUPS"), refused
    assert await counts(world) == before
    assert len(await lookups_by(world, officer)) == limit
    # another officer is not affected
    other = await staff_sign_in(world, await new_aks(world))
    assert (await register(world, other, AYSE, "5350000020"))["__typename"] == "SubmitApplicationSuccess"
    # an hour later the officer may look up again
    await world.sql("UPDATE identity_lookup SET created_at = created_at - interval '61 minutes' "
                    "WHERE user_id = (SELECT id FROM app_user WHERE tckn = $1)", officer["tckn"])
    assert (await register(world, token, AYSE, "5350000021"))["__typename"] == "SubmitApplicationSuccess"
