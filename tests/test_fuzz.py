"""Schema-driven fuzzing: every Query and Mutation field, with arguments generated from their GraphQL types,
sent over HTTP anonymously and with each kind of session. Whatever comes in, nothing answers as an internal
error, a 5xx, or with a trace of the code behind it.

Values always have the declared GraphQL type (an Int stays within 32 bits, a Date parses): refusing values of
the wrong type (coercion errors) is the HTTP layer's job and is tested there. Here every value of the right type
must be checked against its domain before it reaches the database. Forms (mutations taking an input object) are
sent valid with one value generated at a time, so that the checks after the first are reached too; the other
fields get wholly generated arguments. Generation is derandomized: a run is repeatable.
"""

import json
import re
from datetime import date, timedelta

import pytest
import pytest_asyncio
from graphql import (
    GraphQLEnumType, GraphQLField, GraphQLInputObjectType, GraphQLInterfaceType, GraphQLList, GraphQLNonNull,
    GraphQLObjectType, GraphQLScalarType, GraphQLUnionType, Undefined, get_named_type, is_leaf_type,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acikkapi.schema import build_schema
from acikkapi.services.tckn import is_valid_tckn
from acikkapi.settings import Settings
from acikkapi.simulators.identity import PEOPLE
from tests.helpers import (
    AKS_ANKARA, AYSE, MEHMET, MIA_ANKARA, REQUEST_APPLY, REQUEST_STAFF, REQUEST_TRACKING, VERIFY, YETKILI_ANKARA,
    ZEYNEP, apply, apply_input, first_category, istanbul_today,
)

# Limits must not be what the fuzz runs into.
SETTINGS = {"otp_hourly_limit_per_identity": 1_000_000, "otp_hourly_limit_per_phone": 1_000_000,
            "otp_hourly_limit_per_client": 1_000_000}

# Examples per role: for each value in a form and for each other field. About 600 requests per role.
EXAMPLES_PER_VALUE = 10
EXAMPLES_PER_FIELD = 25
SELECTION_DEPTH = 4
LEAKS = ("Traceback", "sqlalchemy", "asyncpg", "/work/", ".py")
ROLES = ("anonymous", "apply", "track", "staff")
APPLY_PHONE, TRACK_PHONE = "5329900001", "5329900002"

SCHEMA = build_schema(Settings())._schema
FIELDS = {name: ("query", field) for name, field in SCHEMA.query_type.fields.items()} | \
         {name: ("mutation", field) for name, field in SCHEMA.mutation_type.fields.items()}

# ------------------------------------------------------------------------------------------- values

INT_EDGES = [-2**31, -2**31 + 1, -45157, -32769, -32768, -1, 0, 1, 2, 6, 34, 81, 82, 999, 1000, 1001,
             32767, 32768, 65535, 65536, 99_999_999, 2**31 - 2, 2**31 - 1]
# Lone surrogates cannot be sent as UTF-8 JSON at all; every other code point can.
CHARACTERS = st.characters(exclude_categories=("Cs",))
ODD_STRINGS = ["", " ", "\x00", "a\x00b", "\t\r\n", "\u200b", "\u0307", "İıŞşĞğ", "null", "0", "-1",
               "' OR '1'='1", "%s%n", "\\", "../../etc/passwd", "<script>", "١٢٣٤٥٦٧٨٩٠١", "😀😀😀"]
STRINGS = st.one_of(
    st.text(CHARACTERS, max_size=30),
    st.sampled_from(ODD_STRINGS),
    st.tuples(st.sampled_from(["a", "ş", "\x00", "😀", "1"]), st.sampled_from([65, 255, 501, 1001, 5001, 50_000]))
    .map(lambda repeat: repeat[0] * repeat[1]),
)
# Every spelling `date.fromisoformat` accepts, over the whole range of years.
DATES = st.one_of(
    st.sampled_from([date.min, date.max, date(1900, 1, 1), date(1969, 12, 31), date(2038, 1, 19)]),
    st.integers(-800, 30).map(lambda days: istanbul_today() + timedelta(days=days)),
    st.dates(),
).flatmap(lambda day: st.sampled_from([day.isoformat(), day.strftime("%Y%m%d")]
                                      if day.year >= 1000 else [day.isoformat()]))

SCALARS: dict[str, st.SearchStrategy] = {
    "Int": st.one_of(st.sampled_from(INT_EDGES), st.integers(-2**31, 2**31 - 1)),
    "Float": st.floats(allow_nan=False, allow_infinity=False),
    "String": STRINGS,
    "Boolean": st.booleans(),
    "ID": st.one_of(st.uuids().map(str), STRINGS, st.integers(-2**31, 2**31 - 1)),
    "Date": DATES,
    "DateTime": st.datetimes().map(lambda moment: moment.isoformat()),
    # A file travels only in a multipart request (the attachment tests); a JSON request carries none.
    "Upload": st.nothing(),
}


def tckn_with_checksum(first_nine: str) -> str:
    d = [int(c) for c in first_nine]
    tenth = ((d[0] + d[2] + d[4] + d[6] + d[8]) * 7 - (d[1] + d[3] + d[5] + d[7])) % 10
    return first_nine + str(tenth) + str((sum(d) + tenth) % 10)


KNOWN_TCKNS = [p["tckn"] for p in PEOPLE] + [s["tckn"] for s in (AKS_ANKARA, YETKILI_ANKARA, MIA_ANKARA)]
assert all(is_valid_tckn(tckn) for tckn in KNOWN_TCKNS)

# Plausible values for names the forms know, mixed into the type's own values so that generated requests
# get past the first check and reach the later ones.
HINTS: dict[str, st.SearchStrategy] = {
    "tcKimlikNo": st.one_of(st.sampled_from(KNOWN_TCKNS),
                            st.from_regex(r"[1-9][0-9]{8}", fullmatch=True).map(tckn_with_checksum)),
    "phone": st.one_of(st.sampled_from([AKS_ANKARA["phone"], YETKILI_ANKARA["phone"]]),
                       st.from_regex(r"(\+90|0)?5[0-9]{9}", fullmatch=True)),
    "firstName": st.sampled_from([p["ad"].title() for p in PEOPLE]),
    "lastName": st.sampled_from([p["soyad"] for p in PEOPLE]),
    "motherMaidenInitials": st.sampled_from([p["anne"][0] + p["anne"][-1] for p in PEOPLE]),
    "code": st.from_regex(r"[0-9]{6}", fullmatch=True),
    "email": st.sampled_from(["ayse@example.com", "a@b.co", "x" * 250 + "@b.co"]),
}


def values(type_, name: str, hints: dict[str, st.SearchStrategy], depth: int = 0) -> st.SearchStrategy:
    """Values of input type `type_` for the argument or input field `name`, null where it is nullable.
    `hints` add plausible values by name."""
    if not isinstance(type_, GraphQLNonNull):
        return st.one_of(st.none(), values(GraphQLNonNull(type_), name, hints, depth))
    type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        inner = values(type_.of_type, name, hints, depth + 1)
        if inner.is_empty:  # a list of uploads in a JSON request
            return st.just([])
        return st.one_of(st.lists(inner, max_size=3), st.lists(inner, min_size=10, max_size=40))
    if isinstance(type_, GraphQLEnumType):
        return st.sampled_from(list(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        assert depth < 6, f"input nesting too deep at {type_.name}"
        return input_object({field_name: (field.type, field.default_value)
                             for field_name, field in type_.fields.items()}, hints, depth + 1)
    assert isinstance(type_, GraphQLScalarType)
    assert type_.name in SCALARS, f"no strategy for scalar {type_.name}: add one to SCALARS"
    strategy = SCALARS[type_.name]
    return st.one_of(hints[name], strategy) if name in hints else strategy


def input_object(fields: dict[str, tuple], hints: dict, depth: int = 0) -> st.SearchStrategy[dict]:
    """Objects of (type, default) `fields`: the required ones always, the others sometimes."""
    required, optional = {}, {}
    for name, (type_, default) in fields.items():
        is_required = isinstance(type_, GraphQLNonNull) and default is Undefined
        (required if is_required else optional)[name] = values(type_, name, hints, depth)
    return st.fixed_dictionaries(required, optional=optional)


def arguments(field: GraphQLField, hints: dict) -> st.SearchStrategy[dict]:
    return input_object({name: (arg.type, arg.default_value) for name, arg in field.args.items()}, hints)


# Input objects with a valid value in this world (see the `fuzzing` fixture). In a form of these, each value
# is also generated on its own while the rest stays valid, so that every check is reached, not only the first.
SEEDED = {"RequestApplicationCodeInput", "RequestTrackingCodeInput", "RequestStaffCodeInput",
          "SubmitApplicationInput", "CategoryRowInput", "RegisterApplicationInput"}


def paths(type_, path: tuple) -> list[tuple[tuple, object]]:
    """(path, type) of the value at `path` and, inside a seeded input object, of every value in it;
    a list is entered at its first item."""
    found = [(path, type_)]
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(inner, GraphQLList):
        path, inner = path + (0,), get_named_type(inner)
    if isinstance(inner, GraphQLInputObjectType) and inner.name in SEEDED:
        for name, field in inner.fields.items():
            found += paths(field.type, path + (name,))
    return found


def replaced(seed: dict, path: tuple, value) -> dict:
    """A copy of `seed` with the value at `path` replaced."""
    copy = json.loads(json.dumps(seed))
    container = copy
    for step in path[:-1]:
        container = container[step]
    container[path[-1]] = value
    return copy


# --------------------------------------------------------------------------------------- operations


def selection(type_, depth: int) -> str:
    """Scalar leaves of an output type, a few levels deep; `__typename` and the Error fields of a union."""
    named = get_named_type(type_)
    if is_leaf_type(named):
        return ""
    if isinstance(named, GraphQLUnionType):
        return "{ __typename ... on Error { code message field } }"
    assert isinstance(named, (GraphQLObjectType, GraphQLInterfaceType))
    parts = ["__typename"]
    for field_name, field in named.fields.items():
        if any(isinstance(arg.type, GraphQLNonNull) for arg in field.args.values()):
            continue
        if is_leaf_type(get_named_type(field.type)):
            parts.append(field_name)
        elif depth > 1:
            parts.append(f"{field_name} {selection(field.type, depth - 1)}")
    return "{ " + " ".join(parts) + " }"


def operation(kind: str, name: str, field: GraphQLField) -> str:
    declared = ", ".join(f"${arg_name}: {arg.type}" for arg_name, arg in field.args.items())
    passed = ", ".join(f"{arg_name}: ${arg_name}" for arg_name in field.args)
    return (f"{kind}{f'({declared})' if declared else ''} "
            f"{{ {name}{f'({passed})' if passed else ''} {selection(field.type, SELECTION_DEPTH)} }}")


def is_form(field: GraphQLField) -> bool:
    return any(get_named_type(arg.type).name in SEEDED for arg in field.args.values())


FORM_VALUES = [(name, path, type_) for name, (_, field) in FIELDS.items() if is_form(field)
               for arg_name, arg in field.args.items() for path, type_ in paths(arg.type, (arg_name,))]


def needs_a_file(field) -> bool:
    """A required file travels only in a multipart request, which this JSON fuzzing does not send: such a field
    is tested with good and bad files by its own tests (tests/admin/test_detsis_import.py)."""
    return any(isinstance(arg.type, GraphQLNonNull) and get_named_type(arg.type).name == "Upload"
               for arg in field.args.values())


OTHER_FIELDS = [name for name, (_, field) in FIELDS.items() if not is_form(field) and not needs_a_file(field)]

# ------------------------------------------------------------------------------------------- the world


def staff_input(staff: dict) -> dict:
    return {"tcKimlikNo": staff["tckn"], "phone": staff["phone"]}


class Fuzzing:
    """A live token per role; valid values of the seeded input objects and hints made from this world's
    records. A mutation under test may end a session (signOut, a successful submit): the role signs in again."""

    def __init__(self, world, tracking_no: int, seeds: dict[str, dict], hints: dict[str, st.SearchStrategy]) -> None:
        assert SEEDED <= set(SCHEMA.type_map), f"the schema no longer has {SEEDED - set(SCHEMA.type_map)}"
        self.world = world
        self.tracking_no = tracking_no
        self.seeds = seeds
        self.hints = hints
        self.tokens: dict[str, str | None] = {"anonymous": None}

    async def sign_in(self, role: str) -> None:
        if role == "apply":
            self.tokens[role] = await self._verified(REQUEST_APPLY, apply_input(MEHMET, APPLY_PHONE), APPLY_PHONE)
        elif role == "track":
            self.tokens[role] = await self._verified(
                REQUEST_TRACKING, {"trackingNo": self.tracking_no, "tcKimlikNo": AYSE["tckn"]}, TRACK_PHONE)
        elif role == "staff":
            self.tokens[role] = await self._verified(REQUEST_STAFF, staff_input(AKS_ANKARA), AKS_ANKARA["phone"])

    async def _verified(self, request: str, input: dict, phone: str) -> str:
        """Ask for a code and enter it. Other messages to the phone may arrive meanwhile (a tracking number,
        a code a generated request asked for): every new code is tried, newest first, until one is right."""
        seen = len(await self.world.sms_to(phone))
        challenge = next(iter((await self.world.gql(request, {"input": input})).values()))
        while True:
            messages = await self.world.wait_for_sms(phone, seen + 1)
            for message in reversed(messages[seen:]):
                if code := re.search(r"onay kodunuz: (\d{6})", message):
                    verified = (await self.world.gql(VERIFY, {"id": challenge["id"], "code": code[1]}))["verifyCode"]
                    if verified["__typename"] == "SignedIn":
                        return verified["token"]
            seen = len(messages)

    async def send(self, role: str, name: str, variables: dict) -> None:
        kind, field = FIELDS[name]
        body = {"query": operation(kind, name, field), "variables": variables}
        response = await self.world.post(body, token=self.tokens[role])
        if role != "anonymous" and "UNAUTHENTICATED" in response.text:  # the session ended: sign in again
            await self.sign_in(role)
            response = await self.world.post(body, token=self.tokens[role])
        check_answer(response, f"{role}: {body['query']}\n"
                               f"variables: {json.dumps(variables, ensure_ascii=False)[:600]}")


def check_answer(response, context: str) -> None:
    text = response.text
    assert response.status_code < 500, f"{context}\n→ {response.status_code} {text[:800]}"
    for leak in LEAKS:
        assert leak not in text, f"{context}\n→ the answer contains {leak!r}: {text[:800]}"
    body = response.json()
    codes = [(error.get("extensions") or {}).get("code") for error in body.get("errors", [])]
    assert not {"INTERNAL_ERROR", "DATABASE_UNAVAILABLE"} & set(codes), f"{context}\n→ {text[:800]}"
    # Executed, so the fuzz tested something: only a body over the size limit is refused before.
    assert "data" in body or response.status_code == 413, f"{context}\n→ not executed: {text[:800]}"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fuzzing(world) -> Fuzzing:
    await world.control("identity", down=False, delay=0)
    tracking_no = await apply(world, AYSE, TRACK_PHONE)
    # The forms' own tracking code and staff code requests go to other phones than the sessions' sign-ins.
    other_tracking_no = await apply(world, AYSE, "5329900004")
    # A challenge left open, so the code mutations meet a real one as well as made-up ids.
    challenge = (await world.gql(REQUEST_APPLY, {"input": apply_input(ZEYNEP, "5329900003")}))
    category, subcategory = await first_category(world)
    district = (await world.gql("{ districts(provinceId: 6) { id } }"))["districts"][0]["id"]
    place = (await world.gql("query($d: Int!) { places(districtId: $d) { id } }", {"d": district}))["places"][0]["id"]
    application = {"kind": "TALEP", "sameAsResidence": False, "subjectAddress": "Atatürk Cad. No: 1",
                   "provinceId": 6, "districtId": district, "placeId": place, "phone": APPLY_PHONE,
                   "email": "ayse@example.com", "subject": "Okulun genel temizliği için yardım talebi.",
                   "categories": [{"categoryId": category, "subcategoryId": subcategory,
                                   "description": "Sınıflar temizlenmiyor."}]}
    seeds = {
        "RequestApplicationCodeInput": apply_input(ZEYNEP, "5329900003"),
        "RequestTrackingCodeInput": {"trackingNo": other_tracking_no, "tcKimlikNo": AYSE["tckn"]},
        "RequestStaffCodeInput": staff_input(YETKILI_ANKARA),
        "SubmitApplicationInput": application,
        "RegisterApplicationInput": {"tcKimlikNo": AYSE["tckn"], "arrivalDate": istanbul_today().isoformat(),
                                     "application": application},
    }
    fuzzing = Fuzzing(world, tracking_no, seeds,
                      {**HINTS, "challengeId": st.just(challenge["requestApplicationCode"]["id"])})
    for role in ROLES:
        await fuzzing.sign_in(role)
    return fuzzing


FUZZ_SETTINGS = settings(derandomize=True, database=None, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
    HealthCheck.large_base_example])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "path", "type_"), FORM_VALUES,
                         ids=[f"{name}:{'.'.join(map(str, path))}" for name, path, _ in FORM_VALUES])
