"""e-İçişleri single sign-on: the MİA, a user admin and an analyst sign in at the e-İçişleri simulator (a real
OpenID Connect provider on loopback) and get a staff session from our own user table; every token, code or
sign-in that is wrong in any way is refused with its own error, and a slow provider holds no connection."""

import asyncio
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import pytest

from acikkapi.db import make_engine, make_sessionmaker, to_asyncpg_url
from acikkapi.services import retention
from acikkapi.services.storage import FileSystemStorage
from acikkapi.simulators.eicisleri import ACCOUNTS, DEMO_PASSWORD
from tests.documents import COMPLETE_EICISLERI, ME, START_EICISLERI
from tests.signin.support import sha256

# A pool of two: a sign-in that held a connection while e-İçişleri is slow would starve every other request.
SETTINGS = {"db_pool_size": 2, "http_timeout_seconds": 10, "eicisleri_hourly_starts_per_client": 3}
MIA, ADMIN, ANALYST, AKS = "10000000382", "10000000450", "10000000528", "10000000078"
STRANGER = "29000000056"  # known to e-İçişleri, not to Açık Kapı
assert {MIA, ADMIN, ANALYST, AKS, STRANGER} <= {account["tckn"] for account in ACCOUNTS}


async def start(world, **kwargs) -> str:
    started = (await world.gql(START_EICISLERI, **kwargs))["startEIcisleriSignIn"]
    assert started["__typename"] == "EIcisleriSignInStarted", started
    return started["authorizationUrl"]


