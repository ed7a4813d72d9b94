"""The realtime inboxes' fan-out (issue 15, "Speed"): N staff subscribed over graphql-transport-ws, one step of
an application, the time until every subscriber has its event, and the server's CPU per delivery.

    .venv/bin/python scripts/bench_ws.py                        # 5,000 subscribers: one server, then two
    .venv/bin/python scripts/bench_ws.py --subscribers 200 --bursts 3 --servers 1
    .venv/bin/python scripts/bench_ws.py --profile py-spy       # and where the server's time goes in a burst
    .venv/bin/python scripts/bench_ws.py --profile cprofile     # the same, deterministic (slower while on)
    .venv/bin/python scripts/bench_ws.py --servers 1,1f         # and with the subscribers' objects frozen

It benchmarks the `acikkapi` of the Python it runs with, on a throwaway database in a temporary directory, and
prints Markdown: each burst's latencies and CPU, then the issue's targets, checked.

What it does:
1. Database: an embedded PostgreSQL (pgserver) in the temporary directory; `acikkapi seed --demo` migrates it and
   loads the reference data and the demo staff. N + 1 sessions of the demo AKS of Ankara (10000000078) are
   written straight into auth_session, as a sign-in writes them (tests/test_unit_search.py's sso_session).
2. Processes: the identity and SMS simulators (scripts/bench.py --simulators) and the server, through
   scripts/bench_ws_server.py: `acikkapi serve --no-migrate` unchanged, with a gc.callbacks hook that logs every
   full (generation 2) collection with its time, and answers signals (cProfile, a census of the objects the
   collector tracks, gc.freeze()). The server runs with
   ACIKKAPI_OUTBOX_IN_SERVER=false and no dispatcher beside it (the registrations' SMS stay queued). The
   server and PostgreSQL share the first CPU; this process (the subscribers, the mutations) has the other.
   With --servers 2, a second server on the same database (on the first CPU too, unless --spread), the
   subscribers alternating between the two.
3. Subscribers: N WebSocket connections from this process (uvloop, a minimal client on raw asyncio
   protocols, so that each frame's arrival is timed when its bytes are read, not when a library hands it
   on), each speaking graphql-transport-ws as the `graphql-ws` npm client does: connection_init with its own
   session token, connection_ack, then one `subscribe` of EVENTS; pings (the protocol's and WebSocket's) are
   answered. The server's RSS is read before the connections and after them (once settled): memory per idle
   subscription. Before the connections and after the timed bursts (its collection would change when the next
   full one comes), a census: a full collection, forced and timed (the pause a full collection costs with
   these subscribers), and the objects the collector tracks, by type (per subscription); and once the
   subscribers have closed: what a full collection frees then (cycles, per subscription) and what is left.
4. Bursts: one untimed burst first (every subscriber must hear it: all are subscribed), then --bursts timed
   ones, one after the other has reached everybody: the AKS registers an application over HTTP
   (registerApplication, as tests/workflow/support.py's `register`: the product's mutation, its commit, its
   NOTIFY), sent to the servers in turn. The clock starts as the request is sent. For every subscriber, the
   time until its `next` frame arrived: p50, p99 (nearest rank), max. Server CPU: the servers' processes'
   time on CPU (/proc/<pid>/task/*/schedstat, nanoseconds) from just before the request to the last
   subscriber's frame, divided by N; the registration's own CPU, measured before anyone subscribed, is shown
   apart (it is part of the figure). Every frame must carry the registered tracking number and be the same
   bytes. Full collections whose start falls in the burst are counted.
5. Profile (--profile): more bursts (--profile-bursts), untimed, under py-spy (sampling, not stopping the
   server) or under cProfile (through the wrapper's signals), and the functions where the server spent its time.
6. The experiment (a configuration ending in f, e.g. `--servers 1f`): the wrapper calls gc.freeze() in the
   servers once the subscribers are connected, as the product could once a wave of connections has settled,
   so that no collection walks their objects again.

The numbers move with the machine's other load: compare within one run.
"""

import argparse
import asyncio
import base64
import collections
import json
import os
import pstats
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import asyncpg
import httpx
import uvloop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from bench import (  # noqa: E402
    LIMITS, Endpoint, Processes, describe_machine, free_port, log, nearest_rank, simulator_urls, status_mb,
    wait_ready,
)
from tests.documents import REGISTER  # noqa: E402
from tests.helpers import AKS_ANKARA, AYSE, istanbul_today  # noqa: E402
from tests.workflow.support import AYSE_PHONE  # noqa: E402

EVENTS = ("subscription { applicationEvents { cursor applicationId trackingNo status statusLabel action "
          "actionLabel actorLabel at } }")
P99_GOAL_MS, CPU_GOAL_US = 250, 80
CONNECTING_AT_ONCE = 64


# --- the server's side, read from outside --------------------------------------------------------------------

def cpu_ns(pid: int) -> int:
    """Time on CPU of all the process's threads, in nanoseconds (schedstat's first field)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as stat:
                total += int(stat.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that ended meanwhile
    return total


def full_collections(path: Path, start: float, end: float) -> list[tuple[float, float, int]]:
    """The wrapper's log lines (start, seconds, collected) of the collections that started in [start, end]."""
    if not path.exists():
        return []
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return [(float(a), float(b), int(c)) for a, b, c in lines if start <= float(a) <= end]


@dataclass
class Server:
    endpoint: Endpoint
    gc_log: Path
    profile: Path
    census_path: Path

    async def census(self) -> dict:
        """A full collection, timed, and the objects the collector then tracks, by type (the wrapper's SIGRTMIN)."""
        self.census_path.unlink(missing_ok=True)
        os.kill(self.pid, signal.SIGRTMIN)
        for _ in range(600):
            await asyncio.sleep(0.05)
            if self.census_path.exists():
                return json.loads(self.census_path.read_text())
        raise SystemExit(f"{self.endpoint.name} took no census")

    @property
    def pid(self) -> int:
        return self.endpoint.pid

    @property
    def port(self) -> int:
        return urlparse(self.endpoint.url).port


# --- the subscribers ---------------------------------------------------------------------------------------

def client_frame(payload: bytes, opcode: int = 1) -> bytes:
    """A masked WebSocket frame, as a client must send it."""
    mask, n = os.urandom(4), len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 1 << 16:
        head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
    key = (mask * (n // 4 + 1))[:n]
    return head + mask + (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


class Subscriber(asyncio.Protocol):
    """One graphql-transport-ws client on a raw socket: the handshake, connection_init with its token, one
    subscription; each frame timed (monotonic clock) as its bytes are read."""

    def __init__(self, fleet: "Fleet", index: int, host: str, token: str) -> None:
        self.fleet, self.index, self.host, self.token = fleet, index, host, token
        self.buffer = bytearray()
        self.upgraded = False
        self.ready = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.close_code: int | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            f"GET /graphql HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n".encode())

    def send(self, message: bytes, opcode: int = 1) -> None:
        if not self.transport.is_closing():
            self.transport.write(client_frame(message, opcode))

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        buffer = self.buffer
        buffer += data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end])
            del buffer[:end + 4]
            if not head.startswith(b"HTTP/1.1 101"):
                self._fail(f"the server refused the upgrade: {head[:200]!r}")
                return
            self.upgraded = True
            self.send(json.dumps({"type": "connection_init", "payload": {"token": self.token}}).encode())
        while len(buffer) >= 2:
            first, second = buffer[0], buffer[1]
            size, at = second & 0x7F, 2
            if size == 126:
                if len(buffer) < 4:
                    return
                size, at = int.from_bytes(buffer[2:4], "big"), 4
            elif size == 127:
                if len(buffer) < 10:
                    return
                size, at = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < at + size:
                return
            payload = bytes(buffer[at:at + size])
            del buffer[:at + size]
            if not first & 0x80:
                self._fail("a fragmented frame")  # the server sends every message whole
                return
            self.frame(first & 0x0F, payload, now)

    def frame(self, opcode: int, payload: bytes, now: float) -> None:
        if opcode == 1:
            if payload.startswith(b'{"id":'):
                self.fleet.arrived(self, payload, now)
            elif payload == b'{"type":"ping"}':
                self.send(b'{"type":"pong"}')
            elif payload == b'{"type":"connection_ack"}':
                self.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": EVENTS}}).encode())
                if not self.ready.done():
                    self.ready.set_result(None)
            elif payload != b'{"type":"pong"}':
                self.fleet.unexpected.append(payload[:300])
        elif opcode == 9:  # WebSocket's own ping
            self.send(payload, opcode=10)
        elif opcode == 8:
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self._fail(f"closed by the server: {self.close_code} {payload[2:].decode(errors='replace')}")

    def _fail(self, reason: str) -> None:
        self.fleet.failures.append((self.index, reason))
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(reason))
        self.transport.close()

    def connection_lost(self, exc) -> None:
        if self.close_code is None and not self.fleet.closing:
            self.fleet.failures.append((self.index, f"connection lost: {exc!r}"))
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"connection lost: {exc!r}"))


@dataclass
class Burst:
    number: int
    expected: int
    server_pids: list[int]
    done: asyncio.Future
    arrivals: dict[int, float] = field(default_factory=dict)  # subscriber → its frame's arrival
    frames: collections.Counter = field(default_factory=collections.Counter)
    duplicates: int = 0
    cpu_end: dict[int, int] = field(default_factory=dict)
    loader_cpu_end: float = 0.0


class Fleet:
    """The subscribers, and the burst they are hearing."""

    def __init__(self) -> None:
        self.subscribers: list[Subscriber] = []
        self.burst: Burst | None = None
        self.unexpected: list[bytes] = []
        self.failures: list[tuple[int, str]] = []
        self.stray = 0  # `next` frames outside a burst
        self.closing = False

    def arrived(self, subscriber: Subscriber, frame: bytes, now: float) -> None:
        burst = self.burst
        if burst is None:
            self.stray += 1
            return
        if subscriber.index in burst.arrivals:
            burst.duplicates += 1
            return
        burst.arrivals[subscriber.index] = now
        burst.frames[frame] += 1
        if len(burst.arrivals) == burst.expected:
            burst.cpu_end = {pid: cpu_ns(pid) for pid in burst.server_pids}
            burst.loader_cpu_end = time.process_time()
            burst.done.set_result(now)

    async def open(self, servers: list[Server], tokens: list[str]) -> None:
        loop = asyncio.get_running_loop()
        gate = asyncio.Semaphore(CONNECTING_AT_ONCE)

        async def one(index: int, token: str) -> None:
            server = servers[index % len(servers)]
            async with gate:
                _, subscriber = await loop.create_connection(
                    lambda: Subscriber(self, index, f"127.0.0.1:{server.port}", token), "127.0.0.1", server.port)
                self.subscribers.append(subscriber)
                await asyncio.wait_for(subscriber.ready, 60)

        await asyncio.gather(*(one(i, token) for i, token in enumerate(tokens)))

    def close(self) -> None:
        self.closing = True
        for subscriber in self.subscribers:
            if subscriber.transport and not subscriber.transport.is_closing():
                subscriber.send(b"\x03\xe8", opcode=8)
                subscriber.transport.close()
        self.subscribers = []


# --- the database and the mutation --------------------------------------------------------------------------

async def mint_sessions(db: asyncpg.Connection, count: int) -> list[str]:
    """`count` live sessions of the demo AKS of Ankara, as a sign-in writes them; their tokens."""
    prefix = f"bench-ws-{secrets.token_hex(8)}-"
    inserted = await db.execute(
        """INSERT INTO auth_session (token_hash, purpose, tckn, phone, user_id, last_seen_at, expires_at)
           SELECT sha256(convert_to($1 || g, 'UTF8')), 'STAFF', tckn, phone, id, now(), now() + interval '4 hours'
           FROM app_user CROSS JOIN generate_series(1, $2) g WHERE tckn = $3 AND active""",
        prefix, count, AKS_ANKARA["tckn"])
    assert inserted == f"INSERT 0 {count}", inserted
    return [f"{prefix}{i}" for i in range(1, count + 1)]


@dataclass
class Registration:
    category: int
    subcategory: int

    def body(self) -> dict:
        application = {"kind": "TALEP", "sameAsResidence": True, "phone": AYSE_PHONE,
                       "subject": "Okul bahçesindeki aydınlatma direkleri yanmıyor.",
                       "categories": [{"categoryId": self.category, "subcategoryId": self.subcategory}]}
        return {"query": REGISTER, "variables": {"input": {
            "tcKimlikNo": AYSE["tckn"], "arrivalDate": istanbul_today().isoformat(), "application": application}}}


async def register(http: httpx.AsyncClient, url: str, token: str, registration: Registration) -> int:
    response = await http.post(url + "/graphql", json=registration.body(), headers={"Authorization": f"Bearer {token}"})
    body = response.json()
    payload = (body.get("data") or {}).get("registerApplication") or {}
    if response.status_code != 200 or payload.get("__typename") != "SubmitApplicationSuccess":
        raise SystemExit(f"the server refused the registration: {response.status_code} {body}")
    return payload["trackingNo"]


