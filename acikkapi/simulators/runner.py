"""Start the simulators on loopback, in the same event loop as whoever needs them."""

import os

from aiohttp import web

from acikkapi.settings import Settings
from acikkapi.simulators.eicisleri import EIcisleriSimulator, create_eicisleri_app
from acikkapi.simulators.identity import create_identity_app
from acikkapi.simulators.sms import create_sms_app


class PortUnavailable(Exception):
    """A simulator cannot listen on its port (another program has it, most likely)."""


async def start(app: web.Application, host: str = "127.0.0.1", port: int = 0, *,
                name: str = "simulator") -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as error:
        await runner.cleanup()
        reason = os.strerror(error.errno).lower() if error.errno else str(error)
        raise PortUnavailable(f"the {name} cannot listen on {host}:{port}: {reason}") from error
    bound = site._server.sockets[0].getsockname()[1]
    return runner, f"http://{host}:{bound}"


async def start_simulators(*, identity_port: int = 0, sms_port: int = 0,
                           print_sms: bool = False) -> tuple[list[web.AppRunner], str, str]:
    identity_runner, identity_url = await start(create_identity_app(), port=identity_port,
                                                name="identity simulator (ACIKKAPI_IDENTITY_SIMULATOR_PORT)")
    try:
        sms_runner, sms_url = await start(create_sms_app(print_messages=print_sms), port=sms_port,
                                          name="SMS simulator (ACIKKAPI_SMS_SIMULATOR_PORT)")
    except PortUnavailable:
        await identity_runner.cleanup()
        raise
    return [identity_runner, sms_runner], identity_url, sms_url


async def start_eicisleri(settings: Settings, *, port: int = 0) -> tuple[web.AppRunner, str]:
    """The e-İçişleri simulator, with Açık Kapı registered as `settings` names the client. Its issuer is the
    address it listens on, and the browser comes back to its own return page (standing in for the web front end)."""
    provider = EIcisleriSimulator(settings.eicisleri_client_id, settings.eicisleri_client_secret)
    runner, url = await start(create_eicisleri_app(provider), port=port,
                              name="e-İçişleri simulator (ACIKKAPI_EICISLERI_SIMULATOR_PORT)")
    provider.issuer = url
    return runner, url