async def authorize(world, url: str, tckn: str, password: str = DEMO_PASSWORD) -> tuple[str, str]:
    """The person signs in on e-İçişleri's page; the browser comes back with (code, state)."""
    page = urlsplit(url)
    form = {**dict(parse_qsl(page.query)), "tckn": tckn, "parola": password}
    response = await world.http.post(f"{page.scheme}://{page.netloc}{page.path}", data=form)
    assert response.status_code == 302, response.text
    back = urlsplit(response.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == world.settings.eicisleri_redirect_uri
    answer = dict(parse_qsl(back.query))
    return answer["code"], answer["state"]


async def complete(world, code: str, state: str) -> dict:
    return (await world.gql(COMPLETE_EICISLERI, {"code": code, "state": state}))["completeEIcisleriSignIn"]


async def sign_in(world, tckn: str) -> dict:
    return await complete(world, *await authorize(world, await start(world), tckn))


async def eicisleri_token(world, tckn: str) -> str:
    result = await sign_in(world, tckn)
    assert result["__typename"] == "SignedIn", result
    return result["token"]


async def me(world, token: str) -> dict | None:
    return (await world.gql(ME, token=token))["me"]


async def session_count(world) -> int:
    return (await world.sql("SELECT count(*) AS n FROM auth_session"))[0]["n"]


async def simulator(world) -> dict:
    return (await world.http.get(f"{world.eicisleri_url}/_kontrol")).json()


async def refused(world, tckn: str, code: str) -> dict:
    """Sign in as `tckn`: refused with `code`, and no session opened."""
    before = await session_count(world)
    result = await sign_in(world, tckn)
    assert result["code"] == code and result["message"], result
    assert await session_count(world) == before
    return result


class TestSignIn:
    @pytest.mark.parametrize("tckn, role, label, name", [
        (MIA, "MIA", "Mülki İdare Amiri", "Selim Yurt"), (ADMIN, "YETKI_ISLEMLERI", "Yetki İşlemleri", "Derya Koç"),
        (ANALYST, "ANALIST", "Veri Analiz Görevlisi", "Kerem Aksoy")])
    async def test_a_demo_account_signs_in_with_the_role_and_province_of_our_user_table(self, world, tckn, role,
                                                                                       label, name):
        result = await sign_in(world, tckn)
        assert (result["__typename"], result["purpose"]) == ("SignedIn", "STAFF"), result
        user = await me(world, result["token"])
        assert (user["role"], user["roleLabel"]) == (role, label)
        assert user["province"] == {"id": 6, "name": "Ankara"}
        assert f"{user['firstName']} {user['lastName']}" == name  # our record; e-İçişleri writes it in capitals
        deadline = datetime.fromisoformat(user["sessionExpiresAt"])
        assert timedelta(minutes=29) < deadline - datetime.now(timezone.utc) <= timedelta(minutes=30)
        [row] = await world.sql("SELECT s.purpose, u.tckn FROM auth_session s JOIN app_user u ON u.id = s.user_id "
                                "WHERE s.token_hash = $1", sha256(result["token"]))
        assert (row["purpose"], row["tckn"]) == ("STAFF", tckn)

    async def test_an_analyst_session_may_introspect_the_schema_for_graphiql(self, world):
        query = "{ __schema { queryType { name } } }"
        anonymous = await world.gql_raw(query)
        assert anonymous["errors"][0]["extensions"]["code"] == "INTROSPECTION_NOT_ALLOWED"
        data = await world.gql(query, token=await eicisleri_token(world, ANALYST))
        assert data["__schema"]["queryType"]["name"] == "Query"

    async def test_the_authorization_url_asks_e_icisleri_for_a_code_bound_to_this_sign_in(self, world):
        first, second = await start(world), await start(world)
        params = dict(parse_qsl(urlsplit(first).query))
        assert first.startswith(f"{world.eicisleri_url}/giris?")
        assert {key: params[key] for key in ("response_type", "client_id", "redirect_uri", "code_challenge_method")} \
            == {"response_type": "code", "client_id": world.settings.eicisleri_client_id,
                "redirect_uri": world.settings.eicisleri_redirect_uri, "code_challenge_method": "S256"}
        assert "openid" in params["scope"].split()
        other = dict(parse_qsl(urlsplit(second).query))
        assert all(params[key] != other[key] for key in ("state", "nonce", "code_challenge"))
        [row] = await world.sql("SELECT * FROM eicisleri_sign_in WHERE state_hash = $1", sha256(params["state"]))
        assert params["state"] not in {str(value) for value in row.values()}  # only its hash is stored
        assert row["nonce"] == params["nonce"] and row["consumed_at"] is None

    async def test_the_sign_in_page_is_turkish_and_lists_the_demo_accounts(self, world):
        response = await world.http.get(await start(world))
        assert response.status_code == 200
        assert "e-İçişleri Giriş" in response.text and "T.C. Kimlik No" in response.text
        assert all(tckn in response.text for tckn in (MIA, ADMIN, ANALYST))

    async def test_a_wrong_password_gives_no_code(self, world):
        page = urlsplit(await start(world))
        form = {**dict(parse_qsl(page.query)), "tckn": MIA, "parola": "yanlis"}
        response = await world.http.post(f"{page.scheme}://{page.netloc}{page.path}", data=form)
        assert response.status_code == 401 and "parola hatalı" in response.text

    async def test_starting_sign_ins_is_limited_per_client_address(self, world):
        address = world.new_address()
        for _ in range(3):
            await start(world, address=address)
        limited = (await world.gql(START_EICISLERI, address=address))["startEIcisleriSignIn"]
        assert (limited["__typename"], limited["code"]) == ("RateLimited", "RATE_LIMITED")


class TestRefusedTokens:
    @pytest.mark.parametrize("bad, code", [
        ("wrong_audience", "EICISLERI_AUDIENCE_WRONG"), ("wrong_issuer", "EICISLERI_ISSUER_WRONG"),
        ("expired", "EICISLERI_TOKEN_EXPIRED"), ("tampered", "EICISLERI_SIGNATURE_INVALID")])
    async def test_a_bad_id_token_is_refused(self, world, bad, code):
        await eicisleri_token(world, ANALYST)  # the discovery document and keys are cached: only the token differs
        await world.control("eicisleri", next_token=bad)
        await refused(world, ANALYST, code)
        assert (await simulator(world))["next_token"] is None  # the bad token was issued, and refused

    async def test_a_token_replayed_into_another_sign_in_is_refused(self, world):
        await eicisleri_token(world, MIA)
        await world.control("eicisleri", next_token="replay")  # e-İçişleri answers with the MİA's token again
        await refused(world, ANALYST, "EICISLERI_NONCE_MISMATCH")

    async def test_a_token_signed_by_an_unknown_key_is_refused_and_the_keys_fetched_again_only_once(self, world):
        await eicisleri_token(world, ANALYST)
        fetches = (await simulator(world))["counts"]["jwks"]
        for _ in range(2):
            await world.control("eicisleri", next_token="unknown_key")
            await refused(world, ANALYST, "EICISLERI_SIGNATURE_INVALID")
        assert (await simulator(world))["counts"]["jwks"] == fetches + 1

    async def test_a_rotated_signing_key_is_fetched_and_accepted(self, world):
        await eicisleri_token(world, ANALYST)
        fetches = (await simulator(world))["counts"]["jwks"]
        await world.control("eicisleri", rotate=True)
        assert (await me(world, await eicisleri_token(world, MIA)))["role"] == "MIA"
        assert (await me(world, await eicisleri_token(world, MIA)))["role"] == "MIA"
        assert (await simulator(world))["counts"]["jwks"] == fetches + 1


class TestRefusedSignIns:
    async def test_a_completed_sign_in_cannot_be_completed_again(self, world):
        code, state = await authorize(world, await start(world), MIA)
        assert (await complete(world, code, state))["__typename"] == "SignedIn"
        before = await session_count(world)
        again = await complete(world, code, state)
        assert (again["__typename"], again["code"]) == ("SignInReplayed", "EICISLERI_SIGN_IN_REPLAYED")
        assert await session_count(world) == before

    async def test_a_failed_sign_in_cannot_be_tried_again(self, world):
        code, state = await authorize(world, await start(world), AKS)
        assert (await complete(world, code, state))["code"] == "EICISLERI_ROLE_NOT_ALLOWED"
        assert (await complete(world, code, state))["code"] == "EICISLERI_SIGN_IN_REPLAYED"

    async def test_a_code_issued_for_one_sign_in_is_refused_in_another(self, world):
        code, _ = await authorize(world, await start(world), MIA)
        _, other_state = await authorize(world, await start(world), MIA)
        before = await session_count(world)
        result = await complete(world, code, other_state)  # PKCE: the other sign-in's verifier does not fit
        assert (result["__typename"], result["code"]) == ("EIcisleriCodeRefused", "EICISLERI_CODE_REFUSED")
        assert await session_count(world) == before

    async def test_an_unknown_state_is_refused(self, world):
        result = await complete(world, "kod", "bilinmeyen-durum")
        assert (result["__typename"], result["code"]) == ("SignInRequestInvalid", "EICISLERI_STATE_INVALID")

    async def test_a_sign_in_completed_too_late_is_refused(self, world):
        code, state = await authorize(world, await start(world), MIA)
        await world.sql("UPDATE eicisleri_sign_in SET expires_at = now() - interval '1 second' WHERE state_hash = $1",
                        sha256(state))
        assert (await complete(world, code, state))["code"] == "EICISLERI_STATE_INVALID"

    async def test_a_person_who_is_not_an_acik_kapi_user_is_refused(self, world):
        await refused(world, STRANGER, "EICISLERI_USER_UNKNOWN")

    async def test_an_inactive_user_is_refused(self, world):
        await world.sql("UPDATE app_user SET active = false WHERE tckn = $1", ADMIN)
        try:
            await refused(world, ADMIN, "EICISLERI_USER_INACTIVE")
        finally:
            await world.sql("UPDATE app_user SET active = true WHERE tckn = $1", ADMIN)

    async def test_an_aks_signs_in_by_sms_code_not_through_e_icisleri(self, world):
        await refused(world, AKS, "EICISLERI_ROLE_NOT_ALLOWED")


class TestSessionLife:
    async def test_an_e_icisleri_session_idle_for_more_than_thirty_minutes_is_gone(self, world):
        token = await eicisleri_token(world, MIA)
        await world.sql("UPDATE auth_session SET last_seen_at = now() - interval '29 minutes' WHERE token_hash = $1",
                        sha256(token))
        assert (await me(world, token))["role"] == "MIA"
        await world.sql("UPDATE auth_session SET last_seen_at = now() - interval '31 minutes' WHERE token_hash = $1",
                        sha256(token))
        assert await me(world, token) is None

    async def test_started_sign_ins_are_deleted_after_the_retention_period(self, world):
        old, new = [dict(parse_qsl(urlsplit(await start(world)).query))["state"] for _ in range(2)]
        await world.sql("UPDATE eicisleri_sign_in SET created_at = now() - interval '8 days' WHERE state_hash = $1",
                        sha256(old))
        engine = make_engine(to_asyncpg_url(world.db_url), pool_size=1)
        try:
            await retention.purge(make_sessionmaker(engine), FileSystemStorage(world.settings.storage_dir),
                                  world.settings)
        finally:
            await engine.dispose()
        left = await world.sql("SELECT state_hash FROM eicisleri_sign_in WHERE state_hash = ANY($1)",
                               [sha256(old), sha256(new)])
        assert [bytes(row["state_hash"]) for row in left] == [sha256(new)]


class TestProvider:
    async def test_while_e_icisleri_is_down_sign_ins_fail_and_then_fail_at_once(self, world):
        failures = world.settings.circuit_failures_to_open
        answers = [await authorize(world, await start(world), MIA) for _ in range(failures + 1)]
        tokens_asked = (await simulator(world))["counts"]["token"]
        await world.control("eicisleri", down=True)
        try:
            results = [await complete(world, code, state) for code, state in answers]
        finally:
            await world.control("eicisleri", down=False)
        assert {(r["__typename"], r["code"]) for r in results} == {("ServiceUnavailable", "SERVICE_UNAVAILABLE")}
        assert all("e-İçişleri" in r["message"] for r in results), results
        # the last one never reached e-İçişleri: the circuit was open
        assert (await simulator(world))["counts"]["token"] == tokens_asked + failures
        deadline = asyncio.get_running_loop().time() + 5
        while (await sign_in(world, MIA))["__typename"] != "SignedIn":  # the circuit closes again
            assert asyncio.get_running_loop().time() < deadline, "the circuit stayed open"
            await asyncio.sleep(0.2)

    async def test_a_slow_e_icisleri_holds_no_database_connection(self, world):
        token = await eicisleri_token(world, MIA)  # `me` reads the session and user: it needs a connection
        answers = [await authorize(world, await start(world), tckn) for tckn in (MIA, ADMIN, ANALYST, MIA)]
        loop = asyncio.get_running_loop()
        await world.control("eicisleri", delay=2.0)
        try:
            completing = asyncio.ensure_future(asyncio.gather(*(complete(world, *answer) for answer in answers)))
            timings = []
            while not completing.done():
                began = loop.time()
                assert (await me(world, token))["role"] == "MIA"
                timings.append(loop.time() - began)
                await asyncio.wait([completing], timeout=0.1)
            results = await completing
        finally:
            await world.control("eicisleri", delay=0)
        assert [result["__typename"] for result in results] == ["SignedIn"] * 4, results
        assert len(timings) >= 10, timings
        assert max(timings) < 0.5, timings
