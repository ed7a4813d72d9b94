"""GraphQL subscriptions over WebSocket at /graphql: the graphql-transport-ws protocol (the `graphql-ws` npm
package's), with this worker's subscribers grouped.

Fan-out: subscribers whose subscriptions are equal (the same document, operation and variables) and who would
hear the same notices (the same `Listener` standing) form a group. A notice (services/realtime.py) is loaded
once per worker, run through each group's document once and serialised once; each subscriber of the group then
gets the same payload under their own subscription id. Each connection has a bounded queue of frames and a
writer of its own: a client that does not keep up is closed, and never slows the others.

A connection lives as long as its session: signing out, the user's deactivation (NOTIFYed by the database) and
the idle timeout close it with 4403. Keep-alive: the server pings every `ws_ping_seconds`; a client that has not
answered one by the next is closed. One upkeep task does both for every connection, so that a connection is only
two tasks (its reader and its writer) and few objects; those objects are frozen out of the collector's full
collections every `FREEZE_AFTER_JOINED` connections (`Hub.join`).
"""

import asyncio
import gc
import json
import logging
import math
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from graphql import (
    DocumentNode, GraphQLError, GraphQLSchema, OperationType, execute, parse, specified_rules, validate,
)
from graphql.language import OperationDefinitionNode
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from acikkapi.context import Services
from acikkapi.models import AuthSession
from acikkapi.permissions.actor import Actor
from acikkapi.schema.realtime import NoticeType
from acikkapi.services import realtime
from acikkapi.services.realtime import Listener, Notice
from acikkapi.services.sessions import find_session, idle_deadline

log = logging.getLogger(__name__)
PROTOCOL = "graphql-transport-ws"
FIELD = "applicationEvents"
# Close codes of the protocol, and two of WebSocket's own.
BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, INIT_TIMEOUT, DUPLICATE, TOO_MANY_INITS = 4400, 4401, 4403, 4408, 4409, 4429
SUBPROTOCOL_NOT_ACCEPTABLE, GOING_AWAY, TOO_BIG, TRY_AGAIN_LATER = 4406, 1001, 1009, 1013
DOCUMENTS_KEPT = 256
DELIVERED_KEPT = 10_000
FREEZE_AFTER_JOINED = 100
CLOSE_SECONDS = 5.0


class Closed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


@dataclass(eq=False)
class Group:
    """Equal subscriptions of equal listeners: each notice runs through the document once."""

    document: DocumentNode
    operation_name: str | None
    variables: dict | None
    listener: Listener
    members: dict = field(default_factory=dict)  # (connection, subscription id) → the frame's head

    def payload(self, schema: GraphQLSchema, notice: Notice) -> str:
        result = execute(schema, self.document, root_value=NoticeType.of(notice), variable_values=self.variables,
                         operation_name=self.operation_name)
        return orjson.dumps(result.formatted).decode()


