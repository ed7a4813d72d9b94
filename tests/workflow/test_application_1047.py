"""Application 1047 of the seed (seed 000 §3.2.5: a school in Keçiören, Kalaba Mahallesi, to be cleaned), from the
office's pool to closed, through the GraphQL endpoint: routed to two units, answered by each, one answer
returned and answered again, the MİA's round trip, closed Olumlu; the history, the citizen's view and the SMS
match at every step."""

from datetime import UTC, datetime

from acikkapi.services.business_days import due_date
from tests.documents import ANSWER, CLOSE, RETURN_ANSWER, REVIEW, ROUTE, SEND_TO_MIA, UNITS
from tests.helpers import AYSE, TRACKED, apply, sign_in_to_track, staff_sign_in
from tests.workflow.support import (
    AKS_ANKARA, ANKARA, AYSE_PHONE, KECIOREN_MILLI_EGITIM, MIA_ANKARA, MILLI_EGITIM, YETKILI_ANKARA, YETKILI_KECIOREN,
    done, inbox, mia_sign_in, staff_view,
)

SUBJECT = ("İlçemizde bulunan ATATÜRK İLKÖĞRETİM OKULU'nda genel bir temizlik yapılabilmesi için yardım talebinde "
           "bulunmak istiyoruz. İlginiz için teşekkür ederiz.")
FORWARDED = ("Sayın AYŞE YILMAZ, 1047 numaralı Açık Kapı başvurunuz değerlendirilmek üzere ilgili birime "
             "yönlendirilmiştir. AÇIK KAPI")
CLOSED = ("Sayın AYŞE YILMAZ, 1047 numaralı Açık Kapı başvurunuz sonuçlanmıştır. Sonucu takip numaranız ile "
          "sorgulayabilirsiniz. AÇIK KAPI")


async def notifications(world) -> list[str]:
    """The SMS to the applicant about 1047, in order (sign-in codes left out)."""
    return [m for m in await world.sms_to(AYSE_PHONE) if "1047" in m]


async def history(world, token: str) -> list[tuple]:
    view = await staff_view(world, token, 1047)
    return [(h["action"], h["status"], h["note"], h["actor"], h["role"], h["public"]) for h in view["history"]]


