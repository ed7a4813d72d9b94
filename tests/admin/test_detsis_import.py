"""Yetki İşlemleri: the ministry's user admin imports the DETSİS directory from a CSV file, sent as a browser sends
it (GraphQL multipart request). A re-import updates units by number and deactivates the missing ones; a file with
any problem is rejected whole, with the line of each problem, and changes nothing; no one else may import."""

import csv
import io
import itertools
import json
from importlib import resources

import pytest

from tests.documents import ROUTE, STAFF_APPLICATION, UNITS
from tests.helpers import AKS_ANKARA, AYSE, YETKILI_ANKARA, MIA_ANKARA, sign_in_to_apply, staff_session
from tests.workflow.support import ANALIST, done, register

MAX_FILE_BYTES = 64 * 1024
SETTINGS = {"detsis_max_file_bytes": MAX_FILE_BYTES}

NATIONAL_ADMIN, ANKARA_ADMIN, ISTANBUL_ADMIN = "10000001372", "10000000450", "10000001440"
HEADER = "DETSİS No,Ad,Tür,İl,Üst Birim"
ICISLERI, ANKARA_VALILIGI = 91582233, 44742122  # national; Ankara's
SEED = [(u["detsis_no"], u["name"], u["kind"], u["province"], u["parent"])
        for u in json.loads((resources.files("acikkapi") / "data" / "detsis_units.json").read_text())]

IMPORT = """
mutation($file: Upload!) {
  importDetsisUnits(file: $file) {
    __typename
    ... on DetsisImported {
      added changed reactivated deactivated unchanged addedNumbers changedNumbers reactivatedNumbers deactivatedNumbers
    }
    ... on DetsisFileRejected { problemCount problems { line code message } }
    ... on Error { code message }
  }
}"""


def csv_of(units, header: str = HEADER, delimiter: str = ",", newline: str = "\n") -> bytes:
    """A DETSİS file of (number, name, kind, province, parent) rows, quoted where needed."""
    out = io.StringIO()
    out.write(header + newline)
    csv.writer(out, delimiter=delimiter, lineterminator=newline).writerows(
        ["" if value is None else value for value in unit] for unit in units)
    return out.getvalue().encode()


