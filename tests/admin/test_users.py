"""Yetki İşlemleri (seed 000 §6): an admin registers, finds, updates and deactivates the staff users of their
scope, exports the list to Excel, and reads the audit log of what admins changed."""

import asyncio
import io

import asyncpg
import openpyxl
import pytest

from tests.documents import REQUEST_STAFF
from tests.helpers import AKS_ANKARA, AYSE, YETKILI_ANKARA, sign_in_to_apply, staff_sign_in
from tests.test_unit_search import sso_session

SETTINGS = {"staff_identity_lookups_per_hour": 1000, "export_progress_seconds": 0}
NATIONAL_ADMIN, ANKARA_ADMIN, ISTANBUL_ADMIN = "10000001372", "10000000450", "10000001440"
MIA, ANALIST = "10000000382", "10000000528"
ANKARA, ISTANBUL, IZMIR = 6, 34, 35
MILLI_EGITIM, SAGLIK, KADIKOY, BAKANLIK = 55461037, 41085047, 65710183, 91582233
# People the identity simulator knows, and who have no account yet.
ISMAIL = {"tcKimlikNo": "34567890170", "firstName": "İsmail", "lastName": "Koç"}
FATMA = {"tcKimlikNo": "45678901280", "firstName": "Fatma", "lastName": "Aydın"}
HASAN = {"tcKimlikNo": "56789012390", "firstName": "Hasan", "lastName": "Özdemir"}
ZEYNEP = {"tcKimlikNo": "23456789060", "firstName": "Zeynep", "lastName": "Şahin"}
UNKNOWN_TCKN = "10000001518"  # passes the checksum; nobody has it

USER = """
    id role roleLabel tcKimlikNo firstName lastName phone active version
    province { id name } district { id name } units { detsisNo name }
    createdAt createdBy updatedAt updatedBy"""
SAVED = f"""
    __typename
    ... on UserSaved {{ user {{ {USER} }} }}
    ... on Error {{ code message field }}"""
REGISTER = f"mutation($input: RegisterUserInput!) {{ registerUser(input: $input) {{ {SAVED} }} }}"
UPDATE = f"mutation($input: UpdateUserInput!) {{ updateUser(input: $input) {{ {SAVED} }} }}"
SET_ACTIVE = f"mutation($id: ID!, $active: Boolean!) {{ setUserActive(id: $id, active: $active) {{ {SAVED} }} }}"
USERS = f"""
query($filter: StaffUserFilter, $first: Int, $after: String) {{
  staffUsers(filter: $filter, first: $first, after: $after) {{
    totalCount pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ {USER} }} }}
  }}
}}"""
EVENTS = """
query($filter: AuditEventFilter, $first: Int) {
  auditEvents(filter: $filter, first: $first) {
    totalCount edges { node { entity entityLabel entityId action actionLabel actorLabel provinceId before after
                              createdAt } }
  }
}"""
EXPORT = """
mutation($filter: StaffUserFilter) {
  startUserExport(filter: $filter) {
    __typename
    ... on ExportStarted { job { id status } }
    ... on Error { code message }
  }
}"""
JOB = "query($id: ID!) { exportJob(id: $id) { status rowsTotal rowsWritten downloadUrl } }"
SEARCH_APPLICATIONS = "{ searchApplications(first: 1) { totalCount } }"


def form(person: dict, role: str = "AKS", province: int | None = ANKARA, phone: str = "5329990001",
         **changes) -> dict:
    return {**person, "role": role, "provinceId": province, "phone": phone, **changes}


async def register(world, token: str, **input) -> dict:
    return (await world.gql(REGISTER, {"input": input}, token=token))["registerUser"]


async def registered(world, token: str, **input) -> dict:
    saved = await register(world, token, **input)
    assert saved["__typename"] == "UserSaved", saved
    return saved["user"]


async def users(world, token: str, first: int = 200, **filter) -> dict:
    return (await world.gql(USERS, {"filter": filter, "first": first}, token=token))["staffUsers"]


async def counts(world) -> tuple[int, int, int]:
    """Users, their units and audit rows: what a refused change must leave as it was."""
    row = (await world.sql("SELECT (SELECT count(*) FROM app_user), (SELECT count(*) FROM user_unit), "
                           "(SELECT count(*) FROM audit_event)"))[0]
    return tuple(row)