async def test_application_1047_from_the_pool_to_closed(world):
    # The citizen applies from Keçiören, Kalaba Mahallesi: the first application of the demo data is number 1047.
    assert await apply(world, AYSE, AYSE_PHONE, subject=SUBJECT) == 1047
    aks = await staff_sign_in(world, AKS_ANKARA)
    view = await staff_view(world, aks, 1047)
    assert (view["status"], view["statusLabel"]) == ("HAVUZDA", "Başvuru Açık Kapı Birim Havuzunda")
    assert (view["district"]["name"], view["place"]["name"], view["subject"]) == ("Keçiören", "Kalaba Mah", SUBJECT)
    assert (view["tcKimlikNo"], view["firstName"], view["lastName"]) == (AYSE["tckn"], "AYŞE", "YILMAZ")

    # The AKS finds the two units by typing their names and routes 1047 to both.
    units = (await world.gql(UNITS, {"search": "milli egitim", "provinceId": ANKARA}, token=aks))["units"]
    assert {MILLI_EGITIM, KECIOREN_MILLI_EGITIM} <= {unit["detsisNo"] for unit in units}
    routed = await done(world, aks, ROUTE, trackingNo=1047, unitNos=[MILLI_EGITIM, KECIOREN_MILLI_EGITIM],
                        expectedVersion=view["version"])
    assert (routed["status"], routed["statusLabel"]) == ("YONLENDIRILDI", "Başvuru İlgili Birime Yönlendirildi")
    view = await staff_view(world, aks, 1047)
    due = due_date(datetime.now(UTC)).isoformat()
    assert [(r["unit"]["detsisNo"], r["status"], r["dueDate"], r["overdue"], r["routedBy"])
            for r in view["routings"]] == [(MILLI_EGITIM, "OPEN", due, False, "Elif Arslan"),
                                           (KECIOREN_MILLI_EGITIM, "OPEN", due, False, "Elif Arslan")]
    milli_egitim, kecioren = (r["id"] for r in view["routings"])
    await world.drain_outbox()
    sent = await notifications(world)
    assert "takip numarası: 1047." in sent[0] and sent[1:] == [FORWARDED]

    # The Yetkili of the il müdürlüğü finds 1047 among their routings and answers: the other unit has not yet.
    yetkili = await staff_sign_in(world, YETKILI_ANKARA)
    mine = await inbox(world, yetkili)
    assert [(m["id"], m["trackingNo"], m["status"], m["dueDate"]) for m in mine] == \
        [(milli_egitim, 1047, "OPEN", due)]
    answered = await done(world, yetkili, ANSWER, routingId=milli_egitim,
                          answer="Okulun genel temizliği için ilçe milli eğitim müdürlüğüne talimat verilmiştir.")
    assert (answered["status"], answered["statusLabel"]) == ("YONLENDIRILDI", "Başvuru İlgili Birime Yönlendirildi")

    # The ilçe's Yetkili answers too: every unit has answered.
    yetkili_kecioren = await staff_sign_in(world, YETKILI_KECIOREN)
    answered = await done(world, yetkili_kecioren, ANSWER, routingId=kecioren,
                          answer="Okulun temizliği 15 gün içinde ilçe ekiplerince yapılacaktır.")
    assert (answered["status"], answered["statusLabel"]) == ("CEVAPLANDI", "Başvuru Birim Tarafından Cevaplandı")

    # The AKS finds the il müdürlüğü's answer unsuitable and returns it with the reason; it answers again.
    returned = await done(world, aks, RETURN_ANSWER, routingId=milli_egitim,
                          reason="Cevapta temizliğin ne zaman yapılacağı belirtilmemiş.")
    assert returned["status"] == "YONLENDIRILDI"
    view = await staff_view(world, yetkili, 1047)
    assert [(r["id"], r["status"], r["returnReason"]) for r in view["routings"]] == \
        [(milli_egitim, "RETURNED", "Cevapta temizliğin ne zaman yapılacağı belirtilmemiş.")]
    answered = await done(world, yetkili, ANSWER, routingId=milli_egitim,
                          answer="Okulun genel temizliği 10 Ocak'a kadar ilçe ekiplerince yapılacaktır.")
    assert answered["status"] == "CEVAPLANDI"

    # The AKS sends it for the MİA's approval; the MİA signs in through e-İçişleri and returns it with a note.
    sent = await done(world, aks, SEND_TO_MIA, trackingNo=1047, confirm=True)
    assert (sent["status"], sent["statusLabel"]) == ("MIA_ONAYINDA", "Başvuru Mülki İdare Amiri Onayına Gönderildi")
    mia = await mia_sign_in(world, MIA_ANKARA)
    reviewed = await done(world, mia, REVIEW, trackingNo=1047, note="Uygundur; vatandaşa bilgi veriniz.")
    assert (reviewed["status"], reviewed["statusLabel"]) == \
        ("MIA_DEGERLENDIRDI", "Başvuru Mülki İdare Amiri Tarafından Değerlendirildi")

    # The AKS closes it with the answer to the citizen: Olumlu.
    answer = "Okulun genel temizliği 10 Ocak'a kadar ilçe ekiplerince yapılacaktır. İlginiz için teşekkür ederiz."
    closed = await done(world, aks, CLOSE, trackingNo=1047, result="OLUMLU", answer=answer)
    assert (closed["status"], closed["statusLabel"]) == ("SONUCLANDI", "Başvuru Sonuçlandı")

    # İşlem Hareketleri, step by step, as the AKS reads it (internal rows too).
    aks_label, meb, kecioren_label = ("Elif Arslan (Açık Kapı Sorumlusu)", "Murat Kaya (Yetkili)",
                                      "Hakan Yıldız (Yetkili)")
    assert await history(world, aks) == [
        ("SUBMITTED", "HAVUZDA", None, "Vatandaş", None, True),
        ("ROUTED", "YONLENDIRILDI", "ANKARA İL MİLLÎ EĞİTİM MÜDÜRLÜĞÜ, KEÇİÖREN İLÇE MİLLÎ EĞİTİM MÜDÜRLÜĞÜ",
         aks_label, "AKS", True),
        ("ANSWERED", "YONLENDIRILDI",
         "Okulun genel temizliği için ilçe milli eğitim müdürlüğüne talimat verilmiştir.", meb, "YETKILI", False),
        ("ANSWERED", "CEVAPLANDI", "Okulun temizliği 15 gün içinde ilçe ekiplerince yapılacaktır.", kecioren_label,
         "YETKILI", False),
        ("ANSWER_RETURNED", "YONLENDIRILDI", "Cevapta temizliğin ne zaman yapılacağı belirtilmemiş.", aks_label, "AKS",
         False),
        ("ANSWERED", "CEVAPLANDI", "Okulun genel temizliği 10 Ocak'a kadar ilçe ekiplerince yapılacaktır.", meb,
         "YETKILI", False),
        ("SENT_TO_MIA", "MIA_ONAYINDA", None, aks_label, "AKS", False),
        ("MIA_REVIEWED", "MIA_DEGERLENDIRDI", "Uygundur; vatandaşa bilgi veriniz.", "Selim Yurt (Mülki İdare Amiri)",
         "MIA", False),
        ("CLOSED", "SONUCLANDI", "Sonuç: Olumlu", aks_label, "AKS", True),
    ]
    view = await staff_view(world, aks, 1047)
    assert (view["result"], view["resultLabel"], view["answer"], view["closed"]) == \
        ("OLUMLU", "Olumlu", answer, True)
    assert [(r["status"], r["answeredBy"]) for r in view["routings"]] == \
        [("ANSWERED", "Murat Kaya"), ("ANSWERED", "Hakan Yıldız")]

    # The citizen: the public history, the result and the answer; an SMS when forwarded and when closed.
    citizen = await sign_in_to_track(world, 1047, AYSE, AYSE_PHONE)
    tracked = (await world.gql(TRACKED, token=citizen))["trackedApplication"]
    assert (tracked["status"], tracked["statusLabel"], tracked["result"], tracked["answer"]) == \
        ("SONUCLANDI", "Sonuçlandı (Olumlu)", "OLUMLU", answer)
    assert [(h["status"], h["note"]) for h in tracked["history"]] == [
        ("HAVUZDA", None),
        ("YONLENDIRILDI", "ANKARA İL MİLLÎ EĞİTİM MÜDÜRLÜĞÜ, KEÇİÖREN İLÇE MİLLÎ EĞİTİM MÜDÜRLÜĞÜ"),
        ("SONUCLANDI", "Sonuç: Olumlu")]
    report = (await world.http.get(tracked["reportUrl"])).text
    assert "Sonuç:</b> Olumlu" in report and answer.replace("'", "&#x27;") in report
    assert "Uygundur; vatandaşa bilgi veriniz." not in report  # the office's internal rows stay internal
    await world.drain_outbox()
    assert (await notifications(world))[1:] == [FORWARDED, CLOSED]

