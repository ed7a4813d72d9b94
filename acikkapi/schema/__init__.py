"""The one GraphQL schema: reference data, sign-in, applications."""

import logging
import uuid

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules, MaskErrors, MaxTokensLimiter, ParserCache, ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from acikkapi.schema.applications import ApplicationMutation, ApplicationQuery
from acikkapi.schema.limits import depth_rule
from acikkapi.schema.reference import ReferenceQuery
from acikkapi.schema.signin import SigninMutation, SigninQuery
from acikkapi.services.errors import DomainError
from acikkapi.settings import Settings

log = logging.getLogger("acikkapi.errors")
INTERNAL_MESSAGE = "Beklenmeyen bir hata oluştu. Lütfen daha sonra tekrar deneyiniz."

Query = merge_types("Query", (ReferenceQuery, SigninQuery, ApplicationQuery))
Mutation = merge_types("Mutation", (SigninMutation, ApplicationMutation))


class DomainErrorsAndMasking(MaskErrors):
    """Expected errors keep their Turkish message and gain `extensions.code`; GraphQL's own request errors
    pass unchanged; anything else is logged with a correlation id and reaches the client only as that id."""

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [self._process(error) for error in errors]

    def _process(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is None:
            return error
        if isinstance(original, DomainError):
            return GraphQLError(original.message, nodes=error.nodes, path=error.path,
                                extensions={"code": original.code})
        correlation_id = uuid.uuid4().hex[:12]
        log.error("unexpected error %s at %s", correlation_id, error.path, exc_info=original)
        return GraphQLError(INTERNAL_MESSAGE, nodes=error.nodes, path=error.path,
                            extensions={"code": "INTERNAL_ERROR", "correlationId": correlation_id})


class Schema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        pass  # DomainErrorsAndMasking logs what deserves it, once


def build_schema(settings: Settings) -> Schema:
    # Rule classes built once: ValidationCache keys on them, so a new class per request would never hit.
    rules = [depth_rule(settings.max_query_depth), aliases_rule(settings.max_aliases)]
    return Schema(
        query=Query,
        mutation=Mutation,
        config=StrawberryConfig(disable_field_suggestions=True,
                                batching_config={"max_operations": settings.max_batch_operations}),
        extensions=[
            lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
            lambda: AddValidationRules(rules),
            DomainErrorsAndMasking,
            lambda: ParserCache(maxsize=1024),
            lambda: ValidationCache(maxsize=1024),
        ],
    )
