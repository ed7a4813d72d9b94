"""Rapor Al: the search as an Excel workbook written by a background job: exactly the listed rows, masked as the
list, with its progress, downloadable only by the user who asked."""

import asyncio
import io
import re
from datetime import date, datetime

import openpyxl
import pytest

from acikkapi.services.business_days import ISTANBUL
from tests.documents import ANSWER, ROUTE, SEARCH
from tests.helpers import MEHMET, staff_session
from tests.search.test_paging import copies
from tests.test_workbook import libreoffice_rows, needs_libreoffice
from tests.workflow.support import (
    AKS_KECIOREN, MILLI_EGITIM, SAGLIK, Staff, done, link, register, session_id, staff_view,
)

SETTINGS = {"staff_identity_lookups_per_hour": 10_000, "export_progress_seconds": 0}
HEADERS = ["Başvuru Takip No", "Başvuru Kayıt Tarihi", "Başvuru Türü", "Başvuru Kanalı", "Başvuran T.C. Kimlik No",
           "Başvuran Ad Soyad", "Hizmet Başlıkları", "Başvuru Konusu", "Yönlendirilen Birimler",
           "Birime Geliş Tarihi", "Son Cevap Verme Tarihi", "Başvuru Durumu", "Sonuç"]

START = """
mutation($input: StartApplicationExportInput!) {
  startApplicationExport(input: $input) {
    __typename
    ... on ExportStarted { job { id status rowsTotal rowsWritten fileName } }
    ... on Error { code message field }
  }
}"""
JOB = """
query($id: ID!) {
  exportJob(id: $id) { id status statusLabel rowsTotal rowsWritten fileName fileSize downloadUrl expiresAt }
}"""


@pytest.fixture(scope="module")
async def staff(world) -> Staff:
    return await Staff.of(world)


@pytest.fixture(scope="module")
async def office(world, staff) -> dict[str, int]:
    """AYŞE's şikâyet routed to milli eğitim and answered, MEHMET ALİ's ihbar routed to sağlık and milli eğitim,
    and 2,500 copies of AYŞE's talep in the pool."""
    talep = await register(world, staff.aks)
    sikayet = await register(world, staff.aks, kind="SIKAYET")
    ihbar = await register(world, staff.aks, person=MEHMET, kind="IHBAR", phone="5350004001")
    await done(world, staff.aks, ROUTE, trackingNo=sikayet, unitNos=[MILLI_EGITIM])
    await done(world, staff.aks, ROUTE, trackingNo=ihbar, unitNos=[SAGLIK, MILLI_EGITIM])
    routing = (await staff_view(world, staff.aks, sikayet))["routings"][0]["id"]
    await done(world, staff.yetkili, ANSWER, routingId=routing, answer="Cevap.")
    await world.sql("DELETE FROM routing WHERE application_id = (SELECT id FROM application WHERE tracking_no = $1)",
                    talep)
    await copies(world, talep, 2500)
    await world.sql("DELETE FROM routing WHERE application_id IN (SELECT id FROM application WHERE tracking_no <> ALL"
                    "($1::bigint[]))", [sikayet, ihbar])
    return {"talep": talep, "sikayet": sikayet, "ihbar": ihbar}


async def exported(world, token: str, **filter) -> tuple[dict, list[tuple]]:
    """Start an export, wait for it, download it: the finished job and the workbook's rows."""
    job, content = await downloaded(world, token, **filter)
    sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True).active
    return job, [tuple(row) for row in sheet.iter_rows(values_only=True)]


