"""Yönlendirilecek Birim (seed 000 §3.2.3): staff find DETSİS units by typing part of a name, Turkish-aware."""

import secrets

import asyncpg
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy.engine import Engine

from acikkapi.models.reference import FOLD_FROM, FOLD_TO
from acikkapi.services.sessions import token_hash
from acikkapi.services.unit_search import fold
from tests.documents import ME, UNITS
from tests.helpers import AKS_ANKARA, AYSE, YETKILI_ANKARA, sign_in_to_apply, staff_sign_in

# The reference cache checks its version only this often: a check never lands inside a counted request.
SETTINGS = {"reference_check_seconds": 3600}

ANKARA_MILLI_EGITIM = 55461037
ANKARA = 6
# Demo users who sign in through e-İçişleri (MİA, Yetki İşlemleri, analyst): see `sso_session`.
MIA, YETKI_ISLEMLERI, ANALIST = "10000000382", "10000000450", "10000000528"


async def search(world, token: str, text: str, **arguments) -> list[dict]:
    return (await world.gql(UNITS, {"search": text, **arguments}, token=token))["units"]


async def refused(world, token: str | None, text: str, **arguments) -> str:
    body = await world.gql_raw(UNITS, {"search": text, **arguments}, token=token)
    assert body["data"] is None, body
    return body["errors"][0]["extensions"]["code"]


async def sso_session(world, tckn: str) -> str:
    """A staff session for a user who signs in through e-İçişleri, written as that sign-in writes it (the
    single sign-on itself is another part of the workflow)."""
    token = secrets.token_urlsafe(32)
    await world.sql(
        "INSERT INTO auth_session (token_hash, purpose, tckn, phone, user_id, last_seen_at, expires_at) "
        "SELECT $1, 'STAFF', tckn, phone, id, now(), now() + interval '1 hour' FROM app_user WHERE tckn = $2 AND active",
        token_hash(token), tckn)
    return token


@pytest.fixture(scope="module")
async def aks(world) -> str:
    return await staff_sign_in(world, AKS_ANKARA)


class TestTurkishAwareNames:
    @pytest.mark.parametrize("spelling", ["milli egitim", "MİLLİ EĞİTİM", "millî", "Millî Eğitim", "MILLI EGITIM"])
    async def test_every_spelling_finds_the_ankara_milli_egitim_mudurlugu_first(self, world, aks, spelling):
        units = await search(world, aks, spelling, provinceId=ANKARA)

        assert units[0] == {
            "detsisNo": ANKARA_MILLI_EGITIM, "name": "ANKARA İL MİLLÎ EĞİTİM MÜDÜRLÜĞÜ", "kind": "IL_MUDURLUGU",
            "kindLabel": "İl Müdürlüğü", "parentDetsisNo": 44742122, "province": {"id": 6, "name": "Ankara"}}
        assert [unit["name"] for unit in units[1:]] == [
            "ÇANKAYA İLÇE MİLLÎ EĞİTİM MÜDÜRLÜĞÜ", "KEÇİÖREN İLÇE MİLLÎ EĞİTİM MÜDÜRLÜĞÜ"]

    @pytest.mark.parametrize("spelling", ["milli egitim ankara", "ANK MİL EĞİ", "eğitim, milli (ankara)",
                                          "mill-egit/ank"])
    async def test_each_word_begins_a_word_of_the_name_in_any_order(self, world, aks, spelling):
        units = await search(world, aks, spelling)

        assert [unit["detsisNo"] for unit in units] == [ANKARA_MILLI_EGITIM]

    @pytest.mark.parametrize("spelling", ["ğitim", "illi", "ankaram", "milli egitim sağlık"])
    async def test_a_word_inside_a_word_or_missing_from_the_name_finds_nothing(self, world, aks, spelling):
        assert await search(world, aks, spelling, provinceId=ANKARA) == []

    def test_folding_joins_the_four_is_and_drops_accents_and_punctuation(self):
        assert fold("ANKARA İL MİLLÎ EĞİTİM MÜDÜRLÜĞÜ") == "ankara il milli egitim mudurlugu"
        assert fold("Iğdır ığdır İĞDIR") == "igdir igdir igdir"
        assert fold("ÇEVRE, ŞEHİRCİLİK VE İKLİM DEĞİŞİKLİĞİ") == "cevre sehircilik ve iklim degisikligi"
        assert fold("T.C. Kâtip Çelebi Üniversitesi") == "t c katip celebi universitesi"
        assert fold("mi\u0307lli\u0302 eg\u0306itim") == "milli egitim"  # decomposed İ, î and ğ


