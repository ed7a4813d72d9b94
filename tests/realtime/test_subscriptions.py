"""Realtime inboxes: staff subscribe over graphql-transport-ws and hear of each step they may see as it commits;
a client that reconnects catches up with the query."""

import asyncio
import json

import aiohttp
import pytest

from acikkapi.services.sessions import token_hash
from tests.documents import ANSWER, RETURN_ANSWER, ROUTE, SEND_TO_MIA, SIGN_OUT
from tests.helpers import AKS_ANKARA, MIA_ANKARA, YETKILI_ANKARA, staff_session
from tests.workflow.support import (
    AKS_CANKAYA, AKS_ISTANBUL, AKS_KECIOREN, MILLI_EGITIM, YETKILI_KECIOREN, YETKILI_SAGLIK, done, register, staff_view,
)

SETTINGS = {"staff_identity_lookups_per_hour": 10_000, "ws_init_timeout_seconds": 0.5}
ANALIST = "10000000528"
EVENTS = """subscription { applicationEvents { cursor applicationId trackingNo status statusLabel action
    actionLabel actorLabel actorRole at } }"""
CATCH_UP = """query($after: String, $first: Int!) {
  applicationEvents(after: $after, first: $first) {
    pageInfo { hasNextPage endCursor } edges { cursor node { trackingNo action status } }
  }
}"""


