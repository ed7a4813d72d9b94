"""The ASGI application: /graphql, /health, signed downloads, printable reports and exported workbooks."""

import asyncio
import gc
import logging
import uuid
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from urllib.parse import quote

from sqlalchemy import bindparam, select, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from acikkapi.db import make_engine, make_sessionmaker, resolve_database_url
from acikkapi.http_view import GraphQLView
from acikkapi.models import Application, Attachment, ExportStatus
from acikkapi.permissions.actor import Actor
from acikkapi.permissions.applications import (
    Scope, reads_personal_data, scope_of, scope_params, shows_identity, visible_applications, visible_attachments,
)
from acikkapi.schema import build_schema
from acikkapi.context import Services
from acikkapi.services import exports, kvkk, realtime, retention
from acikkapi.services.applications import load_application
from acikkapi.services.eicisleri import HttpEIcisleri
from acikkapi.services.exports import ExportRunner
from acikkapi.services.http import client_session
from acikkapi.services.identity import HttpIdentityService, IdentityService
from acikkapi.services.links import check_signed
from acikkapi.services.outbox import OUTBOX_CHANNEL, OutboxDispatcher
from acikkapi.services.pg_listener import PgListener, listener_dsn
from acikkapi.services.reference_cache import ReferenceCache
from acikkapi.services.errors import NotFound
from acikkapi.services.reports import REPORT_CSP, application_report_html, staff_report_html
from acikkapi.services.sessions import find_session
from acikkapi.services.sms import HttpSmsGateway, SmsGateway
from acikkapi.services.staff_view import staff_view
from acikkapi.services.storage import FileSystemStorage
from acikkapi.settings import Settings, get_settings
from acikkapi.ws_view import Connection, Hub

log = logging.getLogger(__name__)
NOT_FOUND = "Dosya bulunamadı veya bağlantının süresi doldu."
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PRIVATE = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer"}


# The file or report a signed link names, if its session may see it: one statement per kind of scope.
_FILES = {scope: select(Attachment).join(Application, Application.id == Attachment.application_id)
          .where(Attachment.id == bindparam("attachment_id"), visible_attachments(scope)) for scope in Scope}
STAFF_SCOPES = (Scope.PROVINCE, Scope.DISTRICT, Scope.UNITS)
REPORTED_PERSONAL_FIELDS = ("tcKimlikNo", "residenceAddress")  # what the printed report shows of them
_REPORTED = {scope: select(Application.id).where(Application.tracking_no == bindparam("tracking_no"),
                                                 visible_applications(scope)) for scope in Scope}


