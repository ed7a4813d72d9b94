"""Vatandaş Başvuru Sorgulama (seed §2.2): tracking number + T.C. → code → the read-only application view,
its printable report and its files behind short-lived links bound to the session."""

import re
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

from acikkapi.services.links import signed_path
from tests.applications.support import (
    PDF_MIME, PNG_MIME, pdf_bytes, png_bytes, submit_files, submit_input, submit_multipart, wait_for_tracking_sms,
)
from tests.documents import SIGN_OUT
from tests.helpers import (
    AYSE, REQUEST_TRACKING, TRACKED, VERIFY, ZEYNEP, first_category, sign_in_to_apply, sign_in_to_track,
)

PROFILE = "{ applicantProfile { tcKimlikNo } }"


async def apply_with_files(world, person: dict, phone: str, files: list, **changes) -> int:
    token = await sign_in_to_apply(world, person, phone)
    result = await submit_files(world, token, phone, files, **changes)
    assert result["__typename"] == "SubmitApplicationSuccess", result
    await wait_for_tracking_sms(world, phone, result["trackingNo"])
    return result["trackingNo"]


async def tracked(world, token: str) -> dict:
    return (await world.gql(TRACKED, token=token))["trackedApplication"]


def query_of(url: str) -> dict:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def with_query(url: str, **changes) -> str:
    return f"{urlsplit(url).path}?{urlencode({**query_of(url), **changes})}"


def with_path(url: str, path: str) -> str:
    return f"{path}?{urlsplit(url).query}"


async def status(world, url: str) -> int:
    return (await world.http.get(url)).status_code


async def test_tracked_application_shows_the_application(world):
    phone = "5330000301"
    category, subcategory = await first_category(world)
    content = pdf_bytes()
    tracking_no = await apply_with_files(
        world, AYSE, phone, [("dilekçe.pdf", content, PDF_MIME)],
        categories=[{"categoryId": category, "subcategoryId": subcategory, "description": "Bahçe"}],
        subject="İlçemizdeki okulda genel temizlik yapılması için yardım talebi.")
    token = await sign_in_to_track(world, tracking_no, AYSE, phone)

    view = await tracked(world, token)
    assert view["trackingNo"] == tracking_no
    assert (view["status"], view["statusLabel"]) == ("ISLEM_GORUYOR", "İşlem Görüyor")
    assert (view["result"], view["resultLabel"], view["closed"]) == (None, None, False)
    assert (view["kind"], view["kindLabel"]) == ("TALEP", "Talep")
    assert (view["phone"], view["email"]) == (phone, None)
    assert (view["tcKimlikNo"], view["firstName"], view["lastName"]) == (AYSE["tckn"], "AYŞE", "YILMAZ")
    assert view["residenceAddress"] == "Şehit Kubilay Sok. No: 12 Daire: 3 Keçiören / Ankara"
    assert view["subjectAddress"] == "Şehit Kubilay Sok. No: 12 Daire: 3"
    assert view["province"] == {"id": 6, "name": "Ankara"}
    assert view["district"]["name"] == "Keçiören"
    assert (view["place"]["name"], view["place"]["kind"], view["place"]["kindLabel"]) == (
        "Kalaba Mah", "MAHALLE", "Mahalle")
    assert view["subject"] == "İlçemizdeki okulda genel temizlik yapılması için yardım talebi."
    names = (await world.gql("{ serviceCategories { id name subcategories { id name } } }"))["serviceCategories"]
    parent = next(c for c in names if c["id"] == category)
    child = next(s for s in parent["subcategories"] if s["id"] == subcategory)
    assert view["categories"] == [{"position": 1, "category": parent["name"], "subcategory": child["name"],
                                   "description": "Bahçe"}]
    [file] = view["files"]
    assert (file["fileName"], file["contentType"], file["size"]) == ("dilekçe.pdf", PDF_MIME, len(content))
    assert file["downloadUrl"].startswith(f"{world.base_url}/files/{file['id']}?")
    [event] = view["history"]
    assert event["position"] == 1
    assert (event["status"], event["statusLabel"]) == ("HAVUZDA", "Başvuru Açık Kapı Birim Havuzunda")
    assert event["at"]
    assert view["reportUrl"].startswith(f"{world.base_url}/reports/applications/{tracking_no}?")


