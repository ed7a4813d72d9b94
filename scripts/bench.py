"""Side by side: the server's hot paths and workflow steps against a hand-written endpoint doing the same work
(issues 12 and 13).

    .venv/bin/python scripts/bench.py                      # about three minutes on 2 cores
    .venv/bin/python scripts/bench.py --seconds 5          # quicker and noisier
    .venv/bin/python scripts/bench.py --paths tracking,submit --statements   # and each request's SQL
    .venv/bin/python scripts/bench.py --paths route,answer # the workflow's steps only

Needs `wrk` (Debian package `wrk`). It benchmarks the `acikkapi` of the Python it runs with (a checkout's
venv: that checkout's code) on a throwaway database in a temporary directory, and prints a Markdown table:
per path, the server's and the raw endpoint's requests per second and their ratio, p50/p99 latency, server
CPU per request and database round trips per request; then the issue's targets, checked; then details.

What it does:
1. Database: an embedded PostgreSQL (pgserver) in the temporary directory; `acikkapi seed --demo` migrates it
   and loads the reference data and the demo staff; scripts/bench_fill.sql adds --applications applications
   (100,000) with 1-3 category rows, 1-4 history rows, attachment rows, their SMS and their ended sessions;
   VACUUM ANALYZE.
2. Processes: the identity and SMS simulators, `acikkapi serve --no-migrate` and scripts/bench_raw.py, each on
   a free port, configured by the same ACIKKAPI_* variables (a random secret key, code limits raised). The
   server runs as a production deployment would run it apart from SMS delivery: ACIKKAPI_OUTBOX_IN_SERVER=false
   and `acikkapi outbox` beside it.
3. Sessions, through the server's API: an APPLY session (its code read from the SMS simulator's
   /sms/mesajlar) submits an application and a TRACK session is opened for it; a second APPLY session is the
   template of the submit pools: before each run, copies of its row, each with its own token (stored as
   acikkapi.services.sessions.token_hash stores it), one per submit, since a session makes one application.
   The tracking view follows a filled application with 3 category rows, 2 attachments and 4 history rows
   (a copy of the real TRACK session, pointed at it). The demo AKS and Yetkili of Ankara (tests/helpers.py)
   sign in with a staff code; the workflow's steps run on copies of their sessions.
   Each step acts on a fresh application, copies of the first submitted one (in the AKS's office) with its
   history, made before each run, numbered consecutively so that wrk's request i names the i-th: `route`
   (routeApplication, to the Yetkili's unit, the first routing: with its SMS) on applications in the pool;
   `answer` (answerRouting, text only, JSON body) on applications routed to that unit as routeApplication
   leaves them (one open routing, its history row), so that the answer makes them Cevaplandı.
4. Checks, before any timing (it refuses to time when one fails): the category tree is byte-identical. The
   tracking view is byte-identical once each signed link's expiry and signature are replaced by placeholders,
   after checking them: the signature must be valid for the link's path and session under the link key, the
   expiry download_link_seconds from now. (A link carries the second it expires, so two answers given in
   different seconds differ there and only there.) A submit's answer is identical but for the tracking
   number, and the rows it wrote (application, category rows, event, SMS, session) equal the server's but
   for ids and times. Each workflow step is taken by both on two fresh applications: the answers are
   identical but for the tracking number, and the rows (application, routings, history, SMS) equal but for
   ids and times. Status and content type must match too; other headers may differ.
5. Round trips: a second server and a second raw endpoint, whose connections go through a relay of
   PostgreSQL's wire protocol, answer --count-requests sequential requests per path. Each Query message, and
   each batch of messages ended by a Sync (or by a Flush: asyncpg prepares a statement so), is one round trip
   (the client waits for the answer). Connections opened meanwhile count with their first statements. Units of
   work that touch outbox_message other than by inserting into it, with the pool's pre-ping before them, are
   the outbox dispatcher's: counted apart ("+ N outbox" per submit or route; sequential requests make it
   send each SMS on its own, the worst case), and left out for reads. The raw endpoint's own count must agree.
6. Timing: for each path, the server then the raw endpoint, each while the other is stopped (SIGSTOP), under
   wrk (1 thread, --connections, --warmup then --seconds; submit also at 64 connections). The endpoint and
   PostgreSQL share the first CPU (so requests per second compare the whole cost of a request, database
   included); wrk and the simulators have the others. Server CPU per request is the endpoint process's
   utime+stime (/proc/<pid>/stat) over the run over the requests wrk completed. For submit and route, the
   dispatcher's CPU for sending the run's SMS (until the outbox is empty), which the raw endpoint only queues,
   is reported beside it, and once more added to it in the targets. Every answer is checked in wrk's Lua
   (status 200, no "errors", the expected field) and every submit must have made its application, every step
   moved its application on, or the run is reported as bad.

The numbers move with the machine's other load (the details show how busy each CPU was, other tenants
included): compare ratios from one run, not absolute figures across runs or machines.
"""

import argparse
import asyncio
import collections
import itertools
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from acikkapi.models import Application  # noqa: E402
from acikkapi.services.business_days import due_date  # noqa: E402
from acikkapi.services.links import check_signed  # noqa: E402
from acikkapi.services.sessions import token_hash  # noqa: E402
from acikkapi.settings import Settings  # noqa: E402
from tests.documents import (  # noqa: E402
    ANSWER, CATEGORIES, REQUEST_APPLY, REQUEST_STAFF, REQUEST_TRACKING, ROUTE, SUBMIT, TRACKED, VERIFY,
)
from tests.helpers import AKS_ANKARA, YETKILI_ANKARA  # noqa: E402

PERSON = {"tcKimlikNo": "10000000146", "firstName": "Ayşe", "lastName": "Yılmaz", "motherMaidenInitials": "KA"}
PHONE = "5329999999"
SUBJECT = ("Sokağımızdaki kanalizasyon hattı iki haftadır taşmaktadır. Belediyeye yaptığımız başvurulardan "
           "sonuç alamadık; çocukların okul yolu üzerinde olduğu için sağlık açısından da risk oluşturmaktadır. "
           "Gereğinin yapılmasını saygılarımla arz ederim.")
ANSWER_TEXT = ("Başvuru konusu yerinde incelenmiş, okul yolu üzerindeki rögar kapağı yenilenmiş ve kanalizasyon "
               "hattındaki tıkanıklık belediye ekiplerince giderilmiştir. Bilgilerinize arz ederim.")
LIMITS = ("OTP_HOURLY_LIMIT_PER_IDENTITY", "OTP_HOURLY_LIMIT_PER_PHONE", "OTP_HOURLY_LIMIT_PER_CLIENT",
          "OTP_HOURLY_FAILURES_PER_CLIENT")


@dataclass(frozen=True)
class HotPath:
    key: str
    label: str
    expect: str  # in every good answer


PATHS = {
    "tracking": HotPath("tracking", "`trackedApplication` (tracking view)", '"trackedApplication":{"trackingNo":'),
    "categories": HotPath("categories", "`serviceCategories` (anonymous)", '"serviceCategories":[{"id":'),
    "submit": HotPath("submit", "`submitApplication` (2 categories, no files)", '"SubmitApplicationSuccess"'),
    "route": HotPath("route", "`routeApplication` (pool → 1 unit, its SMS)", '"status":"YONLENDIRILDI"'),
    "answer": HotPath("answer", "`answerRouting` (text, the last open routing)", '"status":"CEVAPLANDI"'),
}
TRANSITIONS = ("route", "answer")
SENDS_SMS = ("submit", "route")  # each request queues an SMS, which the server's dispatcher sends
ROUND_TRIP_GOALS = ("tracking", "categories", "submit")  # issue 12's "≤ raw + 2"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Refusal(Exception):
    """A check failed: nothing is timed."""


