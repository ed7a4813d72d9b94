"""`acikkapi demo | serve | outbox | db upgrade | seed | purge`."""

import argparse
import ipaddress
import asyncio
import logging
import signal
import sys

import uvicorn
import uvloop

from acikkapi.db import HideValues, make_engine, make_sessionmaker, resolve_database_url, stop_embedded_postgres
from acikkapi.migrate import upgrade
from acikkapi.services.reference_data import load_reference_data
from acikkapi.settings import Settings, get_settings
from acikkapi.simulators.runner import PortUnavailable

log = logging.getLogger("acikkapi")


class PathOnlyAccessLog(logging.Filter):
    """Drops the query string from uvicorn's access log lines: signed links carry their signature there."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


async def prepare_database(settings: Settings, *, seed: bool, demo: bool) -> None:
    """Apply migrations and, when asked, load the reference data (and demo users)."""
    engine = make_engine(resolve_database_url(settings), pool_size=2)
    try:
        await upgrade(engine)
        if seed:
            async with make_sessionmaker(engine)() as session, session.begin():
                await load_reference_data(session, demo=demo)
    finally:
        await engine.dispose()


async def serve(settings: Settings, *, demo: bool) -> None:
    from acikkapi.app import create_app

    runners = []
    if demo:
        from acikkapi.simulators.runner import start_eicisleri, start_simulators

        runners, identity_url, sms_url = await start_simulators(
            identity_port=settings.identity_simulator_port, sms_port=settings.sms_simulator_port, print_sms=True)
        try:
            eicisleri_runner, eicisleri_url = await start_eicisleri(settings, port=settings.eicisleri_simulator_port)
        except PortUnavailable:
            for runner in runners:
                await runner.cleanup()
            raise
        runners.append(eicisleri_runner)
        settings = settings.model_copy(update={
            "identity_url": identity_url, "sms_url": sms_url, "eicisleri_issuer": eicisleri_url,
            "eicisleri_redirect_uri": f"{eicisleri_url}/donus"})
        log.warning("demo: identity simulator at %s, SMS simulator at %s (codes are logged here), "
                    "e-İçişleri simulator at %s", identity_url, sms_url, eicisleri_url)
    config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port,
                            proxy_headers=True, forwarded_allow_ips=settings.forwarded_allow_ips,
                            log_level="info", server_header=False, **websocket_options(settings))
    logging.getLogger("uvicorn.access").addFilter(PathOnlyAccessLog())
    if settings.graphiql:
        log.warning("GraphiQL: http://%s:%s/graphql", settings.host, settings.port)
    try:
        await uvicorn.Server(config).serve()
    finally:
        for runner in runners:
            await runner.cleanup()


def websocket_options(settings: Settings) -> dict:
    """uvicorn's WebSocket (ws_view.py): frames bounded as request bodies are; no per-message compression, which
    would compress every notice once per subscriber; the keep-alive is the protocol's own ping."""
    return {"ws": "websockets-sansio", "ws_max_size": settings.max_body_bytes, "ws_per_message_deflate": False,
            "ws_ping_interval": None}


async def send_outbox(settings: Settings) -> None:
    """The outbox dispatcher alone, for servers run with `outbox_in_server` off: SMS delivery then never
    competes with answering requests, and a slow or failing gateway's retries stay out of the servers."""
    from acikkapi.services.http import client_session
    from acikkapi.services.outbox import OUTBOX_CHANNEL, OutboxDispatcher
    from acikkapi.services.pg_listener import PgListener, listener_dsn
    from acikkapi.services.sms import HttpSmsGateway

    engine = make_engine(resolve_database_url(settings), pool_size=4, settings=settings)
    http = client_session(settings.http_timeout_seconds)
    dispatcher = OutboxDispatcher.of(settings, engine, HttpSmsGateway.of(settings, http))
    # Woken as soon as a server commits a message, rather than at its next poll.
    listener = asyncio.create_task(PgListener(listener_dsn(engine.url), {
        OUTBOX_CHANNEL: lambda _: dispatcher.wakeup.set()}).run_forever())
    try:
        log.warning("outbox: sending SMS through %s", settings.sms_url)
        await dispatcher.run_forever()
    finally:
        listener.cancel()
        await http.close()
        await engine.dispose()