async def events(world, token: str, **filter) -> list[dict]:
    data = (await world.gql(EVENTS, {"filter": filter, "first": 200}, token=token))["auditEvents"]
    return [edge["node"] for edge in data["edges"]]


@pytest.fixture(scope="module")
async def national(world) -> str:
    return await sso_session(world, NATIONAL_ADMIN)


@pytest.fixture(scope="module")
async def ankara(world) -> str:
    return await sso_session(world, ANKARA_ADMIN)


@pytest.fixture(scope="module")
async def istanbul(world) -> str:
    return await sso_session(world, ISTANBUL_ADMIN)


@pytest.fixture(scope="module")
async def fatma(world, ankara) -> dict:
    """Fatma Aydın, registered by the Ankara admin as the Yetkili of milli eğitim."""
    return await registered(world, ankara, **form(FATMA, "YETKILI", phone="5329990002", unitNos=[MILLI_EGITIM]))


class TestRegister:
    async def test_the_ankara_admin_registers_a_yetkili_who_then_signs_in(self, world, ankara, fatma):
        assert fatma["role"] == "YETKILI" and fatma["roleLabel"] == "Yetkili" and fatma["active"]
        assert fatma["province"] == {"id": ANKARA, "name": "Ankara"}
        assert fatma["units"] == [{"detsisNo": MILLI_EGITIM, "name": "ANKARA İL MİLLÎ EĞİTİM MÜDÜRLÜĞÜ"}]
        assert (fatma["createdBy"], fatma["updatedBy"], fatma["version"]) == ("Derya Koç", None, 1)
        token = await staff_sign_in(world, {"tckn": FATMA["tcKimlikNo"], "phone": "5329990002"})
        me = (await world.gql("{ me { role units { detsisNo } } }", token=token))["me"]
        assert me == {"role": "YETKILI", "units": [{"detsisNo": MILLI_EGITIM}]}

    async def test_the_registration_is_in_the_audit_log(self, world, ankara, fatma):
        created = await events(world, ankara, entity="USER", entityId=fatma["id"])
        assert [(e["action"], e["actorLabel"], e["provinceId"]) for e in created] == \
            [("CREATED", "Derya Koç (Yetki İşlemleri)", ANKARA)]
        assert created[0]["after"] == {
            "tckn": FATMA["tcKimlikNo"], "role": "YETKILI", "province_id": ANKARA, "district_id": None,
            "phone": "5329990002", "first_name": "Fatma", "last_name": "Aydın", "unit_nos": [MILLI_EGITIM]}

    async def test_the_ministry_registers_a_national_analyst_and_a_kaymakamlik_aks(self, world, national):
        analyst = await registered(world, national, **form(ZEYNEP, "ANALIST", province=None, phone="5329990003"))
        assert (analyst["province"], analyst["createdBy"]) == (None, "Zeynep Aydın")
        district = (await world.sql("SELECT id FROM district WHERE province_id = 34 AND name = 'Kadıköy'"))[0][0]
        await registered(world, national, **form(ISMAIL, "AKS", province=ISTANBUL, phone="5329990004",
                                                 districtId=district))
        rows = await world.sql("SELECT role, province_id, district_id FROM app_user WHERE tckn = $1",
                               ISMAIL["tcKimlikNo"])
        assert [tuple(row) for row in rows] == [("AKS", ISTANBUL, district)]

    @pytest.mark.parametrize("changes, code, field", [
        ({"tcKimlikNo": "12345678901"}, "VALIDATION_FAILED", "tcKimlikNo"),
        ({"phone": "2121234567"}, "VALIDATION_FAILED", "phone"),
        ({"firstName": "  "}, "VALIDATION_FAILED", "firstName"),
        ({"provinceId": ISTANBUL}, "OUTSIDE_ADMIN_SCOPE", "provinceId"),
        ({"role": "YETKI_ISLEMLERI"}, "ROLE_NOT_GRANTABLE", "role"),
        ({"role": "YETKILI"}, "UNIT_REQUIRED", "unitNos"),
        ({"role": "YETKILI", "unitNos": [KADIKOY]}, "UNIT_NOT_IN_PROVINCE", "unitNos"),
        ({"role": "YETKILI", "unitNos": [99999999]}, "UNIT_NOT_IN_PROVINCE", "unitNos"),
        ({"unitNos": [MILLI_EGITIM]}, "VALIDATION_FAILED", "unitNos"),
        ({"role": "ANALIST", "provinceId": None}, "OUTSIDE_ADMIN_SCOPE", "provinceId"),
        ({"provinceId": 99}, "OUTSIDE_ADMIN_SCOPE", "provinceId"),
        ({"districtId": 1}, "VALIDATION_FAILED", "districtId"),
        ({"lastName": "Öztürk"}, "IDENTITY_MISMATCH", "firstName"),
        ({"tcKimlikNo": UNKNOWN_TCKN}, "IDENTITY_LOOKUP_REFUSED", "tcKimlikNo"),
        ({"tcKimlikNo": AKS_ANKARA["tckn"]}, "USER_ALREADY_EXISTS", "tcKimlikNo"),
    ])
    async def test_a_refused_registration_changes_nothing(self, world, ankara, changes, code, field):
        before = await counts(world)
        saved = await register(world, ankara, **{**form(HASAN), **changes})
        assert (saved["code"], saved["field"]) == (code, field), saved
        assert await counts(world) == before

    async def test_the_ministry_cannot_name_a_province_that_does_not_exist(self, world, national):
        saved = await register(world, national, **form(HASAN, province=99))
        assert (saved["code"], saved["field"]) == ("VALIDATION_FAILED", "provinceId")

    async def test_a_yetkili_may_have_a_national_unit(self, world, national):
        user = await registered(world, national, **form(HASAN, "YETKILI", province=IZMIR, phone="5329990005",
                                                        unitNos=[BAKANLIK]))
        assert user["units"] == [{"detsisNo": BAKANLIK, "name": "T.C. İÇİŞLERİ BAKANLIĞI"}]

    async def test_an_identity_service_outage_is_an_outage(self, world, ankara):
        await world.control("identity", down=True)
        try:
            saved = await register(world, ankara, **form({**HASAN, "tcKimlikNo": "12345678950",
                                                          "firstName": "Mehmet Ali", "lastName": "Demir"}))
        finally:
            await world.control("identity", down=False)
        assert saved["code"] == "SERVICE_UNAVAILABLE"


