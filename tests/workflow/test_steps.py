"""The rules of each step beyond the table (seed 000 §3.2, §4.1.1, §5; directive md. 10): what a step checks,
refuses and writes."""

from datetime import timedelta

import pytest

from tests.applications.support import PDF_MIME, docx_bytes, elf_bytes, pdf_bytes
from tests.documents import (
    ANSWER, CATEGORIES, CLOSE, ME, REGISTER, RETURN_ANSWER, REVIEW, ROUTE, SEND_TO_MIA, SET_FLAGS, TRACKED,
    UPDATE_CATEGORIES,
)
from tests.helpers import MEHMET, first_category, istanbul_today, sign_in_to_track, staff_session
from tests.workflow.support import (
    AKS_KECIOREN, AYSE, AYSE_PHONE, MIA_ISTANBUL, MILLI_EGITIM, SAGLIK, Staff, done, link, multipart, prepare,
    register, inbox, session_id, snapshot, staff_view, step,
)

SETTINGS = {"staff_identity_lookups_per_hour": 10_000}
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture(scope="module")
async def staff(world) -> Staff:
    return await Staff.of(world)


async def refused_without_change(world, tracking_no: int, token: str, document: str, code: str, **input) -> dict:
    before = await snapshot(world, tracking_no)
    payload = await step(world, token, document, **input)
    assert payload["code"] == code, payload
    assert await snapshot(world, tracking_no) == before
    return payload


class TestRoute:
    async def test_an_unknown_or_inactive_unit_is_refused(self, world, staff):
        app = await prepare(world, staff, "HAVUZDA")
        payload = await refused_without_change(world, app.tracking_no, staff.aks, ROUTE, "VALIDATION_FAILED",
                                               trackingNo=app.tracking_no, unitNos=[12345678])
        assert payload["field"] == "unitNos"
        await refused_without_change(world, app.tracking_no, staff.aks, ROUTE, "VALIDATION_FAILED",
                                     trackingNo=app.tracking_no, unitNos=[])

    async def test_a_unit_that_has_it_already_is_refused_and_nothing_is_routed(self, world, staff):
        app = await prepare(world, staff, "YONLENDIRILDI")
        payload = await refused_without_change(world, app.tracking_no, staff.aks, ROUTE, "UNIT_ALREADY_ROUTED",
                                               trackingNo=app.tracking_no, unitNos=[SAGLIK, MILLI_EGITIM])
        assert "ANKARA İL MİLLÎ EĞİTİM MÜDÜRLÜĞÜ" in payload["message"]

    async def test_a_unit_added_later_reopens_the_wait_and_sends_no_second_sms(self, world, staff):
        app = await prepare(world, staff, "CEVAPLANDI")
        routed = await done(world, staff.aks, ROUTE, trackingNo=app.tracking_no, unitNos=[SAGLIK])
        assert routed["status"] == "YONLENDIRILDI"
        view = await staff_view(world, staff.aks, app.tracking_no)
        assert [r["status"] for r in view["routings"]] == ["ANSWERED", "ANSWERED", "OPEN"]
        rows = await world.sql("SELECT count(*) AS n FROM outbox_message WHERE template = 'yonlendirildi' "
                               "AND params->>'takip_no' = $1", str(app.tracking_no))
        assert rows[0]["n"] == 1

    async def test_a_confidential_application_is_not_routed(self, world, staff):
        app = await prepare(world, staff, "HAVUZDA")
        await done(world, staff.aks, SET_FLAGS, trackingNo=app.tracking_no, isSpecial=False, isConfidential=True)
        await refused_without_change(world, app.tracking_no, staff.aks, ROUTE, "CONFIDENTIAL_NOT_ROUTABLE",
                                     trackingNo=app.tracking_no, unitNos=[MILLI_EGITIM])

    async def test_a_routing_past_its_due_date_is_overdue_until_answered(self, world, staff):
        app = await prepare(world, staff, "YONLENDIRILDI")
        yesterday = istanbul_today() - timedelta(days=1)
        await world.sql("UPDATE routing SET due_date = $1 WHERE id = ANY($2::int[])", yesterday,
                        [int(app.milli_egitim), int(app.kecioren)])
        view = await staff_view(world, staff.aks, app.tracking_no)
        assert [(r["id"], r["overdue"]) for r in view["routings"]] == [(app.milli_egitim, False), (app.kecioren, True)]
        lines = await inbox(world, staff.yetkili_kecioren)
        assert [(line["overdue"], line["dueDate"]) for line in lines if line["id"] == app.kecioren] == \
            [(True, yesterday.isoformat())]

    async def test_a_yetkili_lists_waiting_routings_first_soonest_due_first(self, world, staff):
        first, second = await prepare(world, staff, "YONLENDIRILDI"), await prepare(world, staff, "YONLENDIRILDI")
        await world.sql("UPDATE routing SET due_date = due_date - 1 WHERE id = $1", int(second.kecioren))
        await done(world, staff.yetkili_kecioren, ANSWER, routingId=first.kecioren, answer="Cevap.")
        lines = await inbox(world, staff.yetkili_kecioren)
        ours = [line["id"] for line in lines if line["id"] in (first.kecioren, second.kecioren)]
        waiting = [line["status"] for line in lines]
        assert waiting == sorted(waiting, key=lambda status: status == "ANSWERED")
        assert ours == [second.kecioren, first.kecioren]


