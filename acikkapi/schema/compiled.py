"""The compiled path. graphql-core resolves every field through its executor (about 12 µs a field here), and
strawberry wraps each operation in its extensions; a document that reads only plain fields below one hot root
field is instead planned once and run as a loop over the objects the root's function returns.

A document is planned at most once (per query text and operation name). Anything the plan does not cover —
another root field, directives, duplicate response keys, a field with arguments or an asynchronous resolver
below the root, a validation error — leaves the request to the normal executor. So an answer given here is the
one the executor would have given, byte for byte.

Queries (`roots`: no variables, no arguments) also leave to the executor an expected error of the root or a
null where the schema promises a value. Mutations (`mutations`) take variables and arguments, coerced and
converted as the executor does; a variable or argument the executor would refuse leaves the request to it
before anything runs. Once the mutation's function has run there is no going back: its failure is answered
here (`MutationFailed`), masked like the executor's.
"""

from collections.abc import Awaitable, Callable, Collection
from dataclasses import MISSING, dataclass
from functools import lru_cache

from graphql import (
    FieldNode, FragmentDefinitionNode, FragmentSpreadNode, GraphQLEnumType, GraphQLError, GraphQLField,
    GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLScalarType, InlineFragmentNode, OperationDefinitionNode,
    OperationType, SelectionSetNode, get_operation_ast, is_abstract_type, parse, specified_rules, validate,
)
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.relay.types import GlobalID
from strawberry.types.arguments import _is_leaf_type
from strawberry.types.base import StrawberryList, StrawberryMaybe, StrawberryOptional, has_object_definition
from strawberry.types.enum import has_enum_definition
from strawberry.types.lazy_type import LazyType
from strawberry.types.unset import UNSET


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
    plans: dict[str, tuple["Step", ...]] | None = None  # an interface's or union's: its object types' fields

    def plan_of(self, value: object) -> tuple["Step", ...]:
        return self.plan if self.plans is None else self.plans[type(value).__strawberry_definition__.name]


class MutationFailed(Exception):
    """The mutation's function ran and failed (`error`): the answer is an error of its field (`node`)."""

    def __init__(self, error: Exception, node: FieldNode, key: str) -> None:
        self.error, self.node, self.key = error, node, key


def run(plan: tuple[Step, ...], parent: object) -> dict:
    return {step.key: _complete(step, step.read(parent)) for step in plan}


def _complete(step: Step, value: object) -> object:
    if value is None:
        if step.nullable:
            return None
        raise NotCompiled  # the executor reports the broken promise
    if not step.is_list:
        return step.leaf(value) if step.leaf else run(step.plan_of(value), value)
    items = []
    for item in value:
        if item is None:
            if not step.items_nullable:
                raise NotCompiled
            items.append(None)
        else:
            items.append(step.leaf(item) if step.leaf else run(step.plan_of(item), item))
    return items


@dataclass(frozen=True)
class Compiled:
    root: Callable[[object], Awaitable[object]]  # context → the root field's object
    plan: tuple[Step, ...]  # one step: the root field

    async def execute(self, context, variables: dict | None) -> dict:
        """The `data` of the answer. Raises NotCompiled for an answer the executor must give."""
        if variables:  # sent to a document that declares none: rare, left to the executor
            raise NotCompiled
        return run(self.plan, await self.root(context))


@dataclass(frozen=True)
class Arguments:
    """A root field's arguments as its resolver would get them: variables and literals coerced and converted as
    the executor does. A value the executor would refuse leaves the request to it."""

    node: FieldNode
    field: GraphQLField
    # (GraphQL name, Python name, conversion) of each argument: the values strawberry would pass
    conversions: tuple[tuple[str, str, Callable[[object], object]], ...]
    variable_definitions: tuple
    compiler: "Compiler"

    def of(self, variables: dict | None) -> dict:
        coerced = get_variable_values(self.compiler.schema._schema, self.variable_definitions, variables or {})
        if isinstance(coerced, list):  # the executor reports the wrong values
            raise NotCompiled
        try:
            values = get_argument_values(self.field, self.node, coerced)
        except GraphQLError as error:
            raise NotCompiled from error
        return {python_name: convert(values[name]) for name, python_name, convert in self.conversions
                if name in values}


