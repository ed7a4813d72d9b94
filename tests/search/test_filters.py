"""Başvuru Arama, the Yetkili's inbox and the overdue view on a known office: each filter alone and combined, each
role's scope and masking, the rows' columns, and the refusals."""

from dataclasses import dataclass
from datetime import timedelta

import pytest

from tests.documents import OVERDUE_ROUTINGS, ROUTE, ROUTING_INBOX, SEARCH, SET_FLAGS
from tests.helpers import ANNA, AYSE, MEHMET, ZEYNEP, apply, istanbul_today, sign_in_to_track, staff_session
from tests.workflow.support import (
    AKS_ISTANBUL, AKS_KECIOREN, ANALIST, MIA_ANKARA, MILLI_EGITIM, SAGLIK, YETKILI_SAGLIK, Staff, done, prepare,
    register, staff_view,
)

SETTINGS = {"staff_identity_lookups_per_hour": 10_000}
LONG_SUBJECT = "Okulun bahçe duvarı yıkılmak üzere; " * 12  # over 200 characters


@dataclass
class Office:
    apps: dict[str, int]  # name → tracking number
    staff: Staff
    tokens: dict[str, str | None]
    categories: tuple[int, int]  # the category and subcategory only `ihbar` has


@pytest.fixture(scope="module")
async def office(world) -> Office:
    """Ankara's applications (and one of İstanbul), each made for the filters it should and should not meet:
    pool: AYŞE, in the pool; web: AYŞE's own, on the web; routed: AYŞE's şikâyet, routed to the il milli
    eğitim, overdue; ihbar: MEHMET ALİ's, routed to milli eğitim (answered) and sağlık (waiting), another
    category; closed: AYŞE's, closed Olumlu, özellikli with a priority group; secret: ANNA's, gizli, registered
    40 days ago; istanbul: ZEYNEP's."""
    staff = await Staff.of(world)
    apps = {"pool": await register(world, staff.aks, subject=LONG_SUBJECT),
            "web": await apply(world, AYSE, "5350003001"),
            "routed": await register(world, staff.aks, kind="SIKAYET"),
            "ihbar": await register(world, staff.aks, person=MEHMET, kind="IHBAR", phone="5350003002")}
    await done(world, staff.aks, ROUTE, trackingNo=apps["routed"], unitNos=[MILLI_EGITIM])
    await world.sql("UPDATE routing SET due_date = $1 FROM application a WHERE a.id = routing.application_id"
                    " AND a.tracking_no = $2", istanbul_today() - timedelta(days=3), apps["routed"])
    await done(world, staff.aks, ROUTE, trackingNo=apps["ihbar"], unitNos=[MILLI_EGITIM, SAGLIK])
    meb = (await staff_view(world, staff.aks, apps["ihbar"]))["routings"][0]
    await done(world, staff.yetkili, "mutation($input: AnswerRoutingInput!) { answerRouting(input: $input) "
                                     "{ __typename ... on WorkflowStepDone { trackingNo status statusLabel version } "
                                     "... on Error { code message field } } }",
               routingId=meb["id"], answer="Cevabımızdır.")
    apps["closed"] = (await prepare(world, staff, "SONUCLANDI")).tracking_no
    await world.sql("UPDATE application SET is_special = true, priority_group = 'GAZI' WHERE tracking_no = $1",
                    apps["closed"])
    apps["secret"] = await register(world, staff.aks, person=ANNA, phone="5350003003")
    await done(world, staff.aks, SET_FLAGS, trackingNo=apps["secret"], isSpecial=False, isConfidential=True)
    await world.sql("UPDATE application SET created_at = created_at - interval '40 days' WHERE tracking_no = $1",
                    apps["secret"])
    [other] = await world.sql(
        "SELECT c.id AS category, s.id AS subcategory FROM service_category s JOIN service_category c"
        " ON c.id = s.parent_id WHERE s.id <> (SELECT subcategory_id FROM application_category LIMIT 1)"
        " AND c.id <> (SELECT category_id FROM application_category LIMIT 1) ORDER BY s.id LIMIT 1")
    await world.sql("UPDATE application_category SET category_id = $1, subcategory_id = $2 FROM application a"
                    " WHERE a.id = application_id AND a.tracking_no = $3", other["category"], other["subcategory"],
                    apps["ihbar"])
    tokens = {"AKS Ankara": staff.aks, "MİA Ankara": staff.mia, "Yetkili MEB": staff.yetkili}
    for name, who in [("AKS Keçiören", AKS_KECIOREN), ("AKS İstanbul", AKS_ISTANBUL),
                      ("Yetkili Sağlık", YETKILI_SAGLIK), ("Analist", ANALIST), ("MİA", MIA_ANKARA)]:
        tokens[name] = await staff_session(world, who["tckn"])
    apps["istanbul"] = await register(world, tokens["AKS İstanbul"], person=ZEYNEP, phone="5350003004")
    tokens["citizen"] = await sign_in_to_track(world, apps["web"], AYSE, "5350003001")
    tokens["anonymous"] = None
    return Office(apps, staff, tokens, (other["category"], other["subcategory"]))


