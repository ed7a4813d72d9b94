"""Query depth, counted over every field (introspection included) with fragments expanded."""

from graphql import (
    FieldNode, FragmentDefinitionNode, FragmentSpreadNode, GraphQLError, InlineFragmentNode,
    OperationDefinitionNode, SelectionSetNode, ValidationRule,
)


def depth_rule(max_depth: int) -> type[ValidationRule]:
    class MaxDepth(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_) -> None:
            fragments = {d.name.value: d for d in self.context.document.definitions
                         if isinstance(d, FragmentDefinitionNode)}
            if _depth(node.selection_set, fragments, 0, max_depth, frozenset()) > max_depth:
                self.report_error(GraphQLError(
                    f"Sorgu derinliği {max_depth} sınırını aşıyor.", node, extensions={"code": "QUERY_TOO_DEEP"}))

    return MaxDepth


def _depth(selection_set: SelectionSetNode | None, fragments: dict, depth: int, limit: int,
           visiting: frozenset[str]) -> int:
    if selection_set is None or depth > limit:
        return depth
    deepest = depth
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            found = _depth(selection.selection_set, fragments, depth + 1, limit, visiting)
        elif isinstance(selection, InlineFragmentNode):
            found = _depth(selection.selection_set, fragments, depth, limit, visiting)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in visiting:
            fragment = fragments.get(selection.name.value)
            found = _depth(fragment.selection_set if fragment else None, fragments, depth, limit,
                           visiting | {selection.name.value})
        else:
            continue
        deepest = max(deepest, found)
    return deepest