class TestSearch:
    async def test_an_admin_lists_only_the_users_they_manage(self, world, ankara, istanbul, national, fatma):
        ankara_rows = [edge["node"] for edge in (await users(world, ankara))["edges"]]
        assert {row["province"]["id"] for row in ankara_rows} == {ANKARA}
        assert "YETKI_ISLEMLERI" not in {row["role"] for row in ankara_rows}  # not theirs to manage
        assert fatma["id"] in {row["id"] for row in ankara_rows}
        istanbul_rows = [edge["node"] for edge in (await users(world, istanbul))["edges"]]
        assert {row["province"]["id"] for row in istanbul_rows} == {ISTANBUL}
        everyone = await users(world, national)
        assert everyone["totalCount"] == (await world.sql("SELECT count(*) FROM app_user"))[0][0]

    @pytest.mark.parametrize("filter, expected", [
        ({"role": "YETKILI"}, {"Murat Kaya", "Hakan Yıldız", "Seda Tunç", "Fatma Aydın"}),
        ({"tcKimlikNo": FATMA["tcKimlikNo"]}, {"Fatma Aydın"}),
        ({"unitNo": MILLI_EGITIM}, {"Murat Kaya", "Fatma Aydın"}),
        ({"firstName": "FATMA"}, {"Fatma Aydın"}),
        ({"lastName": "aydin"}, {"Fatma Aydın"}),
        ({"lastName": "YILD"}, {"Hakan Yıldız"}),
        ({"phone": "0532 999 00 02"}, {"Fatma Aydın"}),
        ({"role": "MIA", "active": True}, {"Selim Yurt", "Nihan Ateş"}),
    ])
    async def test_each_filter(self, world, ankara, fatma, filter, expected):
        rows = [edge["node"] for edge in (await users(world, ankara, **filter))["edges"]]
        assert {f"{row['firstName']} {row['lastName']}" for row in rows} == expected

    async def test_the_kaymakamlik_filter(self, world, ankara):
        kecioren = (await world.sql("SELECT id FROM district WHERE province_id = 6 AND name = 'Keçiören'"))[0][0]
        rows = [edge["node"] for edge in (await users(world, ankara, districtId=kecioren))["edges"]]
        assert {f"{row['firstName']} {row['lastName']}" for row in rows} == {"Burak Şen", "Nihan Ateş"}

    async def test_pages_are_newest_first_without_repeats(self, world, national):
        seen, after, total = [], None, None
        while True:
            data = (await world.gql(USERS, {"first": 3, "after": after}, token=national))["staffUsers"]
            seen += [int(edge["node"]["id"]) for edge in data["edges"]]
            total = data["totalCount"]
            if not data["pageInfo"]["hasNextPage"]:
                break
            after = data["pageInfo"]["endCursor"]
        assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == total

    @pytest.mark.parametrize("variables, field", [({"first": 0}, "first"), ({"after": "bm9wZQ"}, "after"),
                                                  ({"filter": {"tcKimlikNo": "1"}}, "filter.tcKimlikNo")])
    async def test_bad_input_is_a_typed_error(self, world, ankara, variables, field):
        body = await world.gql_raw(USERS, variables, token=ankara)
        assert body["errors"][0]["extensions"]["code"] in ("VALIDATION_FAILED", "INVALID_CURSOR")