@settings(FUZZ_SETTINGS, max_examples=EXAMPLES_PER_VALUE)
@given(data=st.data())
async def test_no_value_in_a_form_answers_an_internal_error(fuzzing, role, name, path, type_, data):
    """One value of a valid form generated, the rest kept valid: every check is reached, not only the first."""
    _, field = FIELDS[name]
    value = data.draw(values(type_, next(step for step in reversed(path) if isinstance(step, str)),
                             fuzzing.hints), label=".".join(map(str, path)))
    seeded = {arg_name: fuzzing.seeds[get_named_type(arg.type).name] for arg_name, arg in field.args.items()
              if get_named_type(arg.type).name in SEEDED}
    others = {arg_name: (arg.type, arg.default_value) for arg_name, arg in field.args.items() if arg_name not in seeded}
    variables = {**seeded, **data.draw(input_object(others, fuzzing.hints), label="other arguments")}
    await fuzzing.send(role, name, replaced(variables, path, value))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", OTHER_FIELDS)
@settings(FUZZ_SETTINGS, max_examples=EXAMPLES_PER_FIELD)
@given(data=st.data())
async def test_no_other_field_answers_an_internal_error(fuzzing, role, name, data):
    _, field = FIELDS[name]
    await fuzzing.send(role, name, data.draw(arguments(field, fuzzing.hints), label="variables"))
