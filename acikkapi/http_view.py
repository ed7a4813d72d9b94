"""The GraphQL-over-HTTP endpoint: strawberry's ASGI view with the specification's negotiation and status
codes, bounded request bodies, streaming upload limits and a CSRF guard for multipart requests."""

import asyncio
import logging
import re
import uuid
from collections.abc import AsyncIterator
from urllib.parse import unquote

import orjson
from cross_web import FormData, HTTPException, StarletteRequestAdapter
from graphql import ExecutionResult, GraphQLError
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import process_result
from strawberry.http.parse_content_type import parse_content_type

from acikkapi import reference_answers
from acikkapi.addresses import counted_address
from acikkapi.permissions.actor import Actor
from acikkapi.permissions.admin import is_national_admin
from acikkapi.permissions.applications import may_upload
from acikkapi.schema import INTERNAL_MESSAGE, MAX_CACHED_DOCUMENT, mask_error, request_error
from acikkapi.schema.compiled import MutationFailed, NotCompiled
from acikkapi.context import Context, Services
from acikkapi.services.attachments import FileTooLarge, TooManyFiles, display_name
from acikkapi.db import hide_values, is_unavailable
from acikkapi.services.errors import (
    DatabaseUnavailable, DomainError, InvalidClientAddress, UploadNotAllowed, UploadsBusy,
)
from acikkapi.services.sessions import find_session
from acikkapi.settings import Settings

log = hide_values(logging.getLogger(__name__))

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
# Headers a browser cannot send cross-site without a CORS preflight (GraphQL multipart request spec).
PREFLIGHT_HEADERS = ("graphql-preflight", "apollo-require-preflight", "x-apollo-operation-name")

HTTP_MESSAGES = {
    400: ("BAD_REQUEST", "İstek okunamadı veya geçerli bir GraphQL isteği değil."),
    404: ("NOT_FOUND", "GraphiQL bu sunucuda açık değildir; sorgular POST ile gönderilebilir."),
    405: ("METHOD_NOT_ALLOWED", "Bu istek yöntemi desteklenmiyor; değişiklikler yalnızca POST ile yapılabilir."),
    406: ("NOT_ACCEPTABLE", "Yanıt yalnızca application/graphql-response+json veya application/json olabilir."),
    413: ("PAYLOAD_TOO_LARGE", "İstek boyutu izin verilen sınırı aşıyor."),
    415: ("UNSUPPORTED_MEDIA_TYPE", "İçerik türü application/json veya multipart/form-data olmalıdır."),
}


class Refused(HTTPException):
    """An HTTP-level refusal explained by a domain error (its code and Turkish message reach the client)."""

    def __init__(self, status_code: int, error: DomainError, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code, error.code)
        self.error = error
        self.headers = headers or {}


