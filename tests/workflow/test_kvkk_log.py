"""KVKK: every staff read of an applicant's personal data (T.C. Kimlik No, birth date, gender, phone, e-mail,
residence address) is recorded in an append-only log: who, which application, which fields, when. Exactly the
fields read, once per application in a request; nothing for reads without personal data, for roles that do not
see it, or for the citizen."""

import pytest

from tests.documents import TRACKED
from tests.helpers import sign_in_to_track, staff_session
from tests.workflow.support import (
    AKS_ANKARA, AYSE, AYSE_PHONE, MIA_ANKARA, MILLI_EGITIM, ROUTE, YETKILI_ANKARA, done, link, register, session_id,
)

SETTINGS = {"staff_identity_lookups_per_hour": 10_000}


@pytest.fixture(scope="module")
async def tokens(world) -> dict:
    return {name: await staff_session(world, who["tckn"])
            for name, who in (("aks", AKS_ANKARA), ("mia", MIA_ANKARA), ("yetkili", YETKILI_ANKARA))}


@pytest.fixture(scope="module")
async def tracking_no(world, tokens) -> int:
    number = await register(world, tokens["aks"])
    await done(world, tokens["aks"], ROUTE, trackingNo=number, unitNos=[MILLI_EGITIM])
    return number


async def log_rows(world) -> list[tuple]:
    rows = await world.sql("SELECT u.tckn, a.tracking_no, l.fields FROM kvkk_access_log l "
                           "JOIN app_user u ON u.id = l.user_id JOIN application a ON a.id = l.application_id "
                           "ORDER BY l.id")
    return [(row["tckn"], row["tracking_no"], row["fields"]) for row in rows]


async def new_rows(world, read) -> list[tuple]:
    """The log rows a read adds."""
    before = len(await log_rows(world))
    await read()
    return (await log_rows(world))[before:]


async def staff_read(world, token: str, tracking_no: int, selection: str) -> dict:
    query = f"query($n: Int!) {{ staffApplication(trackingNo: $n) {{ {selection} }} }}"
    return await world.gql(query, {"n": tracking_no}, token=token)


class TestTheStaffView:
    async def test_an_aks_reading_two_personal_fields_is_recorded_with_exactly_those(self, world, tokens,
                                                                                        tracking_no):
        rows = await new_rows(world, lambda: staff_read(world, tokens["aks"], tracking_no,
                                                        "trackingNo subject tcKimlikNo phone"))
        assert rows == [(AKS_ANKARA["tckn"], tracking_no, ["phone", "tcKimlikNo"])]

    async def test_every_personal_field_and_through_fragments(self, world, tokens, tracking_no):
        selection = ("tcKimlikNo ... on StaffApplication { birthDate genderLabel phone } "
                     "...More")
        query = ("query($n: Int!) { staffApplication(trackingNo: $n) { " + selection + " } } "
                 "fragment More on StaffApplication { email residenceAddress firstName }")
        rows = await new_rows(world, lambda: world.gql(query, {"n": tracking_no}, token=tokens["mia"]))
        assert rows == [(MIA_ANKARA["tckn"], tracking_no,
                         ["birthDate", "email", "gender", "phone", "residenceAddress", "tcKimlikNo"])]

    async def test_a_read_without_personal_data_is_not_recorded(self, world, tokens, tracking_no):
        selection = "trackingNo status firstName lastName subject routings { unit { name } } history { note }"
        assert await new_rows(world, lambda: staff_read(world, tokens["aks"], tracking_no, selection)) == []

    async def test_the_same_application_twice_in_one_request_is_recorded_once(self, world, tokens, tracking_no):
        query = ("query($n: Int!) { a: staffApplication(trackingNo: $n) { tcKimlikNo } "
                 "b: staffApplication(trackingNo: $n) { tcKimlikNo } }")
        rows = await new_rows(world, lambda: world.gql(query, {"n": tracking_no}, token=tokens["aks"]))
        assert rows == [(AKS_ANKARA["tckn"], tracking_no, ["tcKimlikNo"])]

    async def test_a_yetkili_reads_no_personal_data_so_nothing_is_recorded(self, world, tokens, tracking_no):
        async def read():
            data = await staff_read(world, tokens["yetkili"], tracking_no, "tcKimlikNo phone residenceAddress")
            assert data["staffApplication"] == {"tcKimlikNo": None, "phone": None, "residenceAddress": None}

        assert await new_rows(world, read) == []


class TestOtherReads:
    async def test_an_aks_printing_the_report_is_recorded(self, world, tokens, tracking_no):
        async def read():
            url = link(world, f"/reports/applications/{tracking_no}", await session_id(world, tokens["aks"]))
            response = await world.http.get(url)
            assert response.status_code == 200 and AYSE["tckn"] in response.text

        assert await new_rows(world, read) == [(AKS_ANKARA["tckn"], tracking_no, ["residenceAddress", "tcKimlikNo"])]

    async def test_a_yetkili_printing_the_report_is_not(self, world, tokens, tracking_no):
        async def read():
            url = link(world, f"/reports/applications/{tracking_no}", await session_id(world, tokens["yetkili"]))
            response = await world.http.get(url)
            assert response.status_code == 200 and AYSE["tckn"] not in response.text

        assert await new_rows(world, read) == []

    async def test_the_citizen_reading_their_own_application_is_not_a_staff_read(self, world, tracking_no):
        token = await sign_in_to_track(world, tracking_no, AYSE, AYSE_PHONE)
        assert await new_rows(world, lambda: world.gql(TRACKED, token=token)) == []


class TestTheLogIsAppendOnly:
    @pytest.mark.parametrize("statement", ["UPDATE kvkk_access_log SET fields = '{}'", "DELETE FROM kvkk_access_log",
                                           "TRUNCATE kvkk_access_log"])
    async def test_rows_cannot_be_changed_or_removed(self, world, tokens, tracking_no, statement):
        await staff_read(world, tokens["aks"], tracking_no, "tcKimlikNo")
        before = await log_rows(world)
        with pytest.raises(Exception, match="append-only"):
            await world.sql(statement)
        assert await log_rows(world) == before