class ASGIEndpoint:
    """Makes Starlette route to a plain ASGI callable (the GraphQL view is built in the lifespan)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None, *, identity: IdentityService | None = None,
               sms: SmsGateway | None = None) -> Starlette:
    settings = settings or get_settings()
    if problem := settings.secret_key_problem():
        raise ValueError(problem)
    state: dict = {}

    @asynccontextmanager
    async def lifespan(app: Starlette):
        engine = make_engine(resolve_database_url(settings), settings.db_pool_size, settings)
        http = client_session(settings.http_timeout_seconds)
        sessionmaker = make_sessionmaker(engine)
        dispatcher = (OutboxDispatcher.of(settings, engine, sms or HttpSmsGateway.of(settings, http))
                      if settings.outbox_in_server else None)  # else `acikkapi outbox` sends
        services = Services(
            settings=settings, sessionmaker=sessionmaker, reads=engine.execution_options(isolation_level="AUTOCOMMIT"),
            reference=ReferenceCache(sessionmaker, settings.reference_check_seconds),
            identity=identity or HttpIdentityService.of(settings, http), eicisleri=HttpEIcisleri.of(settings, http),
            storage=FileSystemStorage(settings.attachment_dir),
            exports=ExportRunner(engine, FileSystemStorage(settings.exports_dir), settings),
            wake_outbox=dispatcher.wakeup.set if dispatcher else lambda: None)
        state["services"] = services
        schema = build_schema(settings)
        state["graphql"] = GraphQLView(schema, services)
        state["hub"] = hub = Hub(schema._schema, schema.validation_rules, services)
        # Told by the database: history rows committed (by any worker), sessions ended, SMS queued.
        channels = {realtime.EVENTS_CHANNEL: hub.events_committed, realtime.SESSIONS_CHANNEL: hub.session_ended}
        if dispatcher:
            channels[OUTBOX_CHANNEL] = lambda _: dispatcher.wakeup.set()
        listener = PgListener(listener_dsn(engine.url), channels, on_connect=hub.caught_up)
        gc.freeze()  # the schema, models and modules live as long as the process: no collection walks them
        tasks = [asyncio.create_task(retention.run_forever(sessionmaker, services.storage, settings),
                                     name="retention"),
                 asyncio.create_task(listener.run_forever(), name="listen"),
                 asyncio.create_task(hub.deliver_forever(), name="notices"),
                 asyncio.create_task(hub.upkeep_forever(), name="connections")]
        if dispatcher:
            tasks.append(asyncio.create_task(dispatcher.run_forever(), name="outbox"))
        try:  # serving before the LISTEN is in place would leave the first subscribers deaf to what commits
            await asyncio.wait_for(listener.listening.wait(), settings.db_pool_timeout_seconds)
        except TimeoutError:
            log.warning("not listening to the database's notifications yet; serving anyway")
        try:
            yield
        finally:
            await hub.close()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await services.exports.close()
            await http.close()
            await engine.dispose()

    async def graphql(scope, receive, send) -> None:
        if scope["type"] == "websocket":
            await Connection(state["hub"], WebSocket(scope, receive, send)).serve()
        else:
            await state["graphql"](scope, receive, send)

    async def health(request: Request) -> Response:
        """For load balancers: 200 when the database answers, 503 when it does not."""
        try:
            async with state["services"].sessionmaker() as session:
                await session.execute(text("SELECT 1"))
        except Exception as error:
            log.warning("health check: database unavailable: %r", error)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def _linked_actor(request: Request, path: str) -> Actor | None:
        query = request.query_params
        session_id = check_signed(settings.link_key, path, query.get("s", ""), query.get("e", ""),
                                  query.get("sig", ""))
        if session_id is None:
            return None
        async with state["services"].reads.connect() as connection:
            auth = await find_session(connection, settings, session_id=session_id, touch=False)
        return Actor.of(auth) if auth else None

    async def _stored_file(storage, key: str, file_name: str, media_type: str, size: int,
                           headers: dict | None = None) -> Response:
        """A stored file as a download under its name; 404 while it is not (yet) in place."""
        if not await storage.exists(key):
            return PlainTextResponse(NOT_FOUND, status_code=404)
        return StreamingResponse(storage.read(key), media_type=media_type, headers={
            **PRIVATE, "Content-Disposition": f"attachment; filename*=UTF-8''{quote(file_name)}",
            "Content-Length": str(size), **(headers or {})})

    async def download(request: Request) -> Response:
        try:
            attachment_id = uuid.UUID(request.path_params["attachment_id"])
        except ValueError:
            return PlainTextResponse(NOT_FOUND, status_code=404)
        actor = await _linked_actor(request, request.url.path)
        if actor is None:
            return PlainTextResponse(NOT_FOUND, status_code=404)
        async with state["services"].sessionmaker() as session:
            attachment = await session.scalar(_FILES[scope_of(actor)],
                                              {"attachment_id": attachment_id, **scope_params(actor)})
        if attachment is None:
            return PlainTextResponse(NOT_FOUND, status_code=404)
        return await _stored_file(state["services"].storage, attachment.storage_key, attachment.file_name,
                                  attachment.content_type, attachment.size, {"Content-Security-Policy": "sandbox"})

    async def exported(request: Request) -> Response:
        """A finished export's workbook, for the user who asked for it."""
        try:
            job_id = uuid.UUID(request.path_params["job_id"])
        except ValueError:
            return PlainTextResponse(NOT_FOUND, status_code=404)
        actor = await _linked_actor(request, request.url.path)
        if actor is None or actor.user is None:
            return PlainTextResponse(NOT_FOUND, status_code=404)
        services = state["services"]
        async with services.reads.connect() as connection:
            job = await exports.job_of(connection, job_id, actor.user.id)
        if job is None or job.status is not ExportStatus.DONE:
            return PlainTextResponse(NOT_FOUND, status_code=404)
        return await _stored_file(services.exports.storage, job.storage_key, job.file_name, XLSX, job.file_size)

    async def report(request: Request) -> Response:
        actor = await _linked_actor(request, request.url.path)
        if actor is None:
            return PlainTextResponse(NOT_FOUND, status_code=404)
        tracking_no = request.path_params["tracking_no"]
        if scope_of(actor) in STAFF_SCOPES:
            return await staff_report(actor, tracking_no)
        async with state["services"].sessionmaker() as session:
            application_id = await session.scalar(_REPORTED[scope_of(actor)],
                                                  {"tracking_no": tracking_no, **scope_params(actor)})
            if application_id is None:
                return PlainTextResponse(NOT_FOUND, status_code=404)
            application = await load_application(session, Application.id == application_id)
        return HTMLResponse(application_report_html(application),
                            headers={**PRIVATE, "Content-Security-Policy": REPORT_CSP})

    async def staff_report(actor: Actor, tracking_no: int) -> Response:
        """The staff's report: what their scope sees; a read of personal data is recorded (KVKK)."""
        personal = reads_personal_data(actor)
        async with state["services"].reads.connect() as connection:
            try:
                view = await staff_view(connection, scope_of(actor), scope_params(actor), tracking_no,
                                        datetime.now(UTC))
            except NotFound:
                return PlainTextResponse(NOT_FOUND, status_code=404)
            if personal:
                await kvkk.record_read(connection, user_id=actor.user.id, application_id=view.id,
                                       fields=REPORTED_PERSONAL_FIELDS)
        html = staff_report_html(view, personal=personal, identity=shows_identity(actor, view.kind))
        return HTMLResponse(html, headers={**PRIVATE, "Content-Security-Policy": REPORT_CSP})

    return Starlette(
        routes=[
            Route("/graphql", ASGIEndpoint(graphql), methods=["GET", "POST"]),
            WebSocketRoute("/graphql", ASGIEndpoint(graphql)),
            Route("/health", health),
            Route("/files/{attachment_id}", download),
            Route("/reports/applications/{tracking_no:int}", report),
            Route("/exports/{job_id}", exported),
        ],
        lifespan=lifespan,
    )
