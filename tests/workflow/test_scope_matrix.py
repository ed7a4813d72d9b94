"""Who sees and acts on what, as a matrix: every kind of caller × applications of their own office, another
district's office, another province, another unit, a confidential (gizli) one and an ihbar × the staff view (with
its nested routings, files and history), the downloads of the applicant's and the unit's files, the printable
report, a Yetkili's routing list and a step of each role. SPEC §5, seed 000 §3–5, issue 13 "Offices and scope".

The applications (each answered by its unit, so CEVAPLANDI):
- kecioren: a talep from Keçiören (a kaymakamlık's district), routed to ANKARA İL MİLLÎ EĞİTİM;
- gizli: the same, then marked confidential;
- ihbar: an ihbar from Keçiören, routed to ANKARA İL MİLLÎ EĞİTİM;
- cankaya: a talep from Çankaya (another district office of Ankara), routed to ANKARA İL SAĞLIK;
- istanbul: a talep from Kadıköy, registered and routed by the İstanbul office (İSTANBUL İL MİLLÎ EĞİTİM).
"""

from dataclasses import dataclass

import pytest

from tests.applications.support import PDF_MIME, PNG_MIME, pdf_bytes, png_bytes
from tests.documents import ANSWER, REVIEW, ROUTE, ROUTING_INBOX, SEARCH, SET_FLAGS, STAFF_APPLICATION
from tests.helpers import AYSE, MEHMET, ZEYNEP, sign_in_to_track, staff_session
from tests.workflow.support import (
    AKS_ANKARA, AKS_CANKAYA, AKS_ISTANBUL, AKS_KECIOREN, ANALIST, AYSE_PHONE, MIA_ANKARA, MIA_ISTANBUL, MIA_KECIOREN,
    MILLI_EGITIM, SAGLIK, YETKILI_ANKARA, YETKILI_SAGLIK, done, inbox, link, multipart, register, session_id,
    staff_view, step,
)

SETTINGS = {"staff_identity_lookups_per_hour": 10_000}
ISTANBUL_MILLI_EGITIM = 99063158

FULL, UNIT, UNIT_IHBAR = "full", "unit", "unit, ihbar"  # the view with personal data; without; without the name too
NF, PD, UA = "NOT_FOUND", "PERMISSION_DENIED", "UNAUTHENTICATED"
APPS = ("kecioren", "gizli", "ihbar", "cankaya", "istanbul")
# caller → what they get of each application's staff view
MATRIX = {
    "anonymous": (UA, UA, UA, UA, UA),
    "citizen": (PD, PD, PD, PD, PD),  # tracking the kecioren application: their view is trackedApplication
    "AKS Ankara": (FULL, FULL, FULL, FULL, NF),
    "AKS Keçiören": (FULL, FULL, FULL, NF, NF),
    "AKS Çankaya": (NF, NF, NF, FULL, NF),
    "AKS İstanbul": (NF, NF, NF, NF, FULL),
    "MİA Ankara": (FULL, FULL, FULL, FULL, NF),
    "MİA Keçiören": (FULL, FULL, FULL, NF, NF),
    "MİA İstanbul": (NF, NF, NF, NF, FULL),
    "Yetkili MEB": (UNIT, NF, UNIT_IHBAR, NF, NF),
    "Yetkili Sağlık": (NF, NF, NF, UNIT, NF),
    "Analist": (PD, PD, PD, PD, PD),
}
PERSONAL = ("tcKimlikNo", "birthDate", "gender", "genderLabel", "phone", "email", "residenceAddress")


@dataclass(frozen=True)
class App:
    tracking_no: int
    routing_id: str
    applicant_file: str  # attachment ids
    answer_file: str


@dataclass
class Town:
    apps: dict[str, App]
    tokens: dict[str, str | None]


async def answer_with_file(world, yetkili: str, routing_id: str) -> None:
    variables = {"input": {"routingId": routing_id, "answer": "Birimin cevabı ektedir.", "files": [None]}}
    data = await multipart(world, yetkili, ANSWER, variables,
                           {"variables.input.files.0": ("cevap.pdf", pdf_bytes("Cevap"), PDF_MIME)})
    assert data["answerRouting"]["__typename"] == "WorkflowStepDone", data