async def found(world, office: Office, token: str | None = None, **filter) -> list[str]:
    """The names of the office's applications the search finds, in the order listed."""
    data = await world.gql(SEARCH, {"filter": filter, "first": 200}, token=token or office.staff.aks)
    by_number = {number: name for name, number in office.apps.items()}
    numbers = [edge["node"]["trackingNo"] for edge in data["searchApplications"]["edges"]]
    assert data["searchApplications"]["totalCount"] == len(numbers)
    return [by_number[number] for number in numbers if number in by_number]


ANKARA = ["secret", "closed", "ihbar", "routed", "web", "pool"]  # newest first: `secret` was moved back 40 days


async def test_without_a_filter_the_office_lists_everything_newest_first(world, office):
    assert await found(world, office) == ["closed", "ihbar", "routed", "web", "pool", "secret"]


@pytest.mark.parametrize("filter, expected", [
    ({"firstName": "ayse"}, ["closed", "routed", "web", "pool"]),  # "ayse" finds "AYŞE"
    ({"firstName": "AYŞE"}, ["closed", "routed", "web", "pool"]),
    ({"firstName": "ali"}, ["ihbar"]),  # the second word of "MEHMET ALİ"
    ({"firstName": "meh al"}, ["ihbar"]),  # every word begins a word of the name
    ({"firstName": "yilmaz"}, []),  # a surname is not a first name
    ({"lastName": "yılmaz"}, ["closed", "routed", "web", "pool"]),
    ({"lastName": "dem"}, ["ihbar"]),
    ({"firstName": "anna", "lastName": "petrova"}, ["secret"]),
    ({"tcKimlikNo": MEHMET["tckn"]}, ["ihbar"]),
    ({"kinds": ["IHBAR", "SIKAYET"]}, ["ihbar", "routed"]),
    ({"channels": ["WEB"]}, ["web"]),
    ({"statuses": ["YONLENDIRILDI"]}, ["ihbar", "routed"]),
    ({"statuses": ["HAVUZDA", "SONUCLANDI"]}, ["closed", "web", "pool", "secret"]),
    ({"results": ["OLUMLU"]}, ["closed"]),
    ({"isSpecial": True}, ["closed"]),
    ({"isConfidential": True}, ["secret"]),
    ({"isConfidential": False, "isSpecial": False}, ["ihbar", "routed", "web", "pool"]),
    ({"priorityGroups": ["GAZI", "HAMILE"]}, ["closed"]),
    ({"unitNo": SAGLIK}, ["ihbar"]),
    ({"unitNo": MILLI_EGITIM}, ["closed", "ihbar", "routed"]),
    ({"overdue": True}, ["routed"]),
    ({"overdue": False}, ["closed", "ihbar", "web", "pool", "secret"]),
    ({"kinds": ["SIKAYET"], "overdue": True, "firstName": "ayse"}, ["routed"]),
    ({"kinds": ["SIKAYET"], "overdue": False}, []),
])
async def test_each_filter_alone_and_combined(world, office, filter, expected):
    assert await found(world, office, **filter) == expected