class Hub:
    """This worker's subscriptions and connections; told of new history rows and ended sessions by the
    database (services/pg_listener.py)."""

    def __init__(self, schema: GraphQLSchema, rules: list, services: Services) -> None:
        self.schema = schema
        self.rules = [*specified_rules, *rules]
        self.services = services
        self.groups: dict[tuple, Group] = {}
        self.connections: set["Connection"] = set()
        self.documents: OrderedDict[str, DocumentNode | list[GraphQLError]] = OrderedDict()
        self.pending: asyncio.Queue[list[int]] = asyncio.Queue()
        self.joined = 0  # connections set up since the last freeze
        self.wake = asyncio.Event()  # a deadline sooner than the upkeep's next round
        self.next_upkeep = math.inf
        self.last_id = 0  # the newest history row heard of: to catch up after the LISTEN connection was lost
        # Rows already delivered (a catch-up may name them again). Not a high-water mark: a transaction that
        # wrote a lower id may commit after one that wrote a higher.
        self.delivered: OrderedDict[int, None] = OrderedDict()

    # --- told by the database
    def events_committed(self, payload: str) -> None:
        if ids := realtime.parse_ids(payload):
            self.pending.put_nowait(ids)

    def session_ended(self, payload: str) -> None:
        kind, _, number = payload.partition(":")
        for connection in list(self.connections):
            if (kind == "s" and connection.session_id == number) or (kind == "u" and connection.user_id == number):
                connection.close_soon(FORBIDDEN, "Oturum sona erdi.")

    def join(self, connection: "Connection") -> None:
        self.connections.add(connection)
        self.joined += 1
        if self.joined >= FREEZE_AFTER_JOINED:
            # Connections live long and hold many small objects the collector would walk at each full collection
            # (some 400 ms with 5,000 of them, stopping every delivery): they are frozen, as the start-up's
            # objects are, after the young generations' garbage is gone. Refcounting still frees a connection's
            # objects when it ends (its teardown leaves no cycle).
            gc.collect(1)
            gc.freeze()
            self.joined = 0

    def leave(self, connection: "Connection") -> None:
        for subscription_id in list(connection.subscriptions):
            self.unsubscribe(connection, subscription_id)
        self.connections.discard(connection)

    async def upkeep_forever(self) -> None:
        """For every connection at once, rather than a task of each: the keep-alive pings and the sessions' idle
        deadlines."""
        settings = self.services.settings
        next_ping = asyncio.get_running_loop().time() + settings.ws_ping_seconds
        while True:
            now = asyncio.get_running_loop().time()
            if now >= next_ping:
                next_ping = now + settings.ws_ping_seconds
                for connection in list(self.connections):
                    connection.ping()
            for connection in [c for c in self.connections if c.deadline <= now]:
                try:
                    await connection.recheck_session()
                except Exception as error:  # the database is away: the session is looked at again later
                    log.warning("could not check a connection's session: %r", error)
                    connection.deadline = now + settings.ws_ping_seconds
            self.next_upkeep = min([next_ping, *(c.deadline for c in self.connections)])
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(),
                                       max(self.next_upkeep - asyncio.get_running_loop().time(), 0.05))
            except TimeoutError:
                pass

    def deadline_set(self, deadline: float) -> None:
        if deadline < self.next_upkeep:
            self.wake.set()

    async def caught_up(self) -> None:
        """After (re)connecting the LISTEN: what committed meanwhile is delivered too (on the first connection:
        from now on)."""
        async with self.services.reads.connect() as connection:
            if not self.last_id:
                self.last_id = await realtime.newest_id(connection)
            elif ids := await realtime.ids_after(connection, self.last_id):
                self.pending.put_nowait(ids)

    async def deliver_forever(self) -> None:
        while True:
            ids = [id for id in await self.pending.get() if id not in self.delivered]
            if not ids:
                continue
            self.last_id = max(self.last_id, *ids)
            for id in ids:
                self.delivered[id] = None
            while len(self.delivered) > DELIVERED_KEPT:
                self.delivered.popitem(last=False)
            if not self.groups:
                continue
            try:
                async with self.services.reads.connect() as connection:
                    notices = await realtime.notices(connection, ids)
            except Exception:
                log.exception("could not load the notices %s", ids)
                continue
            for notice in notices:
                self.deliver(notice)

    def deliver(self, notice: Notice) -> None:
        for group in list(self.groups.values()):
            if not group.members or not group.listener.hears(notice):
                continue
            try:
                payload = group.payload(self.schema, notice)
            except Exception:  # a bug: this group misses the notice, the others do not
                log.exception("could not run a subscription on notice %s", notice.id)
                continue
            for (connection, _), head in list(group.members.items()):
                connection.push(f'{head}{payload}}}')

    # --- subscriptions
    def document(self, query: str) -> DocumentNode | list[GraphQLError]:
        """The query parsed and validated against the schema, kept for the next subscriber of the same text."""
        found = self.documents.get(query)
        if found is None:
            try:
                document = parse(query, max_tokens=self.services.settings.max_tokens)
            except GraphQLError as error:
                found = [error]
            else:
                found = validate(self.schema, document, self.rules) or document
            self.documents[query] = found
            if len(self.documents) > DOCUMENTS_KEPT:
                self.documents.popitem(last=False)
        return found

    def subscribe(self, connection: "Connection", subscription_id: str, document: DocumentNode,
                  operation_name: str | None, variables: dict | None, query: str) -> None:
        key = (query, operation_name, json.dumps(variables, sort_keys=True), connection.listener)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(document, operation_name, variables, connection.listener)
        group.members[(connection, subscription_id)] = \
            f'{{"id":{json.dumps(subscription_id)},"type":"next","payload":'
        connection.subscriptions[subscription_id] = key

    def unsubscribe(self, connection: "Connection", subscription_id: str) -> None:
        key = connection.subscriptions.pop(subscription_id, None)
        group = self.groups.get(key)
        if group is not None:
            group.members.pop((connection, subscription_id), None)
            if not group.members:
                del self.groups[key]

    async def close(self) -> None:
        """At shutdown: every client is told, and given a moment (a stuck one is not waited for)."""
        for connection in list(self.connections):
            connection.close_soon(GOING_AWAY, "Sunucu kapanıyor.")
        waiting = [asyncio.ensure_future(connection.done.wait()) for connection in self.connections]
        if waiting:
            await asyncio.wait(waiting, timeout=CLOSE_SECONDS)
            for waiter in waiting:
                waiter.cancel()