async def build(world, aks: str, yetkili: str | None, unit: int, **registration) -> App:
    tracking_no = await register(world, aks, files=(("kroki.png", png_bytes(), PNG_MIME),), **registration)
    await done(world, aks, ROUTE, trackingNo=tracking_no, unitNos=[unit])
    view = await staff_view(world, aks, tracking_no)
    routing_id = view["routings"][0]["id"]
    if yetkili:
        await answer_with_file(world, yetkili, routing_id)
    [row] = await world.sql(
        "SELECT (SELECT f.id FROM attachment f WHERE f.application_id = a.id AND f.routing_id IS NULL) AS own,"
        " (SELECT f.id FROM attachment f WHERE f.routing_id IS NOT NULL AND f.application_id = a.id) AS unit "
        "FROM application a WHERE a.tracking_no = $1", tracking_no)
    return App(tracking_no, routing_id, str(row["own"]), str(row["unit"]))


@pytest.fixture(scope="module")
async def town(world) -> Town:
    tokens = {name: await staff_session(world, who["tckn"]) for name, who in [
        ("AKS Ankara", AKS_ANKARA), ("AKS Keçiören", AKS_KECIOREN), ("AKS Çankaya", AKS_CANKAYA),
        ("AKS İstanbul", AKS_ISTANBUL), ("MİA Ankara", MIA_ANKARA), ("MİA Keçiören", MIA_KECIOREN),
        ("MİA İstanbul", MIA_ISTANBUL), ("Yetkili MEB", YETKILI_ANKARA), ("Yetkili Sağlık", YETKILI_SAGLIK),
        ("Analist", ANALIST)]}
    aks, meb = tokens["AKS Ankara"], tokens["Yetkili MEB"]
    apps = {
        "kecioren": await build(world, aks, meb, MILLI_EGITIM),
        "gizli": await build(world, aks, meb, MILLI_EGITIM),
        "ihbar": await build(world, aks, meb, MILLI_EGITIM, kind="IHBAR"),
        "cankaya": await build(world, aks, tokens["Yetkili Sağlık"], SAGLIK, person=MEHMET, phone="5350002001"),
        "istanbul": await build(world, tokens["AKS İstanbul"], None, ISTANBUL_MILLI_EGITIM, person=ZEYNEP,
                                phone="5350002002"),
    }
    await done(world, aks, SET_FLAGS, trackingNo=apps["gizli"].tracking_no, isSpecial=False, isConfidential=True)
    tokens["citizen"] = await sign_in_to_track(world, apps["kecioren"].tracking_no, AYSE, AYSE_PHONE)
    tokens["anonymous"] = None
    return Town(apps, tokens)


CELLS = [(caller, app) for caller in MATRIX for app in APPS]


def expected(caller: str, app: str) -> str:
    return MATRIX[caller][APPS.index(app)]


