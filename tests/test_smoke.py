import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from acikkapi.app import create_app
from acikkapi.services.links import signed_path
from acikkapi.settings import DEVELOPMENT_SECRET, Settings
from tests.helpers import AYSE, apply, sign_in_to_track, TRACKED


async def test_citizen_applies_and_tracks(world):
    tracking_no = await apply(world, AYSE, "5320000001")
    token = await sign_in_to_track(world, tracking_no, AYSE, "5320000001")
    data = await world.gql(TRACKED, token=token)
    assert data["trackedApplication"]["trackingNo"] == tracking_no


async def test_health_is_ok_when_the_database_answers(world):
    response = await world.http.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


class TestSecretKey:
    @pytest.mark.parametrize("secret", ["k" * 31, "ş" * 15, ""])
    def test_a_secret_shorter_than_32_bytes_is_refused_by_create_app(self, secret):
        with pytest.raises(ValueError, match="at least 32 bytes"):
            create_app(Settings(secret_key=secret, database_url="postgresql://unused/db"))

    def test_the_development_secret_is_refused_unless_explicitly_allowed(self):
        with pytest.raises(ValueError, match="ACIKKAPI_SECRET_KEY is not set"):
            create_app(Settings(secret_key=DEVELOPMENT_SECRET, database_url="postgresql://unused/db"))
        assert len(DEVELOPMENT_SECRET.encode()) >= 32
        with pytest.raises(ValueError, match="ACIKKAPI_SECRET_KEY is not set"):  # no back door through the env
            create_app(Settings(secret_key=DEVELOPMENT_SECRET, database_url="postgresql://unused/db", demo=True))
        create_app(Settings(secret_key=DEVELOPMENT_SECRET, allow_development_secret=True))
        create_app(Settings(secret_key="ş" * 16, database_url="postgresql://unused/db"))

    def test_codes_and_links_have_keys_of_their_own(self):
        settings = Settings(secret_key="x" * 32)
        keys = {settings.code_key, settings.link_key, settings.secret_key.encode()}
        assert len(keys) == 3
        assert Settings(secret_key="y" * 32).link_key != settings.link_key

    async def test_a_link_signed_with_the_code_key_or_the_bare_secret_does_not_open(self, world):
        phone = "5320000003"
        tracking_no = await apply(world, AYSE, phone)
        token = await sign_in_to_track(world, tracking_no, AYSE, phone)
        report_url = (await world.gql(TRACKED, token=token))["trackedApplication"]["reportUrl"]
        path = urlsplit(report_url).path
        session_id = uuid.UUID(parse_qs(urlsplit(report_url).query)["s"][0])
        settings = world.settings

        assert (await world.http.get(signed_path(settings.link_key, path, session_id, 60, base_url=world.base_url))).status_code == 200
        for key in (settings.code_key, settings.secret_key.encode()):
            assert (await world.http.get(signed_path(key, path, session_id, 60, base_url=world.base_url))).status_code == 404
