"""Start the simulators on loopback, in the same event loop as whoever needs them."""

from aiohttp import web

from acikkapi.simulators.identity import create_identity_app
from acikkapi.simulators.sms import create_sms_app


async def start(app: web.Application, host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]
    return runner, f"http://{host}:{bound}"


async def start_simulators(*, identity_port: int = 0, sms_port: int = 0,
                           print_sms: bool = False) -> tuple[list[web.AppRunner], str, str]:
    identity_runner, identity_url = await start(create_identity_app(), port=identity_port)
    sms_runner, sms_url = await start(create_sms_app(print_messages=print_sms), port=sms_port)
    return [identity_runner, sms_runner], identity_url, sms_url
