"""A local SMS gateway: a real HTTP server that keeps what it receives so a developer or a test can read it.

POST /sms/gonder {gonderen, alici, mesaj, referans} → 200 (a repeated referans is accepted once)
GET  /sms/mesajlar?alici=905...            → the messages received, oldest first
POST /_kontrol {down: bool}                → simulate an outage (503)
POST /_kontrol {dedupe: false}             → keep every message, even a repeated referans (as a gateway
                                             without de-duplication would deliver it twice)
POST /_kontrol {hang: ["905..."]}          → requests to these recipients hang until the list no longer
                                             names them; one whose sender gave up meanwhile is not taken
"""

import asyncio
import logging

from aiohttp import web

log = logging.getLogger("acikkapi.sms")


def create_sms_app(print_messages: bool = False) -> web.Application:
    messages: list[dict] = []
    references: set[str] = set()
    state = {"down": False, "dedupe": True, "hang": []}
    changed = asyncio.Condition()

    async def send(request: web.Request) -> web.Response:
        if state["down"]:
            return web.json_response({"hata": "servis kullanılamıyor"}, status=503)
        body = await request.json()
        async with changed:
            await changed.wait_for(lambda: body["alici"] not in state["hang"])
        if request.transport is None:  # the sender stopped waiting before the gateway took the message
            return web.json_response({"hata": "bağlantı kapandı"}, status=499)
        if not state["dedupe"] or body["referans"] not in references:
            references.add(body["referans"])
            messages.append(body)
            if print_messages:
                log.warning("SMS → %s: %s", body["alici"], body["mesaj"])
        return web.json_response({"durum": "kabul"})

    async def list_messages(request: web.Request) -> web.Response:
        recipient = request.query.get("alici")
        return web.json_response([m for m in messages if recipient in (None, m["alici"])])

    async def control(request: web.Request) -> web.Response:
        async with changed:
            state.update(await request.json())
            changed.notify_all()
        return web.json_response(state)

    app = web.Application()
    app.router.add_post("/sms/gonder", send)
    app.router.add_get("/sms/mesajlar", list_messages)
    app.router.add_post("/_kontrol", control)
    return app
