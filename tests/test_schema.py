"""The schema's shapes: each mutation's payload union lists exactly the errors its resolver declares, and the
declarations cover what the code actually raises and calls."""

import ast
import inspect
import textwrap

import pytest
from graphql import GraphQLEnumType, GraphQLUnionType

from acikkapi.schema import build_schema
from acikkapi.schema.errors import CONDITIONS, ERROR_TYPES, PAYLOADS
from acikkapi.services.errors import condition_of
from acikkapi.settings import Settings

SCHEMA = build_schema(Settings())._schema
MUTATIONS = SCHEMA.mutation_type.fields


def declared(function) -> set[type]:
    return {condition_of(error) for error in function.raises}


def raised_and_called(function) -> tuple[set[type], list]:
    """The error classes `function` raises itself, and the declared steps it calls."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    names = function.__globals__
    raised, called = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and isinstance(node.exc.func, ast.Name):
            raised.add(condition_of(names[node.exc.func.id]))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and node.func.value.id in names:
            target = getattr(names[node.func.value.id], node.func.attr, None)
            if hasattr(target, "raises"):
                called.append(target)
    return raised, called


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_a_mutation_returns_its_success_or_exactly_the_errors_its_resolver_declares(name):
    union = MUTATIONS[name].type.of_type
    assert isinstance(union, GraphQLUnionType), f"{name} returns {union}, not a payload union"
    success, resolver = PAYLOADS[union.name]
    expected = {success.__strawberry_definition__.name} | {ERROR_TYPES[c].__name__ for c in declared(resolver)}
    assert {member.name for member in union.types} == expected


@pytest.mark.parametrize("union", sorted(PAYLOADS))
def test_a_resolver_declares_what_it_raises_and_what_its_steps_declare(union):
    _, resolver = PAYLOADS[union]
    raised, called = raised_and_called(resolver)
    assert raised <= declared(resolver), f"{union}: raises {raised - declared(resolver)} undeclared"
    for step in called:
        missing = declared(step) - declared(resolver)
        assert not missing, f"{union}: {step.__module__}.{step.__name__} may raise {missing}, undeclared"
        step_raised, _ = raised_and_called(step)
        assert step_raised <= declared(step), f"{step.__name__} raises {step_raised - declared(step)} undeclared"


def test_every_condition_has_its_own_code_and_type_implementing_error():
    codes = [condition.code for condition in CONDITIONS]
    assert len(codes) == len(set(codes)), codes
    enum = SCHEMA.type_map["ErrorCode"]
    assert isinstance(enum, GraphQLEnumType) and set(enum.values) == set(codes)
    error = SCHEMA.type_map["Error"]
    for condition in CONDITIONS:
        graphql_type = SCHEMA.type_map.get(condition.__name__)
        if graphql_type is None:  # raised only by queries, where it is `extensions.code`
            continue
        assert error in graphql_type.interfaces
        assert graphql_type.description, f"{condition.__name__} has no description"


def test_enumerated_outputs_are_enums_with_a_turkish_label_beside_them():
    for type_name, field in [("CitizenApplication", "status"), ("CitizenApplication", "kind"),
                             ("CitizenApplication", "result"), ("HistoryEntry", "status"), ("Place", "kind"),
                             ("ApplicantProfile", "gender"), ("Me", "role"), ("Unit", "kind"),
                             *[("StaffApplication", field) for field in ("status", "result", "kind", "channel",
                                                                         "priorityGroup", "gender")],
                             ("Routing", "status"), ("StaffHistoryEntry", "action"), ("StaffHistoryEntry", "status"),
                             ("StaffHistoryEntry", "role"), ("WorkflowStepDone", "status"),
                             *[("ApplicationListItem", field) for field in ("status", "result", "kind", "channel",
                                                                            "priorityGroup")],
                             ("ListedRouting", "status"), ("RoutingListItem", "status"), ("StaffUser", "role"),
                             ("AuditEvent", "entity"), ("AuditEvent", "action"),
                             *[("ApplicationEventNotice", field) for field in ("status", "action", "actorRole")]]:
        fields = SCHEMA.type_map[type_name].fields
        named = fields[field].type
        while hasattr(named, "of_type"):
            named = named.of_type
        assert isinstance(named, GraphQLEnumType), (type_name, field)
        assert f"{field}Label" in fields, (type_name, field)