async def categories(http: httpx.AsyncClient, url: str) -> Registration:
    response = await http.post(url + "/graphql", json={"query": "{ serviceCategories { id subcategories { id } } }"})
    category = response.json()["data"]["serviceCategories"][0]
    return Registration(category["id"], category["subcategories"][0]["id"])


# --- one configuration ----------------------------------------------------------------------------------------

@dataclass
class Result:
    number: int
    server: int  # which server the mutation went to
    tracking_no: int
    answered_ms: float  # the mutation's answer
    latencies_ms: list[float]
    missing: int
    cpu_s: float  # the servers' CPU, request to last frame
    loader_cpu_s: float
    collections: list[tuple[float, float, int]]
    distinct_frames: int
    duplicates: int

    def percentile(self, p: float) -> float:
        return nearest_rank(self.latencies_ms, p)

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p99(self) -> float:
        return self.percentile(99)

    @property
    def max(self) -> float:
        return max(self.latencies_ms, default=float("nan"))

    def cpu_us(self, subscribers: int) -> float:
        return 1e6 * self.cpu_s / subscribers


@dataclass
class Run:
    servers: int
    frozen: bool  # the experiment: gc.freeze() in the servers once the subscribers were connected
    subscribers: int
    placement: str
    rss_ready_mb: list[float]
    rss_before_mb: list[float]
    rss_after_mb: list[float]
    connect_s: float
    registration_cpu_ms: float
    first: Result
    bursts: list[Result]
    collections_connecting: list[tuple[float, float, int]]  # full collections while the subscribers connected
    census_before: list[dict]  # each server's, before the subscribers connected
    census_after: list[dict]  # and after the timed bursts
    census_closed: list[dict]  # and once the subscribers had gone
    profile: str = ""

    @property
    def left_behind(self) -> float:
        """Objects per subscription still tracked (or frozen) once the subscribers had gone, after a collection."""
        return (sum(c["tracked"] + c["frozen"] for c in self.census_closed)
                - sum(c["tracked"] + c["frozen"] for c in self.census_before)) / self.subscribers

    @property
    def cyclic_garbage(self) -> float:
        """Objects per subscription that only the collection after they had gone could free (cycles)."""
        return sum(c["collected"] for c in self.census_closed) / self.subscribers

    @property
    def name(self) -> str:
        return f"{self.servers}, gc.freeze() once subscribed" if self.frozen else str(self.servers)

    @property
    def objects_per_subscription(self) -> float:
        return (sum(c["tracked"] + c["frozen"] for c in self.census_after)
                - sum(c["tracked"] + c["frozen"] for c in self.census_before)) / self.subscribers

    def types_per_subscription(self, top: int = 15) -> list[tuple[str, float]]:
        counts = collections.Counter()
        for census in self.census_after:
            counts.update(census["types"])
        for census in self.census_before:
            counts.subtract(census["types"])
        return [(name, n / self.subscribers) for name, n in counts.most_common(top)]

    @property
    def kb_per_subscription(self) -> float:
        return 1024 * (sum(self.rss_after_mb) - sum(self.rss_before_mb)) / self.subscribers


async def burst(fleet: Fleet, http: httpx.AsyncClient, servers: list[Server], target: int, token: str,
                registration: Registration, number: int, timeout: float) -> Result:
    loop = asyncio.get_running_loop()
    pids = [s.pid for s in servers]
    fleet.burst = current = Burst(number, len(fleet.subscribers), pids, loop.create_future())
    await asyncio.sleep(0)
    cpu, loader_cpu = {pid: cpu_ns(pid) for pid in pids}, time.process_time()
    started = time.monotonic()
    tracking_no = await register(http, servers[target].endpoint.url, token, registration)
    answered = time.monotonic()
    try:
        last = await asyncio.wait_for(asyncio.shield(current.done), timeout)
    except TimeoutError:
        current.cpu_end = {pid: cpu_ns(pid) for pid in pids}
        current.loader_cpu_end = time.process_time()
        last = time.monotonic()
    await asyncio.sleep(0.2)  # duplicates, if any, would come now
    fleet.burst = None
    wrong = [frame for frame in current.frames
             if json.loads(frame)["payload"]["data"]["applicationEvents"]["trackingNo"] != tracking_no]
    if wrong:
        raise SystemExit(f"burst {number}: frames of another application: {wrong[0][:300]!r}")
    return Result(
        number=number, server=target + 1, tracking_no=tracking_no, answered_ms=1000 * (answered - started),
        latencies_ms=[1000 * (t - started) for t in current.arrivals.values()],
        missing=current.expected - len(current.arrivals),
        cpu_s=sum(current.cpu_end[pid] - cpu[pid] for pid in pids) / 1e9,
        loader_cpu_s=current.loader_cpu_end - loader_cpu,
        collections=[c for s in servers for c in full_collections(s.gc_log, started, last)],
        distinct_frames=len(current.frames), duplicates=current.duplicates)