class TestAnswer:
    async def test_a_yetkili_answers_with_files_under_the_citizens_upload_rules(self, world, staff):
        app = await prepare(world, staff, "HAVUZDA")
        await done(world, staff.aks, ROUTE, trackingNo=app.tracking_no, unitNos=[MILLI_EGITIM])
        routing = (await staff_view(world, staff.aks, app.tracking_no))["routings"][0]["id"]
        variables = {"input": {"routingId": routing, "answer": "Cevabımız ektedir.", "files": [None, None]}}
        data = await multipart(world, staff.yetkili, ANSWER, variables, {
            "variables.input.files.0": ("yazi.pdf", pdf_bytes("Cevap"), PDF_MIME),
            "variables.input.files.1": ("ek.docx", docx_bytes(), DOCX_MIME)})
        assert data["answerRouting"]["status"] == "CEVAPLANDI"
        view = await staff_view(world, staff.aks, app.tracking_no)
        files = view["routings"][0]["files"]
        assert sorted(f["fileName"] for f in files) == ["ek.docx", "yazi.pdf"] and view["files"] == []
        download = await world.http.get(next(f["downloadUrl"] for f in files if f["fileName"] == "yazi.pdf"))
        assert download.status_code == 200 and download.content == pdf_bytes("Cevap")

    async def test_a_file_of_a_type_not_allowed_refuses_the_answer_and_keeps_nothing(self, world, staff):
        app = await prepare(world, staff, "YONLENDIRILDI")
        before = await snapshot(world, app.tracking_no)
        variables = {"input": {"routingId": app.kecioren, "answer": "Cevap.", "files": [None]}}
        data = await multipart(world, staff.yetkili_kecioren, ANSWER, variables,
                               {"variables.input.files.0": ("cevap.pdf", elf_bytes(), PDF_MIME)})
        assert data["answerRouting"]["code"] == "FILE_TYPE_NOT_ALLOWED"
        assert await snapshot(world, app.tracking_no) == before

    async def test_an_answered_routing_can_only_be_read(self, world, staff):
        app = await prepare(world, staff, "YONLENDIRILDI")  # the il müdürlüğü has answered, the ilçe has not
        payload = await refused_without_change(world, app.tracking_no, staff.yetkili, ANSWER, "ROUTING_NOT_OPEN",
                                               routingId=app.milli_egitim, answer="İkinci cevap.")
        assert "yalnızca görüntülenebilir" in payload["message"]

    async def test_an_empty_answer_is_refused(self, world, staff):
        app = await prepare(world, staff, "YONLENDIRILDI")
        payload = await refused_without_change(world, app.tracking_no, staff.yetkili_kecioren, ANSWER,
                                               "VALIDATION_FAILED", routingId=app.kecioren, answer="  ")
        assert payload["field"] == "answer"

    async def test_a_routing_of_another_unit_is_not_found(self, world, staff):
        app = await prepare(world, staff, "YONLENDIRILDI")
        await refused_without_change(world, app.tracking_no, staff.yetkili, ANSWER, "NOT_FOUND",
                                     routingId=app.kecioren, answer="Cevap.")
        await refused_without_change(world, app.tracking_no, staff.yetkili, ANSWER, "NOT_FOUND",
                                     routingId="x1", answer="Cevap.")

    async def test_the_citizen_never_sees_the_units_answer_files(self, world, staff):
        app = await prepare(world, staff, "HAVUZDA")
        await done(world, staff.aks, ROUTE, trackingNo=app.tracking_no, unitNos=[MILLI_EGITIM])
        routing = (await staff_view(world, staff.aks, app.tracking_no))["routings"][0]["id"]
        await multipart(world, staff.yetkili, ANSWER,
                        {"input": {"routingId": routing, "answer": "Cevap.", "files": [None]}},
                        {"variables.input.files.0": ("yazi.pdf", pdf_bytes(), PDF_MIME)})
        citizen = await sign_in_to_track(world, app.tracking_no, AYSE, AYSE_PHONE)
        assert (await world.gql(TRACKED, token=citizen))["trackedApplication"]["files"] == []