async def test_the_tracking_number_and_the_categories(world, office):
    assert await found(world, office, trackingNo=office.apps["routed"]) == ["routed"]
    category, subcategory = office.categories
    assert await found(world, office, categoryId=category) == ["ihbar"]
    assert await found(world, office, categoryId=category, subcategoryId=subcategory) == ["ihbar"]
    assert await found(world, office, subcategoryId=subcategory, kinds=["TALEP"]) == []


async def test_the_registration_dates_are_istanbul_days_both_ends_included(world, office):
    today = istanbul_today()
    assert await found(world, office, registeredFrom=today.isoformat()) == ANKARA[1:]
    assert await found(world, office, registeredTo=(today - timedelta(days=1)).isoformat()) == ["secret"]
    assert await found(world, office, registeredFrom=(today - timedelta(days=40)).isoformat(),
                       registeredTo=(today - timedelta(days=40)).isoformat()) == ["secret"]


@pytest.mark.parametrize("caller, expected", [
    ("AKS Ankara", ["closed", "ihbar", "routed", "web", "pool", "secret"]),
    ("MİA Ankara", ["closed", "ihbar", "routed", "web", "pool", "secret"]),
    ("AKS Keçiören", ["closed", "routed", "web", "pool"]),  # AYŞE lives in Keçiören; MEHMET ALİ and ANNA do not
    ("AKS İstanbul", ["istanbul"]),
])
async def test_the_office_sees_its_own_applications_with_the_applicants_data(world, office, caller, expected):
    token = office.tokens[caller]
    assert await found(world, office, token) == expected
    data = await world.gql(SEARCH, {"filter": {}, "first": 200}, token=token)
    assert all(edge["node"]["tcKimlikNo"] and edge["node"]["firstName"]
               for edge in data["searchApplications"]["edges"])
    assert await found(world, office, token, lastName="sahin") == (["istanbul"] if caller == "AKS İstanbul" else [])


@pytest.mark.parametrize("caller, code", [
    ("anonymous", "UNAUTHENTICATED"), ("citizen", "PERMISSION_DENIED"), ("Yetkili MEB", "PERMISSION_DENIED"),
    ("Analist", "PERMISSION_DENIED")])
@pytest.mark.parametrize("document", [SEARCH, OVERDUE_ROUTINGS])
async def test_the_office_lists_are_the_offices(world, office, caller, code, document):
    body = await world.gql_raw(document, {}, token=office.tokens[caller])
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == code, body


@pytest.mark.parametrize("caller, code", [
    ("anonymous", "UNAUTHENTICATED"), ("citizen", "PERMISSION_DENIED"), ("AKS Ankara", "PERMISSION_DENIED"),
    ("MİA Ankara", "PERMISSION_DENIED"), ("Analist", "PERMISSION_DENIED")])
async def test_only_a_yetkili_has_an_inbox(world, office, caller, code):
    body = await world.gql_raw(ROUTING_INBOX, {}, token=office.tokens[caller])
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == code, body


async def test_a_row_has_the_screens_columns(world, office):
    data = await world.gql(SEARCH, {"filter": {"trackingNo": office.apps["ihbar"]}}, token=office.staff.aks)
    [edge] = data["searchApplications"]["edges"]
    row = edge["node"]
    view = await staff_view(world, office.staff.aks, office.apps["ihbar"])
    assert (row["kind"], row["kindLabel"], row["status"], row["statusLabel"]) == \
        ("IHBAR", "İhbar", "YONLENDIRILDI", "Başvuru İlgili Birime Yönlendirildi")
    assert (row["firstName"], row["lastName"], row["tcKimlikNo"]) == ("MEHMET ALİ", "DEMİR", MEHMET["tckn"])
    assert row["categories"] == view["categories"]
    assert [(r["id"], r["unit"]["detsisNo"], r["status"], r["dueDate"]) for r in row["routings"]] == \
        [(r["id"], r["unit"]["detsisNo"], r["status"], r["dueDate"]) for r in view["routings"]]
    assert row["unitArrivalAt"] == min(r["routedAt"] for r in view["routings"])
    assert row["dueDate"] == view["routings"][1]["dueDate"] and row["overdue"] is False  # sağlık still waits
    assert (row["createdAt"], row["channel"], row["channelLabel"]) == (view["createdAt"], "BANKO", "Banko")
    [pool] = (await world.gql(SEARCH, {"filter": {"trackingNo": office.apps["pool"]}},
                              token=office.staff.aks))["searchApplications"]["edges"]
    assert pool["node"]["subjectSummary"] == LONG_SUBJECT[:199] + "…"
    assert (pool["node"]["routings"], pool["node"]["unitArrivalAt"], pool["node"]["dueDate"]) == ([], None, None)


async def test_the_yetkilis_inbox_lists_their_units_routings_waiting_first(world, office):
    data = (await world.gql(ROUTING_INBOX, {}, token=office.staff.yetkili))["routingInbox"]
    by_number = {number: name for name, number in office.apps.items()}
    lines = [(by_number[e["node"]["application"]["trackingNo"]], e["node"]["status"], e["node"]["overdue"],
              e["node"]["daysLate"]) for e in data["edges"]]
    assert lines == [("routed", "OPEN", True, 3), ("ihbar", "ANSWERED", False, 0), ("closed", "ANSWERED", False, 0)]
    assert data["totalCount"] == 3
    ihbar = data["edges"][1]["node"]["application"]
    # no T.C. for a unit; no name on an ihbar; only the unit's own routing of the application
    assert (ihbar["tcKimlikNo"], ihbar["firstName"], ihbar["lastName"]) == (None, None, None)
    assert [r["unit"]["detsisNo"] for r in ihbar["routings"]] == [MILLI_EGITIM]
    routed = data["edges"][0]["node"]["application"]
    assert (routed["tcKimlikNo"], routed["firstName"]) == (None, "AYŞE")


@pytest.mark.parametrize("filter, expected", [
    ({"firstName": "ayse"}, ["routed", "closed"]),
    ({"firstName": "mehmet"}, []),  # a name never finds an ihbar for a unit
    ({"kinds": ["IHBAR"]}, ["ihbar"]),
    ({"overdue": True}, ["routed"]),
    ({"overdue": False}, ["ihbar", "closed"]),
    ({"unitNo": MILLI_EGITIM, "statuses": ["SONUCLANDI"]}, ["closed"]),
])
async def test_the_inbox_takes_the_same_filters(world, office, filter, expected):
    data = await world.gql(ROUTING_INBOX, {"filter": filter}, token=office.staff.yetkili)
    by_number = {number: name for name, number in office.apps.items()}
    assert [by_number[e["node"]["application"]["trackingNo"]] for e in data["routingInbox"]["edges"]] == expected


async def test_a_unit_sees_nothing_routed_elsewhere_and_never_a_confidential_application(world, office):
    data = await world.gql(ROUTING_INBOX, {}, token=office.tokens["Yetkili Sağlık"])
    assert [(e["node"]["application"]["trackingNo"], e["node"]["unit"]["detsisNo"])
            for e in data["routingInbox"]["edges"]] == [(office.apps["ihbar"], SAGLIK)]
    await world.sql("UPDATE application SET is_confidential = true WHERE tracking_no = $1", office.apps["ihbar"])
    try:
        data = await world.gql(ROUTING_INBOX, {}, token=office.tokens["Yetkili Sağlık"])
        assert data["routingInbox"]["edges"] == [] and data["routingInbox"]["totalCount"] == 0
    finally:
        await world.sql("UPDATE application SET is_confidential = false WHERE tracking_no = $1",
                        office.apps["ihbar"])


