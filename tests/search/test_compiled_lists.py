"""The lists' compiled path (acikkapi/schema/lists.py) answers exactly as the executor does: generated selections,
aliases, fragments, arguments and variables, for every role, compared byte for byte with the same document
made the executor's by a directive."""

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from acikkapi.schema import build_schema
from acikkapi.settings import Settings
from tests.search.test_filters import office  # noqa: F401  (the known office, built once for this module)
from tests.workflow.support import MILLI_EGITIM, SAGLIK

SETTINGS = {"staff_identity_lookups_per_hour": 10_000}
COMPILER = build_schema(Settings(allow_development_secret=True)).compiler

UNIT = ["detsisNo", "name", "__typename"]
CATEGORY = ["position", "category", "subcategory", "description", "__typename"]
LISTED_ROUTING = ["id", ("unit", UNIT), "status", "statusLabel", "dueDate", "overdue", "routedAt", "answeredAt",
                  "__typename"]
APPLICATION = ["id", "trackingNo", "status", "statusLabel", "result", "resultLabel", "kind", "kindLabel", "channel",
               "channelLabel", "createdAt", "arrivalDate", "isSpecial", "isConfidential", "priorityGroup",
               "priorityGroupLabel", "tcKimlikNo", "firstName", "lastName", "subjectSummary", ("categories", CATEGORY),
               ("routings", LISTED_ROUTING), "unitArrivalAt", "dueDate", "overdue", "__typename"]
ROUTING = ["id", ("unit", UNIT), "status", "statusLabel", "dueDate", "overdue", "daysLate", "routedAt",
           "answeredAt", ("application", APPLICATION), "__typename"]
PAGE_INFO = ["hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename"]
ROOTS = {"searchApplications": ("ApplicationListItem", APPLICATION, "ApplicationEdge"),
         "routingInbox": ("RoutingListItem", ROUTING, "RoutingEdge"),
         "overdueRoutings": ("RoutingListItem", ROUTING, "RoutingEdge")}
OFFICE_LISTS, UNIT_LISTS = ["searchApplications", "overdueRoutings"], ["routingInbox"]
# caller → the lists asked for: mostly their own (rich answers), sometimes another (a refusal)
CALLERS = {"AKS Ankara": OFFICE_LISTS * 3 + UNIT_LISTS, "MİA Ankara": OFFICE_LISTS * 3 + UNIT_LISTS,
           "AKS Keçiören": OFFICE_LISTS, "AKS İstanbul": OFFICE_LISTS, "Yetkili MEB": UNIT_LISTS * 4 + OFFICE_LISTS,
           "Yetkili Sağlık": UNIT_LISTS, "anonymous": OFFICE_LISTS + UNIT_LISTS}
# Mostly criteria that find rows (the answers to compare are then rich); now and then a refused one.
FILTERS = st.one_of(st.just({}), st.fixed_dictionaries({}, optional={
    "firstName": st.sampled_from(["ayse", "MEHMET", "an"]), "lastName": st.sampled_from(["yılmaz", "dem"]),
    "kinds": st.lists(st.sampled_from(["TALEP", "SIKAYET", "IHBAR"]), min_size=1, max_size=2),
    "statuses": st.lists(st.sampled_from(["HAVUZDA", "YONLENDIRILDI", "SONUCLANDI"]), min_size=1, max_size=2),
    "overdue": st.booleans(), "isConfidential": st.booleans(), "unitNo": st.just(MILLI_EGITIM),
    "registeredFrom": st.just("2020-01-01")}), st.sampled_from([
        {"tcKimlikNo": "10000000146"}, {"tcKimlikNo": "123"}, {"firstName": "?!"}, {"unitNo": SAGLIK}]))
FIRST = st.sampled_from([None, None, None, 50, 2, 1, 0, 201])


@st.composite
def selection(draw, fields: list, type_name: str, depth: int = 0) -> str:
    """Some of `fields`, some aliased, some through a fragment on the type."""
    chosen = [field for field in fields if draw(st.booleans())] or [fields[0]]
    parts, used = [], set()
    for field in chosen:
        name, children = field if isinstance(field, tuple) else (field, None)
        alias = draw(st.sampled_from([None] * 9 + [f"a_{name}"]))  # a few: a document has at most 15
        key = alias or name
        if key in used:
            continue
        used.add(key)
        text = f"{alias}: {name}" if alias else name
        if children:
            child_type = {"unit": "RoutedUnit", "categories": "CategoryLine", "routings": "ListedRouting",
                          "application": "ApplicationListItem"}[name]
            text += " { " + draw(selection(children, child_type, depth + 1)) + " }"
        parts.append(text)
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(parts)))
        parts = parts[:cut] + [f"... on {type_name} {{ {' '.join(parts[cut:]) or '__typename'} }}"]
    return " ".join(parts)