class TestUpdate:
    async def test_an_update_changes_the_fields_and_records_before_and_after(self, world, ankara, fatma):
        updated = (await world.gql(UPDATE, {"input": {
            "id": fatma["id"], "expectedVersion": fatma["version"], "role": "YETKILI", "provinceId": ANKARA,
            "phone": "5329990012", "firstName": "FATMA", "lastName": "AYDIN", "unitNos": [MILLI_EGITIM, SAGLIK]}},
            token=ankara))["updateUser"]
        assert updated["__typename"] == "UserSaved", updated
        user = updated["user"]
        assert (user["phone"], user["version"], user["updatedBy"]) == ("5329990012", 2, "Derya Koç")
        assert [unit["detsisNo"] for unit in user["units"]] == sorted([MILLI_EGITIM, SAGLIK])
        change = (await events(world, ankara, entityId=fatma["id"], action="UPDATED"))[0]
        assert change["before"] == {"phone": "5329990002", "first_name": "Fatma", "last_name": "Aydın",
                                    "unit_nos": [MILLI_EGITIM]}
        assert change["after"]["unit_nos"] == sorted([MILLI_EGITIM, SAGLIK])

    async def test_a_stale_version_is_refused(self, world, ankara, fatma):
        user = await self._update(world, ankara, fatma, expectedVersion=1, phone="5329990099")
        assert user["code"] == "CONCURRENT_CHANGE"

    async def test_a_new_name_is_confirmed_by_the_identity_service(self, world, ankara, fatma):
        assert (await self._update(world, ankara, fatma, lastName="Yılmaz"))["code"] == "IDENTITY_MISMATCH"

    async def test_an_admin_cannot_move_a_user_out_of_their_province(self, world, ankara, fatma):
        moved = await self._update(world, ankara, fatma, provinceId=ISTANBUL, unitNos=[KADIKOY])
        assert moved["code"] == "OUTSIDE_ADMIN_SCOPE"

    async def test_another_provinces_user_is_not_found(self, world, istanbul, fatma):
        assert (await self._update(world, istanbul, fatma))["code"] == "NOT_FOUND"

    async def test_an_admin_cannot_change_their_own_account(self, world, national, ankara):
        me = (await users(world, national, tcKimlikNo=ANKARA_ADMIN))["edges"][0]["node"]
        assert (await self._update(world, ankara, me, role="AKS"))["code"] == "OWN_ACCOUNT"
        # and a province's admin may not touch another admin's account
        other = (await users(world, national, tcKimlikNo=ISTANBUL_ADMIN))["edges"][0]["node"]
        assert (await self._update(world, ankara, other, provinceId=ANKARA))["code"] == "NOT_FOUND"

    async def test_a_new_role_ends_the_users_sessions(self, world, national):
        hasan = (await users(world, national, tcKimlikNo=HASAN["tcKimlikNo"]))["edges"][0]["node"]
        token = await staff_sign_in(world, {"tckn": HASAN["tcKimlikNo"], "phone": "5329990005"})
        assert (await world.gql("{ me { role } }", token=token))["me"] == {"role": "YETKILI"}
        changed = await self._update(world, national, hasan, role="AKS", unitNos=None)
        assert changed["__typename"] == "UserSaved", changed
        assert (await world.gql("{ me { role } }", token=token))["me"] is None

    @staticmethod
    async def _update(world, token: str, user: dict, **changes) -> dict:
        input = {"id": user["id"], "role": user["role"], "provinceId": user["province"] and user["province"]["id"],
                 "phone": user["phone"], "firstName": user["firstName"], "lastName": user["lastName"],
                 "unitNos": [unit["detsisNo"] for unit in user["units"]] or None, **changes}
        return (await world.gql(UPDATE, {"input": input}, token=token))["updateUser"]