class Connection:
    """One client: its session, its subscriptions, and the frames waiting for it. Two tasks: the one serving it
    (reading its messages) and its writer."""

    def __init__(self, hub: Hub, websocket: WebSocket) -> None:
        self.hub = hub
        self.websocket = websocket
        self.settings = hub.services.settings
        self.session_id = self.user_id = ""  # as the database's notifications name them
        self.listener: Listener | None = None
        self.deadline = math.inf  # the loop's time when the session's idle limit may have passed
        self.subscriptions: dict[str, tuple] = {}
        self.frames: asyncio.Queue[str | Closed] = asyncio.Queue(self.settings.ws_queue_frames)
        self.ponged = True
        self.done = asyncio.Event()
        self.reading: asyncio.Task | None = None

    def push(self, frame: str) -> None:
        try:
            self.frames.put_nowait(frame)
        except asyncio.QueueFull:
            self.close_soon(TRY_AGAIN_LATER, "İstemci iletileri yeterince hızlı almıyor.")

    def close_soon(self, code: int, reason: str) -> None:
        """Close after nothing more: the writer stops at this, whatever is still queued."""
        self.deadline = math.inf
        while True:
            try:
                self.frames.put_nowait(Closed(code, reason))
                return
            except asyncio.QueueFull:
                self.frames.get_nowait()  # a frame the client will never get: it is being closed

    def ping(self) -> None:
        if not self.ponged:
            self.close_soon(GOING_AWAY, "İstemci yanıt vermiyor.")
        else:
            self.ponged = False
            self.push('{"type":"ping"}')

    async def serve(self) -> None:
        websocket = self.websocket
        if PROTOCOL not in websocket.scope.get("subprotocols", []):
            await websocket.close(SUBPROTOCOL_NOT_ACCEPTABLE, "Desteklenmeyen alt protokol.")
            return
        await websocket.accept(subprotocol=PROTOCOL)
        self.reading = asyncio.current_task()
        writer = asyncio.create_task(self._write(), name="ws writer")
        try:
            await self._initialise()
            self.hub.join(self)
            await self.recheck_session()  # it may have ended between its lookup and now, unheard
            await self._read()
        except Closed as close:
            self.close_soon(close.code, close.reason)
            await asyncio.wait([writer], timeout=self.settings.ws_init_timeout_seconds)
        except (WebSocketDisconnect, asyncio.CancelledError):  # gone, or closed by the writer (below)
            pass
        finally:
            writer.cancel()
            self.hub.leave(self)
            self.reading = None
            self.done.set()

    async def _close(self, code: int, reason: str) -> None:
        if self.websocket.application_state is WebSocketState.CONNECTED:
            try:
                await self.websocket.close(code, reason)
            except Exception:  # the client went first
                pass

    async def _write(self) -> None:
        while True:
            frame = await self.frames.get()
            if isinstance(frame, Closed):
                await self._close(frame.code, frame.reason)
                if self.reading is not None and self.reading is not asyncio.current_task():
                    self.reading.cancel()  # no need to wait for the client's own close
                return
            await self.websocket.send_text(frame)

    async def _receive(self) -> dict:
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text = message.get("text") if message.get("text") is not None else (message.get("bytes") or b"").decode(
            "utf-8", "replace")
        if len(text) > self.settings.max_body_bytes:
            raise Closed(TOO_BIG, "İleti çok büyük.")
        try:
            body = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise Closed(BAD_REQUEST, "İleti JSON değil.") from None
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            raise Closed(BAD_REQUEST, "İletinin türü yok.")
        return body

    async def _initialise(self) -> None:
        try:
            message = await asyncio.wait_for(self._receive(), self.settings.ws_init_timeout_seconds)
        except TimeoutError:
            raise Closed(INIT_TIMEOUT, "Bağlantı başlatma süresi doldu.") from None
        if message["type"] != "connection_init":
            raise Closed(UNAUTHORIZED, "Önce bağlantı başlatılmalıdır.")
        payload = message.get("payload") or {}
        token = payload.get("token") if isinstance(payload, dict) else None
        if token is None and isinstance(payload, dict):
            authorization = payload.get("Authorization") or payload.get("authorization") or ""
            token = authorization[7:] if authorization.startswith("Bearer ") else None
        if not isinstance(token, str) or not token or len(token) > 256:
            raise Closed(FORBIDDEN, "Oturum bilgisi geçersiz.")
        async with self.hub.services.reads.connect() as connection:
            auth = await find_session(connection, self.settings, token=token, touch=False)
        listener = Listener.of(Actor.of(auth)) if auth else None
        if listener is None:
            raise Closed(FORBIDDEN, "Oturumunuz bulunamadı, süresi doldu veya bu role bildirim verilmiyor.")
        # Only what the connection needs from here on, not the session's objects.
        self.session_id, self.user_id, self.listener = str(auth.id), str(auth.user_id), listener
        self._set_deadline(auth)
        self.push('{"type":"connection_ack"}')

    def _set_deadline(self, auth: AuthSession) -> None:
        left = (idle_deadline(self.settings, auth) - datetime.now(UTC)).total_seconds()
        self.deadline = asyncio.get_running_loop().time() + max(left, 0) + 0.5
        self.hub.deadline_set(self.deadline)

    async def recheck_session(self) -> None:
        """Closes the connection if its session has ended; else its next deadline (an HTTP request moves it)."""
        self.deadline = math.inf  # checked once at a time
        async with self.hub.services.reads.connect() as connection:
            auth = await find_session(connection, self.settings, session_id=uuid.UUID(self.session_id),
                                      touch=False)
        if auth is None:
            self.close_soon(FORBIDDEN, "Oturum sona erdi.")
        else:
            self._set_deadline(auth)

    async def _read(self) -> None:
        while True:
            message = await self._receive()
            kind = message["type"]
            if kind == "ping":
                self.push('{"type":"pong"}')
            elif kind == "pong":
                self.ponged = True
            elif kind == "subscribe":
                self._subscribe(message)
            elif kind == "complete":
                if isinstance(message.get("id"), str):
                    self.hub.unsubscribe(self, message["id"])
            elif kind == "connection_init":
                raise Closed(TOO_MANY_INITS, "Bağlantı zaten başlatıldı.")
            else:
                raise Closed(BAD_REQUEST, f"Bilinmeyen ileti türü: {kind[:40]}")

    def _subscribe(self, message: dict) -> None:
        subscription_id, payload = message.get("id"), message.get("payload")
        if not isinstance(subscription_id, str) or not subscription_id or len(subscription_id) > 128 or \
                not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            raise Closed(BAD_REQUEST, "Abonelik iletisi geçersiz.")
        if subscription_id in self.subscriptions:
            raise Closed(DUPLICATE, f"Subscriber for {subscription_id} already exists")
        operation_name, variables = payload.get("operationName"), payload.get("variables")
        if (operation_name is not None and not isinstance(operation_name, str)) or \
                (variables is not None and not isinstance(variables, dict)):
            raise Closed(BAD_REQUEST, "Abonelik iletisi geçersiz.")
        document = self.hub.document(payload["query"])
        problem = document if isinstance(document, list) else _not_our_subscription(document, operation_name)
        if not problem and len(self.subscriptions) >= self.settings.ws_max_subscriptions:
            problem = [GraphQLError("Bir bağlantıda en fazla "
                                    f"{self.settings.ws_max_subscriptions} abonelik olabilir.")]
        if problem:
            self.push(orjson.dumps({"id": subscription_id, "type": "error",
                                    "payload": [error.formatted for error in problem]}).decode())
            return
        self.hub.subscribe(self, subscription_id, document, operation_name, variables, payload["query"])


def _not_our_subscription(document: DocumentNode, operation_name: str | None) -> list[GraphQLError]:
    """Only a subscription of `applicationEvents` alone is served here; queries and mutations go over HTTP."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    if len(chosen) != 1:
        return [GraphQLError("Çalıştırılacak işlem belirsiz; operationName veriniz.")]
    operation = chosen[0]
    if operation.operation is not OperationType.SUBSCRIPTION:
        return [GraphQLError("WebSocket üzerinden yalnızca abonelik (subscription) çalıştırılır.")]
    fields = operation.selection_set.selections
    if len(fields) != 1 or getattr(fields[0], "name", None) is None or fields[0].name.value != FIELD:
        return [GraphQLError(f"Abonelik yalnızca {FIELD} alanını seçmelidir.")]
    return []