# --- processes ---------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Endpoint:
    name: str
    url: str
    process: subprocess.Popen
    log_path: Path
    outbox: subprocess.Popen | None = None  # the server's SMS dispatcher, run apart (`acikkapi outbox`)

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.pid)

    def outbox_cpu_seconds(self) -> float:
        return process_cpu_seconds(self.outbox.pid) if self.outbox else 0.0

    def log_tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of one process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_busy_seconds(cpus: set[int]) -> float:
    """Non-idle time of these CPUs, from /proc/stat."""
    total = 0
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
            numbers = [int(v) for v in values[:8]]
            total += sum(numbers) - numbers[3] - numbers[4]  # minus idle and iowait
    return total / os.sysconf("SC_CLK_TCK")


class Processes:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.started: list[subprocess.Popen] = []

    def start(self, name: str, command: list[str], env: dict, cpus: set[int]) -> tuple[subprocess.Popen, Path]:
        log_path = self.work / f"{name}.log"
        process = subprocess.Popen(
            command, env=env, cwd=self.work, stdout=log_path.open("wb"), stderr=subprocess.STDOUT,
            preexec_fn=lambda: os.sched_setaffinity(0, cpus), start_new_session=True)
        self.started.append(process)
        return process, log_path

    def stop(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    async def stop_relayed(self, process: subprocess.Popen) -> None:
        """Stop a process whose database connections go through this event loop's relay: wait without
        blocking the loop, so its connections can close."""
        os.kill(process.pid, signal.SIGTERM)
        for _ in range(300):
            if process.poll() is not None:
                return
            await asyncio.sleep(0.05)
        self.stop(process)

    def stop_all(self) -> None:
        for process in reversed(self.started):
            self.stop(process)


@contextmanager
def paused(endpoint: Endpoint):
    """The endpoint not being measured must not run: its dispatcher would send the other's SMS."""
    pids = [endpoint.pid] + ([endpoint.outbox.pid] if endpoint.outbox else [])
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


async def wait_ready(endpoint: Endpoint, path: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=5) as http:
        while True:
            if endpoint.process.poll() is not None:
                raise SystemExit(f"{endpoint.name} exited:\n{endpoint.log_tail()}")
            try:
                if (await http.get(endpoint.url + path)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{endpoint.name} did not start:\n{endpoint.log_tail()}")
            await asyncio.sleep(0.2)


def simulators_main() -> None:
    """`bench.py --simulators`: the identity and SMS simulators on free ports, their URLs on stdout."""
    from acikkapi.simulators.runner import start_simulators

    async def serve() -> None:
        _, identity_url, sms_url = await start_simulators()
        print(json.dumps({"identity": identity_url, "sms": sms_url}), flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


# --- the database ------------------------------------------------------------------------------------------

async def fill(db_url: str, applications: int) -> None:
    connection = await asyncpg.connect(db_url)
    try:
        await connection.execute(f"SET bench.applications = {int(applications)}")
        await connection.execute((ROOT / "scripts" / "bench_fill.sql").read_text())
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


async def outbox_drained(db: asyncpg.Connection, timeout: float = 180) -> None:
    """Every queued SMS has been handled by the server's dispatcher."""
    deadline = time.monotonic() + timeout
    while await db.fetchval("SELECT count(*) FROM outbox_message WHERE status = 'PENDING'"):
        if time.monotonic() > deadline:
            raise SystemExit("the server's outbox did not drain")
        await asyncio.sleep(0.05)


async def discard_raw_sms(db: asyncpg.Connection) -> None:
    """What the raw endpoint queued is marked sent, so the server's dispatcher never spends time on it."""
    await db.execute("UPDATE outbox_message SET status = 'SENT', sent_at = now(), attempts = 1 "
                     "WHERE status = 'PENDING'")


@dataclass
class Pool:
    """APPLY sessions for one run of submits: tokens `prefix` + 1 … `prefix` + size."""
    prefix: str
    size: int
    created_at: datetime

    async def used(self, db: asyncpg.Connection) -> int:
        return await db.fetchval("SELECT count(*) FROM auth_session WHERE created_at = $1 "
                                 "AND application_id IS NOT NULL", self.created_at)


class Sessions:
    def __init__(self, db: asyncpg.Connection, apply_template: str) -> None:
        self.db = db
        self.template = token_hash(apply_template)

    async def apply_pool(self, size: int) -> Pool:
        """Copies of the template APPLY session: the server accepts them as its own (they are, but for the
        token). Seen a minute ago, so each submit also refreshes `last_seen_at`, as a citizen's would after
        filling in the form."""
        prefix = f"bench-{secrets.token_hex(6)}-"
        created_at = datetime.now(timezone.utc) - timedelta(minutes=1)
        inserted = await self.db.execute(
            """INSERT INTO auth_session (token_hash, purpose, tckn, phone, user_id, application_id, identity,
                                         created_at, last_seen_at, expires_at)
               SELECT sha256(convert_to($2 || g, 'UTF8')), s.purpose, s.tckn, s.phone, s.user_id, NULL,
                      s.identity, $3::timestamptz, $3::timestamptz, $3::timestamptz + (s.expires_at - s.created_at)
               FROM auth_session s CROSS JOIN generate_series(1, $4) g
               WHERE s.token_hash = $1""", self.template, prefix, created_at, size)
        assert inserted == f"INSERT 0 {size}", inserted
        if not await self.db.fetchval("SELECT EXISTS (SELECT FROM auth_session WHERE token_hash = $1)",
                                      token_hash(prefix + "1")):
            raise SystemExit("the minted sessions' token hashes are not the server's")
        return Pool(prefix, size, created_at)


# Copied as they are, but for these.
COPIED = [c.name for c in Application.__table__.columns
          if c.name not in ("id", "tracking_no", "status", "version", "created_at", "idempotency_key")]
NUMBER = -987654321  # where a batch's request puts its number, in the wrk script's body


@dataclass
class Batch:
    """Applications for one run of a transition, one per request: request i acts on number `first` + i - 1
    (a tracking number to route, a routing id to answer)."""
    key: str
    first: int
    size: int
    unit_no: int

    def body(self, number: int) -> dict:
        if self.key == "route":
            return {"query": ROUTE, "variables": {"input": {"trackingNo": number, "unitNos": [self.unit_no]}}}
        return {"query": ANSWER, "variables": {"input": {"routingId": str(number), "answer": ANSWER_TEXT}}}

    def numbered(self) -> tuple[str, str, int]:
        """The body around the number, for wrk."""
        head, tail = json.dumps(self.body(NUMBER), ensure_ascii=False).split(str(NUMBER))
        return head, tail, self.first

    async def used(self, db: asyncpg.Connection) -> int:
        last = self.first + self.size - 1
        if self.key == "route":
            return await db.fetchval("SELECT count(*) FROM application WHERE tracking_no BETWEEN $1 AND $2 "
                                     "AND status <> 'HAVUZDA'", self.first, last)
        return await db.fetchval("SELECT count(*) FROM routing WHERE id BETWEEN $1 AND $2 AND status = 'ANSWERED'",
                                 self.first, last)


class Transitions:
    """Batches of fresh applications for the workflow's steps, copies of `template` (an application the server
    made, in the AKS's office, in the pool) with its history: in the pool for `route`; for `answer`, routed by
    the AKS to the Yetkili's unit as routeApplication leaves them (the routing open, its history row)."""

    def __init__(self, db: asyncpg.Connection, template: int, aks_tckn: str, unit_no: int) -> None:
        self.db, self.template, self.aks_tckn, self.unit_no = db, template, aks_tckn, unit_no

    async def batch(self, key: str, size: int) -> Batch:
        routed = key == "answer"
        columns = ", ".join(COPIED)
        async with self.db.transaction():
            last = await self.db.fetchval("SELECT setval('application_tracking_no_seq', "
                                          "nextval('application_tracking_no_seq') + $1 - 1)", size)
            first = last - size + 1
            await self.db.execute(
                f"""INSERT INTO application (tracking_no, status, version, created_at, {columns})
                    SELECT $2 + g - 1, $4, $5, now() - interval '1 hour', {columns}
                    FROM application CROSS JOIN generate_series(1, $3) g WHERE id = $1 ORDER BY g""",
                self.template, first, size, "YONLENDIRILDI" if routed else "HAVUZDA", 2 if routed else 1)
            await self.db.execute(
                """INSERT INTO application_event (application_id, action, status, note, actor_id, actor_label,
                                                  actor_role, public, routing_id, created_at)
                   SELECT a.id, e.action, e.status, e.note, e.actor_id, e.actor_label, e.actor_role, e.public, NULL,
                          a.created_at
                   FROM application a JOIN application_event e ON e.application_id = $1
                   WHERE a.tracking_no BETWEEN $2 AND $3 ORDER BY a.id, e.id""", self.template, first, last)
            if not routed:
                return Batch(key, first, size, self.unit_no)
            sequence = await self.db.fetchval("SELECT pg_get_serial_sequence('routing', 'id')")
            last_routing = await self.db.fetchval("SELECT setval($1, nextval($1) + $2 - 1)", sequence, size)
            first_routing = last_routing - size + 1
            await self.db.execute(
                """INSERT INTO routing (id, application_id, unit_no, due_date, created_by_id, created_at)
                   SELECT $1 + a.tracking_no - $2, a.id, $4, $5, u.id, now() - interval '30 minutes'
                   FROM application a, app_user u WHERE a.tracking_no BETWEEN $2 AND $3 AND u.tckn = $6""",
                first_routing, first, last, self.unit_no, due_date(datetime.now(timezone.utc)), self.aks_tckn)
            await self.db.execute(
                """INSERT INTO application_event (application_id, action, status, note, actor_id, actor_label,
                                                  actor_role, public, created_at)
                   SELECT r.application_id, 'ROUTED', 'YONLENDIRILDI', n.name, u.id,
                          u.first_name || ' ' || u.last_name || ' (Açık Kapı Sorumlusu)', u.role, true, r.created_at
                   FROM routing r JOIN app_user u ON u.id = r.created_by_id JOIN unit n ON n.detsis_no = r.unit_no
                   WHERE r.id BETWEEN $1 AND $2 ORDER BY r.id""", first_routing, last_routing)
            return Batch(key, first_routing, size, self.unit_no)


async def staff_session(db: asyncpg.Connection, real_token: str) -> str:
    """A copy of a real staff session, opened now."""
    token = f"bench-staff-{secrets.token_urlsafe(24)}"
    await db.execute(
        """INSERT INTO auth_session (token_hash, purpose, tckn, phone, user_id, application_id, identity,
                                     created_at, last_seen_at, expires_at)
           SELECT $1, s.purpose, s.tckn, s.phone, s.user_id, NULL, s.identity, now(), now(),
                  now() + (s.expires_at - s.created_at)
           FROM auth_session s WHERE s.token_hash = $2""", token_hash(token), token_hash(real_token))
    return token


# --- the API ----------------------------------------------------------------------------------------------

async def gql(http: httpx.AsyncClient, url: str, query: str, variables: dict | None = None,
              token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post(url + "/graphql", json={"query": query, "variables": variables or {}},
                               headers=headers)
    body = response.json()
    if response.status_code != 200 or "errors" in body:
        raise SystemExit(f"the server refused a setup request: {body}")
    return body["data"]


async def codes_sent(http: httpx.AsyncClient, sms_url: str, phone: str) -> list[str]:
    messages = (await http.get(f"{sms_url}/sms/mesajlar", params={"alici": "90" + phone})).json()
    return [m["mesaj"] for m in messages if "onay kodunuz" in m["mesaj"]]


async def sign_in(http: httpx.AsyncClient, url: str, sms_url: str, document: str, variables: dict,
                  phone: str = PHONE) -> str:
    """A code requested, read from the SMS simulator (the message to `phone`), verified: the session's token."""
    seen = len(await codes_sent(http, sms_url, phone))
    challenge = next(iter((await gql(http, url, document, variables)).values()))
    if challenge["__typename"] != "Challenge":
        raise SystemExit(f"no code was sent: {challenge}")
    for _ in range(200):
        codes = await codes_sent(http, sms_url, phone)
        if len(codes) > seen:
            break
        await asyncio.sleep(0.05)
    else:
        raise SystemExit("no code reached the SMS simulator")
    code = re.search(r"onay kodunuz: (\d{6})", codes[-1]).group(1)
    signed_in = (await gql(http, url, VERIFY, {"id": challenge["id"], "code": code}))["verifyCode"]
    if signed_in["__typename"] != "SignedIn":
        raise SystemExit(f"the code was not accepted: {signed_in}")
    return signed_in["token"]


async def submit_input(db: asyncpg.Connection) -> dict:
    """A citizen's form: an address in Çankaya, two category rows (one with a description), an e-mail."""
    province_id, district_id, place_id = await db.fetchrow(
        "SELECT d.province_id, d.id, p.id FROM place p JOIN district d ON d.id = p.district_id "
        "WHERE d.province_id = 6 ORDER BY d.name = 'Çankaya' DESC, p.id LIMIT 1")
    pairs = await db.fetch(
        "SELECT DISTINCT ON (c.position, c.id) c.id AS category, s.id AS subcategory "
        "FROM service_category c JOIN service_category s ON s.parent_id = c.id "
        "WHERE c.parent_id IS NULL AND c.active AND s.active ORDER BY c.position, c.id, s.position LIMIT 2")
    return {"sameAsResidence": False, "provinceId": province_id, "districtId": district_id, "placeId": place_id,
            "subjectAddress": "Atatürk Bulvarı No: 101 Daire: 7", "phone": PHONE,
            "email": "ayse.yilmaz@example.com", "subject": SUBJECT,
            "categories": [{"categoryId": pairs[0]["category"], "subcategoryId": pairs[0]["subcategory"]},
                           {"categoryId": pairs[1]["category"], "subcategoryId": pairs[1]["subcategory"],
                            "description": "Okul yolu üzerindeki rögar kapağı açık durumda."}]}


async def tracked_application_id(db: asyncpg.Connection) -> int:
    """A filled application with everything the tracking view shows: 3 category rows, 2 attachments, a
    closed history of 4 rows (one internal), an e-mail."""
    return await db.fetchval(
        """SELECT a.id FROM application a
           WHERE a.status = 'SONUCLANDI' AND a.email IS NOT NULL
             AND (SELECT count(*) FROM application_category c WHERE c.application_id = a.id) = 3
             AND (SELECT count(*) FROM attachment f WHERE f.application_id = a.id) = 2
           ORDER BY a.id LIMIT 1""")


async def yetkili_unit(db: asyncpg.Connection, tckn: str) -> int:
    """The Yetkili's (first) unit, where the answered applications are routed."""
    return await db.fetchval("SELECT min(unit_no) FROM user_unit u JOIN app_user a ON a.id = u.user_id "
                             "WHERE a.tckn = $1", tckn)


async def tracking_session(db: asyncpg.Connection, real_token: str, application_id: int) -> str:
    """A copy of a real TRACK session, following another application."""
    token = f"bench-track-{secrets.token_urlsafe(24)}"
    await db.execute(
        """INSERT INTO auth_session (token_hash, purpose, tckn, phone, user_id, application_id, identity,
                                     created_at, last_seen_at, expires_at)
           SELECT $1, s.purpose, a.applicant_tckn, a.phone, s.user_id, a.id, s.identity, now(), now(),
                  now() + (s.expires_at - s.created_at)
           FROM auth_session s, application a WHERE s.token_hash = $2 AND a.id = $3""",
        token_hash(token), token_hash(real_token), application_id)
    return token


# --- checks -----------------------------------------------------------------------------------------------

LINK = re.compile(r'"(https?://[^"?]+)\?s=([0-9a-f-]{36})&e=(\d+)&sig=([0-9a-f]{64})"')


def without_link_times(body: bytes, settings: Settings) -> bytes:
    """The answer with each signed link's expiry and signature replaced, once both are checked."""
    now = time.time()

    def replace(match: re.Match) -> str:
        url, session, expires, signature = match.groups()
        path = urlparse(url).path
        if not url.startswith(settings.public_base_url.rstrip("/") + "/"):
            raise Refusal(f"a link is not on the public base URL: {url}")
        if check_signed(settings.link_key, path, session, expires, signature) is None:
            raise Refusal(f"a link's signature does not verify: {match.group(0)}")
        if abs(int(expires) - (now + settings.download_link_seconds)) > 5:
            raise Refusal(f"a link expires at the wrong time: {match.group(0)}")
        return f'"{url}?s={session}&e=<expiry>&sig=<signature>"'

    return LINK.sub(replace, body.decode()).encode()


async def post(http: httpx.AsyncClient, url: str, body: dict, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await http.post(url + "/graphql", content=json.dumps(body), headers={
        "Content-Type": "application/json", **headers})


def same(name: str, product: httpx.Response, raw: httpx.Response, product_body: bytes, raw_body: bytes) -> None:
    # Other headers may differ: the server may well let HTTP caches help with anonymous answers.
    for what, a, b in (("status", product.status_code, raw.status_code),
                       ("content type", product.headers.get("content-type"), raw.headers.get("content-type"))):
        if a != b:
            raise Refusal(f"{name}: the {what} differs: server {a!r}, raw {b!r}")
    if product_body != raw_body:
        at = next((i for i, (x, y) in enumerate(zip(product_body, raw_body)) if x != y),
                  min(len(product_body), len(raw_body)))
        raise Refusal(f"{name}: the answers differ from byte {at}:\n  server {product_body[max(0, at - 80):at + 120]!r}"
                      f"\n  raw    {raw_body[max(0, at - 80):at + 120]!r}")


async def written_rows(db: asyncpg.Connection, tracking_no: int, token: str) -> dict:
    """What a submit wrote, without ids, tracking numbers and times (beyond which times are equal)."""
    application = dict(await db.fetchrow("SELECT * FROM application WHERE tracking_no = $1", tracking_no))
    application_id, created_at = application.pop("id"), application.pop("created_at")
    application.pop("tracking_no")
    rows = {"application": application}
    rows["categories"] = [dict(r) for r in await db.fetch(
        "SELECT position, category_id, subcategory_id, description FROM application_category "
        "WHERE application_id = $1 ORDER BY position", application_id)]
    rows["events"] = [dict(r) for r in await db.fetch(
        "SELECT action, status, note, actor_id, actor_label, public, created_at = $2 AS at_submit "
        "FROM application_event WHERE application_id = $1 ORDER BY id", application_id, created_at)]
    rows["attachments"] = await db.fetchval("SELECT count(*) FROM attachment WHERE application_id = $1",
                                            application_id)
    rows["sms"] = [dict(r) for r in await db.fetch(
        "SELECT phone, template, params - 'takip_no' AS params, (params->>'takip_no')::bigint = $1 AS numbered, "
        "priority, not_after, created_at = $2 AS at_submit FROM outbox_message "
        "WHERE template = 'takip_numarasi' AND params->>'takip_no' = $1::text", tracking_no, created_at)]
    rows["session"] = dict(await db.fetchrow(
        "SELECT application_id = $2 AS applied, identity IS NULL AS identity_dropped, revoked_at "
        "FROM auth_session WHERE token_hash = $1", token_hash(token), application_id))
    return rows


async def check_identical(http: httpx.AsyncClient, db: asyncpg.Connection, product: Endpoint, raw: Endpoint,
                          settings: Settings, track_token: str, form: dict, sessions: Sessions,
                          first_submit: tuple[httpx.Response, str]) -> None:
    answers = [await post(http, e.url, {"query": CATEGORIES}) for e in (product, raw)]
    same("serviceCategories", *answers, answers[0].content, answers[1].content)
    log(f"serviceCategories: byte-identical ({len(answers[0].content):,} bytes)")

    for attempt in range(3):  # a second may tick between the two answers; the check itself does not care
        answers = [await post(http, e.url, {"query": TRACKED}, track_token) for e in (product, raw)]
        if answers[0].content == answers[1].content or attempt == 2:
            break
    normalised = [without_link_times(a.content, settings) for a in answers]
    if b"<signature>" not in normalised[0] or normalised[0].count(b"<signature>") != 3:
        raise Refusal(f"the tracking view should have 3 signed links: {answers[0].content[:300]!r}")
    same("trackedApplication", *answers, *normalised)
    verdict = "byte-identical" if answers[0].content == answers[1].content else \
        "byte-identical but for the links' expiry second (signatures checked)"
    log(f"trackedApplication: {verdict} ({len(answers[0].content):,} bytes)")

    product_answer, product_token = first_submit
    pool = await sessions.apply_pool(1)
    raw_token = pool.prefix + "1"
    raw_answer = await post(http, raw.url, {"query": SUBMIT, "variables": {"input": form}}, raw_token)
    normalised = [re.sub(rb'"trackingNo":\d+', b'"trackingNo":<n>', a.content) for a in (product_answer, raw_answer)]
    same("submitApplication", product_answer, raw_answer, *normalised)
    numbers = [json.loads(a.content)["data"]["submitApplication"]["trackingNo"] for a in (product_answer, raw_answer)]
    product_rows = await written_rows(db, numbers[0], product_token)
    raw_rows = await written_rows(db, numbers[1], raw_token)
    if product_rows != raw_rows:
        raise Refusal(f"submitApplication wrote different rows:\n  server {product_rows}\n  raw    {raw_rows}")
    if numbers[1] <= numbers[0]:
        raise Refusal("the raw endpoint's tracking number does not come from the server's sequence")
    log("submitApplication: identical but for the tracking number; identical rows written")


async def transition_rows(db: asyncpg.Connection, tracking_no: int) -> dict:
    """An application's rows after a step, without ids, tracking numbers and times (but whether they are set)."""
    application = dict(await db.fetchrow("SELECT * FROM application WHERE tracking_no = $1", tracking_no))
    application_id = application.pop("id")
    for name in ("tracking_no", "created_at"):
        application.pop(name)
    rows = {"application": application}
    rows["routings"] = [dict(r) for r in await db.fetch(
        "SELECT unit_no, parent_id IS NULL AS top, status, due_date, created_by_id, answer, answered_by_id, "
        "answered_at IS NOT NULL AS answered, return_reason, version FROM routing WHERE application_id = $1 "
        "ORDER BY id", application_id)]
    rows["events"] = [dict(r) for r in await db.fetch(
        "SELECT action, status, note, actor_id, actor_label, actor_role, public, "
        "(SELECT count(*) FROM routing r WHERE r.application_id = e.application_id AND r.id <= e.routing_id) "
        "AS routing_position FROM application_event e WHERE application_id = $1 ORDER BY id", application_id)]
    rows["sms"] = [dict(r) for r in await db.fetch(
        "SELECT phone, template, params - 'takip_no' AS params, priority, not_after FROM outbox_message "
        "WHERE params->>'takip_no' = $1::bigint::text ORDER BY id", tracking_no)]
    return rows


async def check_transitions(http: httpx.AsyncClient, db: asyncpg.Connection, product: Endpoint, raw: Endpoint,
                            transitions: Transitions, staff: dict[str, str]) -> None:
    """Each step on one fresh application by the server and on another by the raw endpoint: the same answer
    but for the tracking number, the same rows written."""
    for key in TRANSITIONS:
        batch = await transitions.batch(key, 2)
        answers = [await post(http, e.url, batch.body(batch.first + i), staff[key])
                   for i, e in enumerate((product, raw))]
        normalised = [re.sub(rb'"trackingNo":\d+', b'"trackingNo":<n>', a.content) for a in answers]
        name = "routeApplication" if key == "route" else "answerRouting"
        same(name, *answers, *normalised)
        if PATHS[key].expect.encode() not in answers[0].content:
            raise Refusal(f"{name}: the server did not take the step: {answers[0].content[:300]!r}")
        numbers = [json.loads(a.content)["data"][name]["trackingNo"] for a in answers]
        rows = [await transition_rows(db, number) for number in numbers]
        if rows[0] != rows[1]:
            raise Refusal(f"{name} wrote different rows:\n  server {rows[0]}\n  raw    {rows[1]}")
        log(f"{name}: identical but for the tracking number; identical rows written")


# --- counting round trips ---------------------------------------------------------------------------------

@dataclass
class Trip:
    connection: int
    texts: list[str]
    prepare: bool
    status: bytes | None = None  # the server's transaction status after it: I(dle), T(ransaction), E(rror)
                                 # or "-" after a Flush
    owner: str = "request"


@dataclass
class RelayedConnection:
    number: int
    prepared: dict = field(default_factory=dict)
    batch: list = field(default_factory=list)
    parsing: bool = False
    waiting: collections.deque = field(default_factory=collections.deque)


class RoundTripRelay:
    """A relay of PostgreSQL's wire protocol that notes every round trip the client makes.

    A Query message, or the extended-protocol messages up to a Sync (or a Flush, after which asyncpg waits
    for a prepared statement's description), is one round trip. ReadyForQuery, answering a Query or a Sync,
    says whether a transaction is still open."""

    def __init__(self, listen_dir: Path, target: str) -> None:
        listen_dir.mkdir(parents=True, exist_ok=True)
        self.listen_dir = listen_dir
        self.target = target
        self.trips: list[Trip] = []
        self.recording = False
        self.numbers = itertools.count(1)

    async def start(self) -> None:
        self.server = await asyncio.start_unix_server(self.relay, path=str(self.listen_dir / ".s.PGSQL.5432"))

    def stop(self) -> None:
        self.server.close()

    async def relay(self, client_reader, client_writer) -> None:
        server_reader, server_writer = await asyncio.open_unix_connection(self.target)
        connection = RelayedConnection(next(self.numbers))
        tasks = [asyncio.create_task(self.from_client(client_reader, server_writer, connection)),
                 asyncio.create_task(self.from_server(server_reader, client_writer, connection))]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            server_writer.close()
            client_writer.close()

    async def from_client(self, reader, writer, connection: RelayedConnection) -> None:
        try:
            while True:  # startup packets have no type byte; SSL and GSS requests precede the real one
                head = await reader.readexactly(4)
                body = await reader.readexactly(int.from_bytes(head, "big") - 4)
                writer.write(head + body)
                if int.from_bytes(body[:4], "big") not in (80877103, 80877104):
                    break
            while True:
                kind = await reader.readexactly(1)
                head = await reader.readexactly(4)
                body = await reader.readexactly(int.from_bytes(head, "big") - 4)
                writer.write(kind + head + body)
                await writer.drain()
                self.client_message(connection, kind, body)
        except (asyncio.IncompleteReadError, ConnectionError):
            return

    async def from_server(self, reader, writer, connection: RelayedConnection) -> None:
        try:
            while True:
                kind = await reader.readexactly(1)
                head = await reader.readexactly(4)
                body = await reader.readexactly(int.from_bytes(head, "big") - 4)
                writer.write(kind + head + body)
                await writer.drain()
                if kind == b"Z" and connection.waiting:  # the first one ends the startup: nobody waits
                    connection.waiting.popleft().status = body[:1]
        except (asyncio.IncompleteReadError, ConnectionError):
            return

    def client_message(self, connection: RelayedConnection, kind: bytes, body: bytes) -> None:
        if kind == b"P":
            name, query = body.split(b"\0", 2)[:2]
            connection.prepared[name] = query.decode()
            connection.batch.append(query.decode())
            connection.parsing = True
        elif kind == b"B":
            statement = body.split(b"\0", 2)[1]
            connection.batch.append(connection.prepared.get(statement, "?"))
        elif kind == b"Q":
            self.trip(connection, [body[:-1].decode()], prepare=False)
        elif kind in (b"S", b"H"):  # asyncpg prepares with Parse, Describe, Flush and waits for the answer
            self.trip(connection, connection.batch, prepare=connection.parsing, sync=kind == b"S")
            connection.batch, connection.parsing = [], False

    def trip(self, connection: RelayedConnection, texts: list[str], prepare: bool, sync: bool = True) -> None:
        trip = Trip(connection.number, list(dict.fromkeys(texts)), prepare)
        if sync:
            connection.waiting.append(trip)
        else:
            trip.status = b"-"  # no ReadyForQuery follows a Flush: the unit of work goes on
        if self.recording:
            self.trips.append(trip)


def is_ping(trip: Trip) -> bool:
    """A pool's pre-ping (`BEGIN; ; ROLLBACK` on asyncpg), or a `SELECT 1`."""
    for text in trip.texts:
        statement = text.strip().rstrip(";").strip().upper()
        if statement not in ("", "BEGIN", "ROLLBACK", "SELECT 1") and not statement.startswith("BEGIN "):
            return False
    return True


def dispatcher_work(trip: Trip) -> bool:
    return any("outbox_message" in text.lower() and "insert into outbox_message" not in text.lower()
               for text in trip.texts)


def attribute(trips: list[Trip]) -> None:
    """Each trip's owner: the outbox dispatcher or the request. A unit of work on a connection ends when the
    server is idle again; a ping belongs to the unit after it (the pool pings at checkout)."""
    by_connection: dict[int, list[Trip]] = collections.defaultdict(list)
    for trip in trips:
        by_connection[trip.connection].append(trip)
    for sequence in by_connection.values():
        unit: list[Trip] = []
        pings: list[Trip] = []
        for trip in sequence:
            unit.append(trip)
            if trip.status == b"I":
                if all(is_ping(t) for t in unit):
                    pings.extend(unit)
                else:
                    owner = "outbox" if any(dispatcher_work(t) for t in unit) else "request"
                    for t in pings + unit:
                        t.owner = owner
                    pings = []
                unit = []
        for t in pings + unit:  # a checkout the window cut short
            t.owner = "unfinished"


@dataclass
class Count:
    request: float
    outbox: float
    listing: list[str]
    own: float | None = None  # the raw endpoint's own count


async def count_round_trips(relay: RoundTripRelay, send, n: int, warm: int, settle=None, own=None) -> Count:
    for _ in range(warm):
        await send()
    if settle:
        await settle()
    own_before = await own() if own else 0
    relay.trips = []
    relay.recording = True
    last = 0
    for _ in range(n):
        last = len(relay.trips)
        await send()
    if settle:
        await settle()
    await asyncio.sleep(0.2)
    relay.recording = False
    trips = relay.trips
    attribute(trips)
    listing = []
    for trip in trips[last:]:
        if trip.owner == "request":
            text = " | ".join(" ".join(t.split()) for t in trip.texts) or "(empty)"
            listing.append(("prepare: " if trip.prepare else "") + (text[:150] + "…" if len(text) > 150 else text))
    return Count(request=sum(t.owner == "request" for t in trips) / n,
                 outbox=sum(t.owner == "outbox" for t in trips) / n, listing=listing,
                 own=(await own() - own_before) / n if own else None)


# --- load ---------------------------------------------------------------------------------------------------

LUA = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[%(body)s]==]
%(auth)s
local prefix = %(prefix)s
local head, tail, first = %(numbered)s
local expect = [==[%(expect)s]==]
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0; sample = "" ; counter = 0 end
if prefix or head then
  function request()
    counter = counter + 1
    local headers, body = nil, nil
    if prefix then
      headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. prefix .. counter}
    end
    if head then body = head .. string.format("%%d", first + counter - 1) .. tail end
    return wrk.format(nil, nil, headers, body)
  end
end
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) or not string.find(body, expect, 1, true) then
    bad = bad + 1
    if sample == "" then sample = string.sub(body, 1, 300) end
  end
end
function done(summary, latency, requests)
  local total, example = 0, ""
  for _, thread in ipairs(threads) do
    total = total + thread:get("bad")
    if example == "" then example = thread:get("sample") end
  end
  local e = summary.errors
  io.write(string.format('BENCH {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, '
    .. '"max_us": %%d, "bad": %%d, "socket_errors": %%d, "timeouts": %%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max, total,
    e.connect + e.read + e.write, e.timeout))
  io.write("SAMPLE " .. example .. "\n")
end
"""


def lua_script(work: Path, body: dict, expect: str, token: str | None = None, prefix: str | None = None,
               batch: Batch | None = None) -> Path:
    """wrk's script: every request with `body`, or request i with a token `prefix` + i, or with `batch`'s
    body for its number i."""
    path = work / f"load-{secrets.token_hex(4)}.lua"
    numbered = "nil, nil, nil"
    if batch is not None:
        head, tail, first = batch.numbered()
        numbered = f"[==[{head}]==], [==[{tail}]==], {first}"
    path.write_text(LUA % {
        "body": json.dumps(body, ensure_ascii=False),
        "auth": f'wrk.headers["Authorization"] = "Bearer {token}"' if token else "",
        "prefix": f'"{prefix}"' if prefix else "nil", "numbered": numbered, "expect": expect})
    return path


@dataclass
class Run:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    bad: int
    sample: str
    server_cpu: float = 0.0
    outbox_cpu: float = 0.0  # the dispatcher's process: the run's SMS delivered, during the run and after it
    database_cpu: float = 0.0
    server_busy: float = 0.0
    load_busy: float = 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.server_cpu / max(self.requests, 1)

    @property
    def outbox_ms(self) -> float:
        return 1000 * self.outbox_cpu / max(self.requests, 1)


async def wrk(url: str, script: Path, connections: int, seconds: float, cpus: set[int]) -> Run:
    process = await asyncio.create_subprocess_exec(
        "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "30s", "-s", str(script),
        url + "/graphql", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        preexec_fn=lambda: os.sched_setaffinity(0, cpus))
    output = (await process.communicate())[0].decode(errors="replace")
    match = re.search(r"^BENCH (.*)$", output, re.MULTILINE)
    if not match:
        raise SystemExit(f"wrk failed:\n{output}")
    result = json.loads(match.group(1))
    sample = re.search(r"^SAMPLE (.*)$", output, re.MULTILINE)
    return Run(requests=result["requests"], seconds=result["duration_us"] / 1e6,
               p50_ms=result["p50_us"] / 1000, p99_ms=result["p99_us"] / 1000,
               bad=result["bad"] + result["socket_errors"] + result["timeouts"],
               sample=sample.group(1) if sample else "")


def postgres_cpu_seconds(postmaster: int) -> float:
    import psutil  # pgserver's dependency

    total = 0.0
    parent = psutil.Process(postmaster)
    for process in [parent, *parent.children(recursive=True)]:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


# --- report -------------------------------------------------------------------------------------------------

def describe_machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown CPU")
    virtual = " (virtual machine)" if " hypervisor" in Path("/proc/cpuinfo").read_text() else ""
    return f"{model}, {os.cpu_count()} cores{virtual}, Linux {platform.release()}, Python {platform.python_version()}"


def milliseconds(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def trips_text(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"


def report(results: dict, counts: dict, args, machine: str, postgres: str, pinned: str) -> str:
    lines = [
        "| path | product req/s | raw req/s | ratio | p50 / p99 product | p50 / p99 raw "
        "| server CPU per request | CPU ratio | SMS delivery CPU per request | DB round trips product / raw |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, connections in runs_of(args):
        if (key, connections, "product") not in results:
            continue
        product, raw = results[key, connections, "product"], results[key, connections, "raw"]
        count_p, count_r = counts.get((key, "product")), counts.get((key, "raw"))
        trips = "–"
        if count_p and count_r:
            outbox = f" + {trips_text(count_p.outbox)} outbox" if key in SENDS_SMS else ""
            trips = f"{trips_text(count_p.request)}{outbox} / {trips_text(count_r.request)}"
        label = PATHS[key].label + (f", {connections} connections" if connections != args.connections else "")
        lines.append(
            f"| {label} | {product.rate:,.0f} | {raw.rate:,.0f} | {product.rate / raw.rate:.2f} "
            f"| {milliseconds(product.p50_ms)} / {milliseconds(product.p99_ms)} ms "
            f"| {milliseconds(raw.p50_ms)} / {milliseconds(raw.p99_ms)} ms "
            f"| {product.cpu_ms:.2f} ms vs {raw.cpu_ms:.2f} ms | {raw.cpu_ms / product.cpu_ms:.2f} "
            f"| {f'{product.outbox_ms:.2f} ms' if key in SENDS_SMS else '–'} | {trips} |")
    lines.append("")
    lines.append(f"Machine: {machine}; PostgreSQL {postgres} (embedded, pgserver). {pinned} "
                 f"wrk: 1 thread, {args.connections} connections, {args.warmup:g} s warm-up + {args.seconds:g} s "
                 f"per path; {args.applications:,} applications in the database. The server runs with "
                 f"ACIKKAPI_OUTBOX_IN_SERVER=false and `acikkapi outbox` beside it on its CPU: server CPU is the "
                 f"server's process, SMS delivery CPU the dispatcher's (the raw endpoint only queues its SMS).")
    return "\n".join(lines)


def details(results: dict) -> str:
    lines = ["| run | requests | seconds | endpoint CPU | SMS dispatcher CPU, during and after the run "
             "| PostgreSQL CPU per request | endpoint's CPU busy | load CPU busy | bad answers |",
             "|---|---|---|---|---|---|---|---|---|"]
    for (key, connections, name), run in results.items():
        lines.append(
            f"| {key}, {connections} connections, {name} | {run.requests:,} | {run.seconds:.1f} s "
            f"| {run.server_cpu:.2f} s | {run.outbox_cpu:.2f} s | {1000 * run.database_cpu / max(run.requests, 1):.2f} ms "
            f"| {run.server_busy:.0%} | {run.load_busy:.0%} | {run.bad} |")
    return "\n".join(lines)


def targets(results: dict, counts: dict, args) -> list[str]:
    out = []

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    def have(key: str, connections: int) -> bool:
        return (key, connections, "product") in results

    c = args.connections
    if have("tracking", c):
        ratio = results["tracking", c, "product"].rate / results["tracking", c, "raw"].rate
        out.append(f"tracking view ≥ 0.35 of raw: {ratio:.2f}, {verdict(ratio >= 0.35)}")
    if have("categories", c):
        ratio = results["categories", c, "product"].rate / results["categories", c, "raw"].rate
        out.append(f"reference data ≥ 0.8 of raw (serviceCategories): {ratio:.2f}, {verdict(ratio >= 0.8)}")
    if have("submit", c):
        ratio = results["submit", c, "raw"].cpu_ms / results["submit", c, "product"].cpu_ms
        out.append(f"submit ≥ 0.35 of raw in CPU per request: {ratio:.2f}, {verdict(ratio >= 0.35)}")
    if have("submit", 64):
        product, raw = results["submit", 64, "product"], results["submit", 64, "raw"]
        spread = product.p99_ms / product.p50_ms
        out.append(f"submit p99 ≤ 3 × p50 at 64 connections: {milliseconds(product.p99_ms)} ms = "
                   f"{spread:.1f} × {milliseconds(product.p50_ms)} ms (raw {raw.p99_ms / raw.p50_ms:.1f} ×), "
                   f"{verdict(spread <= 3)}")
    ratios = {key: results[key, c, "raw"].cpu_ms / results[key, c, "product"].cpu_ms
              for key in TRANSITIONS if have(key, c)}
    if ratios:
        with_sms = {key: results[key, c, "raw"].cpu_ms / (results[key, c, "product"].cpu_ms
                                                          + results[key, c, "product"].outbox_ms)
                    for key in ratios if key in SENDS_SMS}
        out.append(f"transitions ≥ 0.35 of raw in CPU per request: "
                   f"{', '.join(f'{key} {ratio:.2f}' for key, ratio in ratios.items())}, "
                   f"{verdict(min(ratios.values()) >= 0.35)}"
                   + "".join(f" (counting the dispatcher's CPU for {key}'s SMS too: {ratio:.2f})"
                             for key, ratio in with_sms.items()))
    for key in ROUND_TRIP_GOALS:
        if (key, "product") in counts:
            product, raw = counts[key, "product"], counts[key, "raw"]
            out.append(f"{key} round trips ≤ raw + 2: {product.request:.1f} vs {raw.request:.1f}, "
                       f"{verdict(product.request <= raw.request + 2 + 0.05)}")
    return out


def runs_of(args) -> list[tuple[str, int]]:
    runs = []
    for key in args.paths:
        runs.append((key, args.connections))
        if key == "submit" and args.connections != 64:
            runs.append(("submit", 64))
    return runs


# --- the benchmark ----------------------------------------------------------------------------------------

async def benchmark(args) -> None:
    import pgserver

    machine = describe_machine()
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) > 1:
        server_cpus, load_cpus = {cpus[0]}, set(cpus[1:])
        database_cpus = load_cpus if args.postgres_on_load_cpu else server_cpus
        pinned = (f"The endpoint on CPU {cpus[0]}, PostgreSQL on CPU {','.join(map(str, sorted(database_cpus)))}, "
                  f"wrk and the simulators on CPU {','.join(map(str, cpus[1:]))}.")
    else:
        server_cpus = load_cpus = database_cpus = set(cpus)
        pinned = "One CPU: nothing pinned."
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="acikkapi-bench-"))
    processes = Processes(work)
    pg = None
    try:
        log(f"working in {work}")
        os.sched_setaffinity(0, database_cpus)  # the postmaster inherits it, and every backend from it
        pg = pgserver.get_server(work / "pg", cleanup_mode="stop")
        os.sched_setaffinity(0, load_cpus)  # this process and the simulators
        admin_uri = pg.get_uri()
        socket_dir = parse_qs(urlparse(admin_uri).query)["host"][0]
        db_url = admin_uri.replace("/postgres?", "/acikkapi?", 1)
        admin = await asyncpg.connect(admin_uri)
        postgres = (await admin.fetchval("SHOW server_version")).split()[0]
        await admin.execute("CREATE DATABASE acikkapi")
        await admin.close()

        product_port, raw_port = free_port(), free_port()
        product_url, raw_url = f"http://127.0.0.1:{product_port}", f"http://127.0.0.1:{raw_port}"
        simulators, _ = processes.start("simulators", [sys.executable, __file__, "--simulators"], os.environ.copy(),
                                        load_cpus)
        env = {**os.environ, "ACIKKAPI_DATABASE_URL": db_url, "ACIKKAPI_DATA_DIR": str(work / "data"),
               "ACIKKAPI_SECRET_KEY": secrets.token_urlsafe(48), "ACIKKAPI_HOST": "127.0.0.1",
               "ACIKKAPI_PUBLIC_BASE_URL": product_url,
               **{f"ACIKKAPI_{name}": "1000000" for name in LIMITS}}
        settings = Settings(_env_file=None, **{k[len("ACIKKAPI_"):].lower(): v for k, v in env.items()
                                               if k.startswith("ACIKKAPI_")})

        log("migrating and loading the reference data and the demo staff (acikkapi seed --demo)")
        with (work / "seed.log").open("wb") as seed_log:
            if subprocess.run([sys.executable, "-m", "acikkapi.cli", "seed", "--demo"], env=env, cwd=work,
                              stdout=seed_log, stderr=subprocess.STDOUT).returncode:
                raise SystemExit("acikkapi seed failed:\n" + (work / "seed.log").read_text(errors="replace"))
        started = time.monotonic()
        await fill(db_url, args.applications)
        log(f"filled {args.applications:,} applications and ran VACUUM ANALYZE in {time.monotonic() - started:.0f} s")

        urls = await simulator_urls(work / "simulators.log", simulators)
        env.update({"ACIKKAPI_IDENTITY_URL": urls["identity"], "ACIKKAPI_SMS_URL": urls["sms"]})
        product = Endpoint("server", product_url, *processes.start(
            "server", [sys.executable, "-m", "acikkapi.cli", "serve", "--no-migrate"],
            {**env, "ACIKKAPI_PORT": str(product_port), "ACIKKAPI_OUTBOX_IN_SERVER": "false"}, server_cpus))
        product.outbox, _ = processes.start("outbox", [sys.executable, "-m", "acikkapi.cli", "outbox"], env,
                                            server_cpus)
        raw = Endpoint("raw endpoint", raw_url, *processes.start(
            "raw", [sys.executable, str(ROOT / "scripts" / "bench_raw.py"), "--port", str(raw_port)], env,
            server_cpus))
        await wait_ready(product, "/health")
        await wait_ready(raw, "/_roundtrips")

        db = await asyncpg.connect(db_url)
        async with httpx.AsyncClient(timeout=60) as http:
            log("signing in through the API")
            form = await submit_input(db)
            apply_token = await sign_in(http, product_url, urls["sms"], REQUEST_APPLY,
                                        {"input": {**PERSON, "phone": PHONE}})
            first_submit = await post(http, product_url, {"query": SUBMIT, "variables": {"input": form}},
                                      apply_token)
            submitted = json.loads(first_submit.content)["data"]["submitApplication"]
            if submitted["__typename"] != "SubmitApplicationSuccess":
                raise SystemExit(f"the server refused the benchmark's submit: {submitted}")
            real_track = await sign_in(http, product_url, urls["sms"], REQUEST_TRACKING, {
                "input": {"trackingNo": submitted["trackingNo"], "tcKimlikNo": PERSON["tcKimlikNo"]}})
            template = await sign_in(http, product_url, urls["sms"], REQUEST_APPLY,
                                     {"input": {**PERSON, "phone": PHONE}})
            sessions = Sessions(db, template)
            track_token = await tracking_session(db, real_track, await tracked_application_id(db))
            staff = {}
            for key, person in (("route", AKS_ANKARA), ("answer", YETKILI_ANKARA)):
                real_staff = await sign_in(http, product_url, urls["sms"], REQUEST_STAFF, {
                    "input": {"tcKimlikNo": person["tckn"], "phone": person["phone"]}}, phone=person["phone"])
                staff[key] = await staff_session(db, real_staff)
            transitions = Transitions(db, await db.fetchval("SELECT id FROM application WHERE tracking_no = $1",
                                                            submitted["trackingNo"]),
                                      AKS_ANKARA["tckn"], await yetkili_unit(db, YETKILI_ANKARA["tckn"]))
            await outbox_drained(db)

            log("checking that the raw endpoint answers the same bytes")
            try:
                await check_identical(http, db, product, raw, settings, track_token, form, sessions,
                                      (first_submit, apply_token))
                await check_transitions(http, db, product, raw, transitions, staff)
            except Refusal as refusal:
                raise SystemExit(f"not timing: {refusal}") from None
            await outbox_drained(db)

            counts = {}
            if args.count_requests:
                with paused(product), paused(raw):
                    counts = await count_all(args, processes, env, work, socket_dir, http, db, sessions, form,
                                             track_token, transitions, staff)

            results = await time_all(args, product, raw, db, sessions, form, track_token, transitions, staff, work,
                                     server_cpus, load_cpus, pg.get_pid())
        await db.close()

        print()
        print(report(results, counts, args, machine, postgres, pinned))
        print()
        for line in targets(results, counts, args):
            print(f"- {line}")
        print()
        print(details(results))
        if args.statements:
            for (key, name), count in counts.items():
                print(f"\n{key}, {name}: one request's {len(count.listing)} round trips"
                      + (f" (the raw endpoint counts {count.own:.1f} per request itself)" if count.own else ""))
                for line in count.listing:
                    print(f"    {line}")
    finally:
        processes.stop_all()
        if pg is not None:
            pg.cleanup()
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


async def simulator_urls(log_path: Path, process: subprocess.Popen) -> dict:
    for _ in range(300):
        text = log_path.read_text(errors="replace")
        match = re.search(r'^(\{"identity".*\})$', text, re.MULTILINE)
        if match:
            return json.loads(match.group(1))
        if process.poll() is not None:
            raise SystemExit(f"the simulators exited:\n{text}")
        await asyncio.sleep(0.1)
    raise SystemExit("the simulators did not start")


async def count_all(args, processes: Processes, env: dict, work: Path, socket_dir: str, http: httpx.AsyncClient,
                    db: asyncpg.Connection, sessions: Sessions, form: dict, track_token: str,
                    transitions: Transitions, staff: dict[str, str]) -> dict:
    """Round trips per request, through the relay, on a second server and a second raw endpoint."""
    relay = RoundTripRelay(work / "relay", f"{socket_dir}/.s.PGSQL.5432")
    await relay.start()
    relayed_url = re.sub(r"host=[^&]+", f"host={relay.listen_dir}", env["ACIKKAPI_DATABASE_URL"])
    counts = {}
    n, warm = args.count_requests, max(10, args.count_requests // 2)
    try:
        for name in ("product", "raw"):
            port = free_port()
            relayed_env = {**env, "ACIKKAPI_DATABASE_URL": relayed_url, "ACIKKAPI_PORT": str(port)}
            if name == "product":
                command = [sys.executable, "-m", "acikkapi.cli", "serve", "--no-migrate"]
            else:
                command = [sys.executable, str(ROOT / "scripts" / "bench_raw.py"), "--port", str(port)]
            endpoint = Endpoint(f"relayed {name}", f"http://127.0.0.1:{port}",
                                *processes.start(f"relayed-{name}", command, relayed_env, set(os.sched_getaffinity(0))))
            await wait_ready(endpoint, "/health" if name == "product" else "/_roundtrips")
            settle = (lambda: outbox_drained(db)) if name == "product" else None
            log(f"counting round trips of the {name}")
            started = time.monotonic()

            def sender(body_of, token_of):
                async def send() -> None:
                    response = await post(http, endpoint.url, body_of(), token_of())
                    if response.status_code != 200 or b'"errors"' in response.content:
                        raise SystemExit(f"{endpoint.name} failed while counting: {response.content[:300]!r}")
                return send

            own = (lambda: raw_own_count(http, endpoint)) if name == "raw" else None
            for key in args.paths:
                if key == "tracking":
                    send = sender(lambda: {"query": TRACKED}, lambda: track_token)
                elif key == "categories":
                    send = sender(lambda: {"query": CATEGORIES}, lambda: None)
                elif key == "submit":
                    pool = await sessions.apply_pool(n + warm)
                    numbers = iter(range(1, n + warm + 1))
                    send = sender(lambda: {"query": SUBMIT, "variables": {"input": form}},
                                  lambda: pool.prefix + str(next(numbers)))
                else:
                    batch = await transitions.batch(key, n + warm)
                    numbers = iter(range(batch.first, batch.first + n + warm))
                    send = sender(lambda: batch.body(next(numbers)), lambda: staff[key])
                counts[key, name] = await count_round_trips(
                    relay, send, n, warm, settle if key in SENDS_SMS else None, own=own)
            log(f"  counted in {time.monotonic() - started:.1f} s")
            for key in args.paths:
                count = counts[key, name]
                if count.own is not None and abs(count.own - count.request) > 0.05:
                    log(f"warning: {key}: the relay counts {count.request:.2f} round trips per raw request, "
                        f"the raw endpoint itself {count.own:.2f}")
            await processes.stop_relayed(endpoint.process)
        await discard_raw_sms(db)
    finally:
        relay.stop()
    return counts


async def raw_own_count(http: httpx.AsyncClient, endpoint: Endpoint) -> int:
    return (await http.get(endpoint.url + "/_roundtrips")).json()["roundTrips"]


async def time_all(args, product: Endpoint, raw: Endpoint, db: asyncpg.Connection, sessions: Sessions,
                   form: dict, track_token: str, transitions: Transitions, staff: dict[str, str], work: Path,
                   server_cpus: set[int], load_cpus: set[int], postmaster: int) -> dict:
    results = {}
    rates = {}  # measured while warming up: sizes the pools and batches of the run after it
    guess = {"product": 1000.0, "raw": 3000.0}  # until measured
    for key, connections in runs_of(args):
        for name, endpoint, other in (("product", product, raw), ("raw", raw, product)):
            with paused(other):
                log(f"{key}, {connections} connections: {endpoint.name}")
                if key == "tracking":
                    body, token = {"query": TRACKED}, track_token
                elif key == "categories":
                    body, token = {"query": CATEGORIES}, None
                elif key == "submit":
                    body, token = {"query": SUBMIT, "variables": {"input": form}}, None
                else:
                    body, token = {}, staff[key]

                async def settle() -> None:
                    if key in SENDS_SMS:
                        await (outbox_drained(db) if name == "product" else discard_raw_sms(db))

                async def script(seconds: float) -> tuple[Path, Pool | Batch | None]:
                    size = int(rates.get((key, name), guess[name]) * seconds * 2) + 2 * connections + 500
                    started = time.monotonic()
                    if key == "submit":
                        pool = await sessions.apply_pool(size)
                        log(f"  {pool.size:,} APPLY sessions minted in {time.monotonic() - started:.1f} s")
                        return lua_script(work, body, PATHS[key].expect, prefix=pool.prefix), pool
                    if key in TRANSITIONS:
                        batch = await transitions.batch(key, size)
                        log(f"  {batch.size:,} applications prepared in {time.monotonic() - started:.1f} s")
                        return lua_script(work, body, PATHS[key].expect, token=token, batch=batch), batch
                    return lua_script(work, body, PATHS[key].expect, token=token), None

                warm_script, _ = await script(args.warmup)
                warm = await wrk(endpoint.url, warm_script, connections, args.warmup, load_cpus)
                rates[key, name] = warm.rate
                if warm.bad:
                    raise SystemExit(f"{endpoint.name} gave bad answers while warming up: {warm.sample}")
                await settle()
                run_script, pool = await script(args.seconds)
                cpu, database = endpoint.cpu_seconds(), postgres_cpu_seconds(postmaster)
                outbox_cpu = endpoint.outbox_cpu_seconds()
                busy = cpu_busy_seconds(server_cpus), cpu_busy_seconds(load_cpus)
                run = await wrk(endpoint.url, run_script, connections, args.seconds, load_cpus)
                run.server_cpu = endpoint.cpu_seconds() - cpu
                run.server_busy = (cpu_busy_seconds(server_cpus) - busy[0]) / run.seconds / len(server_cpus)
                run.load_busy = (cpu_busy_seconds(load_cpus) - busy[1]) / run.seconds / len(load_cpus)
                if key in SENDS_SMS and name == "product":
                    await outbox_drained(db)
                    run.outbox_cpu = endpoint.outbox_cpu_seconds() - outbox_cpu
                run.database_cpu = postgres_cpu_seconds(postmaster) - database
                if pool is not None:
                    used = await pool.used(db)
                    if not run.requests <= used <= run.requests + connections or used >= pool.size:
                        run.bad += 1
                        run.sample = (f"{used} applications {'made' if key == 'submit' else 'moved on'} for "
                                      f"{run.requests} answers (pool of {pool.size})")
                await settle()
                if run.bad:
                    log(f"  {run.bad} bad answers, e.g. {run.sample}")
                log(f"  {run.rate:,.0f} req/s, p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms, "
                    f"{run.cpu_ms:.2f} ms CPU per request")
                results[key, connections, name] = run
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10, help="timed seconds per path and endpoint (10)")
    parser.add_argument("--warmup", type=float, default=2, help="untimed seconds before each (2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16); submit also at 64")
    parser.add_argument("--applications", type=int, default=100_000, help="applications in the database")
    parser.add_argument("--paths", default=",".join(PATHS),
                        help=f"comma-separated: {', '.join(PATHS)} (all)")
    parser.add_argument("--count-requests", type=int, default=40,
                        help="sequential requests per path to count round trips over (0: do not count)")
    parser.add_argument("--statements", action="store_true", help="list one request's round trips per path")
    parser.add_argument("--postgres-on-load-cpu", action="store_true",
                        help="PostgreSQL beside wrk instead of beside the endpoint")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, database)")
    parser.add_argument("--simulators", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.simulators:
        return simulators_main()
    args.paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    if unknown := set(args.paths) - set(PATHS):
        parser.error(f"unknown paths: {', '.join(sorted(unknown))}")
    asyncio.run(benchmark(args))


if __name__ == "__main__":
    main()