class TestDeactivate:
    async def test_a_deactivated_user_is_signed_out_at_once_and_cannot_sign_in(self, world, ankara):
        murat = (await users(world, ankara, tcKimlikNo=YETKILI_ANKARA["tckn"]))["edges"][0]["node"]
        token = await staff_sign_in(world, YETKILI_ANKARA)
        done = (await world.gql(SET_ACTIVE, {"id": murat["id"], "active": False}, token=ankara))["setUserActive"]
        assert (done["__typename"], done["user"]["active"]) == ("UserSaved", False)
        body = await world.gql_raw("{ routingInbox { totalCount } }", token=token)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        sent = "SELECT count(*) FROM outbox_message WHERE phone = $1"
        codes = (await world.sql(sent, YETKILI_ANKARA["phone"]))[0][0]
        await world.gql(REQUEST_STAFF, {"input": {"tcKimlikNo": YETKILI_ANKARA["tckn"],
                                                  "phone": YETKILI_ANKARA["phone"]}})
        assert (await world.sql(sent, YETKILI_ANKARA["phone"]))[0][0] == codes  # no code goes out
        assert (await world.sql("SELECT count(*) FROM auth_session WHERE user_id = $1 AND revoked_at IS NULL",
                                int(murat["id"])))[0][0] == 0
        twice = (await world.gql(SET_ACTIVE, {"id": murat["id"], "active": False}, token=ankara))["setUserActive"]
        assert twice["code"] == "USER_ALREADY_INACTIVE"
        back = (await world.gql(SET_ACTIVE, {"id": murat["id"], "active": True}, token=ankara))["setUserActive"]
        assert back["user"]["active"] and back["user"]["version"] == murat["version"] + 2

    async def test_a_person_registered_again_keeps_the_old_account_inactive(self, world, national, istanbul):
        ismail = (await users(world, national, tcKimlikNo=ISMAIL["tcKimlikNo"]))["edges"][0]["node"]
        assert (await world.gql(SET_ACTIVE, {"id": ismail["id"], "active": False},
                                token=istanbul))["setUserActive"]["__typename"] == "UserSaved"
        new = await registered(world, istanbul, **form(ISMAIL, "MIA", province=ISTANBUL, phone="5329990006"))
        assert new["id"] != ismail["id"]
        refused = (await world.gql(SET_ACTIVE, {"id": ismail["id"], "active": True}, token=istanbul))["setUserActive"]
        assert refused["code"] == "USER_ALREADY_EXISTS"
        both = (await users(world, istanbul, tcKimlikNo=ISMAIL["tcKimlikNo"]))["edges"]
        assert [(edge["node"]["role"], edge["node"]["active"]) for edge in both] == [("MIA", True), ("AKS", False)]

    async def test_a_deactivated_admins_changes_keep_their_name(self, world, national, ankara, fatma):
        derya = (await users(world, national, tcKimlikNo=ANKARA_ADMIN))["edges"][0]["node"]
        assert (await world.gql(SET_ACTIVE, {"id": derya["id"], "active": False},
                                token=national))["setUserActive"]["user"]["active"] is False
        body = await world.gql_raw(USERS, {}, token=ankara)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        created = await events(world, national, entityId=fatma["id"], action="CREATED")
        assert created[0]["actorLabel"] == "Derya Koç (Yetki İşlemleri)"
        assert (await users(world, national, tcKimlikNo=FATMA["tcKimlikNo"]))["edges"][0]["node"]["createdBy"] == \
            "Derya Koç"
        assert (await world.gql(SET_ACTIVE, {"id": derya["id"], "active": True},
                                token=national))["setUserActive"]["user"]["active"] is True