def describe(result: Result, subscribers: int) -> str:
    return (f"burst {result.number} (to server {result.server}): answered in {result.answered_ms:.0f} ms; p50 "
            f"{result.p50:.0f} ms, p99 {result.p99:.0f} ms, max {result.max:.0f} ms; server CPU "
            f"{result.cpu_us(subscribers):.0f} µs a delivery; {len(result.collections)} full GC"
            + (f"; {result.missing} MISSING" if result.missing else ""))


async def profiled_burst(args, fleet: Fleet, http: httpx.AsyncClient, servers: list[Server], token: str,
                         registration: Registration, work: Path) -> str:
    """More bursts (--profile-bursts), to the first server, under a profiler; the functions that server spent
    its time in."""
    server = servers[0]

    async def bursts() -> str:
        p99s = []
        for number in range(args.profile_bursts):
            if number:
                await asyncio.sleep(args.pause)
            p99s.append((await burst(fleet, http, servers, 0, token, registration, 0, args.timeout)).p99)
        return f"{args.profile_bursts} bursts (p99 {', '.join(f'{p:.0f}' for p in p99s)} ms under it)"

    if args.profile == "cprofile":
        os.kill(server.pid, signal.SIGUSR1)
        await asyncio.sleep(0.2)
        measured = await bursts()
        os.kill(server.pid, signal.SIGUSR2)
        for _ in range(100):
            await asyncio.sleep(0.1)
            if server.profile.exists():
                break
        out = work / "cprofile.txt"
        with out.open("w") as stream:
            stats = pstats.Stats(str(server.profile), stream=stream)
            stats.sort_stats("tottime").print_stats(35)
            stats.sort_stats("cumulative").print_stats(45)
        return f"cProfile, {measured} ({out}):\n" + out.read_text()
    raw = work / "py-spy.txt"
    spy = subprocess.Popen([py_spy(), "record", "--pid", str(server.pid), "--rate", "1000", "--nonblocking",
                            "--format", "raw", "--output", str(raw), "--duration", "600"],
                           stdout=subprocess.DEVNULL, stderr=(work / "py-spy.log").open("wb"))
    await asyncio.sleep(2)  # attached
    measured = await bursts()
    spy.send_signal(signal.SIGINT)
    spy.wait(60)
    if not raw.exists():
        return "py-spy wrote nothing: " + (work / "py-spy.log").read_text(errors="replace")[-2000:]
    return (f"py-spy (1,000 samples a second; {measured}, with the pauses between them and 2 s before) "
            f"({raw}; the event loop's own C code, uvloop's socket writes included, counts as Runner.run):\n"
            + collapsed_summary(raw))


