"""The compiled path of the lists (Başvuru Arama, a Yetkili's inbox, the overdue view): graphql-core would
resolve each of a page's fields (50 rows are over a thousand) through its executor; here the selection under
the connection is planned once per document into plain functions that build the answer's dicts from the
service's rows, masking included.

Each list type is described once, as a table (`Shape`): GraphQL field → a Python expression of the row `v` (and
`personal`: the reader sees the applicant's personal data), or a nested shape. A selection compiles to one
function per object, generated from the table: a dict display of the fields asked for, under their response keys.
What a table does not cover (a directive, a merged duplicate key, an unknown field) leaves the document to the
executor (schema/compiled.py). tests/search/test_compiled_lists.py proves both give the same answers.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from graphql import FieldNode, GraphQLNonNull, GraphQLObjectType

from acikkapi.models import ApplicationKind
from acikkapi.permissions.applications import reads_personal_data
from acikkapi.resolvers import search
from acikkapi.schema.compiled import NotCompiled, Planner


@dataclass(frozen=True)
class Shape:
    """How one GraphQL object type is built from a service object `v`: an expression per field, or (the
    expression of the child object or list, its shape, whether a list)."""

    fields: dict[str, "str | tuple[str, Shape, bool]"] = field(hash=False)


UNIT = Shape({"detsisNo": "v.id", "name": "v.name"})
CATEGORY = Shape({"position": "v.position", "category": "v.category", "subcategory": "v.subcategory",
                  "description": "v.description"})
LISTED_ROUTING = Shape({
    "id": "str(v.id)", "unit": ("v.unit", UNIT, False), "status": "v.status.name", "statusLabel": "v.status.value",
    "dueDate": "v.due_date", "overdue": "v.overdue", "routedAt": "v.routed_at", "answeredAt": "v.answered_at"})
APPLICATION = Shape({
    "id": "str(v.id)", "trackingNo": "v.tracking_no", "status": "v.status.name", "statusLabel": "v.status.value",
    "result": "v.result and v.result.name", "resultLabel": "v.result and v.result.value",
    "kind": "v.kind.name", "kindLabel": "v.kind.value", "channel": "v.channel.name",
    "channelLabel": "v.channel.value", "createdAt": "v.created_at", "arrivalDate": "v.arrival_date",
    "isSpecial": "v.is_special", "isConfidential": "v.is_confidential",
    "priorityGroup": "v.priority_group and v.priority_group.name",
    "priorityGroupLabel": "v.priority_group and v.priority_group.value",
    "tcKimlikNo": "v.tckn if personal else None",
    "firstName": "v.first_name if personal or v.kind is not IHBAR else None",
    "lastName": "v.last_name if personal or v.kind is not IHBAR else None",
    "subjectSummary": "v.subject_summary", "categories": ("v.categories", CATEGORY, True),
    "routings": ("v.routings", LISTED_ROUTING, True), "unitArrivalAt": "v.unit_arrival", "dueDate": "v.due_date",
    "overdue": "v.overdue"})
LISTED_ROUTING_WITH_APPLICATION = Shape({
    "id": "str(v.routing.id)", "unit": ("v.routing.unit", UNIT, False), "status": "v.routing.status.name",
    "statusLabel": "v.routing.status.value", "dueDate": "v.routing.due_date", "overdue": "v.routing.overdue",
    "daysLate": "v.days_late", "routedAt": "v.routing.routed_at", "answeredAt": "v.routing.answered_at",
    "application": ("v.application", APPLICATION, False)})


class _Builders:
    """The functions generated for one document's selection, and the field names it reads (for the KVKK log)."""

    def __init__(self, compiler, fragments: dict) -> None:
        self.compiler, self.fragments = compiler, fragments
        self.namespace: dict = {"IHBAR": ApplicationKind.IHBAR}
        self.names: set[str] = set()

    def build(self, shape: Shape, object_type: GraphQLObjectType, selection_set) -> str:
        """The name of a generated function (v, personal) → the object's dict."""
        entries, keys = [], {}
        for node in self.compiler.fields(selection_set, self.fragments, object_type):
            key, name = node.alias.value if node.alias else node.name.value, node.name.value
            spec = shape.fields.get(name, "" if name == "__typename" else None)
            if spec is None or node.arguments:
                raise NotCompiled
            if key in keys:
                if keys[key] == name and isinstance(spec, str):
                    continue  # the same leaf asked for twice (through a fragment): one value
                raise NotCompiled  # merging two selections is the executor's business
            keys[key] = name
            self.names.add(name)
            if name == "__typename":
                entries.append(f"{key!r}: {object_type.name!r}")
                continue
            if isinstance(spec, str):
                entries.append(f"{key!r}: {spec}")
                continue
            expression, child, is_list = spec
            child_type = _object_type(object_type.fields[name].type)
            function = self.build(child, child_type, node.selection_set)
            entries.append(f"{key!r}: [{function}(x, personal) for x in {expression}]" if is_list
                           else f"{key!r}: {function}({expression}, personal)")
        function = f"build_{len(self.namespace)}"
        exec(f"def {function}(v, personal):\n    return {{{', '.join(entries)}}}\n", self.namespace)
        return function