async def purge(settings: Settings) -> None:
    """One retention sweep (the server also runs one every `retention_interval_seconds`)."""
    from acikkapi.services import retention
    from acikkapi.services.storage import FileSystemStorage

    engine = make_engine(resolve_database_url(settings), pool_size=2)
    try:
        purged = await retention.purge(make_sessionmaker(engine), FileSystemStorage(settings.attachment_dir),
                                       settings)
    finally:
        await engine.dispose()
    print(f"deleted: {purged.challenges} code challenges, {purged.sessions} sessions, {purged.messages} outbox "
          f"messages, {purged.lookups} identity lookups, {purged.files} files; identity copies dropped: "
          f"{purged.identities}; moved into place: {purged.promoted} files")


def _exit_on_signal(signum: int, frame) -> None:
    # A normal exit unwinds every `finally` (and atexit), so the embedded PostgreSQL is stopped too;
    # uvicorn hands SIGINT/SIGTERM back to this handler once it has shut down gracefully.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="acikkapi", description="Açık Kapı GraphQL server")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="migrate, load reference and demo data, start the simulators and serve")
    serve_parser = commands.add_parser("serve", help="migrate and serve")
    serve_parser.add_argument("--no-migrate", action="store_true")
    commands.add_parser("outbox", help="send the queued SMS (for servers run with ACIKKAPI_OUTBOX_IN_SERVER=false)")
    db = commands.add_parser("db", help="database commands")
    db.add_argument("action", choices=["upgrade"])
    seed = commands.add_parser("seed", help="load reference data (addresses, categories, DETSİS units)")
    seed.add_argument("--demo", action="store_true", help="also create the demo staff users")
    commands.add_parser("purge", help="delete what the retention periods no longer allow to keep")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # No format here names a thread, a process or the calling line: skip collecting them for every record
    # (the logging HOWTO's "Optimization"), an access line per request included.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None
    for handler in logging.getLogger().handlers:  # every trace, whoever logs it, without quoted values
        handler.addFilter(HideValues())
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # it logs every pg_ctl call's output at INFO
    settings = get_settings()
    if args.command == "demo":
        settings = settings.model_copy(update={"allow_development_secret": True, "graphiql": True})
    if args.command in ("demo", "serve") and (problem := settings.secret_key_problem()):
        parser.error(problem)
    signals = [signum for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
               if signal.getsignal(signum) is not signal.SIG_IGN]  # nohup and `&` stay as they were asked
    for signum in signals:
        signal.signal(signum, _exit_on_signal)
    try:
        run(args, settings)
    except PortUnavailable as error:
        sys.exit(f"acikkapi: {error}")
    finally:
        for signum in signals:  # a second Ctrl+C must not cut the embedded server's stop short
            signal.signal(signum, signal.SIG_IGN)
        stop_embedded_postgres()


def run_on_uvloop(coroutine) -> None:
    # uvicorn picks uvloop only for a loop it creates itself; ours is created here, so ask for it.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(coroutine)


def trusts_everyone(entry: str) -> bool:
    """A trusted-proxy entry that every peer matches: `*`, or a network of prefix length 0 however written."""
    entry = entry.strip()
    try:
        return entry == "*" or ipaddress.ip_network(entry, strict=False).prefixlen == 0
    except ValueError:
        return False


def run(args: argparse.Namespace, settings: Settings) -> None:
    if args.command == "demo":
        asyncio.run(prepare_database(settings, seed=True, demo=True))
        run_on_uvloop(serve(settings, demo=True))
    elif args.command == "serve":
        if any(trusts_everyone(entry) for entry in settings.forwarded_allow_ips.split(",")):
            sys.exit("acikkapi serve: ACIKKAPI_FORWARDED_ALLOW_IPS must list the proxies' addresses, not everyone "
                     "(anyone could then choose the client address the rate limits count)")
        if "public_base_url" not in settings.model_fields_set:
            log.warning("ACIKKAPI_PUBLIC_BASE_URL is not set: links in responses point at %s",
                        settings.public_base_url)
        if not args.no_migrate:
            asyncio.run(prepare_database(settings, seed=False, demo=False))
        run_on_uvloop(serve(settings, demo=False))
    elif args.command == "outbox":
        run_on_uvloop(send_outbox(settings))
    elif args.command == "db":
        asyncio.run(prepare_database(settings, seed=False, demo=False))
    elif args.command == "seed":
        asyncio.run(prepare_database(settings, seed=True, demo=args.demo))
    elif args.command == "purge":
        asyncio.run(purge(settings))


if __name__ == "__main__":
    main()