def collapsed_summary(path: Path, top: int = 40) -> str:
    """Self and inclusive samples per function from py-spy's collapsed stacks (py-spy leaves out the samples
    of a thread waiting in a system call: the event loop's idle time)."""
    own, inclusive, total = collections.Counter(), collections.Counter(), 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = stack.split(";")
        n = int(count)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    lines = [f"{total} busy samples", "", "self:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    lines += ["", "inclusive:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    return "\n".join(lines)


async def run_configuration(args, count: int, freeze: bool, processes: Processes, env: dict, work: Path, tokens: list[str],
                            mutation_token: str, server_cpus: set[int], load_cpus: set[int]) -> Run:
    servers = []
    for i in range(count):
        port = free_port()
        name = f"server{count}-{i + 1}"
        cpus = load_cpus if args.spread and i == 1 else server_cpus
        gc_log, profile, census = work / f"{name}.gc", work / f"{name}.prof", work / f"{name}.census.json"
        endpoint = Endpoint(name, f"http://127.0.0.1:{port}", *processes.start(
            name, [sys.executable, str(ROOT / "scripts" / "bench_ws_server.py"), str(gc_log), str(profile),
                   str(census)],
            {**env, "ACIKKAPI_PORT": str(port), "ACIKKAPI_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}, cpus))
        servers.append(Server(endpoint, gc_log, profile, census))
    for server in servers:
        await wait_ready(server.endpoint, "/health")
    placement = ("on CPU " + ",".join(map(str, sorted(server_cpus))) if not (args.spread and count > 1) else
                 f"on CPUs {','.join(map(str, sorted(server_cpus)))} and {','.join(map(str, sorted(load_cpus)))}")
    fleet = Fleet()
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            registration = await categories(http, servers[0].endpoint.url)
            rss_ready = [status_mb(s.pid, "VmRSS") for s in servers]
            # The registration's own CPU, nobody listening (each server warmed up by one first).
            spent = []
            for i in range(2 * count + 3):
                target = servers[i % count]
                before = cpu_ns(target.pid)
                await register(http, target.endpoint.url, mutation_token, registration)
                await asyncio.sleep(0.3)
                if i >= count:
                    spent.append((cpu_ns(target.pid) - before) / 1e6)
            registration_cpu_ms = statistics.median(spent)
            await asyncio.sleep(1)
            rss_before = [status_mb(s.pid, "VmRSS") for s in servers]
            census_before = [await s.census() for s in servers]
            mark = time.monotonic()
            log(f"{count} server(s): opening {len(tokens):,} subscriptions")
            await fleet.open(servers, tokens)
            connect_s = time.monotonic() - mark
            await asyncio.sleep(2)
            rss_after = [status_mb(s.pid, "VmRSS") for s in servers]
            if freeze:
                for server in servers:
                    os.kill(server.pid, signal.SIGRTMIN + 1)
                await asyncio.sleep(0.5)
            collections_connecting = [c for s in servers for c in full_collections(s.gc_log, mark, time.monotonic())]
            log(f"  {len(tokens):,} subscribed in {connect_s:.1f} s; RSS {sum(rss_before):.0f} → {sum(rss_after):.0f} MB")
            if fleet.failures:
                raise SystemExit(f"subscribers failed: {fleet.failures[:5]}")
            first = await burst(fleet, http, servers, 0, mutation_token, registration, 0, args.timeout)
            log("  untimed " + describe(first, len(tokens)))
            if first.missing:
                raise SystemExit(f"{first.missing} subscribers did not hear the first burst: {fleet.failures[:5]}")
            results = []
            for number in range(1, args.bursts + 1):
                await asyncio.sleep(args.pause)
                result = await burst(fleet, http, servers, (number - 1) % count, mutation_token, registration, number,
                                     args.timeout)
                log("  " + describe(result, len(tokens)))
                results.append(result)
            # After the timed bursts: its collection would change when the next one comes.
            census_after = [await s.census() for s in servers]
            log(f"  a full collection: {max(c['collect_s'] for c in census_before) * 1000:.0f} ms before subscribing, "
                f"{max(c['collect_s'] for c in census_after) * 1000:.0f} ms subscribed")
            profile = ""
            if args.profile:
                await asyncio.sleep(args.pause)
                profile = await profiled_burst(args, fleet, http, servers, mutation_token, registration, work)
            if fleet.failures or fleet.unexpected or fleet.stray:
                log(f"  failures {fleet.failures[:5]}, unexpected frames {fleet.unexpected[:3]}, stray {fleet.stray}")
            fleet.close()  # what the subscribers leave behind: nothing, or cycles only a collection frees
            await asyncio.sleep(3)
            census_closed = [await s.census() for s in servers]
    finally:
        fleet.close()
        await asyncio.sleep(0.5)
        for server in servers:
            processes.stop(server.endpoint.process)
    return Run(count, freeze, len(tokens), placement, rss_ready, rss_before, rss_after, connect_s, registration_cpu_ms, first,
               results, collections_connecting, census_before, census_after, census_closed, profile)


# --- the report ----------------------------------------------------------------------------------------------

def verdict(oks: list[bool]) -> str:
    if all(oks):
        return "met"
    if not any(oks):
        return "NOT met"
    return f"met in {sum(oks)} of {len(oks)} bursts"


def report(runs: list[Run], args, machine: str, pinned: str) -> str:
    lines = ["| servers | burst | mutation answered | p50 | p99 | max | server CPU a delivery | this process's CPU "
             "| full GCs in the burst | missing |", "|---|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        for result in [run.first, *run.bursts]:
            label = "untimed first" if result is run.first else f"{result.number} (to server {result.server})"
            lines.append(
                f"| {run.name} | {label} | {result.answered_ms:.0f} ms | {result.p50:.0f} ms | {result.p99:.0f} ms "
                f"| {result.max:.0f} ms | {result.cpu_us(run.subscribers):.1f} µs ({result.cpu_s * 1000:.0f} ms) "
                f"| {result.loader_cpu_s * 1000:.0f} ms | {len(result.collections)} | {result.missing} |")
    lines += ["", "| servers | subscribers connected in | RSS once started | RSS before subscribing | RSS subscribed "
              "| memory per idle subscription | GC-tracked objects per subscription | a full collection, forced: "
              "before subscribing → subscribed | registration's own CPU (nobody listening) | full GCs while "
              "connecting (the longest) | once they had gone: cyclic garbage, objects left "
              "(per subscription) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        def mb(values: list[float]) -> str:
            return " + ".join(f"{v:.0f}" for v in values) + " MB"
        lines.append(f"| {run.name} ({run.placement}) | {run.connect_s:.1f} s | {mb(run.rss_ready_mb)} "
                     f"| {mb(run.rss_before_mb)} | {mb(run.rss_after_mb)} | {run.kb_per_subscription:.1f} KB "
                     f"| {run.objects_per_subscription:.0f} "
                     f"| {max(c['collect_s'] for c in run.census_before) * 1000:.0f} ms → "
                     f"{max(c['collect_s'] for c in run.census_after) * 1000:.0f} ms "
                     f"| {run.registration_cpu_ms:.1f} ms ({1000 * run.registration_cpu_ms / run.subscribers:.1f} µs "
                     f"a delivery) | {len(run.collections_connecting)}"
                     + (f" ({1000 * max(c[1] for c in run.collections_connecting):.0f} ms)"
                        if run.collections_connecting else "")
                     + f" | {run.cyclic_garbage:.1f}, {run.left_behind:.1f} |")
    lines += ["", "| target | servers | measured (median of the bursts; worst) | verdict |", "|---|---|---|---|"]
    for run in runs:
        bursts, n = run.bursts, run.subscribers
        p99s, cpus = [r.p99 for r in bursts], [r.cpu_us(n) for r in bursts]
        gcs = [len(r.collections) for r in bursts]
        lines.append(f"| p99 ≤ {P99_GOAL_MS} ms | {run.name} | {statistics.median(p99s):.0f} ms; {max(p99s):.0f} ms "
                     f"| {verdict([p <= P99_GOAL_MS and not r.missing for p, r in zip(p99s, bursts)])} |")
        lines.append(f"| ≤ {CPU_GOAL_US} µs of server CPU a delivery | {run.name} | {statistics.median(cpus):.1f} µs; "
                     f"{max(cpus):.1f} µs | {verdict([c <= CPU_GOAL_US for c in cpus])} |")
        lines.append(f"| no full garbage collection during the burst | {run.name} | {sum(gcs)} in "
                     f"{len(bursts)} bursts | {verdict([g == 0 for g in gcs])} |")
        lines.append(f"| memory per idle subscription (reported) | {run.name} | {run.kb_per_subscription:.1f} KB | – |")
    for run in [run for run in runs if not run.frozen]:  # frozen objects are not counted by type
        lines += ["", f"GC-tracked objects per subscription by type ({run.servers} server(s)): " + ", ".join(
            f"{name} {n:.1f}" for name, n in run.types_per_subscription())]
    lines += ["", f"Machine: {machine}. {pinned} {args.subscribers:,} subscribers (the demo AKS of Ankara, one "
              f"session each, one `applicationEvents` subscription each), {args.bursts} timed bursts each after an "
              f"untimed one; a burst is one registerApplication by the AKS over HTTP, its latencies counted from "
              f"the request. Server CPU: the servers' processes, from the request to the last subscriber's frame, "
              f"the registration itself included (its own cost shown above)."]
    return "\n".join(lines)


# --- the benchmark ---------------------------------------------------------------------------------------------

async def benchmark(args) -> None:
    import pgserver

    machine = describe_machine()
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) > 1:
        server_cpus, load_cpus = {cpus[0]}, set(cpus[1:])
        pinned = (f"The server and PostgreSQL on CPU {cpus[0]}, the subscribers, the mutations and the simulators "
                  f"on CPU {','.join(map(str, cpus[1:]))}.")
    else:
        server_cpus = load_cpus = set(cpus)
        pinned = "One CPU: nothing pinned."
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = args.subscribers + 1024
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted,
                                                    hard))
    work = Path(tempfile.mkdtemp(prefix="acikkapi-bench-ws-"))
    processes = Processes(work)
    try:
        log(f"working in {work}")
        os.sched_setaffinity(0, server_cpus)  # the postmaster inherits it, and every backend from it
        pg = pgserver.get_server(work / "pg", cleanup_mode="stop")
        os.sched_setaffinity(0, load_cpus)
        admin_uri = pg.get_uri()
        db_url = admin_uri.replace("/postgres?", "/acikkapi?", 1)
        admin = await asyncpg.connect(admin_uri)
        await admin.execute("CREATE DATABASE acikkapi")
        await admin.close()
        simulators, _ = processes.start("simulators", [sys.executable, str(ROOT / "scripts" / "bench.py"),
                                                       "--simulators"], os.environ.copy(), load_cpus)
        env = {**os.environ, "ACIKKAPI_DATABASE_URL": db_url, "ACIKKAPI_DATA_DIR": str(work / "data"),
               "ACIKKAPI_SECRET_KEY": secrets.token_urlsafe(48), "ACIKKAPI_HOST": "127.0.0.1",
               "ACIKKAPI_OUTBOX_IN_SERVER": "false", "ACIKKAPI_STAFF_IDENTITY_LOOKUPS_PER_HOUR": "1000000",
               **{f"ACIKKAPI_{name}": "1000000" for name in LIMITS}}
        log("migrating and loading the reference data and the demo staff (acikkapi seed --demo)")
        with (work / "seed.log").open("wb") as seed_log:
            if subprocess.run([sys.executable, "-m", "acikkapi.cli", "seed", "--demo"], env=env, cwd=work,
                              stdout=seed_log, stderr=subprocess.STDOUT).returncode:
                raise SystemExit("acikkapi seed failed:\n" + (work / "seed.log").read_text(errors="replace"))
        urls = await simulator_urls(work / "simulators.log", simulators)
        env.update({"ACIKKAPI_IDENTITY_URL": urls["identity"], "ACIKKAPI_SMS_URL": urls["sms"]})
        db = await asyncpg.connect(db_url)
        try:
            tokens = await mint_sessions(db, args.subscribers + 1)
        finally:
            await db.close()
        mutation_token, tokens = tokens[0], tokens[1:]
        runs = []
        for count, freeze in args.servers:
            runs.append(await run_configuration(args, count, freeze, processes, env, work, tokens, mutation_token,
                                                server_cpus, load_cpus))
        print()
        print(report(runs, args, machine, pinned))
        for run in runs:
            if run.profile:
                print(f"\nWhere the server's time goes ({run.name} server(s), the first one): {run.profile}")
    finally:
        processes.stop_all()
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=5000, help="WebSocket subscribers (5,000)")
    parser.add_argument("--bursts", type=int, default=5, help="timed bursts per configuration (5)")
    parser.add_argument("--servers", default="1,2",
                        help="configurations: server processes, comma-separated (1,2); a number ending in f: "
                             "the experiment, gc.freeze() in the servers once the subscribers are connected")
    parser.add_argument("--spread", action="store_true",
                        help="with two servers, the second on the other CPU (beside this process)")
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between bursts (1)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds a burst may take (60)")
    parser.add_argument("--profile", choices=("py-spy", "cprofile"), help="one more burst under a profiler")
    parser.add_argument("--profile-bursts", type=int, default=3, help="bursts under the profiler (3)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, profiles)")
    args = parser.parse_args()
    args.servers = [(int(n.strip().rstrip("f")), n.strip().endswith("f")) for n in args.servers.split(",") if n.strip()]
    if args.profile == "py-spy" and not py_spy():
        parser.error("py-spy is not installed: .venv/bin/pip install py-spy")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(benchmark(args))


def py_spy() -> str | None:
    """The py-spy beside this Python (a venv's), or on the PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


if __name__ == "__main__":
    main()