@dataclass(frozen=True)
class CompiledMutation:
    function: Callable[..., Awaitable[object]]  # (context, **arguments) → the field's payload, by its resolver
    arguments: Arguments
    step: Step

    async def execute(self, context, variables: dict | None) -> dict:
        arguments = self.arguments.of(variables)
        try:
            return {self.step.key: _complete(self.step, await self.function(context, **arguments))}
        except Exception as error:
            raise MutationFailed(error, self.arguments.node, self.step.key) from error


class Planner:
    """Plans a root query field's whole selection itself (schema/lists.py: the connections): `plan` returns an
    async function (context, arguments) → the field's value as JSON-ready data, or raises NotCompiled."""

    def plan(self, compiler: "Compiler", node: FieldNode, graphql_type,
             fragments: dict) -> Callable[..., Awaitable[object]]:
        raise NotImplementedError


@dataclass(frozen=True)
class CompiledQuery:
    run: Callable[..., Awaitable[object]]
    arguments: Arguments
    key: str

    async def execute(self, context, variables: dict | None) -> dict:
        """An expected error (DomainError) leaves the answer to the executor, as any error of its own does."""
        return {self.key: await self.run(context, **self.arguments.of(variables))}


class Compiler:
    """Plans for the documents of one schema. `roots`: root query field name → async function(context)
    returning the object (or None) that field would return. `mutations`: the root mutation fields that may be
    run here, by their own resolvers; each must call no outside service (it runs on the request's one pooled
    connection, `Context.held`)."""

    def __init__(self, schema, roots: dict[str, Callable], rules: list, max_tokens: int,
                 mutations: Collection[str] = (), planners: dict[str, Planner] | None = None) -> None:
        self.schema = schema
        self.roots = roots
        self.planners = planners or {}
        self.mutations = frozenset(mutations)
        self.rules = [*specified_rules, *rules]
        self.max_tokens = max_tokens
        self.compile = lru_cache(maxsize=1024)(self._compile)

    def _compile(self, query: str, operation_name: str | None) -> Compiled | CompiledMutation | None:
        try:
            document = parse(query, max_tokens=self.max_tokens)
            if validate(self.schema._schema, document, self.rules):
                return None
            return self._compile_operation(document, operation_name)
        except (GraphQLError, NotCompiled, KeyError):  # KeyError: a field the plan does not know
            return None

    def _compile_operation(self, document, operation_name: str | None):
        operation = get_operation_ast(document, operation_name)
        if not isinstance(operation, OperationDefinitionNode) or operation.directives:
            return None
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        if operation.operation is OperationType.QUERY:
            root_type, functions = self.schema._schema.query_type, {**self.roots, **self.planners}
        elif operation.operation is OperationType.MUTATION:
            root_type, functions = self.schema._schema.mutation_type, self.mutations
        else:
            return None
        fields = list(self.fields(operation.selection_set, fragments, root_type))
        if len(fields) != 1 or fields[0].name.value not in functions:
            return None
        [node] = fields
        name, field = node.name.value, root_type.fields[node.name.value]
        if name in self.planners:
            run = self.planners[name].plan(self, node, field.type, fragments)
            key = node.alias.value if node.alias else name
            return CompiledQuery(run, self._arguments(root_type, node, field, operation), key)
        step = self._step(node, field.type, None, fragments)
        if operation.operation is OperationType.QUERY:
            return None if node.arguments or operation.variable_definitions else Compiled(functions[name], (step,))
        return CompiledMutation(_mutation_function(self._strawberry_field(root_type, name)),
                                self._arguments(root_type, node, field, operation), step)

    def _strawberry_field(self, root_type: GraphQLObjectType, name: str):
        names = self.schema.config.name_converter
        [field] = [f for f in self.schema.get_type_by_name(root_type.name).fields if names.get_graphql_name(f) == name]
        return field

    def _arguments(self, root_type: GraphQLObjectType, node: FieldNode, field: GraphQLField,
                   operation: OperationDefinitionNode) -> Arguments:
        names = self.schema.config.name_converter
        conversions = tuple((names.from_argument(argument), argument.python_name, self._converter(argument.type))
                            for argument in self._strawberry_field(root_type, node.name.value).arguments)
        return Arguments(node, field, conversions, tuple(operation.variable_definitions or ()), self)

    def _converter(self, type_) -> Callable[[object], object]:
        """What strawberry's convert_argument makes of a coerced input value of `type_`, decided once: input
        objects, lists, optionals, scalars and enums. Anything else (Maybe, GlobalID, an input type with its
        own from_input) is left to the executor."""
        if isinstance(type_, StrawberryMaybe) or type_ is GlobalID:
            raise NotCompiled
        if isinstance(type_, LazyType):
            return self._converter(type_.resolve_type())
        if isinstance(type_, StrawberryOptional):
            return self._converter(type_.of_type)
        if _is_leaf_type(type_, self.schema.schema_converter.scalar_registry) or has_enum_definition(type_):
            return _as_is
        if isinstance(type_, StrawberryList):
            item = self._converter(type_.of_type)
            if item is _as_is:  # copied: graphql-core shares a default value between requests
                return lambda value: value if value is None or value is UNSET else list(value)
            return lambda value: value if value is None or value is UNSET else [item(x) for x in value]
        if not has_object_definition(type_) or type_.__strawberry_definition__.from_input is not None:
            raise NotCompiled
        definition = type_.__strawberry_definition__
        # Unset nullable input fields without a default are None, as strawberry makes them.
        defaults = {field.python_name: None for field in definition.fields
                    if definition.is_input and field.default_value is MISSING and field.default_factory is MISSING}
        fields = [(self.schema.config.name_converter.from_field(field), field.python_name,
                   self._converter(field.resolve_type(type_definition=definition))) for field in definition.fields]

        def convert(value):
            if value is None or value is UNSET:
                return value
            kwargs = dict(defaults)
            for name, python_name, convert_field in fields:
                if name in value:
                    kwargs[python_name] = convert_field(value[name])
            return type_(**kwargs)
        return convert

    def fields(self, selection_set: SelectionSetNode, fragments: dict, object_type: GraphQLObjectType):
        """The fields selected on `object_type`, through the fragments whose type condition it meets."""
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
            if condition is None or self._meets(object_type, condition.name.value):
                yield from self.fields(inner, fragments, object_type)

    def _meets(self, object_type: GraphQLObjectType, condition: str) -> bool:
        if condition == object_type.name:
            return True
        condition_type = self.schema._schema.get_type(condition)
        return is_abstract_type(condition_type) and self.schema._schema.is_sub_type(condition_type, object_type)

    def _plan(self, object_type: GraphQLObjectType, selection_set: SelectionSetNode,
              fragments: dict) -> tuple[Step, ...]:
        definition = self.schema.get_type_by_name(object_type.name)
        by_name = {self.schema.config.name_converter.get_graphql_name(f): f for f in definition.fields}
        steps, keys = [], set()
        for node in self.fields(selection_set, fragments, object_type):
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
        if is_abstract_type(graphql_type) and node.selection_set:
            plans = {object_type.name: self._plan(object_type, node.selection_set, fragments)
                     for object_type in self.schema._schema.get_possible_types(graphql_type)}
            return Step(key, read, nullable, is_list, items_nullable, None, plans=plans)
        raise NotCompiled


@dataclass(frozen=True)
class ContextOnly:
    """The `info` a compiled mutation's resolver gets: its context, which is all the resolvers read of it."""

    context: object


def _mutation_function(field) -> Callable[..., Awaitable[object]]:
    """The mutation field's own resolver, as (context, **arguments) → its payload."""
    resolver = field.base_resolver
    if resolver is None or not resolver.is_async or resolver.info_parameter is None:
        raise NotCompiled
    function, info, own = resolver.wrapped_func, resolver.info_parameter.name, resolver.self_parameter is not None
    return lambda context, **arguments: function(*((None,) if own else ()), **{info: ContextOnly(context)},
                                                 **arguments)


def _as_is(value: object) -> object:
    return value


def _reader(field) -> Callable[[object], object]:
    resolver = field.base_resolver
    if resolver is None:
        name = field.python_name
        return lambda parent: getattr(parent, name)
    if resolver.is_async or len(resolver.arguments) or resolver.info_parameter:
        raise NotCompiled
    function = resolver.wrapped_func
    return lambda parent: function(parent)