class TestReturnAnswer:
    async def test_the_reason_is_required_and_an_open_routing_has_nothing_to_return(self, world, staff):
        app = await prepare(world, staff, "YONLENDIRILDI")
        payload = await refused_without_change(world, app.tracking_no, staff.aks, RETURN_ANSWER, "VALIDATION_FAILED",
                                               routingId=app.milli_egitim, reason=" ")
        assert payload["field"] == "reason"
        await refused_without_change(world, app.tracking_no, staff.aks, RETURN_ANSWER, "ROUTING_NOT_ANSWERED",
                                     routingId=app.kecioren, reason="Eksik.")


class TestSendToMia:
    async def test_without_the_confirmation_nothing_is_sent(self, world, staff):
        app = await prepare(world, staff, "CEVAPLANDI")
        payload = await refused_without_change(world, app.tracking_no, staff.aks, SEND_TO_MIA,
                                               "CONFIRMATION_REQUIRED", trackingNo=app.tracking_no, confirm=False)
        assert "MİA onayına gönderildikten sonra başvuru üzerinde işlem yapılamayacaktır" in payload["message"]

    async def test_the_mia_of_another_office_does_not_see_it_and_a_note_is_required(self, world, staff):
        app = await prepare(world, staff, "MIA_ONAYINDA")
        istanbul = await staff_session(world, MIA_ISTANBUL["tckn"])
        await refused_without_change(world, app.tracking_no, istanbul, REVIEW, "NOT_FOUND",
                                     trackingNo=app.tracking_no, note="Uygundur.")
        await refused_without_change(world, app.tracking_no, staff.mia, REVIEW, "VALIDATION_FAILED",
                                     trackingNo=app.tracking_no, note="")


class TestSpecialApplications:
    async def test_an_ozellikli_application_is_closed_only_after_the_mia_has_evaluated_it(self, world, staff):
        app = await prepare(world, staff, "CEVAPLANDI")
        await done(world, staff.aks, SET_FLAGS, trackingNo=app.tracking_no, isSpecial=True, isConfidential=False,
                   priorityGroup="YASLI")
        view = await staff_view(world, staff.aks, app.tracking_no)
        assert (view["isSpecial"], view["priorityGroup"], view["priorityGroupLabel"]) == (True, "YASLI",
                                                                                           "65 Yaş Üstü")
        await refused_without_change(world, app.tracking_no, staff.aks, CLOSE, "MIA_REVIEW_REQUIRED",
                                     trackingNo=app.tracking_no, result="OLUMLU")
        await done(world, staff.aks, SEND_TO_MIA, trackingNo=app.tracking_no, confirm=True)
        await done(world, staff.mia, REVIEW, trackingNo=app.tracking_no, note="Uygundur.")
        closed = await done(world, staff.aks, CLOSE, trackingNo=app.tracking_no, result="OLUMLU")
        assert closed["status"] == "SONUCLANDI"