def client_address(host: str | None) -> str | None:
    """The client's address as the rate limits count it (`addresses.counted_address`); a forwarded address that
    is not an IP address is refused."""
    if host is None:
        return None
    address = counted_address(host)
    if address is None:
        raise Refused(400, InvalidClientAddress())
    return address


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header, or None when none can be served. Clients that name no
    GraphQL media type (no Accept, */*) get application/json, as the GraphQL-over-HTTP spec recommends."""
    if not accept or not accept.strip():
        return JSON
    ranges = []
    for order, part in enumerate(accept.split(",")):
        media, *params = [piece.strip() for piece in part.split(";")]
        quality = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        ranges.append((-quality, order, media.lower()))
    for negative_quality, _, media in sorted(ranges):
        if negative_quality >= 0:
            break
        if media in (GRAPHQL_RESPONSE, "application/*"):
            return GRAPHQL_RESPONSE
        if media in (JSON, "*/*"):
            return JSON
    return None


DRAIN_BYTES = 1024 * 1024
# RFC 5987 / 6266: filename*=UTF-8'<language>'<percent-encoded name>
EXTENDED_FILE_NAME = re.compile(rb";\s*filename\*\s*=\s*utf-8'[^']*'([^;\s]+)", re.IGNORECASE)
PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


def _percent_decoded(name: str) -> str | None:
    """A percent-encoded UTF-8 name decoded; None when it is not one."""
    try:
        return unquote(name, errors="strict")
    except UnicodeDecodeError:
        return None


def client_file_name(disposition: bytes, plain: str | None) -> str | None:
    """The file name a client meant: `filename*` (RFC 5987) wins over `filename`, and a percent-encoded
    `filename` (as RFC 7578 allows) is decoded."""
    extended = EXTENDED_FILE_NAME.search(disposition)
    if extended:
        try:
            decoded = _percent_decoded(extended.group(1).decode("ascii"))
        except UnicodeDecodeError:
            decoded = None
        if decoded is not None:
            return decoded
    if plain and PERCENT_ESCAPE.search(plain):
        return _percent_decoded(plain) or plain
    return plain


class _TrackedReceive:
    """The ASGI receive channel, remembering whether the request body has ended."""

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self.ended = False

    async def __call__(self) -> dict:
        message = await self.receive()
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            self.ended = True
        return message

    async def drain(self, budget: int) -> bool:
        """Discard the rest of the body if it is at most `budget` bytes; False if it is longer."""
        while not self.ended:
            budget -= len((await self()).get("body", b""))
            if budget < 0:
                return False
        return True


class _LimitedMultiPartParser(MultiPartParser):
    """Refuses a file part as soon as it passes the per-file limit, before the rest is read, and a file
    past the per-request count; decodes the file names clients percent-encode."""

    def __init__(self, *args, max_file_size: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_file_size = max_file_size
        self._file_size = 0

    def on_part_begin(self) -> None:
        super().on_part_begin()
        self._file_size = 0

    def on_headers_finished(self) -> None:
        disposition = self._current_part.content_disposition or b""
        if EXTENDED_FILE_NAME.search(disposition):  # a file part even without a plain `filename`
            self._current_part.content_disposition = disposition + b'; filename=""'
        try:
            super().on_headers_finished()
        except MultiPartException:
            if self._current_files > self.max_files:
                raise Refused(400, TooManyFiles(f"En fazla {self.max_files} dosya eklenebilir.",
                                                field="files")) from None
            raise
        file = self._current_part.file
        if file is not None:
            file.filename = client_file_name(disposition, file.filename)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        file = self._current_part.file
        if file is not None:
            self._file_size += end - start
            if self._file_size > self.max_file_size:
                raise Refused(413, FileTooLarge.naming(display_name(file.filename), self.max_file_size))
        super().on_part_data(data, start, end)


def max_file_bytes(actor: Actor, settings: Settings) -> int:
    """The largest file part a multipart request of `actor` may carry: the ministry's user admins send the
    DETSİS file (importDetsisUnits checks its own limit), everyone else attachments."""
    if is_national_admin(actor):
        return max(settings.max_file_bytes, settings.detsis_max_file_bytes)
    return settings.max_file_bytes


class GraphQLView(GraphQL):
    def __init__(self, schema, services: Services) -> None:
        super().__init__(schema, graphql_ide="graphiql" if services.settings.graphiql else None,
                         multipart_uploads_enabled=True, allow_queries_via_get=True)
        self.services = services
        settings = services.settings
        self.uploads = asyncio.Semaphore(settings.max_concurrent_uploads)
        view = self

        class Adapter(StarletteRequestAdapter):
            """Reads bodies with a cap, counted while streaming."""

            async def _stream(self, limit: int) -> AsyncIterator[bytes]:
                declared = self._request.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise HTTPException(413, "too large")
                received = 0
                async for chunk in self._request.stream():
                    received += len(chunk)
                    if received > limit:
                        raise HTTPException(413, "too large")
                    yield chunk

            async def get_body(self) -> bytes:
                return b"".join([chunk async for chunk in self._stream(settings.max_body_bytes)])

            async def get_form_data(self) -> FormData:
                # Decided before a byte of the body is read: who may upload, and whether there is room.
                actor = self._request.state.actor
                if not may_upload(actor):
                    raise Refused(403, UploadNotAllowed())
                if view.uploads.locked():
                    raise Refused(503, UploadsBusy(),
                                  headers={"Retry-After": str(settings.upload_retry_after_seconds)})
                await view.uploads.acquire()
                self._request.state.upload_slot = True
                parser = _LimitedMultiPartParser(
                    self._request.headers, self._stream(settings.max_upload_bytes),
                    max_files=settings.max_files_per_request, max_fields=10,
                    max_part_size=settings.max_body_bytes, max_file_size=max_file_bytes(actor, settings))
                try:
                    form = await parser.parse()
                except MultiPartException as error:
                    raise HTTPException(400, str(error)) from error
                self._request.state.form = form
                return FormData(files=form, form=form)

        self.request_adapter_class = Adapter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # WebSocket is ws_view.py's
            await send({"type": "websocket.close", "code": 4404})
            return
        receive = _TrackedReceive(receive)
        request = Request(scope, receive)
        try:
            response = await reference_answers.serve(request, self.services, self.execute)
        except HTTPException as error:
            response = self.error_response(request, error)
            # Read a little of what is left so an ordinary client gets its answer; a huge body is cut off.
            if not receive.ended and not await receive.drain(DRAIN_BYTES):
                response.headers["Connection"] = "close"
        except Exception as error:  # e.g. the database is unreachable while reading the session
            response = self.failure_response(error)
        finally:
            form = getattr(request.state, "form", None)
            if form is not None:
                await form.close()
            if getattr(request.state, "upload_slot", False):
                self.uploads.release()
        response.headers.setdefault("Cache-Control", "no-store")  # answers carry personal data (shared ones say public)
        await response(scope, receive, send)

    async def execute(self, request: Request) -> Response:
        return await self.run_compiled(request) or await self.run(request)

    async def run_compiled(self, request: Request) -> Response | None:
        """The compiled path (acikkapi/schema/compiled.py), for a JSON POST of one planned document. None
        leaves the request to the executor (the body stays readable for it)."""
        if request.method != "POST" or (media := negotiate(request.headers.get("accept"))) is None:
            return None
        plain = await reference_answers.plain_request(request, self.services.settings.max_body_bytes)
        if plain is None or len(plain.query) > MAX_CACHED_DOCUMENT:
            return None
        compiled = self.schema.compiler.compile(plain.query, plain.operation_name)
        if compiled is None:
            return None
        try:
            # One pooled connection for the bearer session and the operation, released before the answer is sent.
            async with self.services.reads.connect() as connection:
                result = await compiled.execute(await self.get_context(request, None, connection), plain.variables)
        except (DomainError, NotCompiled):  # the executor gives the error answer
            return None
        except MutationFailed as failed:  # it ran: answered here, as the executor would have
            error = mask_error(GraphQLError(str(failed.error), nodes=[failed.node], path=[failed.key],
                                            original_error=failed.error))
            return Response(orjson.dumps({"data": None, "errors": [error.formatted]}), media_type=media)
        except Exception as error:  # e.g. the database is down: the executor answers (and reports) it as usual
            log.warning("compiled path gave way to the executor: %s", type(error).__name__)
            return None
        return Response(orjson.dumps({"data": result}), media_type=media)

    @staticmethod
    def failure_response(error: Exception) -> Response:
        """A failure outside GraphQL execution: 503 when the database is unavailable (a bad day, said plainly),
        otherwise a masked 500 whose correlation id points at the logged trace."""
        if is_unavailable(error):
            log.warning("database unavailable: %s", type(error).__name__)
            status, extensions, message = 503, {"code": DatabaseUnavailable.code}, DatabaseUnavailable.message
        else:
            correlation_id = uuid.uuid4().hex[:12]
            log.error("request failed %s", correlation_id, exc_info=error)
            status, message = 500, INTERNAL_MESSAGE
            extensions = {"code": "INTERNAL_ERROR", "correlationId": correlation_id}
        body = {"errors": [{"message": message, "extensions": extensions}]}
        return Response(orjson.dumps(body), status_code=status, media_type=JSON,
                        headers={"Retry-After": "5"} if status == 503 else None)

    def error_response(self, request: Request, error: HTTPException) -> Response:
        status = error.status_code
        reason = error.reason or ""
        if status == 400 and "GET" in reason.upper() and "mutation" in reason.lower():
            status = 405
        code, message = HTTP_MESSAGES.get(status, HTTP_MESSAGES[400])
        extensions = {"code": code, "detail": reason[:200]}
        headers = {"Allow": "GET, POST"} if status == 405 else {}
        if isinstance(error, Refused):
            message, extensions = error.error.message, {"code": error.error.code}
            headers.update(error.headers)
        media = negotiate(request.headers.get("accept")) or JSON
        body = {"errors": [{"message": message, "extensions": extensions}]}
        return Response(orjson.dumps(body), status_code=status, media_type=media, headers=headers)

    async def get_sub_response(self, request: Request) -> Response:
        sub_response = await super().get_sub_response(request)
        media = negotiate(request.headers.get("accept"))
        if media is None and not self.should_render_graphql_ide(self.request_adapter_class(request)):
            raise HTTPException(406, "not acceptable")
        sub_response.media_type = media or JSON
        return sub_response

    async def get_context(self, request: Request, response: Response, held: AsyncConnection | None = None) -> Context:
        context = Context(request=request, services=self.services,
                          client_ip=client_address(request.client.host if request.client else None), held=held)
        authorization = request.headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and 10 < len(token.strip()) < 200:
            async with context.connection() as connection:
                auth = await find_session(connection, self.services.settings, token=token.strip())
            context.actor = Actor.of(auth)
        request.state.actor = context.actor
        return context

    async def parse_http_body(self, request: StarletteRequestAdapter):
        content_type, _ = parse_content_type(request.content_type or "")
        if request.method == "POST":
            if content_type == "multipart/form-data":
                if not any(request.headers.get(name) for name in PREFLIGHT_HEADERS):
                    raise HTTPException(400, "multipart requests need a GraphQL-Preflight header (CSRF guard)")
            elif content_type != JSON:
                raise HTTPException(415, "unsupported content type")
        try:
            data = await super().parse_http_body(request)
        except (AttributeError, TypeError) as error:  # JSON that is not a GraphQL request object
            raise HTTPException(400, "the body is not a GraphQL request") from error
        for item in data if isinstance(data, list) else [data]:
            if not isinstance(item.operation_name, (str, type(None))):
                raise HTTPException(400, "operationName must be a string")
        return data

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def process_result(self, request: Request, result: ExecutionResult):
        if result.errors:  # a document that did not parse skips the schema's error handling
            result.errors = [request_error(error) if error.path is None else error for error in result.errors]
        processed = process_result(result)
        # A request that never executed (syntax or validation error) has no `data` entry at all.
        if result.data is None and result.errors and all(error.path is None for error in result.errors):
            processed.pop("data", None)
        return processed

    def create_response(self, response_data, sub_response: Response) -> Response:
        status = sub_response.status_code or 200
        media = sub_response.media_type
        if media == GRAPHQL_RESPONSE and isinstance(response_data, dict) and "data" not in response_data:
            status = 400
        response = Response(self.encode_json(response_data), status_code=status, media_type=media)
        response.headers.raw.extend(sub_response.headers.raw)
        return response