@pytest.mark.parametrize("filter, code, field", [
    ({"tcKimlikNo": AYSE["tckn"]}, "PERMISSION_DENIED", "filter.tcKimlikNo"),  # a unit never sees the T.C.
    ({"unitNo": SAGLIK}, "PERMISSION_DENIED", "filter.unitNo"),
])
async def test_a_yetkili_cannot_search_by_what_they_may_not_see(world, office, filter, code, field):
    body = await world.gql_raw(ROUTING_INBOX, {"filter": filter}, token=office.staff.yetkili)
    assert body["errors"][0]["extensions"]["code"] == code, body


@pytest.mark.parametrize("caller, expected", [
    ("AKS Ankara", [("routed", MILLI_EGITIM, 3)]), ("MİA Ankara", [("routed", MILLI_EGITIM, 3)]),
    ("AKS Keçiören", [("routed", MILLI_EGITIM, 3)]), ("AKS İstanbul", [])])
async def test_the_overdue_view_lists_the_offices_late_routings(world, office, caller, expected):
    data = (await world.gql(OVERDUE_ROUTINGS, {"filter": {"overdue": False}}, token=office.tokens[caller]))
    by_number = {number: name for name, number in office.apps.items()}
    lines = [(by_number[e["node"]["application"]["trackingNo"]], e["node"]["unit"]["detsisNo"],
              e["node"]["daysLate"]) for e in data["overdueRoutings"]["edges"]]
    assert lines == expected and data["overdueRoutings"]["totalCount"] == len(expected)


@pytest.mark.parametrize("variables, code, field", [
    ({"first": 0}, "VALIDATION_FAILED", "first"),
    ({"first": 201}, "VALIDATION_FAILED", "first"),
    ({"after": "bm90IGEgY3Vyc29y"}, "INVALID_CURSOR", "after"),
    ({"after": "%%%"}, "INVALID_CURSOR", "after"),
    ({"after": "aS4xLjI"}, "INVALID_CURSOR", "after"),  # an inbox's cursor ("i.1.2")
    ({"after": "YS45OTk5OTk5OTk5OTk5OTk5OTkuMQ"}, "INVALID_CURSOR", "after"),  # a time past the calendar
    ({"after": "YS4xLjk5OTk5OTk5OTk5"}, "INVALID_CURSOR", "after"),  # an id past any row's ("a.1.99999999999")
    ({"filter": {"tcKimlikNo": "1234"}}, "VALIDATION_FAILED", "filter.tcKimlikNo"),
    ({"filter": {"firstName": "?!"}}, "VALIDATION_FAILED", "filter.firstName"),
    ({"filter": {"lastName": "a" * 65}}, "VALIDATION_FAILED", "filter.lastName"),
    ({"filter": {"registeredFrom": "2026-02-01", "registeredTo": "2026-01-01"}}, "VALIDATION_FAILED",
     "filter.registeredFrom"),
    ({"filter": {"registeredTo": "9999-12-31"}}, "VALIDATION_FAILED", "filter.registeredTo"),
])
async def test_bad_input_is_a_typed_error(world, office, variables, code, field):
    body = await world.gql_raw(SEARCH, variables, token=office.staff.aks)
    [error] = body["errors"]
    assert body["data"] is None and error["extensions"]["code"] == code, body
    assert "Traceback" not in str(body)


async def test_a_listing_of_tc_numbers_is_recorded_for_kvkk(world, office):
    async def logged() -> int:
        [row] = await world.sql("SELECT count(*) AS n FROM kvkk_access_log l JOIN app_user u ON u.id = l.user_id"
                                " WHERE u.tckn = $1 AND l.fields = '{tcKimlikNo}'", MIA_ANKARA["tckn"])
        return row["n"]

    before = await logged()
    await world.gql("{ searchApplications(first: 3) { edges { node { trackingNo firstName } } } }",
                    token=office.tokens["MİA"])
    assert await logged() == before  # no T.C. asked for, none recorded
    await world.gql("{ searchApplications(first: 3) { edges { node { trackingNo tcKimlikNo } } } }",
                    token=office.tokens["MİA"])
    assert await logged() == before + 3
