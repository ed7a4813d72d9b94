"""Vatandaş Başvuru İşlemleri (seed §2.1): Kimlik ve İkametgâh Bilgileri, the form, Kaydet, the tracking SMS."""

import asyncio
import re

import pytest

from tests.documents import CATEGORIES, DISTRICTS, PLACES, PROFILE
from tests.applications.support import (
    apply_and_wait, counts, pdf_bytes, png_bytes, submit_input, submit_multipart, wait_for_tracking_sms,
)
from tests.helpers import (
    AKS_ANKARA, ANNA, AYSE, ZEYNEP, apply, first_category, sign_in_to_apply, sign_in_to_track,
    staff_sign_in, submit,
)




def tracking_sms_pattern(name: str) -> re.Pattern:
    return re.compile(rf"^Sayın {name}, Açık Kapı üzerinden yapmış olduğunuz başvuruya ait takip numarası: "
                      r"(\d+)\. Takip numarası ile başvuru durumunuzu sorgulayabilirsiniz\. AÇIK KAPI$")


async def district_id(world, province_id: int, name: str) -> int:
    districts = (await world.gql(DISTRICTS, {"id": province_id}))["districts"]
    return next(d["id"] for d in districts if d["name"] == name)


async def places_of(world, district: int) -> list[dict]:
    return (await world.gql(PLACES, {"id": district}))["places"]


async def categories(world) -> list[dict]:
    return (await world.gql(CATEGORIES))["serviceCategories"]


async def application_row(world, tracking_no: int):
    rows = await world.sql("SELECT * FROM application WHERE tracking_no = $1", tracking_no)
    assert len(rows) == 1
    return rows[0]


# ------------------------------------------------------------------------------------------ success


async def test_applicant_profile_returns_identity_and_resolved_residence(world):
    token = await sign_in_to_apply(world, AYSE, "5330000101")
    profile = (await world.gql(PROFILE, token=token))["applicantProfile"]
    assert profile["tcKimlikNo"] == AYSE["tckn"]
    assert (profile["firstName"], profile["lastName"]) == ("AYŞE", "YILMAZ")
    assert profile["birthDate"] == "1985-04-12"
    assert (profile["gender"], profile["genderLabel"]) == ("KADIN", "Kadın")
    assert profile["phone"] == "5330000101"
    residence = profile["residence"]
    assert residence["address"] == "Şehit Kubilay Sok. No: 12 Daire: 3"
    assert (residence["provinceName"], residence["districtName"], residence["placeName"]) == (
        "Ankara", "Keçiören", "Kalaba Mah")
    assert residence["province"] == {"id": 6, "name": "Ankara"}
    assert residence["district"]["name"] == "Keçiören"
    assert residence["place"]["name"] == "Kalaba Mah"
    assert (residence["place"]["kind"], residence["place"]["kindLabel"]) == ("MAHALLE", "Mahalle")
    # the records are the ones the address pickers offer
    assert residence["district"]["id"] == await district_id(world, 6, "Keçiören")
    assert residence["place"] in await places_of(world, residence["district"]["id"])


async def test_submit_same_as_residence_gives_tracking_no_and_sends_it_by_sms(world):
    phone = "5330000102"
    token = await sign_in_to_apply(world, AYSE, phone)
    result = await submit(world, token, phone)
    assert result["__typename"] == "SubmitApplicationSuccess", result
    tracking_no = result["trackingNo"]
    assert isinstance(tracking_no, int) and tracking_no > 0
    assert "başarıyla alınmıştır" in result["message"]
    messages = await world.wait_for_sms(phone, 2)  # the sign-in code, then the tracking number
    match = tracking_sms_pattern("AYŞE YILMAZ").match(messages[-1])
    assert match, messages[-1]
    assert int(match.group(1)) == tracking_no


async def test_the_next_submission_gets_the_next_tracking_no(world):
    first = await apply(world, AYSE, "5330000103")
    second = await apply(world, ZEYNEP, "5330000104")
    assert second == first + 1


