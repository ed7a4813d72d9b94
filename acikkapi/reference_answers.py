"""Whole answers to anonymous requests for reference data alone, shared between clients.

An anonymous GET or POST whose operations select only provinces, districts, places and serviceCategories
(and __typename) gets the same bytes whoever sends it. The first one runs as usual; its answer, when it has no
errors, is kept (keyed by the document, its variables, the operation name and the Accept header) for as long
as the reference data does not change (acikkapi/services/reference_cache.py), and the next ones get it without
executing. These answers, and only these, are public: HTTP caches may keep them `reference_max_age_seconds`
and revalidate them by their ETag, a hash of the representation.
"""

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import orjson
from graphql import (
    FieldNode, FragmentDefinitionNode, FragmentSpreadNode, GraphQLError, InlineFragmentNode,
    OperationDefinitionNode, OperationType, SelectionSetNode, parse,
)
from starlette.requests import Request
from starlette.responses import Response

from acikkapi.addresses import counted_address
from acikkapi.context import Services

REFERENCE_FIELDS = frozenset({"provinces", "districts", "places", "serviceCategories"})
ROOT_FIELDS = REFERENCE_FIELDS | {"__typename"}
REQUEST_KEYS = frozenset({"query", "variables", "operationName"})
MAX_DOCUMENT_CHARS = 4096  # reference documents are short: longer ones are not looked at
MAX_BODY_BYTES = 16384
MAX_ANSWERS = 512  # the oldest goes first; a places answer is a few kB, the category tree 20 kB
ANSWERS = "answers"  # their place among the reference cache's values: dropped with them when the data changes


@dataclass(frozen=True, slots=True)
class Answer:
    body: bytes
    media_type: str
    etag: str


async def serve(request: Request, services: Services, run: Callable[[Request], Awaitable[Response]]) -> Response:
    """The shared answer to `request` when there is one, otherwise `run(request)` (kept when it may be shared)."""
    key = await _key(request, services.settings.max_tokens)
    if key is None:
        return await run(request)
    settings = services.settings
    try:
        values = await services.reference.current()
    except Exception:  # the database cannot tell whether the data changed: run it, and fail there as usual
        return await run(request)
    answers = values.setdefault(ANSWERS, {})
    answer = answers.get(key)
    if answer is None:
        response = await run(request)
        answer = _shareable(response)
        if answer is None:
            return response
        if len(answers) >= MAX_ANSWERS:
            del answers[next(iter(answers))]  # the oldest
        answers[key] = answer
    headers = {"ETag": answer.etag, "Cache-Control": f"public, max-age={settings.reference_max_age_seconds}",
               "Vary": "Accept"}
    # Only a GET is revalidated: to a POST whose condition fails, RFC 9110 would answer 412, of no use here.
    if request.method == "GET" and _matches(request.headers.get("if-none-match"), answer.etag):
        return Response(status_code=304, headers=headers)
    return Response(answer.body, media_type=answer.media_type, headers=headers)


class PlainRequest(NamedTuple):
    query: str
    variables: dict | None
    operation_name: str | None


async def plain_request(request: Request, max_body_bytes: int) -> PlainRequest | None:
    """The one GraphQL request of a GET, or of a JSON POST with a declared length up to `max_body_bytes`, for
    the paths that answer before the executor. None for anything else (batches, multipart, chunked or
    malformed bodies): the executor handles it, and the body stays readable for it."""
    if request.method == "GET":
        params = request.query_params
        if len(params.multi_items()) != len(params) or not params.keys() <= REQUEST_KEYS:
            return None
        query, operation = params.get("query"), params.get("operationName")
        try:
            variables = orjson.loads(params["variables"]) if "variables" in params else None
        except orjson.JSONDecodeError:
            return None
    elif request.method == "POST":
        declared = request.headers.get("content-length", "")
        # Only the plain media type is taken here (its parameters, such as the charset, aside); any other
        # spelling is the executor's to judge.
        media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if media_type != "application/json" or not declared.isdigit() or int(declared) > max_body_bytes:
            return None
        try:
            data = orjson.loads(await request.body())  # bounded: the server holds it to its content-length
        except orjson.JSONDecodeError:
            return None
        if not isinstance(data, dict) or not data.keys() <= REQUEST_KEYS:
            return None
        query, variables, operation = data.get("query"), data.get("variables"), data.get("operationName")
    else:
        return None
    if not (isinstance(query, str) and isinstance(variables, (dict, type(None)))
            and isinstance(operation, (str, type(None)))):
        return None
    return PlainRequest(query, variables, operation)


async def _key(request: Request, max_tokens: int) -> tuple | None:
    """What the answer depends on, for an anonymous request for reference data alone; otherwise None."""
    if "authorization" in request.headers or not _plain_address(request):
        return None
    plain = await plain_request(request, MAX_BODY_BYTES)
    if plain is None or not _reference_only(plain.query, max_tokens):
        return None
    variables = None if plain.variables is None else orjson.dumps(plain.variables, option=orjson.OPT_SORT_KEYS)
    return plain.query, variables, plain.operation_name, request.headers.get("accept")


def _plain_address(request: Request) -> bool:
    """Whether the client's address is one the endpoint accepts (it refuses the others, cached or not)."""
    return request.client is None or counted_address(request.client.host) is not None


@lru_cache(maxsize=1024)
def _reference_only(document: str, max_tokens: int) -> bool:
    """Whether every operation of `document` is a query of reference fields alone (at least one)."""
    if len(document) > MAX_DOCUMENT_CHARS or not any(name in document for name in REFERENCE_FIELDS):
        return False
    try:
        parsed = parse(document, max_tokens=max_tokens)
    except GraphQLError:
        return False
    fragments = {d.name.value: d for d in parsed.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    names: set[str] = set()
    for operation in operations:
        if operation.operation is not OperationType.QUERY \
                or not _root_fields(operation.selection_set, fragments, names, frozenset()):
            return False
    return bool(operations) and names <= ROOT_FIELDS and bool(names & REFERENCE_FIELDS)


def _root_fields(selection_set: SelectionSetNode, fragments: dict, names: set[str], visiting: frozenset) -> bool:
    """Adds the names of the fields selected at this level, through fragments; False for an unknown fragment."""
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            names.add(selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            if not _root_fields(selection.selection_set, fragments, names, visiting):
                return False
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in visiting or name not in fragments \
                    or not _root_fields(fragments[name].selection_set, fragments, names, visiting | {name}):
                return False
    return True


def _shareable(response: Response) -> Answer | None:
    """The answer to keep: a plain 200 without errors."""
    body = getattr(response, "body", None)
    if response.status_code != 200 or not body or set(response.headers.keys()) != {"content-length", "content-type"}:
        return None
    if "errors" in orjson.loads(body):
        return None
    media_type = response.media_type
    etag = hashlib.blake2b(media_type.encode() + b"\n" + body, digest_size=16).hexdigest()
    return Answer(body=body, media_type=media_type, etag=f'"{etag}"')


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags
