"""Shared steps of the seed's screens, spoken through GraphQL."""

import secrets
from datetime import date, datetime

from acikkapi.services.reports import ISTANBUL
from acikkapi.services.sessions import token_hash
from acikkapi.simulators.identity import PEOPLE
from tests.documents import REQUEST_APPLY, REQUEST_STAFF, REQUEST_TRACKING, SUBMIT, TRACKED, VERIFY  # noqa: F401

AYSE = next(p for p in PEOPLE if p["ad"] == "AYŞE")
MEHMET = next(p for p in PEOPLE if p["ad"] == "MEHMET ALİ")
ZEYNEP = next(p for p in PEOPLE if p["ad"] == "ZEYNEP")
ANNA = next(p for p in PEOPLE if p["ad"] == "ANNA")

def istanbul_today() -> date:
    """The date the server checks dates against, wherever the tests run."""
    return datetime.now(ISTANBUL).date()


AKS_ANKARA = {"tckn": "10000000078", "phone": "5321000001"}
YETKILI_ANKARA = {"tckn": "10000000214", "phone": "5321000002"}
MIA_ANKARA = {"tckn": "10000000382", "phone": "5321000003"}


def apply_input(person: dict, phone: str, **changes) -> dict:
    data = {"tcKimlikNo": person["tckn"], "firstName": person["ad"].title(), "lastName": person["soyad"],
            "motherMaidenInitials": person["anne"][0] + person["anne"][-1], "phone": phone}
    return {**data, **changes}


async def sign_in_to_apply(world, person: dict, phone: str) -> str:
    """Başvuru Giriş → Onay Kodu → Tamam: the APPLY session's token."""
    before = len(await world.sms_to(phone))
    data = await world.gql(REQUEST_APPLY, {"input": apply_input(person, phone)})
    challenge = data["requestApplicationCode"]
    assert challenge["__typename"] == "Challenge", challenge
    code = await world.last_code(phone, before + 1)
    verified = (await world.gql(VERIFY, {"id": challenge["id"], "code": code}))["verifyCode"]
    assert verified["__typename"] == "SignedIn", verified
    return verified["token"]


async def first_category(world) -> tuple[int, int]:
    data = await world.gql("{ serviceCategories { id name subcategories { id name } } }")
    category = data["serviceCategories"][0]
    return category["id"], category["subcategories"][0]["id"]


async def submit(world, token: str, phone: str, **changes) -> dict:
    category, subcategory = await first_category(world)
    data = {"sameAsResidence": True, "phone": phone, "subject": "Okulun genel temizliği için yardım talebi.",
            "categories": [{"categoryId": category, "subcategoryId": subcategory}]}
    return (await world.gql(SUBMIT, {"input": {**data, **changes}}, token=token))["submitApplication"]


async def apply(world, person: dict, phone: str, **changes) -> int:
    """Apply and wait for the tracking-number SMS, so later code lookups on `phone` see it already."""
    token = await sign_in_to_apply(world, person, phone)
    before = len(await world.sms_to(phone))
    result = await submit(world, token, phone, **changes)
    assert result["__typename"] == "SubmitApplicationSuccess", result
    messages = await world.wait_for_sms(phone, before + 1)
    assert f"takip numarası: {result['trackingNo']}." in messages[-1]
    return result["trackingNo"]


async def sign_in_to_track(world, tracking_no: int, person: dict, phone: str) -> str:
    before = len(await world.sms_to(phone))
    data = await world.gql(REQUEST_TRACKING, {"input": {"trackingNo": tracking_no, "tcKimlikNo": person["tckn"]}})
    challenge = data["requestTrackingCode"]
    code = await world.last_code(phone, before + 1)
    verified = (await world.gql(VERIFY, {"id": challenge["id"], "code": code}))["verifyCode"]
    assert verified["__typename"] == "SignedIn", verified
    return verified["token"]


async def staff_sign_in(world, staff: dict) -> str:
    before = len(await world.sms_to(staff["phone"]))
    data = await world.gql(REQUEST_STAFF, {"input": {"tcKimlikNo": staff["tckn"], "phone": staff["phone"]}})
    code = await world.last_code(staff["phone"], before + 1)
    verified = (await world.gql(VERIFY, {"id": data["requestStaffCode"]["id"], "code": code}))["verifyCode"]
    assert verified["__typename"] == "SignedIn", verified
    return verified["token"]


async def staff_session(world, tckn: str) -> str:
    """A staff session for `tckn`, written as a sign-in writes it: for tests about what staff may do once signed
    in (the sign-ins themselves are tested in tests/signin)."""
    token = secrets.token_urlsafe(32)
    rows = await world.sql(
        "INSERT INTO auth_session (token_hash, purpose, tckn, phone, user_id, last_seen_at, expires_at) "
        "SELECT $1, 'STAFF', tckn, phone, id, now(), now() + interval '1 hour' FROM app_user WHERE tckn = $2 AND active "
        "RETURNING id", token_hash(token), tckn)
    assert len(rows) == 1, tckn
    return token