class TestExport:
    async def test_the_workbook_has_the_searchs_users(self, world, national):
        started = (await world.gql(EXPORT, {"filter": {"provinceId": ANKARA}}, token=national))["startUserExport"]
        assert started["__typename"] == "ExportStarted", started
        for _ in range(200):
            job = (await world.gql(JOB, {"id": started["job"]["id"]}, token=national))["exportJob"]
            if job["status"] == "DONE":
                break
            await asyncio.sleep(0.05)
        response = await world.http.get(job["downloadUrl"])
        sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).active
        rows = [tuple(row) for row in sheet.iter_rows(values_only=True)]
        assert rows[0][:5] == ("Kullanıcı Yetki Tipi", "İl", "İlçe", "Detay Birimleri", "T.C. Kimlik No")
        listed = [edge["node"] for edge in (await users(world, national, provinceId=ANKARA))["edges"]]
        assert [row[4] for row in rows[1:]] == [user["tcKimlikNo"] for user in listed]
        assert job["rowsTotal"] == job["rowsWritten"] == len(listed)
        fatma = next(row for row in rows if row[4] == FATMA["tcKimlikNo"])
        assert (fatma[0], fatma[1], fatma[8], fatma[9]) == ("Yetkili", "Ankara", "Etkin", "Derya Koç")
        assert "55461037 ANKARA İL MİLLÎ EĞİTİM MÜDÜRLÜĞÜ" in fatma[3]


class TestAuditLog:
    async def test_each_admin_reads_their_provinces_events_and_the_ministry_every_one(self, world, national,
                                                                                    istanbul):
        ankara = await sso_session(world, ANKARA_ADMIN)  # the module's session ended with their deactivation
        assert {e["provinceId"] for e in await events(world, ankara)} == {ANKARA}
        assert {e["provinceId"] for e in await events(world, istanbul)} == {ISTANBUL}
        everything = await events(world, national)
        assert {ANKARA, ISTANBUL, None} <= {e["provinceId"] for e in everything}
        assert len(everything) == (await world.sql("SELECT count(*) FROM audit_event"))[0][0]

    async def test_the_log_is_append_only(self, world):
        for statement in ("UPDATE audit_event SET actor_label = 'x'", "DELETE FROM audit_event"):
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await world.sql(statement)


OPERATIONS = {
    "staffUsers": (USERS, {}),
    "auditEvents": (EVENTS, {}),
    "registerUser": (REGISTER, {"input": form(HASAN)}),
    "updateUser": (UPDATE, {"input": {"id": "1", **form({"firstName": "Hasan", "lastName": "Özdemir"})}}),
    "setUserActive": (SET_ACTIVE, {"id": "1", "active": False}),
    "startUserExport": (EXPORT, {}),
}


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("caller", ["anonymous", "citizen", "AKS", "Yetkili", "MİA", "analyst"])
async def test_no_other_role_reaches_yetki_islemleri(world, operation, caller):
    if caller == "citizen":
        token = await sign_in_to_apply(world, AYSE, "5340000009")
    else:
        tckn = {"anonymous": None, "AKS": AKS_ANKARA["tckn"], "Yetkili": "10000000900", "MİA": MIA,
                "analyst": ANALIST}[caller]
        token = tckn and await sso_session(world, tckn)
    before = await counts(world)
    document, variables = OPERATIONS[operation]
    body = await world.gql_raw(document, variables, token=token)
    expected = "UNAUTHENTICATED" if token is None else "PERMISSION_DENIED"
    if body.get("errors"):
        assert body["errors"][0]["extensions"]["code"] == expected, body
    else:
        assert body["data"][operation]["code"] == expected, body
    assert await counts(world) == before