async def downloaded(world, token: str, **filter) -> tuple[dict, bytes]:
    started = (await world.gql(START, {"input": {"filter": filter}}, token=token))["startApplicationExport"]
    assert started["__typename"] == "ExportStarted", started
    assert started["job"]["status"] in ("QUEUED", "RUNNING", "DONE")
    job = await finished(world, token, started["job"]["id"])
    response = await world.http.get(job["downloadUrl"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert f"filename*=UTF-8''{job['fileName']}" in response.headers["content-disposition"]
    return job, response.content


async def finished(world, token: str, job_id: str) -> dict:
    for _ in range(400):
        job = (await world.gql(JOB, {"id": job_id}, token=token))["exportJob"]
        if job["status"] not in ("QUEUED", "RUNNING"):
            assert job["status"] == "DONE", job
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"export {job_id} did not finish")


async def listed(world, token: str, **filter) -> list[int]:
    return [node["trackingNo"] for node in await listed_nodes(world, token, **filter)]


async def listed_nodes(world, token: str, **filter) -> list[dict]:
    nodes, after = [], None
    while True:
        data = (await world.gql(SEARCH, {"filter": filter, "first": 200, "after": after}, token=token))[
            "searchApplications"]
        nodes += [edge["node"] for edge in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            return nodes
        after = data["pageInfo"]["endCursor"]


def texts_of(node: dict) -> tuple:
    """What the workbook says of a listed application beside its own columns: its categories, its units, their
    first routing (to the minute, in Istanbul) and the soonest due date still waiting."""
    arrival = node["unitArrivalAt"] and datetime.fromisoformat(node["unitArrivalAt"]).astimezone(ISTANBUL)
    return ("; ".join(f"{c['category']} / {c['subcategory']}" for c in node["categories"]),
            "; ".join(r["unit"]["name"] for r in node["routings"]) or None,
            arrival and arrival.strftime("%Y-%m-%d %H:%M"), node["dueDate"])


def texts_of_row(row: tuple) -> tuple:
    arrival, due = row[9], row[10]
    return row[6], row[8], arrival and arrival.strftime("%Y-%m-%d %H:%M"), due and due.date().isoformat()


async def test_the_workbook_has_exactly_the_searchs_rows_typed_and_in_order(world, staff, office):
    job, rows = await exported(world, staff.aks)
    assert rows[0] == tuple(HEADERS)
    assert [row[0] for row in rows[1:]] == await listed(world, staff.aks)
    assert job["rowsTotal"] == job["rowsWritten"] == len(rows) - 1 == 2503 and job["fileSize"] > 0
    by_number = {row[0]: row for row in rows[1:]}
    sikayet, ihbar = by_number[office["sikayet"]], by_number[office["ihbar"]]
    assert (sikayet[2], sikayet[3], sikayet[5], sikayet[11]) == \
        ("Şikâyet", "Banko", "AYŞE YILMAZ", "Başvuru Birim Tarafından Cevaplandı")
    assert isinstance(sikayet[1], datetime) and isinstance(sikayet[9], datetime)
    assert sikayet[8] == "ANKARA İL MİLLÎ EĞİTİM MÜDÜRLÜĞÜ" and sikayet[10] is None  # answered: nothing is due
    assert isinstance(ihbar[10], datetime) and ihbar[10].date() > date.today()  # Excel dates read back as datetimes
    assert (ihbar[4], ihbar[5]) == (MEHMET["tckn"], "MEHMET ALİ DEMİR")  # the office reads them
    assert ihbar[8] == "ANKARA İL SAĞLIK MÜDÜRLÜĞÜ; ANKARA İL MİLLÎ EĞİTİM MÜDÜRLÜĞÜ"  # in the order routed
    nodes = {node["trackingNo"]: node for node in await listed_nodes(world, staff.aks, kinds=["IHBAR", "SIKAYET"])}
    assert [texts_of_row(row) for row in (ihbar, sikayet)] == \
        [texts_of(nodes[number]) for number in (office["ihbar"], office["sikayet"])]


@needs_libreoffice
async def test_libreoffice_opens_the_export(world, staff, office, tmp_path):
    _, content = await downloaded(world, staff.aks, kinds=["IHBAR", "SIKAYET"])
    (tmp_path / "rapor.xlsx").write_bytes(content)
    rows = await asyncio.to_thread(libreoffice_rows, tmp_path / "rapor.xlsx", tmp_path)
    assert rows[0] == HEADERS
    ihbar, sikayet = rows[1:]
    assert (ihbar[0], ihbar[2], ihbar[4], ihbar[5]) == (str(office["ihbar"]), "İhbar", MEHMET["tckn"], "MEHMET ALİ DEMİR")
    assert ihbar[8] == "ANKARA İL SAĞLIK MÜDÜRLÜĞÜ; ANKARA İL MİLLÎ EĞİTİM MÜDÜRLÜĞÜ"
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", ihbar[1]) and re.fullmatch(r"\d\d\.\d\d\.\d{4}", ihbar[10])
    assert (sikayet[0], sikayet[10], sikayet[11]) == (str(office["sikayet"]), "", "Başvuru Birim Tarafından Cevaplandı")


async def test_the_filter_and_the_masking_are_the_lists(world, staff, office):
    _, rows = await exported(world, staff.aks, kinds=["IHBAR", "SIKAYET"])
    assert [row[0] for row in rows[1:]] == [office["ihbar"], office["sikayet"]]
    # A Yetkili exports their units' applications: no T.C. Kimlik No, and no name on an ihbar.
    _, rows = await exported(world, staff.yetkili)
    assert [(row[0], row[4], row[5]) for row in rows[1:]] == \
        [(office["ihbar"], None, None), (office["sikayet"], None, "AYŞE YILMAZ")]
    assert [row[8] for row in rows[1:]] == ["ANKARA İL MİLLÎ EĞİTİM MÜDÜRLÜĞÜ"] * 2  # their own unit's routings


async def test_the_kvkk_log_records_the_tc_numbers_an_export_shows(world, staff, office):
    async def logged(tckn: str) -> int:
        [row] = await world.sql("SELECT count(*) AS n FROM kvkk_access_log l JOIN app_user u ON u.id = l.user_id"
                                " WHERE u.tckn = $1", tckn)
        return row["n"]

    aks = await staff_session(world, AKS_KECIOREN["tckn"])
    before = await logged(AKS_KECIOREN["tckn"])
    _, rows = await exported(world, aks, kinds=["SIKAYET", "TALEP"])
    assert await logged(AKS_KECIOREN["tckn"]) == before + len(rows) - 1 == before + 2502


async def test_the_job_reports_its_progress(world, staff, office):
    """Each batch of rows moves the job forward (recorded here by a trigger on the job's row)."""
    await world.sql("CREATE TABLE progress_seen (rows_written int, status text)")
    await world.sql("CREATE FUNCTION record_progress() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                    " INSERT INTO progress_seen VALUES (NEW.rows_written, NEW.status); RETURN NEW; END $$")
    await world.sql("CREATE TRIGGER record_progress AFTER UPDATE ON export_job FOR EACH ROW"
                    " EXECUTE FUNCTION record_progress()")
    await copies(world, office["talep"], 20_000, seconds_apart=0.001)
    try:
        job, _ = await exported(world, staff.aks)
        seen = [(row["rows_written"], row["status"]) for row in await world.sql("SELECT * FROM progress_seen")]
    finally:
        await world.sql("DROP TRIGGER record_progress ON export_job")
        # the copies leave the office (they cannot be deleted: the KVKK log names them)
        await world.sql("UPDATE application SET subject_province_id = 34, subject_district_id = (SELECT id FROM"
                        " district WHERE province_id = 34 LIMIT 1) WHERE id > (SELECT id FROM application"
                        " WHERE tracking_no = $1) + 2500", office["talep"])
    written = [rows for rows, _ in seen]
    assert seen[0] == (0, "RUNNING") and seen[-1] == (job["rowsTotal"], "DONE") and job["rowsTotal"] > 20_000
    assert written == sorted(written) and any(0 < rows < job["rowsTotal"] for rows in written), seen


async def test_another_users_job_cannot_be_read_or_downloaded(world, staff, office):
    job, _ = await exported(world, staff.aks, kinds=["IHBAR"])
    other = await staff_session(world, AKS_KECIOREN["tckn"])
    body = await world.gql_raw(JOB, {"id": job["id"]}, token=other)
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    forged = link(world, f"/exports/{job['id']}", await session_id(world, other))
    assert (await world.http.get(forged)).status_code == 404
    for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        body = await world.gql_raw(JOB, {"id": bad}, token=staff.aks)
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("caller, code", [("anonymous", "UNAUTHENTICATED"), ("Analist", "PERMISSION_DENIED")])
async def test_only_staff_of_the_lists_export(world, staff, office, caller, code):
    token = None if caller == "anonymous" else await staff_session(world, "10000000528")
    payload = (await world.gql(START, {"input": {}}, token=token))["startApplicationExport"]
    assert payload["code"] == code


async def test_a_user_has_at_most_two_exports_waiting(world, staff, office):
    await world.sql("INSERT INTO export_job (user_id, file_name, status) SELECT u.id, 'x.xlsx', s FROM app_user u,"
                    " unnest(ARRAY['QUEUED', 'RUNNING']) s WHERE u.tckn = '10000000382'")  # the MİA's
    payload = (await world.gql(START, {"input": {}}, token=staff.mia))["startApplicationExport"]
    assert payload["code"] == "EXPORT_LIMIT_REACHED"
    payload = (await world.gql(START, {"input": {"filter": {"tcKimlikNo": "1"}}}, token=staff.aks))[
        "startApplicationExport"]
    assert (payload["code"], payload["field"]) == ("VALIDATION_FAILED", "filter.tcKimlikNo")
