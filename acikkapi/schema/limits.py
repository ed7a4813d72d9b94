"""Query depth, counted over every field (introspection included) with fragments expanded; aliases;
introspection where it is not allowed; subscriptions over HTTP."""

from graphql import (
    DocumentNode, FieldNode, FragmentDefinitionNode, FragmentSpreadNode, GraphQLError, InlineFragmentNode,
    OperationDefinitionNode, OperationType, SelectionSetNode, ValidationRule, get_introspection_query, parse,
)
from strawberry.extensions.max_aliases import count_fields_with_alias

from acikkapi.services.errors import DomainError, IntrospectionNotAllowed, TooManyAliases
from acikkapi.services.realtime import SubscriptionOverHttp

INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})


def _report(rule: ValidationRule, error: DomainError, node=None) -> None:
    rule.report_error(GraphQLError(error.message, node, extensions={"code": error.code}))


def depth_rule(max_depth: int) -> type[ValidationRule]:
    """Ordinary fields nest at most `max_depth` deep; an introspection field (`__schema`, `__type`) counts as
    one, and below it the standard introspection query's own depth is the limit."""

    class MaxDepth(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_) -> None:
            fragments = _fragments(self.context.document)
            introspection: dict[int, FieldNode] = {}
            limit = max_depth
            depth = _depth(node.selection_set, fragments, 0, limit, frozenset(), introspection)
            if depth <= limit and introspection:
                limit = INTROSPECTION_DEPTH
                depth = max(_depth(field.selection_set, fragments, 1, limit, frozenset(), None)
                            for field in introspection.values())
            if depth > limit:
                self.report_error(GraphQLError(
                    f"Sorgu derinliği {limit} sınırını aşıyor.", node, extensions={"code": "QUERY_TOO_DEEP"}))

    return MaxDepth


def aliases_rule(max_aliases: int) -> type[ValidationRule]:
    class MaxAliases(ValidationRule):
        def enter_document(self, node: DocumentNode, *_) -> None:
            fragments = _fragments(node)
            total = sum(count_fields_with_alias(definition, fragments) for definition in node.definitions
                        if isinstance(definition, OperationDefinitionNode))
            if total > max_aliases:
                _report(self, TooManyAliases(
                    f"Sorguda en fazla {max_aliases} takma ad (alias) kullanılabilir; bu sorguda {total} var."))

    return MaxAliases


class NoIntrospection(ValidationRule):
    def enter_field(self, node: FieldNode, *_) -> None:
        if node.name.value in INTROSPECTION_ROOTS:
            _report(self, IntrospectionNotAllowed(), node)


class NoSubscriptionOverHttp(ValidationRule):
    """Subscriptions are served over WebSocket (ws_view.py); over HTTP one is a request error, before it runs."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_) -> None:
        if node.operation is OperationType.SUBSCRIPTION:
            _report(self, SubscriptionOverHttp(), node)


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _depth(selection_set: SelectionSetNode | None, fragments: dict, depth: int, limit: int,
           visiting: frozenset[str], introspection: dict[int, FieldNode] | None) -> int:
    """The depth below `selection_set`; introspection fields are collected into `introspection` (when given)
    instead of being descended into."""
    if selection_set is None or depth > limit:
        return depth
    deepest = depth
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if introspection is not None and selection.name.value in INTROSPECTION_ROOTS:
                introspection[id(selection)] = selection
                found = depth + 1
            else:
                found = _depth(selection.selection_set, fragments, depth + 1, limit, visiting, introspection)
        elif isinstance(selection, InlineFragmentNode):
            found = _depth(selection.selection_set, fragments, depth, limit, visiting, introspection)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in visiting:
            fragment = fragments.get(selection.name.value)
            found = _depth(fragment.selection_set if fragment else None, fragments, depth, limit,
                           visiting | {selection.name.value}, introspection)
        else:
            continue
        deepest = max(deepest, found)
    return deepest


def _standard_introspection_depth() -> int:
    """How deep the standard introspection query (every option on) nests, as GraphiQL and other tools send it."""
    document = parse(get_introspection_query(
        descriptions=True, specified_by_url=True, directive_is_repeatable=True, schema_description=True,
        input_value_deprecation=True, one_of=True))
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return _depth(operation.selection_set, _fragments(document), 0, 1000, frozenset(), None)


INTROSPECTION_DEPTH = _standard_introspection_depth()
