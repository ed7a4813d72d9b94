"""Typed errors of mutation payloads, generated from the domain's error classes.

Every domain error class that sets its own `code` becomes one GraphQL type of the same name implementing
`Error`, and its code one value of the `ErrorCode` enum. A mutation's payload union is its success type plus
exactly the errors its resolver declares with `@raises`; nothing here is a hand-kept table.
"""

import dataclasses
import enum
import importlib
import pkgutil
from typing import Annotated, Union

import strawberry

import acikkapi.permissions
import acikkapi.services
from acikkapi.services.errors import DomainError, condition_of

# Every module that may define an error class, imported so that the enum below is complete.
for _package in (acikkapi.services, acikkapi.permissions):
    for _module in pkgutil.iter_modules(_package.__path__):
        importlib.import_module(f"{_package.__name__}.{_module.name}")


def _conditions(base: type[DomainError] = DomainError) -> list[type[DomainError]]:
    found = [base] if "code" in vars(base) and base is not DomainError else []
    for subclass in base.__subclasses__():
        found.extend(_conditions(subclass))
    return found


CONDITIONS = sorted(set(_conditions()), key=lambda klass: klass.__name__)
ErrorCode = strawberry.enum(
    enum.Enum("ErrorCode", {klass.code: klass.code for klass in sorted(CONDITIONS, key=lambda k: k.code)}),
    description="Stable codes of expected failures: branch on these, never on the message.")


@strawberry.interface(description="An expected failure: branch on `code`, show `message`.")
class Error:
    code: ErrorCode
    message: str
    field: str | None = strawberry.field(default=None, description="The input the error is about, if one.")


def _graphql_type(condition: type[DomainError]) -> type:
    description = (condition.__doc__ or condition.message).strip()
    return strawberry.type(type(condition.__name__, (Error,), {}), description=description)


ERROR_TYPES: dict[type[DomainError], type] = {condition: _graphql_type(condition) for condition in CONDITIONS}


def error_type(condition: type[DomainError], graphql_type: type) -> type:
    """Give `condition` a GraphQL type that says more than `Error` (a rejected file's problems): a subclass of
    `Error` named as the condition, whose other fields `as_payload` fills from the error's attributes."""
    assert graphql_type.__name__ == condition.__name__, graphql_type
    ERROR_TYPES[condition] = graphql_type
    return graphql_type


_ERROR_FIELDS = {"code", "message", "field"}
PAYLOADS: dict[str, tuple[type, object]] = {}  # union name → (success type, resolver): for the schema test


def payload_union(name: str, success: type, resolver) -> object:
    """`success | <each error the resolver declares>`, as a named GraphQL union."""
    PAYLOADS[name] = (success, resolver)
    errors = dict.fromkeys(ERROR_TYPES[condition_of(error)] for error in resolver.raises)
    return Annotated[Union[(success, *errors)], strawberry.union(name)]


def as_payload(error: DomainError, resolver) -> Error:
    """The union member for an expected error of `resolver`. An undeclared one is a bug: re-raised, it is
    logged and masked as an internal error."""
    condition = condition_of(type(error))
    if condition not in {condition_of(declared) for declared in resolver.raises}:
        raise error
    graphql_type = ERROR_TYPES[condition]
    more = {f.name: getattr(error, f.name) for f in dataclasses.fields(graphql_type) if f.name not in _ERROR_FIELDS}
    return graphql_type(code=ErrorCode[error.code], message=error.message, field=error.field, **more)
