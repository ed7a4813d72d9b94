"""The one GraphQL schema: reference data, sign-in, applications, units, the staff workflow."""

import logging
import uuid

import strawberry
from graphql import GraphQLError, GraphQLSyntaxError, ValueNode, VariableDefinitionNode
from strawberry.extensions import (
    AddValidationRules, MaskErrors, MaxTokensLimiter, ParserCache, SchemaExtension, ValidationCache,
)
from strawberry.file_uploads import Upload
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from acikkapi.models import Purpose
from acikkapi.schema.applications import COMPILED_MUTATIONS, COMPILED_ROOTS, ApplicationMutation, ApplicationQuery
from acikkapi.schema.category_admin import CategoryAdminMutation, CategoryAdminQuery
from acikkapi.schema.compiled import Compiler
from acikkapi.schema.detsis import DetsisMutation
from acikkapi.schema.limits import NoIntrospection, NoSubscriptionOverHttp, aliases_rule, depth_rule
from acikkapi.schema.lists import PLANNERS
from acikkapi.schema.realtime import RealtimeQuery, RealtimeSubscription
from acikkapi.schema.reference import ReferenceQuery
from acikkapi.schema.search import ExportMutation, ExportQuery, SearchQuery
from acikkapi.schema.signin import SigninMutation, SigninQuery
from acikkapi.schema.units import UnitQuery
from acikkapi.schema.users import UserMutation, UserQuery
from acikkapi.schema.workflow import COMPILED_MUTATIONS as WORKFLOW_MUTATIONS, WorkflowMutation, WorkflowQuery
from acikkapi.services.attachments import InvalidUpload
from acikkapi.db import hide_values, is_unavailable
from acikkapi.services.errors import DatabaseUnavailable, DomainError, InvalidValue
from acikkapi.settings import Settings

log = hide_values(logging.getLogger("acikkapi.errors"))
INTERNAL_MESSAGE = "Beklenmeyen bir hata oluştu. Lütfen daha sonra tekrar deneyiniz."

Query = merge_types("Query", (ReferenceQuery, SigninQuery, ApplicationQuery, UnitQuery, WorkflowQuery, SearchQuery,
                                     ExportQuery, UserQuery, CategoryAdminQuery, RealtimeQuery))
Mutation = merge_types("Mutation", (SigninMutation, ApplicationMutation, WorkflowMutation, ExportMutation,
                                    UserMutation, CategoryAdminMutation, DetsisMutation))


class DomainErrorsAndMasking(MaskErrors):
    """Expected errors keep their Turkish message and gain `extensions.code`; GraphQL's own request errors
    pass unchanged; anything else is logged with a correlation id and reaches the client only as that id."""

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [mask_error(error) for error in errors]


def mask_error(error: GraphQLError) -> GraphQLError:
    """An error of the answer as the client sees it (`DomainErrorsAndMasking`)."""
    original = error.original_error
    if isinstance(original, DomainError):
        return GraphQLError(original.message, nodes=error.nodes, path=error.path,
                            extensions={"code": original.code})
    if error.path is None:  # the request itself was wrong and never ran: the client's mistake
        return request_error(error)
    if original is None:
        return error
    if is_unavailable(original):  # a bad day, not a bug: said plainly, logged without a trace
        log.warning("database unavailable at %s: %s", error.path, type(original).__name__)
        return GraphQLError(DatabaseUnavailable.message, nodes=error.nodes, path=error.path,
                            extensions={"code": DatabaseUnavailable.code})
    correlation_id = uuid.uuid4().hex[:12]
    log.error("unexpected error %s at %s", correlation_id, error.path, exc_info=original)
    return GraphQLError(INTERNAL_MESSAGE, nodes=error.nodes, path=error.path,
                        extensions={"code": "INTERNAL_ERROR", "correlationId": correlation_id})


