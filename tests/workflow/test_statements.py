"""Every step is two SQL statements, the same for an application with one routing and a short history as for one
with many routings and a long history: it reads the application, then writes everything in one statement (no
BEGIN, no COMMIT). The staff view is one statement (and one more for the KVKK log when personal data is read)."""

from tests.documents import ANSWER, CLOSE, RETURN_ANSWER, REVIEW, ROUTE, SEND_TO_MIA, SET_FLAGS, STAFF_APPLICATION
from tests.workflow.support import KECIOREN_MILLI_EGITIM, MILLI_EGITIM, Staff, done, prepare, staff_view

SETTINGS = {"staff_identity_lookups_per_hour": 10_000, "reference_check_seconds": 3600}

# The application read (with the units asked for), then the status, the step's own rows, history and SMS.
STEP_STATEMENTS = 2
VIEW_STATEMENTS = 1
# Other units of Ankara, to give an application many routings.
MORE_UNITS = [50837785, 89764981, 26678348, 16702456, 64633022, 58066921, 50190974, 90763163]


SESSION = ("token_hash", "last_seen_at", "FROM app_user", "FROM user_unit")


def step_statements(statements: list[str]) -> list[str]:
    """Leaves out the bearer-session lookup, the staff user it loads and its idle-time touch, which come before
    any operation."""
    return [s for s in statements if not any(mark in s for mark in SESSION)]


async def counted(world, token: str, document: str, **input) -> int:
    with world.statements as counter:
        await done(world, token, document, **input)
    return len(step_statements(counter.statements))


async def walk(world, staff: Staff, *, many: bool) -> dict[str, int]:
    """Route, answer, return, answer again, send to the MİA, evaluate, flag and close one application; with
    `many`, one that already has eight more routings and a long history."""
    app = await prepare(world, staff, "HAVUZDA")
    if many:
        await done(world, staff.aks, ROUTE, trackingNo=app.tracking_no, unitNos=MORE_UNITS)
        for n in range(6):
            await done(world, staff.aks, SET_FLAGS, trackingNo=app.tracking_no, isSpecial=False,
                       isConfidential=False, priorityGroup="GAZI" if n % 2 else None)
    counts = {"route": await counted(world, staff.aks, ROUTE, trackingNo=app.tracking_no,
                                     unitNos=[MILLI_EGITIM, KECIOREN_MILLI_EGITIM])}
    view = await staff_view(world, staff.aks, app.tracking_no)
    routings = {r["unit"]["detsisNo"]: r["id"] for r in view["routings"]}
    if many:  # the other units answer, so that the application can leave YONLENDIRILDI
        await world.sql("UPDATE routing SET status = 'ANSWERED' WHERE unit_no = ANY($1::int[])", MORE_UNITS)
    counts["answer"] = await counted(world, staff.yetkili, ANSWER, routingId=routings[MILLI_EGITIM], answer="Cevap.")
    counts["return"] = await counted(world, staff.aks, RETURN_ANSWER, routingId=routings[MILLI_EGITIM],
                                     reason="Eksik.")
    await done(world, staff.yetkili, ANSWER, routingId=routings[MILLI_EGITIM], answer="Yeni cevap.")
    await done(world, staff.yetkili_kecioren, ANSWER, routingId=routings[KECIOREN_MILLI_EGITIM], answer="Cevap.")
    counts["send"] = await counted(world, staff.aks, SEND_TO_MIA, trackingNo=app.tracking_no, confirm=True)
    counts["review"] = await counted(world, staff.mia, REVIEW, trackingNo=app.tracking_no, note="Uygundur.")
    counts["flags"] = await counted(world, staff.aks, SET_FLAGS, trackingNo=app.tracking_no, isSpecial=True,
                                    isConfidential=False)
    counts["close"] = await counted(world, staff.aks, CLOSE, trackingNo=app.tracking_no, result="OLUMLU")
    with world.statements as counter:
        await world.gql(STAFF_APPLICATION, {"trackingNo": app.tracking_no}, token=staff.aks)
    counts["view"] = len(step_statements(counter.statements))
    return counts


async def test_each_step_takes_the_same_few_statements_however_many_routings_and_events(world):
    staff = await Staff.of(world)
    expected = {**{step: STEP_STATEMENTS for step in ("route", "answer", "return", "send", "review", "flags", "close")},
                "view": VIEW_STATEMENTS + 1}  # + the KVKK log: the view reads the T.C.
    assert await walk(world, staff, many=False) == expected
    assert await walk(world, staff, many=True) == expected