class Client:
    """A graphql-transport-ws client over aiohttp, speaking the protocol as the `graphql-ws` npm package does."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket

    async def send(self, message: dict) -> None:
        await self.socket.send_str(json.dumps(message))

    async def receive(self, timeout: float = 5) -> dict:
        """The next protocol message (pings answered on the way), or {"closed": code}."""
        while True:
            message = await self.socket.receive(timeout=timeout)
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                return {"closed": self.socket.close_code}
            body = json.loads(message.data)
            if body["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            return body

    async def next(self, subscription_id: str = "1", timeout: float = 5) -> dict:
        message = await self.receive(timeout)
        assert message.get("type") == "next" and message["id"] == subscription_id, message
        return message["payload"]["data"]["applicationEvents"]

    async def nothing(self, within: float = 0.5) -> None:
        with pytest.raises(TimeoutError):
            await self.socket.receive(timeout=within)


async def connect(world, token: str | None = None, *, init: bool = True,
                  protocols=("graphql-transport-ws",)) -> Client:
    session = aiohttp.ClientSession()
    url = world.base_url.replace("http://", "ws://") + "/graphql"
    socket = await session.ws_connect(url, protocols=protocols, autoclose=False, autoping=True)
    socket._test_session = session  # closed with the socket (see `closing`)
    client = Client(socket)
    if init:
        await client.send({"type": "connection_init", "payload": {"token": token}})
    return client


async def subscribed(world, token: str, query: str = EVENTS, subscription_id: str = "1") -> Client:
    """A subscriber the server has registered: it answers messages in order, so its pong to a ping sent after
    the subscription says the subscription is in place (or refused: the error comes first)."""
    client = await connect(world, token)
    assert await client.receive() == {"type": "connection_ack"}
    await client.send({"id": subscription_id, "type": "subscribe", "payload": {"query": query}})
    await client.send({"type": "ping"})
    client.early = []  # what came before the pong (a refused subscription's error)
    while (message := await client.receive()) != {"type": "pong"}:
        client.early.append(message)
    return client


async def closing(*clients: Client) -> None:
    for client in clients:
        await client.socket.close()
        await client.socket._test_session.close()


@pytest.fixture(scope="module")
async def tokens(world) -> dict[str, str]:
    people = {"aks": AKS_ANKARA, "aks_kecioren": AKS_KECIOREN, "aks_istanbul": AKS_ISTANBUL, "aks_cankaya": AKS_CANKAYA,
              "yetkili": YETKILI_ANKARA, "yetkili_kecioren": YETKILI_KECIOREN, "yetkili_saglik": YETKILI_SAGLIK,
              "mia": MIA_ANKARA}
    return {name: await staff_session(world, person["tckn"]) for name, person in people.items()}


class TestWhoHearsWhat:
    async def test_the_office_hears_of_a_registration_and_no_other_office_does(self, world, tokens):
        aks, kecioren, istanbul, cankaya = [await subscribed(world, tokens[name]) for name in (
            "aks", "aks_kecioren", "aks_istanbul", "aks_cankaya")]
        try:
            tracking_no = await register(world, tokens["aks"])
            notice = await aks.next()
            assert (notice["trackingNo"], notice["action"], notice["status"], notice["actorRole"]) == \
                (tracking_no, "SUBMITTED", "HAVUZDA", "AKS")
            assert notice["statusLabel"] == "Başvuru Açık Kapı Birim Havuzunda" and notice["actorLabel"]
            assert (await kecioren.next())["trackingNo"] == tracking_no  # Ayşe's address is in Keçiören
            await istanbul.nothing()
            await cankaya.nothing()  # a kaymakamlık hears of its district's applications only
        finally:
            await closing(aks, kecioren, istanbul, cankaya)

    async def test_a_unit_hears_of_a_routing_to_it_and_of_its_answer_returned(self, world, tokens):
        tracking_no = await register(world, tokens["aks"])
        yetkili, other = await subscribed(world, tokens["yetkili"]), await subscribed(world, tokens["yetkili_saglik"])
        try:
            await done(world, tokens["aks"], ROUTE, trackingNo=tracking_no, unitNos=[MILLI_EGITIM])
            notice = await yetkili.next()
            assert (notice["trackingNo"], notice["action"], notice["status"]) == \
                (tracking_no, "ROUTED", "YONLENDIRILDI")
            routing = (await staff_view(world, tokens["aks"], tracking_no))["routings"][0]["id"]
            await done(world, tokens["yetkili"], ANSWER, routingId=routing, answer="Cevap.")
            await done(world, tokens["aks"], RETURN_ANSWER, routingId=routing, reason="Eksik.")
            assert (await yetkili.next())["action"] == "ANSWER_RETURNED"  # not its own answer
            await other.nothing()
        finally:
            await closing(yetkili, other)

    async def test_a_unit_never_hears_of_a_gizli_application(self, world, tokens):
        tracking_no = await register(world, tokens["aks"])
        await done(world, tokens["aks"], ROUTE, trackingNo=tracking_no, unitNos=[MILLI_EGITIM])
        routing = (await staff_view(world, tokens["aks"], tracking_no))["routings"][0]["id"]
        await done(world, tokens["yetkili"], ANSWER, routingId=routing, answer="Cevap.")
        # made gizli once routed (as an older record could be): the unit must hear of nothing more
        await world.sql("UPDATE application SET is_confidential = true WHERE tracking_no = $1", tracking_no)
        yetkili, aks = await subscribed(world, tokens["yetkili"]), await subscribed(world, tokens["aks"])
        try:
            await done(world, tokens["aks"], RETURN_ANSWER, routingId=routing, reason="Eksik.")
            assert (await aks.next())["action"] == "ANSWER_RETURNED"  # the office still hears of it
            await yetkili.nothing()
            caught_up = (await world.gql(CATCH_UP, {"first": 200}, token=tokens["yetkili"]))["applicationEvents"]
            assert tracking_no not in {edge["node"]["trackingNo"] for edge in caught_up["edges"]}
        finally:
            await closing(yetkili, aks)

    async def test_the_mia_hears_of_what_is_sent_for_approval(self, world, tokens):
        tracking_no = await register(world, tokens["aks"])
        await done(world, tokens["aks"], ROUTE, trackingNo=tracking_no, unitNos=[MILLI_EGITIM])
        routing = (await staff_view(world, tokens["aks"], tracking_no))["routings"][0]["id"]
        await done(world, tokens["yetkili"], ANSWER, routingId=routing, answer="Cevap.")
        mia = await subscribed(world, tokens["mia"])
        try:
            await done(world, tokens["aks"], SEND_TO_MIA, trackingNo=tracking_no, confirm=True)
            notice = await mia.next()
            assert (notice["trackingNo"], notice["action"]) == (tracking_no, "SENT_TO_MIA")
        finally:
            await closing(mia)

    async def test_equal_subscriptions_each_hear_once_under_their_own_id(self, world, tokens):
        first = await subscribed(world, tokens["aks"], subscription_id="a")
        await first.send({"id": "b", "type": "subscribe", "payload": {"query": EVENTS}})
        second = await subscribed(world, tokens["aks"], query="subscription { applicationEvents { trackingNo } }")
        try:
            tracking_no = await register(world, tokens["aks"])
            heard = {(await first.receive())["id"], (await first.receive())["id"]}
            assert heard == {"a", "b"}
            assert await second.next() == {"trackingNo": tracking_no}
        finally:
            await closing(first, second)


class TestCatchingUp:
    async def test_a_client_that_reconnects_gets_exactly_what_it_missed_in_order(self, world, tokens):
        client = await subscribed(world, tokens["aks"])
        await register(world, tokens["aks"])
        cursor = (await client.next())["cursor"]
        await closing(client)
        missed = [await register(world, tokens["aks"]) for _ in range(3)]
        page = (await world.gql(CATCH_UP, {"after": cursor, "first": 2}, token=tokens["aks"]))["applicationEvents"]
        rest = (await world.gql(CATCH_UP, {"after": page["pageInfo"]["endCursor"], "first": 2},
                                token=tokens["aks"]))["applicationEvents"]
        assert page["pageInfo"]["hasNextPage"] and not rest["pageInfo"]["hasNextPage"]
        assert [edge["node"]["trackingNo"] for edge in page["edges"] + rest["edges"]] == missed

    async def test_the_catch_up_is_scoped_as_the_subscription(self, world, tokens):
        newest = (await world.gql(CATCH_UP, {"first": 50}, token=tokens["aks_istanbul"]))["applicationEvents"]
        assert newest["edges"] == []  # nothing happened in İstanbul
        for_unit = (await world.gql(CATCH_UP, {"first": 50}, token=tokens["yetkili"]))["applicationEvents"]
        assert {edge["node"]["action"] for edge in for_unit["edges"]} <= {"ROUTED", "ANSWER_RETURNED"}

    async def test_bad_cursors_and_roles_are_refused(self, world, tokens):
        body = await world.gql_raw(CATCH_UP, {"after": "eHl6", "first": 5}, token=tokens["aks"])
        assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
        analyst = await staff_session(world, ANALIST)
        body = await world.gql_raw(CATCH_UP, {"first": 5}, token=analyst)
        assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
        body = await world.gql_raw(CATCH_UP, {"first": 5})
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


class TestTheProtocol:
    async def test_a_connection_without_a_valid_session_is_refused(self, world, tokens):
        for token in ("not-a-token", None, await staff_session(world, ANALIST)):
            client = await connect(world, token)
            assert await client.receive() == {"closed": 4403}
            await closing(client)

    async def test_a_client_that_never_initialises_is_closed(self, world):
        client = await connect(world, init=False)
        assert await client.receive() == {"closed": 4408}
        await closing(client)

    async def test_a_subscription_before_the_ack_is_unauthorized(self, world):
        client = await connect(world, init=False)
        await client.send({"id": "1", "type": "subscribe", "payload": {"query": EVENTS}})
        assert await client.receive() == {"closed": 4401}
        await closing(client)

    async def test_malformed_and_repeated_messages_close_the_connection(self, world, tokens):
        for message, code in [("nope", 4400), (json.dumps({"type": "what"}), 4400),
                              (json.dumps({"type": "connection_init"}), 4429),
                              (json.dumps({"id": "1", "type": "subscribe", "payload": {"query": EVENTS}}), 4409)]:
            client = await subscribed(world, tokens["aks"])
            await client.socket.send_str(message)
            assert await client.receive() == {"closed": code}, message
            await closing(client)

    async def test_a_document_that_is_no_subscription_of_ours_gets_an_error(self, world, tokens):
        client = await subscribed(world, tokens["aks"], query="{ me { role } }")
        try:
            [message] = client.early
            assert message["type"] == "error" and message["id"] == "1" and message["payload"][0]["message"]
            await client.send({"id": "2", "type": "subscribe", "payload": {"query": "subscription { nope }"}})
            assert (await client.receive())["type"] == "error"
            await client.send({"type": "ping"})
            assert await client.receive() == {"type": "pong"}  # the connection lives on
        finally:
            await closing(client)

    async def test_no_subprotocol_is_refused(self, world):
        session = aiohttp.ClientSession()
        try:
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await session.ws_connect(world.base_url.replace("http://", "ws://") + "/graphql")
        finally:
            await session.close()


class TestSessionsEnd:
    async def test_signing_out_closes_the_connection(self, world):
        token = await staff_session(world, AKS_ANKARA["tckn"])
        client = await subscribed(world, token)
        await world.gql(SIGN_OUT, token=token)
        assert await client.receive() == {"closed": 4403}
        await closing(client)

    async def test_deactivating_the_user_closes_the_connection(self, world):
        token = await staff_session(world, YETKILI_SAGLIK["tckn"])
        client = await subscribed(world, token)
        await world.sql("UPDATE app_user SET active = false WHERE tckn = $1", YETKILI_SAGLIK["tckn"])
        try:
            assert await client.receive() == {"closed": 4403}
        finally:
            await world.sql("UPDATE app_user SET active = true WHERE tckn = $1", YETKILI_SAGLIK["tckn"])
            await closing(client)

    async def test_the_idle_timeout_closes_the_connection(self, world):
        token = await staff_session(world, AKS_ANKARA["tckn"])
        await world.sql("UPDATE auth_session SET last_seen_at = now() - interval '29 minutes 59 seconds' "
                        "WHERE token_hash = $1", token_hash(token))
        client = await subscribed(world, token)
        assert await client.receive(timeout=5) == {"closed": 4403}
        await closing(client)

    async def test_a_vanished_client_leaves_no_task_behind(self, world, tokens):
        def connection_tasks() -> int:  # the server runs in this process: its connections' writers, and the
            # tasks serving them (uvicorn's, running the app), which are the writers' only other tasks
            return sum(1 for task in asyncio.all_tasks()
                       if task.get_name() == "ws writer" or "run_asgi" in repr(task.get_coro()))

        before = connection_tasks()
        clients = [await subscribed(world, tokens["aks"]) for _ in range(5)]
        assert connection_tasks() == before + 10
        for client in clients:
            await client.socket._test_session.close()  # gone without a close frame
        for _ in range(200):
            if connection_tasks() == before:
                break
            await asyncio.sleep(0.02)
        assert connection_tasks() == before


async def test_a_subscription_over_http_is_a_client_error(world, tokens):
    response = await world.post({"query": EVENTS}, token=tokens["aks"],
                                headers={"Accept": "application/graphql-response+json"})
    assert response.status_code == 400, response.text  # a request error: refused before it runs
    assert [error["extensions"]["code"] for error in response.json()["errors"]] == ["SUBSCRIPTION_OVER_HTTP"]