# Names as they come: Turkish and other Latin letters, decomposed accents, punctuation, and any other character.
NAMES = st.lists(st.one_of(
    st.sampled_from(FOLD_FROM + FOLD_TO + "0123456789ßæøÐðÝýÞþ"),
    st.sampled_from("\u0300\u0302\u0306\u0307\u0327\u036f\u0370\u02ff"),  # combining marks and their neighbours
    st.sampled_from(" .,-/()'\"\t\n"),
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
), max_size=60).map("".join)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def database(world):
    connection = await asyncpg.connect(world.db_url)
    yield connection
    await connection.close()


@settings(derandomize=True, database=None, deadline=None, max_examples=60,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(NAMES, min_size=1, max_size=40))
async def test_the_database_stores_exactly_the_words_python_folds(database, names):
    transaction = database.transaction()
    await transaction.start()
    try:
        rows = await database.fetch(
            "INSERT INTO unit (detsis_no, name, kind) SELECT i, n, 'BAKANLIK' "
            "FROM unnest($1::text[]) WITH ORDINALITY AS t(n, i) RETURNING detsis_no, tsvector_to_array(search_words)",
            names)
    finally:
        await transaction.rollback()
    stored = {no: sorted(words) for no, words in rows}
    assert [(name, stored[no]) for no, name in enumerate(names, 1)] == [
        (name, sorted(set(fold(name).split()))) for name in names]


ANTALYA = 7
RANKED = [  # (DETSİS number, name, active): as a search for "milli egitim" in Antalya must rank them
    (19000001, "DEMRE MİLLÎ EĞİTİM BÜROSU", True),  # every word whole, 25 characters, B before Ş
    (19000002, "DEMRE MİLLÎ EĞİTİM ŞUBESİ", True),
    (19000003, "KAŞ İLÇE MİLLÎ EĞİTİM MÜDÜRLÜĞÜ", True),
    (19000004, "ANTALYA İL MİLLÎ EĞİTİM MÜDÜRLÜĞÜ", True),
    (19000005, "MİLLÎ EĞİTİMCİLER VAKFI", True),  # shortest, but "eğitim" only begins a word
]
CLOSED = (19000006, "ALANYA MİLLÎ EĞİTİM", False)


@pytest.fixture(scope="module")
async def antalya_units(world) -> None:
    await world.sql("INSERT INTO unit (detsis_no, name, kind, province_id, active) "
                    "SELECT no, name, 'IL_MUDURLUGU', $4, active FROM unnest($1::int[], $2::text[], $3::bool[]) "
                    "AS t(no, name, active)",
                    *map(list, zip(*RANKED, CLOSED)), ANTALYA)


class TestRanking:
    async def test_whole_words_first_then_shorter_names_then_by_name(self, world, aks, antalya_units):
        units = await search(world, aks, "Milli Eğitim", provinceId=ANTALYA)

        assert [(unit["detsisNo"], unit["name"]) for unit in units] == [(no, name) for no, name, _ in RANKED]

    async def test_first_limits_the_list_to_the_best(self, world, aks, antalya_units):
        units = await search(world, aks, "milli egitim", provinceId=ANTALYA, first=2)

        assert [unit["detsisNo"] for unit in units] == [19000001, 19000002]

    async def test_a_closed_unit_is_not_offered(self, world, aks, antalya_units):
        assert await search(world, aks, "alanya") == []


class TestProvince:
    async def test_a_province_gives_its_own_units_and_the_national_ones(self, world, aks):
        units = await search(world, aks, "müdürlüğü", provinceId=34, first=50)

        assert {unit["province"]["id"] if unit["province"] else None for unit in units} == {34, None}
        assert "MAHALLİ İDARELER GENEL MÜDÜRLÜĞÜ" in [unit["name"] for unit in units]

    async def test_a_national_unit_has_no_province(self, world, aks):
        units = await search(world, aks, "içişleri", provinceId=ANKARA)

        assert units == [{"detsisNo": 91582233, "name": "T.C. İÇİŞLERİ BAKANLIĞI", "kind": "BAKANLIK",
                          "kindLabel": "Bakanlık", "parentDetsisNo": None, "province": None}]

    async def test_without_a_province_every_province_is_searched(self, world, aks, antalya_units):
        units = await search(world, aks, "il milli egitim mudurlugu", first=50)

        assert {unit["province"]["name"] for unit in units} == {
            "Ankara", "İstanbul", "İzmir", "Konya", "Erzurum", "Antalya"}


class TestInputChecks:
    @pytest.mark.parametrize("text", ["", "a", "İ", " ı ", "...", "-/-", "\u0307\u0307", "x" * 101])
    async def test_too_short_or_too_long_a_search_is_refused(self, world, aks, text):
        assert await refused(world, aks, text) == "VALIDATION_FAILED"

    @pytest.mark.parametrize("arguments", [{"first": 0}, {"first": 51}, {"first": -1}, {"provinceId": 40000}])
    async def test_a_list_size_or_province_out_of_range_is_refused(self, world, aks, arguments):
        assert await refused(world, aks, "milli", **arguments) == "VALIDATION_FAILED"

    async def test_two_letters_and_fifty_units_are_enough(self, world, aks):
        assert len(await search(world, aks, "mü", first=50)) == 50
        assert await search(world, aks, "x" * 100) == []

    async def test_twenty_units_unless_asked_otherwise(self, world, aks):
        assert len(await search(world, aks, "mü")) == 20
        assert len(await search(world, aks, "mü", first=None)) == 20