async def test_the_report_page_is_html_with_the_tracking_number(world):
    phone = "5330000303"
    tracking_no = await apply_with_files(world, AYSE, phone, [("kroki.png", png_bytes(), PNG_MIME)],
                                         subject="Okul <script>alert(1)</script> bahçesi & sınıflar")
    token = await sign_in_to_track(world, tracking_no, AYSE, phone)
    view = await tracked(world, token)
    response = await world.http.get(view["reportUrl"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "Başvuru Raporu" in page
    assert str(tracking_no) in page
    assert "İşlem Görüyor" in page
    assert "kroki.png" in page
    assert "Başvuru Açık Kapı Birim Havuzunda" in page
    assert "Okul &lt;script&gt;alert(1)&lt;/script&gt; bahçesi &amp; sınıflar" in page
    assert "<script>" not in page
    assert "no-store" in response.headers.get("cache-control", "")


async def test_a_file_downloads_with_its_bytes_and_stored_type(world):
    phone = "5330000304"
    pdf, png = pdf_bytes("indir"), png_bytes(rgb=(1, 2, 3))
    tracking_no = await apply_with_files(world, AYSE, phone, [("dilekçe örneği.pdf", pdf, "application/octet-stream"),
                                                              ("kroki.png", png, "application/octet-stream")])
    token = await sign_in_to_track(world, tracking_no, AYSE, phone)
    files = {f["fileName"]: f for f in (await tracked(world, token))["files"]}
    for name, content, mime in (("dilekçe örneği.pdf", pdf, PDF_MIME), ("kroki.png", png, PNG_MIME)):
        response = await world.http.get(files[name]["downloadUrl"])
        assert response.status_code == 200, response.text
        assert response.content == content
        assert response.headers["content-type"].split(";")[0] == mime == files[name]["contentType"]
        disposition = response.headers["content-disposition"]
        assert disposition.startswith("attachment;"), disposition
        assert "filename*=UTF-8''" in disposition
        assert int(response.headers["content-length"]) == len(content)
    disposition = (await world.http.get(files["dilekçe örneği.pdf"]["downloadUrl"])).headers["content-disposition"]
    assert disposition == "attachment; filename*=UTF-8''dilek%C3%A7e%20%C3%B6rne%C4%9Fi.pdf"


async def test_another_citizens_tracking_number_with_my_tckn_sends_nothing_and_never_verifies(world):
    ayse_phone, zeynep_phone = "5330000305", "5330000306"
    await apply_with_files(world, AYSE, ayse_phone, [])
    zeynep_no = await apply_with_files(world, ZEYNEP, zeynep_phone, [])
    zeynep_code = (await world.sms_to(zeynep_phone))[0]  # her apply sign-in code, the last code she received
    outbox_before = (await world.sql("SELECT count(*) AS n FROM outbox_message"))[0]["n"]
    sms_before = {p: len(await world.sms_to(p)) for p in (ayse_phone, zeynep_phone)}

    data = await world.gql(REQUEST_TRACKING, {"input": {"trackingNo": zeynep_no, "tcKimlikNo": AYSE["tckn"]}})
    challenge = data["requestTrackingCode"]
    assert challenge["__typename"] == "Challenge", challenge  # looks like any other answer
    assert challenge["phoneHint"] is None

    [row] = await world.sql("SELECT deliverable, application_id FROM otp_challenge WHERE id = $1",
                            uuid.UUID(challenge["id"]))
    assert (row["deliverable"], row["application_id"]) == (False, None)
    await world.drain_outbox()
    assert (await world.sql("SELECT count(*) AS n FROM outbox_message"))[0]["n"] == outbox_before
    assert {p: len(await world.sms_to(p)) for p in (ayse_phone, zeynep_phone)} == sms_before

    guesses = [re.search(r"(\d{6})", zeynep_code).group(1), "000000", "123456", "999999", "111111", "654321"]
    for guess in guesses:
        verified = (await world.gql(VERIFY, {"id": challenge["id"], "code": guess}))["verifyCode"]
        assert verified["__typename"] != "SignedIn", verified
        assert verified["__typename"] in ("WrongCode", "TooManyAttempts"), verified


async def test_links_do_not_work_for_another_citizens_session(world):
    ayse_phone, zeynep_phone = "5330000307", "5330000308"
    ayse_no = await apply_with_files(world, AYSE, ayse_phone, [("ayse.png", png_bytes(), PNG_MIME)])
    zeynep_no = await apply_with_files(world, ZEYNEP, zeynep_phone, [("zeynep.pdf", pdf_bytes(), PDF_MIME)])
    ayse = await tracked(world, await sign_in_to_track(world, ayse_no, AYSE, ayse_phone))
    zeynep = await tracked(world, await sign_in_to_track(world, zeynep_no, ZEYNEP, zeynep_phone))
    ayse_file, ayse_report = ayse["files"][0]["downloadUrl"], ayse["reportUrl"]
    zeynep_file, zeynep_report = zeynep["files"][0]["downloadUrl"], zeynep["reportUrl"]
    for url in (ayse_file, ayse_report, zeynep_file, zeynep_report):
        assert await status(world, url) == 200, url
    zeynep_session = query_of(zeynep_file)["s"]
    assert zeynep_session != query_of(ayse_file)["s"]

    # Ayşe's links presented under Zeynep's session
    assert await status(world, with_query(ayse_file, s=zeynep_session)) == 404
    assert await status(world, with_query(ayse_report, s=zeynep_session)) == 404
    # Zeynep's own signature on Ayşe's objects
    assert await status(world, with_path(zeynep_file, urlsplit(ayse_file).path)) == 404
    assert await status(world, with_path(zeynep_report, urlsplit(ayse_report).path)) == 404
    # even a correctly signed link for Zeynep's session does not open Ayşe's file or report
    settings = world.settings
    for path in (urlsplit(ayse_file).path, urlsplit(ayse_report).path):
        forged = signed_path(settings.link_key, path, uuid.UUID(zeynep_session), 60, base_url=world.base_url)
        response = await world.http.get(forged)
        assert response.status_code == 404, (path, response.text)
        assert "ayse.png" not in response.text and ayse["subject"] not in response.text


async def test_links_do_not_work_after_tampering(world):
    ayse_phone, zeynep_phone = "5330000309", "5330000310"
    ayse_no = await apply_with_files(world, AYSE, ayse_phone, [("ayse.png", png_bytes(), PNG_MIME)])
    zeynep_no = await apply_with_files(world, ZEYNEP, zeynep_phone, [("zeynep.pdf", pdf_bytes(), PDF_MIME)])
    zeynep = await tracked(world, await sign_in_to_track(world, zeynep_no, ZEYNEP, zeynep_phone))
    ayse = await tracked(world, await sign_in_to_track(world, ayse_no, AYSE, ayse_phone))
    file_url, report_url = ayse["files"][0]["downloadUrl"], ayse["reportUrl"]
    assert await status(world, file_url) == 200
    assert await status(world, report_url) == 200

    for url in (file_url, report_url):
        query = query_of(url)
        signature = query["sig"]
        flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
        tampered = [
            with_query(url, sig=flipped),
            with_query(url, sig=signature.upper()),
            with_query(url, sig=""),
            with_query(url, e=str(int(query["e"]) + 3600)),
            with_query(url, e=str(int(query["e"]) - 1)),
            with_query(url, e="abc"),
            with_query(url, s=str(uuid.uuid4())),
            with_query(url, s="not-a-uuid"),
            urlsplit(url).path,  # no query at all
        ]
        for bad in tampered:
            assert await status(world, bad) == 404, bad
    # another object under Ayşe's signature
    zeynep_file_path = urlsplit(zeynep["files"][0]["downloadUrl"]).path
    assert await status(world, with_path(file_url, zeynep_file_path)) == 404
    assert await status(world, with_path(file_url, f"/files/{uuid.uuid4()}")) == 404
    assert await status(world, with_path(file_url, "/files/not-a-uuid")) == 404
    assert await status(world, with_path(report_url, f"/reports/applications/{zeynep_no}")) == 404
    assert await status(world, with_path(report_url, f"/reports/applications/0{ayse_no}")) == 404
    # a correctly signed link past its expiry
    session_id = uuid.UUID(query_of(file_url)["s"])
    for path in (urlsplit(file_url).path, urlsplit(report_url).path):
        expired = signed_path(world.settings.link_key, path, session_id, -5, base_url=world.base_url)
        assert await status(world, expired) == 404, expired
        fresh = signed_path(world.settings.link_key, path, session_id, 60, base_url=world.base_url)
        assert await status(world, fresh) == 200, fresh
    # a link signed with another key
    assert await status(world, signed_path(b"baska-anahtar", urlsplit(file_url).path, session_id, 60,
                                           base_url=world.base_url)) == 404


async def test_a_download_link_stops_working_after_its_session_is_revoked(world):
    phone = "5330000311"
    tracking_no = await apply_with_files(world, AYSE, phone, [("kroki.png", png_bytes(), PNG_MIME)])
    view = await tracked(world, await sign_in_to_track(world, tracking_no, AYSE, phone))
    file_url, report_url = view["files"][0]["downloadUrl"], view["reportUrl"]
    assert await status(world, file_url) == 200
    assert await status(world, report_url) == 200
    await world.sql("UPDATE auth_session SET revoked_at = now() WHERE id = $1", uuid.UUID(query_of(file_url)["s"]))
    assert await status(world, file_url) == 404
    assert await status(world, report_url) == 404


async def test_a_download_link_stops_working_after_its_session_idles_out(world):
    phone = "5330000312"
    tracking_no = await apply_with_files(world, AYSE, phone, [("kroki.png", png_bytes(), PNG_MIME)])
    token = await sign_in_to_track(world, tracking_no, AYSE, phone)
    view = await tracked(world, token)
    file_url, report_url = view["files"][0]["downloadUrl"], view["reportUrl"]
    assert await status(world, file_url) == 200
    idle = world.settings.citizen_idle_minutes + 1
    await world.sql("UPDATE auth_session SET last_seen_at = now() - make_interval(mins => $2) WHERE id = $1",
                    uuid.UUID(query_of(file_url)["s"]), idle)
    assert await status(world, file_url) == 404
    assert await status(world, report_url) == 404
    body = await world.gql_raw(TRACKED, token=token)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body


async def test_nothing_can_be_changed_with_a_tracking_token(world):
    phone = "5330000313"
    tracking_no = await apply_with_files(world, AYSE, phone, [])
    token = await sign_in_to_track(world, tracking_no, AYSE, phone)
    applications_before = await world.sql("SELECT count(*) AS n FROM application")
    # a tracking session may not send files at all: refused before the body is read
    response = await submit_multipart(world, token, await submit_input(world, phone),
                                      [("kroki.png", png_bytes(), PNG_MIME)])
    assert response.status_code == 403, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "UPLOAD_NOT_ALLOWED"
    result = await submit_files(world, token, phone, [])
    assert result["__typename"] == "PermissionDenied", result
    assert await world.sql("SELECT count(*) AS n FROM application") == applications_before
    profile = await world.gql_raw(PROFILE, token=token)
    assert profile["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED", profile
    # and the view is unchanged and still there
    view = await tracked(world, token)
    assert view["trackingNo"] == tracking_no and view["files"] == []
    assert [e["status"] for e in view["history"]] == ["HAVUZDA"]


async def test_a_citizen_signs_out_of_tracking_on_a_shared_computer(world):
    phone = "5330000314"
    tracking_no = await apply_with_files(world, AYSE, phone, [])
    token = await sign_in_to_track(world, tracking_no, AYSE, phone)
    view = await tracked(world, token)
    assert (await world.gql(SIGN_OUT, token=token))["signOut"] == {"__typename": "Done", "ok": True}
    body = await world.gql_raw(TRACKED, token=token)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body
    assert await status(world, view["reportUrl"]) == 404
