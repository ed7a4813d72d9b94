"""The lists page by keyset cursors: no row twice and none skipped while applications arrive between pages, and a
page costs the same few statements whatever its size."""

import pytest

from tests.documents import OVERDUE_ROUTINGS, ROUTE, ROUTING_INBOX, SEARCH
from tests.helpers import istanbul_today
from tests.workflow.support import MILLI_EGITIM, Staff, done, register

SETTINGS = {"staff_identity_lookups_per_hour": 10_000, "reference_check_seconds": 3600}
COPIES = 420

COLUMNS = ("kind, channel, status, applicant_tckn, applicant_first_name, applicant_last_name, applicant_birth_date, "
           "applicant_gender, residence_address, residence_province_id, residence_district_id, subject_address, "
           "subject_province_id, subject_district_id, subject_place_id, phone, subject")


async def copies(world, tracking_no: int, count: int, *, seconds_apart: float = 1) -> None:
    """`count` copies of an application with its categories, routed to milli eğitim: the newest just now, each
    one before it `seconds_apart` older, with due dates spread over a month (most past)."""
    await world.sql(
        f"WITH made AS (INSERT INTO application ({COLUMNS}, created_at) SELECT {COLUMNS},"
        f" now() - make_interval(secs => $3 * g) FROM application, generate_series(1, $2) g"
        f" WHERE tracking_no = $1 RETURNING id),"
        f" categories AS (INSERT INTO application_category (application_id, position, category_id, subcategory_id)"
        f" SELECT made.id, c.position, c.category_id, c.subcategory_id FROM made, application_category c"
        f" JOIN application a ON a.id = c.application_id WHERE a.tracking_no = $1)"
        f" INSERT INTO routing (application_id, unit_no, status, due_date, created_by_id)"
        f" SELECT made.id, $4, CASE WHEN made.id % 3 = 0 THEN 'ANSWERED' ELSE 'OPEN' END,"
        f" $5::date - 25 + (made.id * 7 % 30), (SELECT id FROM app_user WHERE role = 'AKS' LIMIT 1) FROM made",
        tracking_no, count, seconds_apart, MILLI_EGITIM, istanbul_today())


@pytest.fixture(scope="module")
async def staff(world) -> Staff:
    return await Staff.of(world)


@pytest.fixture(scope="module")
async def original(world, staff) -> int:
    tracking_no = await register(world, staff.aks)
    await done(world, staff.aks, ROUTE, trackingNo=tracking_no, unitNos=[MILLI_EGITIM])
    await copies(world, tracking_no, COPIES)
    return tracking_no


async def walk(world, token: str, document: str, field: str, first: int, between=None) -> tuple[list, list]:
    """Every page of a list: the node ids in order, and each page's totalCount."""
    ids, totals, after = [], [], None
    while True:
        data = (await world.gql(document, {"first": first, "after": after}, token=token))[field]
        ids += [edge["node"]["id"] for edge in data["edges"]]
        totals.append(data["totalCount"])
        assert data["pageInfo"]["endCursor"] == (data["edges"][-1]["cursor"] if data["edges"] else None)
        if not data["pageInfo"]["hasNextPage"]:
            return ids, totals
        after = data["pageInfo"]["endCursor"]
        if between:
            await between()


async def test_no_row_twice_none_skipped_while_applications_arrive(world, staff, original):
    everything, _ = await walk(world, staff.aks, SEARCH, "searchApplications", 200)
    arrived = []

    async def arrive():  # five new applications, newer than every page
        await copies(world, original, 5, seconds_apart=-0.001)
        arrived.append(5)

    ids, totals = await walk(world, staff.aks, SEARCH, "searchApplications", 37, between=arrive)
    assert ids == everything and len(ids) == len(set(ids)) == COPIES + 1
    assert totals == [COPIES + 1 + 5 * n for n in range(len(totals))]  # the total counts what has arrived
    assert len(arrived) == len(totals) - 1


@pytest.mark.parametrize("document, field, token", [(ROUTING_INBOX, "routingInbox", "yetkili"),
                                                    (OVERDUE_ROUTINGS, "overdueRoutings", "aks")])
async def test_the_routing_lists_page_through_in_their_order(world, staff, original, document, field, token):
    token = getattr(staff, token)
    everything, _ = await walk(world, token, document, field, 200)
    ids, _ = await walk(world, token, document, field, 13)
    assert ids == everything and len(set(ids)) == len(ids) > 13
    rows = await world.sql("SELECT id, status = 'ANSWERED' AS answered, due_date FROM routing"
                           " WHERE id = ANY($1::int[])", [int(i) for i in ids])
    key = {row["id"]: (row["answered"], row["due_date"], row["id"]) for row in rows}
    if field == "overdueRoutings":
        assert all(not answered and due < istanbul_today() for answered, due, _ in key.values())
        key = {id: value[1:] for id, value in key.items()}
    assert [int(i) for i in ids] == sorted(key, key=key.get)


@pytest.mark.parametrize("document, field, token", [(SEARCH, "searchApplications", "aks"),
                                                    (ROUTING_INBOX, "routingInbox", "yetkili"),
                                                    (OVERDUE_ROUTINGS, "overdueRoutings", "mia")])
async def test_a_page_is_the_same_few_statements_whatever_its_size(world, staff, original, document, field, token):
    """The bearer session (one statement; its idle-time touch at most once a minute), the page with its total,
    and the KVKK log of the T.C. numbers it shows (the office only)."""
    counts = {}
    for first in (1, 50, 200):
        with world.statements as counter:
            data = await world.gql(document, {"first": first}, token=getattr(staff, token))
        assert len(data[field]["edges"]) == first
        counts[first] = len([s for s in counter.statements if "last_seen_at =" not in s])
    assert set(counts.values()) == {2 if field == "routingInbox" else 3}, counts


async def test_the_total_is_counted_with_the_page_or_on_its_own_past_the_last_row(world, staff, original):
    everything, totals = await walk(world, staff.aks, SEARCH, "searchApplications", 200)
    data = await world.gql(SEARCH, {"first": 1}, token=staff.aks)
    last = data["searchApplications"]["edges"][0]["cursor"]
    for _ in range(len(everything) - 1):  # to the end, one page at a time would be slow: jump with big pages
        page = (await world.gql(SEARCH, {"first": 200, "after": last}, token=staff.aks))["searchApplications"]
        if not page["edges"]:
            break
        last = page["edges"][-1]["cursor"]
    with world.statements as counter:
        past = (await world.gql(SEARCH, {"first": 5, "after": last}, token=staff.aks))["searchApplications"]
    assert past["edges"] == [] and past["totalCount"] == totals[-1]
    assert len([s for s in counter.statements if "count(*)" in s]) == 2  # the page's, then one of its own
