"""The compiled path converts a mutation's arguments as strawberry's executor does: for every compiled mutation,
inputs with every field given, and with each optional one left out, come out equal."""

import pytest
from graphql import (
    GraphQLEnumType, GraphQLInputObjectType, GraphQLList, GraphQLNonNull, GraphQLScalarType, Undefined,
    coerce_input_value,
)
from strawberry.types.arguments import convert_argument

from tests.applications.test_compiled_reads import COMPILER

schema = COMPILER.schema

SAMPLES = {"Int": 7, "Float": 1.5, "String": "metin", "Boolean": True, "ID": "12", "Date": "2026-11-20",
           "DateTime": "2026-11-20T10:00:00+03:00"}


def sample(graphql_type, leave_out: str | None = None):
    """A JSON value of `graphql_type` with every field given, but `leave_out` where it is optional."""
    if isinstance(graphql_type, GraphQLNonNull):
        return sample(graphql_type.of_type, leave_out)
    if isinstance(graphql_type, GraphQLList):
        item = sample(graphql_type.of_type, leave_out)
        return [] if item is None else [item]  # files: only a multipart request carries them
    if isinstance(graphql_type, GraphQLEnumType):
        return list(graphql_type.values)[-1]
    if isinstance(graphql_type, GraphQLScalarType):
        return SAMPLES.get(graphql_type.name)  # Upload: none
    assert isinstance(graphql_type, GraphQLInputObjectType)
    return {name: sample(field.type, leave_out) for name, field in graphql_type.fields.items()
            if not (name == leave_out and not isinstance(field.type, GraphQLNonNull))}


def optional_fields(graphql_type) -> set[str]:
    while isinstance(graphql_type, (GraphQLNonNull, GraphQLList)):
        graphql_type = graphql_type.of_type
    if not isinstance(graphql_type, GraphQLInputObjectType):
        return set()
    names = {name for name, field in graphql_type.fields.items() if not isinstance(field.type, GraphQLNonNull)}
    return names.union(*(optional_fields(field.type) for field in graphql_type.fields.values()))


MUTATIONS = sorted(COMPILER.mutations)


@pytest.mark.parametrize("name", MUTATIONS)
def test_each_argument_converts_as_strawberry_converts_it(name):
    definition = schema.get_type_by_name("Mutation")
    [field] = [f for f in definition.fields if schema.config.name_converter.get_graphql_name(f) == name]
    graphql_field = schema._schema.mutation_type.fields[name]
    for argument in field.arguments:
        graphql_name = schema.config.name_converter.from_argument(argument)
        graphql_type = graphql_field.args[graphql_name].type
        convert = COMPILER._converter(argument.type)
        for leave_out in (None, *sorted(optional_fields(graphql_type))):
            value = coerce_input_value(sample(graphql_type, leave_out), graphql_type)
            assert value is not Undefined, (name, leave_out)
            expected = convert_argument(value, argument.type, schema.schema_converter.scalar_registry, schema.config)
            converted = convert(value)
            assert converted == expected and type(converted) is type(expected), (name, leave_out)