class TestClose:
    @pytest.mark.parametrize("result", ["OLUMSUZ", "KISMEN"])
    async def test_a_negative_or_partial_result_says_why_in_20_to_5000_characters(self, world, staff, result):
        app = await prepare(world, staff, "CEVAPLANDI")
        for answer in (None, "Kısa gerekçe.", "x" * 5001):
            payload = await refused_without_change(world, app.tracking_no, staff.aks, CLOSE, "VALIDATION_FAILED",
                                                   trackingNo=app.tracking_no, result=result, answer=answer)
            assert payload["field"] == "answer"
        answer = "Talebiniz Büyükşehir Belediyesinin yetkisindedir; başvurunuz oraya iletilmelidir."
        assert (await done(world, staff.aks, CLOSE, trackingNo=app.tracking_no, result=result,
                           answer=answer))["status"] == "SONUCLANDI"
        view = await staff_view(world, staff.aks, app.tracking_no)
        assert (view["result"], view["answer"]) == (result, answer)

    async def test_the_applicant_is_told_by_sms(self, world, staff):
        app = await prepare(world, staff, "SONUCLANDI")
        await world.drain_outbox()
        messages = [m for m in await world.sms_to(AYSE_PHONE) if f"{app.tracking_no} numaralı" in m]
        assert [("yönlendirilmiştir" in m, "sonuçlanmıştır" in m) for m in messages] == [(True, False), (False, True)]


class TestUpdateCategories:
    async def test_the_aks_replaces_the_category_rows_and_nothing_else(self, world, staff):
        app = await prepare(world, staff, "YONLENDIRILDI")
        tree = (await world.gql(CATEGORIES))["serviceCategories"]
        rows = [{"categoryId": tree[1]["id"], "subcategoryId": tree[1]["subcategories"][0]["id"],
                 "description": "Asıl konu"},
                {"categoryId": tree[2]["id"], "subcategoryId": tree[2]["subcategories"][0]["id"]}]
        before = await staff_view(world, staff.aks, app.tracking_no)
        await done(world, staff.aks, UPDATE_CATEGORIES, trackingNo=app.tracking_no, categories=rows)
        after = await staff_view(world, staff.aks, app.tracking_no)
        assert [(c["position"], c["category"], c["description"]) for c in after["categories"]] == \
            [(1, tree[1]["name"], "Asıl konu"), (2, tree[2]["name"], None)]
        unchanged = ("subject", "subjectAddress", "phone", "tcKimlikNo", "status", "routings")
        assert {key: after[key] for key in unchanged} == {key: before[key] for key in unchanged}

    async def test_a_subcategory_of_another_category_is_refused(self, world, staff):
        app = await prepare(world, staff, "HAVUZDA")
        tree = (await world.gql(CATEGORIES))["serviceCategories"]
        rows = [{"categoryId": tree[0]["id"], "subcategoryId": tree[1]["subcategories"][0]["id"]}]
        payload = await refused_without_change(world, app.tracking_no, staff.aks, UPDATE_CATEGORIES,
                                               "VALIDATION_FAILED", trackingNo=app.tracking_no, categories=rows)
        assert payload["field"] == "categories"


class TestOffices:
    async def test_a_kaymakamlik_aks_is_of_their_district(self, world):
        me = (await world.gql(ME, token=await staff_session(world, AKS_KECIOREN["tckn"])))["me"]
        assert (me["province"]["name"], me["district"]["name"]) == ("Ankara", "Keçiören")

    async def test_a_kaymakamlik_aks_registers_only_in_their_district(self, world, staff):
        kecioren = await staff_session(world, AKS_KECIOREN["tckn"])
        assert await register(world, kecioren)  # AYŞE lives in Keçiören
        category, subcategory = await first_category(world)
        data = {"tcKimlikNo": MEHMET["tckn"], "arrivalDate": istanbul_today().isoformat(),
                "application": {"sameAsResidence": True, "phone": "5350003001", "subject": "Çankaya'dan bir talep.",
                                "categories": [{"categoryId": category, "subcategoryId": subcategory}]}}
        payload = (await world.gql(REGISTER, {"input": data}, token=kecioren))["registerApplication"]
        assert payload["code"] == "PERMISSION_DENIED"

    async def test_the_staff_report_of_a_routed_application_shows_its_units_and_history(self, world, staff):
        app = await prepare(world, staff, "CEVAPLANDI")
        url = link(world, f"/reports/applications/{app.tracking_no}", await session_id(world, staff.aks))
        page = (await world.http.get(url)).text
        for text in ("ANKARA İL MİLLÎ EĞİTİM MÜDÜRLÜĞÜ", "KEÇİÖREN İLÇE MİLLÎ EĞİTİM MÜDÜRLÜĞÜ",
                     "İl müdürlüğünün cevabı.", "Başvuru Birim Tarafından Cevaplandı", AYSE["tckn"]):
            assert text in page