async def send(world, token: str | None, content: bytes, file_name: str = "detsis.csv"):
    """The file as a browser's GraphQL client sends it: operations, map, and the file part."""
    headers = {"X-Forwarded-For": world.new_address(), "GraphQL-Preflight": "1"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return await world.http.post(
        "/graphql", headers=headers,
        data={"operations": json.dumps({"query": IMPORT, "variables": {"file": None}}),
              "map": json.dumps({"0": ["variables.file"]})},
        files=[("0", (file_name, content, "text/csv"))])


async def payload(world, token: str | None, content: bytes) -> dict:
    response = await send(world, token, content)
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return body["data"]["importDetsisUnits"]


async def imported(world, token: str, content: bytes) -> dict:
    result = await payload(world, token, content)
    assert result["__typename"] == "DetsisImported", result
    return {key: value for key, value in result.items() if key != "__typename"}


async def rejected(world, token: str, content: bytes) -> list[tuple[int | None, str]]:
    result = await payload(world, token, content)
    assert result["__typename"] == "DetsisFileRejected", result
    assert result["code"] == "DETSIS_FILE_REJECTED" and "hiçbir birim değiştirilmedi" in result["message"], result
    assert result["problemCount"] == len(result["problems"])
    assert all(problem["message"] for problem in result["problems"])
    return [(problem["line"], problem["code"]) for problem in result["problems"]]


def report(*, added=(), changed=(), reactivated=(), deactivated=(), unchanged=0) -> dict:
    return {"added": len(added), "changed": len(changed), "reactivated": len(reactivated),
            "deactivated": len(deactivated), "unchanged": unchanged, "addedNumbers": sorted(added),
            "changedNumbers": sorted(changed), "reactivatedNumbers": sorted(reactivated),
            "deactivatedNumbers": sorted(deactivated)}


async def units(world, *numbers: int) -> dict[int, tuple]:
    rows = await world.sql("SELECT detsis_no, name, kind, province_id, parent_no, active FROM unit "
                           "WHERE detsis_no = any($1::int[])", list(numbers))
    return {row["detsis_no"]: tuple(row)[1:] for row in rows}


async def audit_since(world, mark: int) -> list[tuple]:
    rows = await world.sql("SELECT entity, entity_id, action, province_id, before, after, actor_id, actor_role "
                           "FROM audit_event WHERE id > $1 ORDER BY id", mark)
    return [(row["entity"], row["entity_id"], row["action"], row["province_id"],
             row["before"] and json.loads(row["before"]), row["after"] and json.loads(row["after"]),
             row["actor_id"], row["actor_role"]) for row in rows]


async def audit_mark(world) -> int:
    return (await world.sql("SELECT coalesce(max(id), 0) AS id FROM audit_event"))[0]["id"]


async def everything(world) -> tuple:
    """What an import could change: every unit, the audit log, the reference version."""
    [row] = await world.sql(
        "SELECT (SELECT string_agg(ROW(detsis_no, name, kind, province_id, parent_no, active)::text, ';' "
        "ORDER BY detsis_no) FROM unit) AS units, (SELECT count(*) FROM audit_event) AS events, "
        "(SELECT version FROM reference_version) AS version")
    return tuple(row)


@pytest.fixture(scope="module")
async def admin(world) -> str:
    return await staff_session(world, NATIONAL_ADMIN)


@pytest.fixture(scope="module")
async def admin_id(world) -> int:
    return (await world.sql("SELECT id FROM app_user WHERE tckn = $1", NATIONAL_ADMIN))[0]["id"]


@pytest.fixture
async def seeded(world, admin) -> None:
    """The directory as shipped, every unit active, whatever a test before changed."""
    await imported(world, admin, csv_of(SEED))


_numbers = itertools.count(91000001)


@pytest.fixture
def family() -> tuple[tuple, tuple, tuple]:
    """A göç genel müdürlüğü and two il müdürlükleri under it, with numbers no test has used."""
    goc, corum, ankara = (next(_numbers) for _ in range(3))
    return ((goc, "GÖÇ İDARESİ GENEL MÜDÜRLÜĞÜ", "GENEL_MUDURLUK", None, ICISLERI),
            (corum, "ÇORUM İL GÖÇ İDARESİ MÜDÜRLÜĞÜ", "IL_MUDURLUGU", 19, goc),
            (ankara, "ANKARA İL GÖÇ İDARESİ MÜDÜRLÜĞÜ", "IL_MUDURLUGU", 6, goc))


class TestFirstImport:
    async def test_the_new_units_are_added_parents_after_their_children_too(self, world, admin, seeded, family):
        goc, corum, _ = family
        *_, version = await everything(world)

        result = await imported(world, admin, csv_of([*SEED, corum, goc]))

        assert result == report(added=[goc[0], corum[0]], unchanged=len(SEED))
        assert (await everything(world))[2] > version  # the reference data's caches reload
        assert await units(world, goc[0], corum[0]) == {
            goc[0]: ("GÖÇ İDARESİ GENEL MÜDÜRLÜĞÜ", "GENEL_MUDURLUK", None, ICISLERI, True),
            corum[0]: ("ÇORUM İL GÖÇ İDARESİ MÜDÜRLÜĞÜ", "IL_MUDURLUGU", 19, goc[0], True)}

    async def test_an_added_unit_is_found_by_the_routing_search_at_once(self, world, admin, seeded, family):
        goc, corum, _ = family
        await imported(world, admin, csv_of([*SEED, goc, corum]))
        aks = await staff_session(world, AKS_ANKARA["tckn"])

        found = (await world.gql(UNITS, {"search": "corum goc idaresi"}, token=aks))["units"]

        assert [(unit["detsisNo"], unit["kindLabel"], unit["province"]) for unit in found] == [
            (corum[0], "İl Müdürlüğü", {"id": 19, "name": "Çorum"})]

    async def test_each_added_unit_and_the_import_are_in_the_audit_log(self, world, admin, admin_id, seeded,
                                                                        family):
        goc, corum, _ = family
        mark = await audit_mark(world)

        await imported(world, admin, csv_of([*SEED, goc, corum], header="detsis_no,ad,tur,il,ust_birim"))

        created = {"name": corum[1], "kind": "IL_MUDURLUGU", "province_id": 19, "parent_no": goc[0],
                   "active": True}
        events = await audit_since(world, mark)
        assert events[:2] == [
            ("UNIT", str(goc[0]), "CREATED", None, None, {**created, "name": goc[1], "kind": "GENEL_MUDURLUK",
                                                          "province_id": None, "parent_no": ICISLERI},
             admin_id, "YETKI_ISLEMLERI"),
            ("UNIT", str(corum[0]), "CREATED", 19, None, created, admin_id, "YETKI_ISLEMLERI")]
        [(entity, _, action, province, before, after, actor, _)] = events[2:]
        assert (entity, action, province, before, actor) == ("UNIT", "IMPORTED", None, None, admin_id)
        assert after == {"file_name": "detsis.csv", "units": len(SEED) + 2, "added": 2, "changed": 0,
                         "reactivated": 0, "deactivated": 0, "unchanged": len(SEED)}

    async def test_excel_s_turkish_csv_is_read_semicolons_a_byte_order_mark_and_labels(self, world, admin, seeded,
                                                                                         family):
        ankara = family[2]
        # Columns in another order, named in English; the kind as its label; a plate code with its zero.
        rows = [(name, number, province and f"{province:02d}", parent, kind)
                for number, name, kind, province, parent in SEED]
        rows.append(('ANKARA İL "GÖÇ" MÜDÜRLÜĞÜ; MERKEZ', ankara[0], "06", ANKARA_VALILIGI, "İl Müdürlüğü"))
        content = csv_of(rows, header="Name;NUMBER;province;parent;kind", delimiter=";", newline="\r\n")

        result = await imported(world, admin, b"\xef\xbb\xbf" + content)

        assert result == report(added=[ankara[0]], unchanged=len(SEED))
        assert await units(world, ankara[0]) == {
            ankara[0]: ('ANKARA İL "GÖÇ" MÜDÜRLÜĞÜ; MERKEZ', "IL_MUDURLUGU", 6, ANKARA_VALILIGI, True)}


class TestReimport:
    async def test_units_are_updated_by_number_and_the_missing_ones_deactivated(self, world, admin, admin_id,
                                                                                 seeded, family):
        goc, corum, ankara = family
        await imported(world, admin, csv_of([*SEED, goc, corum, ankara]))
        renamed = (ICISLERI, "T.C. İÇİŞLERİ BAKANLIĞI (MERKEZ)", "BAKANLIK", None, None)
        moved = (corum[0], corum[1], "BOLGE_MUDURLUGU", 6, ANKARA_VALILIGI)
        file = [renamed if unit[0] == ICISLERI else unit for unit in SEED] + [goc, moved]
        mark = await audit_mark(world)

        result = await imported(world, admin, csv_of(file))

        assert result == report(changed=[ICISLERI, corum[0]], deactivated=[ankara[0]],
                                unchanged=len(SEED))
        assert (await world.sql("SELECT count(*) FROM unit WHERE detsis_no = any($1::int[])",
                                [ICISLERI, *(u[0] for u in (goc, corum, ankara))]))[0][0] == 4
        assert await units(world, ICISLERI, corum[0], ankara[0]) == {
            ICISLERI: ("T.C. İÇİŞLERİ BAKANLIĞI (MERKEZ)", "BAKANLIK", None, None, True),
            corum[0]: (corum[1], "BOLGE_MUDURLUGU", 6, ANKARA_VALILIGI, True),
            ankara[0]: (ankara[1], "IL_MUDURLUGU", 6, goc[0], False)}
        events = await audit_since(world, mark)
        assert [event[:6] for event in events[:-1]] == [
            ("UNIT", str(corum[0]), "UPDATED", 6, {"kind": "IL_MUDURLUGU", "province_id": 19, "parent_no": goc[0]},
             {"kind": "BOLGE_MUDURLUGU", "province_id": 6, "parent_no": ANKARA_VALILIGI}),
            ("UNIT", str(ankara[0]), "DEACTIVATED", 6, {"active": True}, {"active": False}),
            ("UNIT", str(ICISLERI), "UPDATED", None, {"name": "T.C. İÇİŞLERİ BAKANLIĞI"},
             {"name": "T.C. İÇİŞLERİ BAKANLIĞI (MERKEZ)"})]
        assert {event[6] for event in events} == {admin_id}
        assert events[-1][2] == "IMPORTED"

    async def test_an_inactive_unit_in_the_file_again_is_reactivated(self, world, admin, seeded, family):
        goc = family[0]
        await imported(world, admin, csv_of([*SEED, goc]))
        await imported(world, admin, csv_of(SEED))
        mark = await audit_mark(world)

        result = await imported(world, admin, csv_of([*SEED, (*goc[:3], 6, goc[4])]))

        assert result == report(reactivated=[goc[0]], unchanged=len(SEED))
        assert await units(world, goc[0]) == {goc[0]: (goc[1], goc[2], 6, ICISLERI, True)}
        assert [event[:6] for event in await audit_since(world, mark)][:-1] == [
            ("UNIT", str(goc[0]), "REACTIVATED", 6, {"active": False, "province_id": None},
             {"active": True, "province_id": 6})]

    async def test_a_unit_with_routings_stays_inactive_and_its_routings_keep_it(self, world, admin, seeded,
                                                                                 family):
        ankara = (*family[2][:4], ANKARA_VALILIGI)
        await imported(world, admin, csv_of([*SEED, ankara]))
        aks = await staff_session(world, AKS_ANKARA["tckn"])
        tracking_no = await register(world, aks, phone="5350009001")
        await done(world, aks, ROUTE, trackingNo=tracking_no, unitNos=[ankara[0]])

        result = await imported(world, admin, csv_of(SEED))

        assert result == report(deactivated=[ankara[0]], unchanged=len(SEED))
        assert (await units(world, ankara[0]))[ankara[0]][-1] is False
        routings = (await world.gql(STAFF_APPLICATION, {"trackingNo": tracking_no}, token=aks))[
            "staffApplication"]["routings"]
        assert [routing["unit"] for routing in routings] == [{"detsisNo": ankara[0], "name": ankara[1]}]
        assert (await world.gql(UNITS, {"search": "ankara goc"}, token=aks))["units"] == []

    async def test_the_same_file_again_changes_nothing_but_records_the_import(self, world, admin, seeded):
        (units_before, _, version_before), mark = await everything(world), await audit_mark(world)

        result = await imported(world, admin, csv_of(SEED))

        assert result == report(unchanged=len(SEED))
        units_after, _, version_after = await everything(world)
        assert (units_after, version_after) == (units_before, version_before)  # no reference cache is dropped
        assert [event[2] for event in await audit_since(world, mark)] == ["IMPORTED"]


def lines(*rows: str, header: str = HEADER) -> bytes:
    return "\n".join([header, *rows]).encode()


GOOD = "90000010,KIRŞEHİR VALİLİĞİ,VALILIK,40,"  # a valid line: a file's problems reject it too
MALFORMED = {
    "a missing column": (lines(GOOD, header="DETSİS No,Ad,Tür,İl"), [(1, "MISSING_COLUMN")]),
    "an unknown column": (lines(GOOD + ",x", header=HEADER + ",Adres"), [(1, "UNKNOWN_COLUMN")]),
    "a column twice": (lines(GOOD + ",x", header=HEADER + ",Ad"), [(1, "DUPLICATE_COLUMN")]),
    "lines with a column too few or too many": (
        lines(GOOD, "90000011,KIRŞEHİR İL MİLLÎ EĞİTİM MÜDÜRLÜĞÜ,IL_MUDURLUGU,40", GOOD.replace("10", "12") + ",",
              "90000013,A,B,C,D,E,F"),
        [(3, "WRONG_COLUMN_COUNT"), (4, "WRONG_COLUMN_COUNT"), (5, "WRONG_COLUMN_COUNT")]),
    "an unclosed quote": (lines(GOOD, '90000011,"KIRŞEHİR,VALILIK,40,'), [(3, "MALFORMED_LINE")]),
    "bad numbers": (lines("9000001,A,VALILIK,40,", "900000100,B,VALILIK,40,", "0900001X,C,VALILIK,40,",
                          "09000010,D,VALILIK,40,", ",E,VALILIK,40,", GOOD),
                    [(line, "INVALID_NUMBER") for line in range(2, 7)]),
    "an empty name": (lines(GOOD, "90000011,  ,VALILIK,40,"), [(3, "EMPTY_NAME")]),
    "a name too long": (lines(GOOD, f"90000011,{'A' * 257},VALILIK,40,"), [(3, "NAME_TOO_LONG")]),
    "an unknown kind": (lines(GOOD, "90000011,KIRŞEHİR MÜFTÜLÜĞÜ,MUFTULUK,40,", "90000012,X,,40,"),
                        [(3, "UNKNOWN_KIND"), (4, "UNKNOWN_KIND")]),
    "an unknown province": (lines(GOOD, "90000011,A,VALILIK,82,", "90000012,B,VALILIK,0,",
                                  "90000013,C,VALILIK,Ankara,", "90000014,D,VALILIK,006,"),
                            [(line, "UNKNOWN_PROVINCE") for line in range(3, 7)]),
    "an unknown or malformed parent": (
        lines(GOOD, "90000011,A,IL_MUDURLUGU,40,99999999", "90000012,B,IL_MUDURLUGU,40,123",
              f"90000013,C,IL_MUDURLUGU,40,{ICISLERI}"),
        [(3, "UNKNOWN_PARENT"), (4, "INVALID_PARENT")]),
    "a duplicate number": (lines(GOOD, "90000011,A,VALILIK,40,", "90000010,KIRŞEHİR VALİLİĞİ,VALILIK,40,"),
                           [(4, "DUPLICATE_NUMBER")]),
    "a cycle of parents": (
        lines(GOOD, "90000011,A,IL_MUDURLUGU,40,90000013", "90000012,B,IL_MUDURLUGU,40,90000011",
              "90000013,C,IL_MUDURLUGU,40,90000012", "90000014,D,IL_MUDURLUGU,40,90000011",
              "90000015,E,IL_MUDURLUGU,40,90000015"),
        [(3, "PARENT_CYCLE"), (4, "PARENT_CYCLE"), (5, "PARENT_CYCLE"), (7, "PARENT_CYCLE")]),
    "a known unit put under its new child": (
        lines(f"{ICISLERI},T.C. İÇİŞLERİ BAKANLIĞI,BAKANLIK,,90000011", f"90000011,A,GENEL_MUDURLUK,,{ICISLERI}"),
        [(2, "PARENT_CYCLE"), (3, "PARENT_CYCLE")]),
    "not UTF-8": ("\n".join(["DETSIS No,Ad,Tur,Il,Ust Birim", "90000010,KIRSEHIR VALILIGI,VALILIK,40,",
                             "90000011,KIRŞEHİR İL SAĞLIK MÜDÜRLÜĞÜ,IL_MUDURLUGU,40,90000010",
                             "90000012,KIRSEHIR BELEDIYESI,BELEDIYE,40,",
                             "90000013,ÇİÇEKDAĞI KAYMAKAMLIĞI,KAYMAKAMLIK,40,"]).encode("cp1254"),
                  [(3, "NOT_UTF8"), (5, "NOT_UTF8")]),
    "an empty file": (b"", [(None, "EMPTY_FILE")]),
    "blank lines only": (b"\r\n \n\n", [(None, "EMPTY_FILE")]),
    "a header alone": (lines(), [(None, "EMPTY_FILE")]),
    "a file too large": (lines(*[GOOD] * (MAX_FILE_BYTES // len(GOOD))), [(None, "FILE_TOO_LARGE")]),
    "many problems at once": (
        lines(GOOD, "9000001,A,VALILIK,40,", "90000012,,VALILIK,99,", "90000013,C,KOY,40,1",
              "90000014,D,IL_MUDURLUGU,40,90000015", "90000015,E,IL_MUDURLUGU,40,90000014", GOOD,
              "90000016,F,IL_MUDURLUGU,40,88888888"),
        [(3, "INVALID_NUMBER"), (4, "EMPTY_NAME"), (4, "UNKNOWN_PROVINCE"), (5, "UNKNOWN_KIND"),
         (5, "INVALID_PARENT"), (6, "PARENT_CYCLE"), (7, "PARENT_CYCLE"), (8, "DUPLICATE_NUMBER"),
         (9, "UNKNOWN_PARENT")]),
}


def in_order(problem: tuple[int | None, str]) -> tuple[int, str]:
    return problem[0] or 0, problem[1]


class TestMalformedFile:
    @pytest.mark.parametrize("case", MALFORMED)
    async def test_is_rejected_whole_with_the_line_of_each_problem(self, world, admin, case):
        content, expected = MALFORMED[case]
        before = await everything(world)

        problems = await rejected(world, admin, content)

        assert sorted(problems, key=in_order) == sorted(expected, key=in_order)
        assert await everything(world) == before

    async def test_a_problem_on_the_last_line_keeps_every_good_line_out(self, world, admin, seeded, family):
        goc, corum, ankara = family
        before = await everything(world)

        problems = await rejected(world, admin, csv_of([*SEED, goc, corum, (*ankara[:4], 12345678)]))

        assert problems == [(len(SEED) + 4, "UNKNOWN_PARENT")]
        assert await everything(world) == before
        assert await units(world, goc[0], corum[0]) == {}

    async def test_a_cycle_through_a_unit_left_out_of_the_file(self, world, admin, seeded, family):
        goc, corum, _ = family
        await imported(world, admin, csv_of([*SEED, goc, corum]))
        before = await everything(world)

        # The genel müdürlük put under Çorum's il müdürlüğü, which the file leaves out: that one keeps its parent,
        # the genel müdürlük.
        problems = await rejected(world, admin, csv_of([*SEED, (*goc[:4], corum[0])]))

        assert problems == [(len(SEED) + 2, "PARENT_CYCLE")]
        assert await everything(world) == before

    async def test_each_problem_says_what_is_wrong_in_turkish(self, world, admin):
        result = await payload(world, admin, lines("9000001,A,VALILIK,40,", "90000012,B,MUFTULUK,82,"))

        assert [(p["line"], p["message"]) for p in result["problems"]] == [
            (2, "“9000001” geçerli bir DETSİS numarası değil: 8 haneli bir sayı olmalı."),
            (3, "“MUFTULUK” bilinen bir birim türü değil; türler: BAKANLIK, GENEL_MUDURLUK, VALILIK, KAYMAKAMLIK, "
                "IL_MUDURLUGU, BOLGE_MUDURLUGU, BELEDIYE, IL_OZEL_IDARESI."),
            (3, "82 plaka kodlu bir il yok.")]
        assert result["message"] == ("DETSİS dosyasında 3 sorun bulundu; dosya içe aktarılmadı, hiçbir birim "
                                     "değiştirilmedi.")


async def citizen(world) -> str:
    return await sign_in_to_apply(world, AYSE, "5350009002")


# caller → how to get a session, and the refusal: a typed payload from the resolver, or the multipart request
# refused before its body is read (403) for sessions that may send no file at all.
CALLERS = {
    "anonymous": (None, 403, "UPLOAD_NOT_ALLOWED"),
    "applying citizen": (citizen, 200, "PERMISSION_DENIED"),
    "AKS": (AKS_ANKARA["tckn"], 200, "PERMISSION_DENIED"),
    "Yetkili": (YETKILI_ANKARA["tckn"], 200, "PERMISSION_DENIED"),
    "MİA": (MIA_ANKARA["tckn"], 403, "UPLOAD_NOT_ALLOWED"),
    "analyst": (ANALIST["tckn"], 403, "UPLOAD_NOT_ALLOWED"),
    "Ankara's user admin": (ANKARA_ADMIN, 403, "UPLOAD_NOT_ALLOWED"),
    "İstanbul's user admin": (ISTANBUL_ADMIN, 403, "UPLOAD_NOT_ALLOWED"),
}


class TestWhoMayImport:
    @pytest.mark.parametrize("caller", CALLERS)
    async def test_no_one_but_the_ministry_s_user_admin(self, world, caller, family):
        who, status, code = CALLERS[caller]
        token = await who(world) if callable(who) else who and await staff_session(world, who)
        before = await everything(world)

        response = await send(world, token, csv_of([*SEED, family[0]]))

        body = response.json()
        assert response.status_code == status, body
        if status == 200:
            assert body["data"]["importDetsisUnits"]["code"] == code, body
        else:
            assert body["errors"][0]["extensions"]["code"] == code, body
        assert await everything(world) == before