class TestWhoMaySearch:
    @pytest.mark.parametrize("tckn", [MIA, YETKI_ISLEMLERI])
    async def test_mia_and_yetki_islemleri_search(self, world, tckn):
        units = await search(world, await sso_session(world, tckn), "millî eğitim ankara")

        assert [unit["detsisNo"] for unit in units] == [ANKARA_MILLI_EGITIM]

    async def test_anonymous_callers_are_asked_to_sign_in_before_their_search_is_checked(self, world):
        assert await refused(world, None, "milli") == "UNAUTHENTICATED"
        assert await refused(world, None, "a") == "UNAUTHENTICATED"

    async def test_a_citizen_may_not_search(self, world):
        assert await refused(world, await sign_in_to_apply(world, AYSE, "5340000301"), "milli") == "PERMISSION_DENIED"

    async def test_a_yetkili_and_an_analyst_may_not_search(self, world):
        assert await refused(world, await staff_sign_in(world, YETKILI_ANKARA), "milli") == "PERMISSION_DENIED"
        assert await refused(world, await sso_session(world, ANALIST), "milli") == "PERMISSION_DENIED"

    async def test_me_shows_a_yetkili_s_units_with_the_same_type(self, world):
        me = (await world.gql(ME.replace("units { detsisNo name }", "units { detsisNo kindLabel province { name } }"),
                              token=await staff_sign_in(world, YETKILI_ANKARA)))["me"]

        assert me["units"] == [{"detsisNo": ANKARA_MILLI_EGITIM, "kindLabel": "İl Müdürlüğü",
                                "province": {"name": "Ankara"}}]


# 100,000 more units, as SQL makes them: 12 services × 5 districts of Adana, numbered.
FILL = """
INSERT INTO unit (detsis_no, name, kind, province_id)
SELECT 10000000 + i,
       (ARRAY['ADANA', 'SEYHAN', 'ÇUKUROVA', 'KOZAN', 'CEYHAN'])[1 + i % 5] || ' '
       || (ARRAY['SAĞLIK', 'TARIM', 'ORMAN', 'KÜLTÜR', 'TURİZM', 'GENÇLİK', 'SPOR', 'ÇEVRE', 'ŞEHİRCİLİK',
                 'TİCARET', 'NÜFUS', 'AİLE'])[1 + i % 12] || ' BİRİMİ ' || i,
       'IL_MUDURLUGU', 1
FROM generate_series(1, 100000) AS i"""


@pytest.fixture(scope="module")
async def at_scale(world) -> None:
    await world.sql(FILL)
    await world.sql("ANALYZE unit")  # as autovacuum would after such a load


class SearchStatements:
    """The search statements the server runs, with their parameters (to EXPLAIN them as they ran)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, tuple]] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if "search_words" in statement:
            self.seen.append((statement, tuple(parameters)))

    def __enter__(self) -> "SearchStatements":
        event.listen(Engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(Engine, "before_cursor_execute", self)


class TestAtScale:
    @pytest.mark.parametrize("text", ["milli egitim", "millî", "ceyhan sağlık 12", "kozan tarım"])
    async def test_the_search_is_an_index_scan_among_100_000_units(self, world, aks, at_scale, text):
        with SearchStatements() as statements:
            units = await search(world, aks, text)
        assert units
        [(statement, parameters)] = statements.seen

        plan = "\n".join(row[0] for row in await world.sql(f"EXPLAIN {statement}", *parameters))
        assert "Index Scan on ix_unit_search_words" in plan, plan
        assert "Seq Scan" not in plan, plan

    async def test_the_ankara_unit_is_still_found_first(self, world, aks, at_scale):
        units = await search(world, aks, "MİLLİ EĞİTİM", provinceId=ANKARA)

        assert units[0]["detsisNo"] == ANKARA_MILLI_EGITIM

    async def test_a_search_takes_the_same_statements_for_one_unit_or_fifty(self, world, aks, at_scale):
        await search(world, aks, "milli egitim ankara")  # warm-up: pool connections, the province cache

        with world.statements as one:
            assert len(await search(world, aks, "milli egitim ankara")) == 1
        one = list(one.statements)
        with world.statements as fifty:
            assert len(await search(world, aks, "saglik", first=50)) == 50
        fifty = list(fifty.statements)

        # the bearer session with its staff user, province, district and units; the search
        assert len(one) == len(fifty) == 2, (one, fifty)