def _object_type(graphql_type) -> GraphQLObjectType:
    while not isinstance(graphql_type, GraphQLObjectType):
        graphql_type = graphql_type.of_type
    return graphql_type


_PAGE_INFO = {"hasNextPage": lambda page: page.has_next, "hasPreviousPage": lambda page: False,
              "startCursor": lambda page: page.cursors[0] if page.cursors else None,
              "endCursor": lambda page: page.cursors[-1] if page.cursors else None}


@dataclass(frozen=True)
class ConnectionPlanner(Planner):
    """A Relay connection root (edges { cursor node }, pageInfo, totalCount) whose resolver (resolvers/search.py)
    returns a Listing of `node`-shaped rows."""

    resolve: Callable  # (context, filter values, first, after, selected field names) → Listing
    node: Shape

    def plan(self, compiler, root: FieldNode, graphql_type, fragments: dict):
        if not isinstance(graphql_type, GraphQLNonNull):
            raise NotCompiled
        builders = _Builders(compiler, fragments)
        parts = self._parts(builders, _object_type(graphql_type), root)
        build = {key: builders.namespace[name] for key, (kind, name) in parts.items() if kind == "edges"}
        counted = {"totalCount"} if any(kind == "totalCount" for kind, _ in parts.values()) else set()
        resolve, selected = self.resolve, frozenset(builders.names | counted)

        async def run(context, filter=None, first=None, after=None) -> dict:
            listing = await resolve(context, vars(filter) if filter else {}, first, after, selected)
            personal, page = reads_personal_data(context.actor), listing.page
            answer = {}
            for key, (kind, plan) in parts.items():
                if kind == "edges":
                    edge = build[key]
                    answer[key] = [edge(cursor, line, personal) for cursor, line in zip(page.cursors, page.lines)]
                elif kind == "pageInfo":
                    answer[key] = {name: read(page) for name, read in plan}
                elif kind == "totalCount":
                    answer[key] = await listing.count()
                else:
                    answer[key] = plan
            return answer

        return run

    def _parts(self, builders: _Builders, connection_type: GraphQLObjectType, root: FieldNode) -> dict:
        """Response key → (what, its plan), in the order asked."""
        parts = {}
        for node in builders.compiler.fields(root.selection_set, builders.fragments, connection_type):
            key, name = node.alias.value if node.alias else node.name.value, node.name.value
            if key in parts or node.arguments:
                raise NotCompiled
            if name == "__typename":
                parts[key] = ("typename", connection_type.name)
            elif name == "totalCount":
                parts[key] = ("totalCount", None)
            elif name == "pageInfo":
                page_info = _object_type(connection_type.fields[name].type)
                plan = []
                for field_node in builders.compiler.fields(node.selection_set, builders.fragments, page_info):
                    field_key = field_node.alias.value if field_node.alias else field_node.name.value
                    if field_key in {k for k, _ in plan}:
                        raise NotCompiled
                    plan.append((field_key, (lambda page, t=page_info.name: t) if field_node.name.value == "__typename"
                                 else _PAGE_INFO[field_node.name.value]))
                parts[key] = ("pageInfo", tuple(plan))
            elif name == "edges":
                parts[key] = ("edges", self._edge(builders, _object_type(connection_type.fields[name].type), node))
            else:
                raise NotCompiled
        return parts

    def _edge(self, builders: _Builders, edge_type: GraphQLObjectType, edges: FieldNode) -> str:
        """The name of a generated function (cursor, row, personal) → the edge's dict."""
        entries, keys = [], set()
        for node in builders.compiler.fields(edges.selection_set, builders.fragments, edge_type):
            key, name = node.alias.value if node.alias else node.name.value, node.name.value
            if key in keys:
                raise NotCompiled
            keys.add(key)
            if name == "cursor":
                entries.append(f"{key!r}: cursor")
            elif name == "__typename":
                entries.append(f"{key!r}: {edge_type.name!r}")
            elif name == "node":
                function = builders.build(self.node, _object_type(edge_type.fields[name].type), node.selection_set)
                entries.append(f"{key!r}: {function}(v, personal)")
            else:
                raise NotCompiled
        function = f"edge_{len(builders.namespace)}"
        exec(f"def {function}(cursor, v, personal):\n    return {{{', '.join(entries)}}}\n", builders.namespace)
        return function


PLANNERS = {
    "searchApplications": ConnectionPlanner(
        lambda context, values, first, after, selected: search.search_applications(
            context, values, first=first, after=after, selected=selected), APPLICATION),
    "routingInbox": ConnectionPlanner(
        lambda context, values, first, after, selected: search.routing_inbox(
            context, values, first=first, after=after, selected=selected),
        LISTED_ROUTING_WITH_APPLICATION),
    "overdueRoutings": ConnectionPlanner(
        lambda context, values, first, after, selected: search.overdue_routings(
            context, values, first=first, after=after, selected=selected), LISTED_ROUTING_WITH_APPLICATION),
}