async def test_submission_writes_application_category_and_event_rows(world):
    phone = "5330000105"
    category, subcategory = await first_category(world)
    tracking_no = await apply(world, AYSE, phone)
    application = await application_row(world, tracking_no)
    assert application["applicant_tckn"] == AYSE["tckn"]
    assert (application["applicant_first_name"], application["applicant_last_name"]) == ("AYŞE", "YILMAZ")
    assert application["status"] == "HAVUZDA"
    assert application["channel"] == "WEB"
    assert application["kind"] == "TALEP"
    assert application["phone"] == phone
    assert application["subject"] == "Okulun genel temizliği için yardım talebi."
    # sameAsResidence: the subject address is the residence, as address records
    keciören = await district_id(world, 6, "Keçiören")
    kalaba = next(p["id"] for p in await places_of(world, keciören) if p["name"] == "Kalaba Mah")
    assert application["subject_address"] == "Şehit Kubilay Sok. No: 12 Daire: 3"
    assert (application["subject_province_id"], application["subject_district_id"],
            application["subject_place_id"]) == (6, keciören, kalaba)
    assert (application["residence_province_id"], application["residence_district_id"]) == (6, keciören)

    rows = await world.sql("SELECT position, category_id, subcategory_id FROM application_category "
                           "WHERE application_id = $1", application["id"])
    assert [tuple(r) for r in rows] == [(1, category, subcategory)]
    events = await world.sql("SELECT action, status, actor_label, public FROM application_event "
                             "WHERE application_id = $1", application["id"])
    assert [tuple(e) for e in events] == [("SUBMITTED", "HAVUZDA", "Vatandaş", True)]


async def test_submit_with_an_explicit_subject_address(world):
    phone = "5330000106"
    token = await sign_in_to_apply(world, AYSE, phone)
    provinces = (await world.gql("{ provinces { id name } }"))["provinces"]
    assert {"id": 34, "name": "İstanbul"} in provinces
    kadikoy = await district_id(world, 34, "Kadıköy")
    place = (await places_of(world, kadikoy))[0]
    result = await submit(world, token, phone, sameAsResidence=False, subjectAddress="Moda Cad. No: 1",
                          provinceId=34, districtId=kadikoy, placeId=place["id"])
    assert result["__typename"] == "SubmitApplicationSuccess", result
    application = await application_row(world, result["trackingNo"])
    assert application["subject_address"] == "Moda Cad. No: 1"
    assert (application["subject_province_id"], application["subject_district_id"],
            application["subject_place_id"]) == (34, kadikoy, place["id"])
    # the residence stays the identity service's, in Ankara
    assert application["residence_address"] == "Şehit Kubilay Sok. No: 12 Daire: 3"
    assert application["residence_province_id"] == 6


async def test_several_category_rows(world):
    phone = "5330000107"
    token = await sign_in_to_apply(world, AYSE, phone)
    tree = await categories(world)
    chosen = [
        {"categoryId": tree[0]["id"], "subcategoryId": tree[0]["subcategories"][0]["id"],
         "description": "Okul bahçesi"},
        {"categoryId": tree[1]["id"], "subcategoryId": tree[1]["subcategories"][2]["id"]},
        {"categoryId": tree[0]["id"], "subcategoryId": tree[0]["subcategories"][1]["id"],
         "description": "  Sınıflar  "},
    ]
    result = await submit(world, token, phone, categories=chosen)
    assert result["__typename"] == "SubmitApplicationSuccess", result
    application = await application_row(world, result["trackingNo"])
    rows = await world.sql("SELECT position, category_id, subcategory_id, description FROM application_category "
                           "WHERE application_id = $1 ORDER BY position", application["id"])
    assert [tuple(r) for r in rows] == [
        (1, chosen[0]["categoryId"], chosen[0]["subcategoryId"], "Okul bahçesi"),
        (2, chosen[1]["categoryId"], chosen[1]["subcategoryId"], None),
        (3, chosen[2]["categoryId"], chosen[2]["subcategoryId"], "Sınıflar"),
    ]


async def test_email_is_optional(world):
    phone = "5330000108"
    without = await apply(world, AYSE, phone)
    assert (await application_row(world, without))["email"] is None
    with_email = await apply(world, AYSE, phone, email="ayse.yilmaz@example.com.tr")
    assert (await application_row(world, with_email))["email"] == "ayse.yilmaz@example.com.tr"


INVALID_EMAILS = ["ayse.yilmaz", "ayse@", "ayse yilmaz@example.com", "@example.com", "a" * 250 + "@example.com"]


@pytest.mark.parametrize("case, email", list(enumerate(INVALID_EMAILS)))
async def test_an_invalid_email_is_refused(world, case, email):
    phone = f"53300012{case:02d}"
    token = await sign_in_to_apply(world, AYSE, phone)
    before = await counts(world)
    result = await submit(world, token, phone, email=email)
    assert result["__typename"] == "ValidationFailed", result
    assert result["field"] == "email"
    assert await counts(world) == before


# ---------------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("case, subject", list(enumerate(["", "   \n\t "])))
async def test_a_missing_subject_is_refused(world, case, subject):
    phone = f"53300013{case:02d}"
    token = await sign_in_to_apply(world, AYSE, phone)
    before = await counts(world)
    result = await submit(world, token, phone, subject=subject)
    assert result["__typename"] == "ValidationFailed", result
    assert result["code"] == "VALIDATION_FAILED"
    assert result["field"] == "subject"
    assert await counts(world) == before


