"""The compiled read path. graphql-core resolves every field through its executor (about 12 µs a field here);
a query document that reads only plain fields below one hot root field is instead planned once and run as a
loop over the objects the root resolver returns.

A document is planned at most once (per query text and operation name). Anything the plan does not cover —
another root field, variables, directives, fragments on other types, duplicate response keys, a field with
arguments or an asynchronous resolver, a validation error — leaves the request to the normal executor, as
does an expected error of the root resolver or a null where the schema promises a value. So an answer given
here is the one the executor would have given, byte for byte.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache

from graphql import (
    FieldNode, FragmentDefinitionNode, FragmentSpreadNode, GraphQLEnumType, GraphQLError, GraphQLList,
    GraphQLNonNull, GraphQLObjectType, GraphQLScalarType, InlineFragmentNode, OperationDefinitionNode,
    OperationType, SelectionSetNode, get_operation_ast, parse, specified_rules, validate,
)


class NotCompiled(Exception):
    """The document, or this answer, is left to the normal executor."""


@dataclass(frozen=True)
class Step:
    key: str  # the response key: the alias, or the field's name
    read: Callable[[object], object]  # the value below the parent object
    nullable: bool
    is_list: bool
    items_nullable: bool
    leaf: Callable[[object], object] | None  # a scalar's or enum's serializer
    plan: tuple["Step", ...] = ()  # an object's fields


def run(plan: tuple[Step, ...], parent: object) -> dict:
    return {step.key: _complete(step, step.read(parent)) for step in plan}


def _complete(step: Step, value: object) -> object:
    if value is None:
        if step.nullable:
            return None
        raise NotCompiled  # the executor reports the broken promise
    if not step.is_list:
        return step.leaf(value) if step.leaf else run(step.plan, value)
    items = []
    for item in value:
        if item is None:
            if not step.items_nullable:
                raise NotCompiled
            items.append(None)
        else:
            items.append(step.leaf(item) if step.leaf else run(step.plan, item))
    return items


@dataclass(frozen=True)
class Compiled:
    root: Callable[[object], Awaitable[object]]  # context → the root field's object
    plan: tuple[Step, ...]  # one step: the root field

    async def execute(self, context) -> dict:
        """The `data` of the answer. Raises NotCompiled for an answer the executor must give."""
        return run(self.plan, await self.root(context))


class Compiler:
    """Plans for the documents of one schema. `roots`: root query field name → async function(context)
    returning the object (or None) that field would return."""

    def __init__(self, schema, roots: dict[str, Callable], rules: list, max_tokens: int) -> None:
        self.schema = schema
        self.roots = roots
        self.rules = [*specified_rules, *rules]
        self.max_tokens = max_tokens
        self.compile = lru_cache(maxsize=1024)(self._compile)

    def _compile(self, query: str, operation_name: str | None) -> Compiled | None:
        try:
            document = parse(query, max_tokens=self.max_tokens)
            if validate(self.schema._schema, document, self.rules):
                return None
            return self._compile_operation(document, operation_name)
        except (GraphQLError, NotCompiled, KeyError):  # KeyError: a field the plan does not know
            return None

    def _compile_operation(self, document, operation_name: str | None) -> Compiled | None:
        operation = get_operation_ast(document, operation_name)
        if not isinstance(operation, OperationDefinitionNode) or operation.operation is not OperationType.QUERY \
                or operation.variable_definitions or operation.directives:
            return None
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        query_type = self.schema._schema.query_type
        fields = list(self._fields(operation.selection_set, fragments, query_type.name))
        if len(fields) != 1 or fields[0].name.value not in self.roots or fields[0].arguments:
            return None
        [field] = fields
        step = self._step(field, query_type.fields[field.name.value].type, None, fragments)
        return Compiled(self.roots[field.name.value], (step,))

    def _fields(self, selection_set: SelectionSetNode, fragments: dict, type_name: str):
        for selection in selection_set.selections:
            if selection.directives:
                raise NotCompiled
            if isinstance(selection, FieldNode):
                yield selection
                continue
            if isinstance(selection, InlineFragmentNode):
                condition, inner = selection.type_condition, selection.selection_set
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments[selection.name.value]
                condition, inner = fragment.type_condition, fragment.selection_set
            else:
                raise NotCompiled
            if condition is not None and condition.name.value != type_name:
                raise NotCompiled
            yield from self._fields(inner, fragments, type_name)

    def _plan(self, object_type: GraphQLObjectType, selection_set: SelectionSetNode,
              fragments: dict) -> tuple[Step, ...]:
        definition = self.schema.get_type_by_name(object_type.name)
        by_name = {self.schema.config.name_converter.get_graphql_name(f): f for f in definition.fields}
        steps, keys = [], set()
        for node in self._fields(selection_set, fragments, object_type.name):
            key = node.alias.value if node.alias else node.name.value
            if key in keys or node.arguments:
                raise NotCompiled  # merged duplicates and arguments are the executor's business
            keys.add(key)
            if node.name.value == "__typename":
                steps.append(Step(key, lambda _, name=object_type.name: name, False, False, False, str))
                continue
            steps.append(self._step(node, object_type.fields[node.name.value].type, by_name[node.name.value],
                                    fragments))
        return tuple(steps)

    def _step(self, node: FieldNode, graphql_type, field, fragments: dict) -> Step:
        nullable = not isinstance(graphql_type, GraphQLNonNull)
        if not nullable:
            graphql_type = graphql_type.of_type
        is_list, items_nullable = isinstance(graphql_type, GraphQLList), True
        if is_list:
            graphql_type = graphql_type.of_type
            items_nullable = not isinstance(graphql_type, GraphQLNonNull)
            if not items_nullable:
                graphql_type = graphql_type.of_type
        key = node.alias.value if node.alias else node.name.value
        read = _reader(field) if field is not None else (lambda root: root)
        if isinstance(graphql_type, (GraphQLScalarType, GraphQLEnumType)):
            return Step(key, read, nullable, is_list, items_nullable, graphql_type.serialize)
        if isinstance(graphql_type, GraphQLObjectType) and node.selection_set:
            return Step(key, read, nullable, is_list, items_nullable, None,
                        self._plan(graphql_type, node.selection_set, fragments))
        raise NotCompiled  # interfaces and unions


def _reader(field) -> Callable[[object], object]:
    resolver = field.base_resolver
    if resolver is None:
        name = field.python_name
        return lambda parent: getattr(parent, name)
    if resolver.is_async or len(resolver.arguments) or resolver.info_parameter:
        raise NotCompiled
    function = resolver.wrapped_func
    return lambda parent: function(parent)