@pytest.mark.parametrize("caller, app", CELLS)
class TestEveryCallerOnEveryApplication:
    async def test_the_staff_view(self, world, town, caller, app):
        body = await world.gql_raw(STAFF_APPLICATION, {"trackingNo": town.apps[app].tracking_no},
                                   token=town.tokens[caller])
        outcome = expected(caller, app)
        if outcome in (NF, PD, UA):
            assert body["data"] is None and body["errors"][0]["extensions"]["code"] == outcome, body
            return
        view = body["data"]["staffApplication"]
        personal = {field: view[field] for field in PERSONAL}
        if outcome == FULL:
            assert all(personal[field] for field in PERSONAL if field != "email"), personal
            assert view["firstName"] and view["lastName"]
            # the office sees every routing, its answer and files, and the whole history, internal rows too
            assert [len(r["files"]) for r in view["routings"]] == [0 if app == "istanbul" else 1]
            assert any(not h["public"] for h in view["history"]) or app == "istanbul"
        else:
            assert personal == dict.fromkeys(PERSONAL), personal
            assert (view["firstName"] is None) == (outcome == UNIT_IHBAR)
            assert [r["id"] for r in view["routings"]] == [town.apps[app].routing_id]
            # a unit sees the public rows and those of its own routing: not the office's internal ones
            assert {h["action"] for h in view["history"]} == {"SUBMITTED", "ROUTED", "ANSWERED"}
            assert [f["id"] for f in view["files"]] == ([] if app == "ihbar" else [town.apps[app].applicant_file])

    async def test_the_lists(self, world, town, caller, app):
        """An application is listed (Başvuru Arama for the office, the inbox for a unit) exactly where its staff
        view is visible, masked alike."""
        token, outcome = town.tokens[caller], expected(caller, app)
        document, field = ((ROUTING_INBOX, "routingInbox") if caller.startswith("Yetkili")
                           else (SEARCH, "searchApplications"))
        body = await world.gql_raw(document, {"filter": {"trackingNo": town.apps[app].tracking_no}}, token=token)
        if outcome in (PD, UA):
            assert body["data"] is None and body["errors"][0]["extensions"]["code"] == outcome, body
            return
        rows = [edge["node"].get("application", edge["node"]) for edge in body["data"][field]["edges"]]
        if outcome == NF:
            assert rows == []
            return
        [row] = rows
        person = {"cankaya": MEHMET, "istanbul": ZEYNEP}.get(app, AYSE)
        assert row["tcKimlikNo"] == (person["tckn"] if outcome == FULL else None)
        assert row["lastName"] == (None if outcome == UNIT_IHBAR else person["soyad"])

    async def test_the_downloads(self, world, town, caller, app):
        token = town.tokens[caller]
        if token is None:
            return  # no session, no link: anonymous downloads are refused in tests/applications/test_tracking.py
        session = await session_id(world, token)
        files = town.apps[app]
        statuses = [(await world.http.get(link(world, f"/files/{file}", session))).status_code
                    for file in (files.applicant_file, files.answer_file) if file != "None"]
        outcome = expected(caller, app)
        if caller == "citizen" and app == "kecioren":
            assert statuses == [200, 404]  # their own file; the unit's answer file is the office's
        elif outcome == FULL:
            assert set(statuses) == {200}
        elif outcome == UNIT:
            assert statuses == [200, 200]
        elif outcome == UNIT_IHBAR:
            assert statuses == [404, 200]  # the applicant's file may say who they are
        else:
            assert set(statuses) == {404}

    async def test_the_report_page(self, world, town, caller, app):
        token = town.tokens[caller]
        if token is None:
            return
        response = await world.http.get(link(world, f"/reports/applications/{town.apps[app].tracking_no}",
                                             await session_id(world, token)))
        outcome = expected(caller, app)
        person = {"kecioren": AYSE, "gizli": AYSE, "ihbar": AYSE, "cankaya": MEHMET, "istanbul": ZEYNEP}[app]
        if caller == "citizen" and app == "kecioren":
            assert response.status_code == 200 and person["tckn"] in response.text
        elif outcome in (FULL, UNIT, UNIT_IHBAR):
            assert response.status_code == 200
            assert (person["tckn"] in response.text) == (outcome == FULL)
            assert (person["soyad"] in response.text) == (outcome != UNIT_IHBAR)
        else:
            assert response.status_code == 404

    async def test_a_step_of_the_role(self, world, town, caller, app):
        """Each role's step, made to fail harmlessly where it is allowed (an old `expectedVersion`, or an answer
        to a routing already answered): allowed → CONCURRENT_CHANGE or TRANSITION_NOT_ALLOWED; not → NOT_FOUND."""
        target, token = town.apps[app], town.tokens[caller]
        if caller.startswith("Yetkili"):
            payload = await step(world, token, ANSWER, routingId=target.routing_id, answer="Yeni cevap.")
            allowed = "TRANSITION_NOT_ALLOWED"
        elif caller.startswith("MİA"):
            payload = await step(world, token, REVIEW, trackingNo=target.tracking_no, note="Not.", expectedVersion=0)
            allowed = "CONCURRENT_CHANGE"
        else:
            payload = await step(world, token, SET_FLAGS, trackingNo=target.tracking_no, isSpecial=True,
                                 isConfidential=False, expectedVersion=0)
            allowed = "CONCURRENT_CHANGE"
        outcome = expected(caller, app)
        if app == "istanbul" and caller.startswith("Yetkili"):
            assert payload["code"] == NF  # routed to a unit neither of them has
        elif outcome in (FULL, UNIT, UNIT_IHBAR):
            assert payload["code"] == allowed, payload
        else:
            assert payload["code"] == outcome, payload


@pytest.mark.parametrize("caller, expected_apps", [
    ("Yetkili MEB", ["kecioren", "ihbar"]), ("Yetkili Sağlık", ["cankaya"])])
async def test_a_yetkili_lists_only_their_units_routings_never_a_confidential_one(world, town, caller,
                                                                                  expected_apps):
    lines = await inbox(world, town.tokens[caller])
    mine = [line["trackingNo"] for line in lines if line["trackingNo"] in
            {town.apps[app].tracking_no for app in APPS}]
    assert mine == [town.apps[app].tracking_no for app in expected_apps]
    assert {line["status"] for line in lines} == {"ANSWERED"}


@pytest.mark.parametrize("caller", ["AKS Ankara", "MİA Ankara", "Analist", "citizen"])
async def test_only_a_yetkili_has_routings_to_list(world, town, caller):
    body = await world.gql_raw(ROUTING_INBOX, token=town.tokens[caller])
    assert body["errors"][0]["extensions"]["code"] == PD