@pytest.mark.parametrize("case, missing",
                         list(enumerate(["subjectAddress", "provinceId", "districtId", "placeId", "all"])))
async def test_missing_subject_address_fields_are_refused_when_not_same_as_residence(world, case, missing):
    phone = f"53300014{case:02d}"
    token = await sign_in_to_apply(world, AYSE, phone)
    kadikoy = await district_id(world, 34, "Kadıköy")
    place = (await places_of(world, kadikoy))[0]
    address = {"subjectAddress": "Moda Cad. No: 1", "provinceId": 34, "districtId": kadikoy,
               "placeId": place["id"]}
    if missing == "all":
        address = {}
    else:
        del address[missing]
    before = await counts(world)
    result = await submit(world, token, phone, sameAsResidence=False, **address)
    assert result["__typename"] == "ValidationFailed", result
    assert result["field"] == "subjectAddress"
    assert await counts(world) == before


async def test_a_place_outside_the_chosen_district_is_refused(world):
    phone = "5330000112"
    token = await sign_in_to_apply(world, AYSE, phone)
    kadikoy = await district_id(world, 34, "Kadıköy")
    besiktas = await district_id(world, 34, "Beşiktaş")
    besiktas_place = (await places_of(world, besiktas))[0]
    ankara_place = (await places_of(world, await district_id(world, 6, "Keçiören")))[0]
    before = await counts(world)
    for district, place in ((kadikoy, besiktas_place["id"]), (kadikoy, ankara_place["id"]),
                            (kadikoy, 10**9)):
        result = await submit(world, token, phone, sameAsResidence=False, subjectAddress="Moda Cad. No: 1",
                              provinceId=34, districtId=district, placeId=place)
        assert result["__typename"] == "ValidationFailed", result
        assert result["field"] == "subjectAddress"
    # a district of another province
    result = await submit(world, token, phone, sameAsResidence=False, subjectAddress="Moda Cad. No: 1",
                          provinceId=6, districtId=kadikoy, placeId=(await places_of(world, kadikoy))[0]["id"])
    assert result["__typename"] == "ValidationFailed", result
    assert result["field"] == "subjectAddress"
    assert await counts(world) == before


async def test_a_subcategory_of_another_category_is_refused(world):
    phone = "5330000113"
    token = await sign_in_to_apply(world, AYSE, phone)
    tree = await categories(world)
    before = await counts(world)
    for row in (
        {"categoryId": tree[0]["id"], "subcategoryId": tree[1]["subcategories"][0]["id"]},
        {"categoryId": tree[0]["id"], "subcategoryId": tree[1]["id"]},  # a başlık is not an alt başlık
        {"categoryId": tree[0]["id"], "subcategoryId": 10**6},
    ):
        valid = {"categoryId": tree[2]["id"], "subcategoryId": tree[2]["subcategories"][0]["id"]}
        result = await submit(world, token, phone, categories=[valid, row])
        assert result["__typename"] == "ValidationFailed", result
        assert result["field"] == "categories"
    assert await counts(world) == before


async def test_no_categories_is_refused(world):
    phone = "5330000114"
    token = await sign_in_to_apply(world, AYSE, phone)
    before = await counts(world)
    result = await submit(world, token, phone, categories=[])
    assert result["__typename"] == "ValidationFailed", result
    assert result["field"] == "categories"
    assert await counts(world) == before


async def test_a_repeated_submit_answers_with_the_application_already_made(world):
    phone = "5330000115"
    token = await sign_in_to_apply(world, AYSE, phone)
    first = await submit(world, token, phone)
    assert first["__typename"] == "SubmitApplicationSuccess", first
    before = await counts(world)
    second = await submit(world, token, phone, subject="İkinci başvuru")
    assert second == first  # a double click: the citizen learns the tracking number, nothing new is made
    assert await counts(world) == before
    # the profile is gone with it
    body = await world.gql_raw(PROFILE, token=token)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_concurrent_submits_on_one_verified_code_make_one_application(world):
    phone = "5330000121"
    token = await sign_in_to_apply(world, AYSE, phone)
    before = await counts(world)
    results = await asyncio.gather(*[submit(world, token, phone, subject=f"Eşzamanlı başvuru {i}")
                                     for i in range(5)])
    assert {r["__typename"] for r in results} == {"SubmitApplicationSuccess"}, results
    assert len({r["trackingNo"] for r in results}) == 1, results
    assert (await counts(world))["applications"] == before["applications"] + 1


async def test_submit_without_a_token_is_unauthenticated(world):
    before = await counts(world)
    result = await submit(world, None, "5330000116")
    assert result["__typename"] == "Unauthenticated", result
    assert result["code"] == "UNAUTHENTICATED"
    garbage = await submit(world, "not-a-real-token-but-long-enough", "5330000116")
    assert garbage["__typename"] == "Unauthenticated", garbage
    assert garbage["code"] == "UNAUTHENTICATED"
    assert await counts(world) == before


