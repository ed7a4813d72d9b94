from tests.helpers import AYSE, apply, sign_in_to_track, TRACKED


async def test_citizen_applies_and_tracks(world):
    tracking_no = await apply(world, AYSE, "5320000001")
    token = await sign_in_to_track(world, tracking_no, AYSE, "5320000001")
    data = await world.gql(TRACKED, token=token)
    assert data["trackedApplication"]["trackingNo"] == tracking_no


async def test_health_is_ok_when_the_database_answers(world):
    response = await world.http.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