@st.composite
def documents(draw, roots: list[str]) -> tuple[str, str, dict]:
    root = draw(st.sampled_from(roots))
    node_type, node_fields, edge_type = ROOTS[root]
    node = draw(selection(node_fields, node_type))
    edge = " ".join(draw(st.permutations(["cursor", f"node {{ {node} }}", "__typename"]))[:draw(st.integers(1, 3))])
    if "node" not in edge:
        edge += f" node {{ {node} }}"
    page_info = " ".join(draw(st.lists(st.sampled_from(PAGE_INFO), min_size=1, max_size=5, unique=True)))
    parts = [f"edges {{ {edge} }}"] + draw(st.lists(st.sampled_from(
        [f"pageInfo {{ {page_info} }}", "totalCount", "__typename", "total: totalCount"]), max_size=3, unique=True))
    filter_value, first = draw(FILTERS), draw(FIRST)
    as_variables = draw(st.booleans())
    if as_variables:
        header = "query($filter: ApplicationFilter, $first: Int, $after: String)"
        arguments = "(filter: $filter, first: $first, after: $after)"
        variables = {"filter": filter_value, "first": first, "after": draw(st.sampled_from([None, None, "bad"]))}
    else:
        header, variables = "query", {}
        literal = ", ".join(f"{key}: {_literal(value)}" for key, value in filter_value.items())
        arguments = f"(filter: {{ {literal} }}" + (f", first: {first})" if first is not None else ")")
    alias = draw(st.sampled_from(["", "list: "]))
    return f"{header} {{ {alias}{root}{arguments} {{ {' '.join(parts)} }} }}", root, variables


def _literal(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(value) + "]"  # enum values
    if isinstance(value, int):
        return str(value)
    return f'"{value}"'


def by_the_executor(document: str, root: str) -> str:
    head, _, rest = document.partition(root)
    arguments_end = rest.index(")") + 1
    return f"{head}{root}{rest[:arguments_end]} @include(if: true){rest[arguments_end:]}"


@pytest.fixture(scope="module")
def tokens(office):  # noqa: F811
    return office.tokens


@pytest.mark.parametrize("caller", CALLERS)
@settings(derandomize=True, database=None, deadline=None, max_examples=40,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
async def test_the_compiled_path_and_the_executor_agree(world, tokens, caller, data):
    document, root, variables = data.draw(documents(CALLERS[caller]), label="document")
    assume(document.count(" a_") + document.count("list: ") <= 15)  # more aliases are refused before either runs
    assert COMPILER.compile(document, None) is not None, document
    assert COMPILER.compile(by_the_executor(document, root), None) is None
    token = tokens[caller]
    compiled = await world.post({"query": document, "variables": variables}, token=token)
    executed = await world.post({"query": by_the_executor(document, root), "variables": variables}, token=token)
    assert (compiled.status_code, compiled.headers["content-type"]) == \
        (executed.status_code, executed.headers["content-type"])
    assert compiled.text == executed.text, document


async def test_a_later_page_agrees_too(world, office):  # noqa: F811
    document = ("query($after: String) { searchApplications(first: 2, after: $after) { totalCount "
                "pageInfo { hasNextPage endCursor } edges { cursor node { trackingNo tcKimlikNo "
                "routings { unit { name } dueDate } } } } }")
    first = await world.post({"query": document}, token=office.staff.aks)
    after = first.json()["data"]["searchApplications"]["pageInfo"]["endCursor"]
    compiled = await world.post({"query": document, "variables": {"after": after}}, token=office.staff.aks)
    executed = await world.post({"query": by_the_executor(document, "searchApplications"),
                                 "variables": {"after": after}}, token=office.staff.aks)
    assert compiled.text == executed.text and len(compiled.json()["data"]["searchApplications"]["edges"]) == 2


@pytest.mark.parametrize("document", [
    "{ searchApplications { edges { node { trackingNo @include(if: true) } } } }",
    "{ searchApplications { edges { node { trackingNo trackingNo: kind } } } }",
    "{ searchApplications { edges { node { trackingNo } } } routingInbox { totalCount } }",
    "{ searchApplications { edges { node { ... on Query { __typename } } } } }",
    "{ searchApplications { edges { node { nosuchfield } } } }",
])
def test_what_cannot_be_planned_is_left_to_the_executor(document):
    assert COMPILER.compile(document, None) is None