async def test_submit_with_a_tracking_token_is_refused(world):
    phone = "5330000117"
    tracking_no = await apply_and_wait(world, AYSE, phone)
    track_token = await sign_in_to_track(world, tracking_no, AYSE, phone)
    before = await counts(world)
    result = await submit(world, track_token, phone)
    assert result["__typename"] == "PermissionDenied", result
    assert result["code"] == "PERMISSION_DENIED"
    assert await counts(world) == before


async def test_submit_with_a_staff_token_is_refused(world):
    staff_token = await staff_sign_in(world, AKS_ANKARA)
    before = await counts(world)
    result = await submit(world, staff_token, "5330000118")
    assert result["__typename"] == "PermissionDenied", result
    assert result["code"] == "PERMISSION_DENIED"
    assert await counts(world) == before


async def test_a_foreign_applicant_can_apply(world):
    phone = "5330000119"
    assert ANNA["tckn"].startswith("99")
    token = await sign_in_to_apply(world, ANNA, phone)
    profile = (await world.gql(PROFILE, token=token))["applicantProfile"]
    assert profile["tcKimlikNo"] == ANNA["tckn"]
    assert profile["residence"]["district"]["name"] == "Yenimahalle"
    assert profile["residence"]["place"]["name"] == "Batı Sitesi Mah"
    result = await submit(world, token, phone)
    assert result["__typename"] == "SubmitApplicationSuccess", result
    application = await application_row(world, result["trackingNo"])
    assert application["applicant_tckn"] == ANNA["tckn"]
    assert application["subject_province_id"] == 6
    messages = await world.wait_for_sms(phone, 2)
    match = tracking_sms_pattern("ANNA PETROVA").match(messages[-1])
    assert match and int(match.group(1)) == result["trackingNo"], messages


# ------------------------------------------------------------------------------- nothing half-written


@pytest.mark.parametrize("case, failure",
                         list(enumerate(["invalid category", "second file disguised", "database refuses the row"])))
async def test_a_failed_submit_leaves_nothing_behind(world, case, failure):
    phone = f"53300015{case:02d}"
    token = await sign_in_to_apply(world, AYSE, phone)
    files = [("kroki.png", png_bytes(), "image/png"), ("dilekce.pdf", pdf_bytes(), "application/pdf")]
    changes = {}
    if failure == "invalid category":
        tree = await categories(world)
        changes["categories"] = [{"categoryId": tree[0]["id"], "subcategoryId": tree[1]["subcategories"][0]["id"]}]
    elif failure == "second file disguised":
        files[1] = ("dilekce.pdf", b"<html><body>not a pdf</body></html>", "application/pdf")
    else:
        changes["subject"] = "Bu metin bir NUL karakteri içeriyor: \x00 ve veritabanı bunu kabul etmez."
    sms_before = len(await world.sms_to(phone))
    outbox_before = (await world.sql("SELECT count(*) AS n FROM outbox_message"))[0]["n"]
    before = await counts(world)

    response = await submit_multipart(world, token, await submit_input(world, phone, **changes), files)
    body = response.json()
    payload = (body.get("data") or {}).get("submitApplication")
    assert payload is None or payload["__typename"] != "SubmitApplicationSuccess", body

    assert await counts(world) == before
    assert (await world.sql("SELECT count(*) AS n FROM outbox_message"))[0]["n"] == outbox_before
    assert len(await world.sms_to(phone)) == sms_before
    # the session was not used up by the failed try: the corrected form goes through
    result = await submit(world, token, phone)
    assert result["__typename"] == "SubmitApplicationSuccess", result


# ------------------------------------------------------------------------------- the verified phone


async def test_a_phone_other_than_the_one_the_code_went_to_is_refused(world):
    phone, other = "5330000122", "5330000123"
    token = await sign_in_to_apply(world, AYSE, phone)
    before = await counts(world)
    result = await submit(world, token, other)
    assert (result["__typename"], result["code"], result["field"]) == (
        "PhoneNotVerified", "PHONE_NOT_VERIFIED", "phone"), result
    assert "yeniden giriş" in result["message"]
    assert await counts(world) == before
    # the session is not used up: with the verified number, in any spelling, the application goes through
    result = await submit(world, token, "0 533 000 01 22")
    assert result["__typename"] == "SubmitApplicationSuccess", result
    assert (await application_row(world, result["trackingNo"]))["phone"] == phone
    await wait_for_tracking_sms(world, phone, result["trackingNo"])
    assert await world.sms_to(other) == []