def request_error(error: GraphQLError) -> GraphQLError:
    """A syntax, validation or input-value error, given a stable code."""
    if (error.extensions or {}).get("code"):
        return error
    node = error.nodes[0] if error.nodes else None
    if isinstance(error, GraphQLSyntaxError):
        code = "GRAPHQL_PARSE_FAILED"
    elif isinstance(node, ValueNode) or (isinstance(node, VariableDefinitionNode) and error.original_error):
        return value_error(error, node)  # a literal, or a variable's value (a rule about the variable has no cause)
    else:
        code = "GRAPHQL_VALIDATION_FAILED"
    return GraphQLError(error.message, nodes=error.nodes, source=error.source, positions=error.positions,
                        extensions={"code": code})


def value_error(error: GraphQLError, node: VariableDefinitionNode | ValueNode) -> GraphQLError:
    """A variable or literal that does not fit its type: the domain error its scalar raised, or BAD_USER_INPUT,
    in Turkish; graphql-core's explanation (which names the path) goes to `detail`."""
    cause = error.original_error
    while isinstance(cause, GraphQLError) and cause.original_error is not None:
        cause = cause.original_error
    if not isinstance(cause, DomainError):
        cause = (InvalidValue(f"“${node.variable.name.value}” değişkeninin değeri geçersiz.")
                 if isinstance(node, VariableDefinitionNode) else InvalidValue())
    return GraphQLError(cause.message, nodes=error.nodes, extensions={"code": cause.code, "detail": error.message})


def checked_upload(value: object) -> object:
    """An Upload must be a file part of a multipart request, never a string or an object in JSON."""
    if not (hasattr(value, "file") and hasattr(value, "filename")):
        raise InvalidUpload()
    return value


UploadScalar = strawberry.scalar(name="Upload", description="A file part of a multipart request.",
                                 serialize=lambda value: value, parse_value=checked_upload)


def introspection_allowed(context) -> bool:
    """Schema introspection where GraphiQL is offered, and for staff (analysts work in GraphiQL)."""
    return context.settings.graphiql or context.actor.purpose is Purpose.STAFF


class IntrospectionPolicy(SchemaExtension):
    def on_operation(self):
        if not introspection_allowed(self.execution_context.context):
            rules = self.execution_context.validation_rules
            self.execution_context.validation_rules = (*rules, NoIntrospection)
        yield


class Schema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        pass  # DomainErrorsAndMasking logs what deserves it, once


# Every cached document (parsed, validated or planned) keeps its whole query text: only short ones are cached,
# so 1,024 long ones (up to the body limit each) cannot fill memory. Longer documents are parsed and validated
# anew each time.
MAX_CACHED_DOCUMENT = 8 * 1024


class ShortParserCache(ParserCache):
    def on_parse(self):
        if len(self.execution_context.query or "") <= MAX_CACHED_DOCUMENT:
            yield from super().on_parse()
        else:
            yield


class ShortValidationCache(ValidationCache):
    def on_validate(self):
        document = self.execution_context.graphql_document
        if document is not None and document.loc and len(document.loc.source.body) <= MAX_CACHED_DOCUMENT:
            yield from super().on_validate()
        else:
            yield


def build_schema(settings: Settings) -> Schema:
    # Rule classes built once: ValidationCache keys on them, so a new class per request would never hit.
    rules = [depth_rule(settings.max_query_depth), aliases_rule(settings.max_aliases)]
    schema = Schema(
        query=Query,
        mutation=Mutation,
        subscription=RealtimeSubscription,
        config=StrawberryConfig(disable_field_suggestions=True,
                                batching_config={"max_operations": settings.max_batch_operations},
                                scalar_map={Upload: UploadScalar}),
        extensions=[
            lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
            lambda: AddValidationRules([*rules, NoSubscriptionOverHttp]),
            IntrospectionPolicy,
            DomainErrorsAndMasking,
            lambda: ShortParserCache(maxsize=1024),
            lambda: ShortValidationCache(maxsize=1024),
        ],
    )
    schema.validation_rules = rules  # for the subscriptions' transport (ws_view.py)
    schema.compiler = Compiler(schema, COMPILED_ROOTS, rules, settings.max_tokens,
                               COMPILED_MUTATIONS | WORKFLOW_MUTATIONS, PLANNERS)
    return schema
