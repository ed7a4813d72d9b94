"""Side by side: the server's hot paths, workflow steps and staff lists against a hand-written endpoint doing
the same work (issues 12 and 13, and the staff lists'); the search's filters and Rapor Al measured on their own.

    .venv/bin/python scripts/bench.py                      # about five minutes on 2 cores, 100,000 applications
    .venv/bin/python scripts/bench.py --seconds 5          # quicker and noisier
    .venv/bin/python scripts/bench.py --paths tracking,submit --statements   # and each request's SQL
    .venv/bin/python scripts/bench.py --paths route,answer # the workflow's steps only
    .venv/bin/python scripts/bench.py --applications 1000000 --paths search,inbox,filters,export --seconds 8
                                                           # the lists at national size (3.3 GB, ~2 min to fill)

Needs `wrk` (Debian package `wrk`). It benchmarks the `acikkapi` of the Python it runs with (a checkout's
venv: that checkout's code) on a throwaway database in a temporary directory, and prints a Markdown table:
per path, the server's and the raw endpoint's requests per second and their ratio, p50/p99 latency, server
CPU per request and database round trips per request; then the targets, checked; then details, the filters'
latencies and plans, and the export's time and memory.

Paths (--paths): timed under wrk against the raw endpoint: tracking, categories, search, inbox, submit, route,
answer; measured on the server alone: filters, export. All by default. The reads are counted and timed first,
then the filters and the export run, then the steps that add applications to the AKS's office (submit, route,
answer) are counted and timed: the lists and the filters see the office as filled (the search lists its newest
applications).

What it does:
1. Database: an embedded PostgreSQL (pgserver, its default settings: 128 MB of shared buffers) in the temporary
   directory; `acikkapi seed --demo` migrates it and loads the reference data and the demo staff;
   scripts/bench_fill.sql adds --applications applications (100,000) over the last two years, spread over the
   provinces as the address records are (Ankara holds about 2%, the largest province about 6%), with 1-3
   category rows, an attachment row on about one in five, their SMS and their ended sessions, and each one's
   life in the office so far: 1-3 routings to units (or none), consistent with its status (97% closed, the
   recent ones open, a third of the open routings overdue), and its history (1 to a dozen rows, as the
   workflow writes them); a valilik AKS and MİA for each province without one, a Yetkili for each routed unit
   (see its header). VACUUM ANALYZE.
2. Processes: the identity and SMS simulators, `acikkapi serve --no-migrate` and scripts/bench_raw.py, each on
   a free port, configured by the same ACIKKAPI_* variables (a random secret key, code limits raised). The
   server runs as a production deployment would run it apart from SMS delivery: ACIKKAPI_OUTBOX_IN_SERVER=false
   and `acikkapi outbox` beside it.
3. Sessions, through the server's API: an APPLY session (its code read from the SMS simulator's
   /sms/mesajlar) submits an application and a TRACK session is opened for it; a second APPLY session is the
   template of the submit pools: before each run, copies of its row, each with its own token (stored as
   acikkapi.services.sessions.token_hash stores it), one per submit, since a session makes one application.
   The tracking view follows a filled application with 3 category rows, 2 attachments and a closed history
   (a copy of the real TRACK session, pointed at it). The demo AKS and Yetkili of Ankara (tests/helpers.py)
   sign in with a staff code; route and search run on copies of the AKS's session, answer and inbox on copies
   of the Yetkili's.
   Each step acts on a fresh application, copies of the first submitted one (in the AKS's office) with its
   history, made before each run, numbered consecutively so that wrk's request i names the i-th: `route`
   (routeApplication, to the Yetkili's unit, the first routing: with its SMS) on applications in the pool;
   `answer` (answerRouting, text only, JSON body) on applications routed to that unit as routeApplication
   leaves them (one open routing, its history row), so that the answer makes them Cevaplandı.
   The lists send scripts/bench_lists.py's documents with variables, as the screens would ({"filter": {},
   "first": 50}): `search` (searchApplications as the AKS: every column of a row, the T.C. Kimlik No
   included, so each page writes a KVKK log row per listed application, categories, routings, totalCount,
   pageInfo, cursors) and `inbox` (routingInbox as the Yetkili: the routing and its application's row without
   the T.C. Kimlik No, an ihbar's names null, totalCount, pageInfo).
4. Checks, before any timing (it refuses to time when one fails): the category tree is byte-identical. The
   tracking view is byte-identical once each signed link's expiry and signature are replaced by placeholders,
   after checking them: the signature must be valid for the link's path and session under the link key, the
   expiry download_link_seconds from now. (A link carries the second it expires, so two answers given in
   different seconds differ there and only there.) A submit's answer is identical but for the tracking
   number, and the rows it wrote (application, category rows, event, SMS, session) equal the server's but
   for ids and times. Each workflow step is taken by both on two fresh applications: the answers are
   identical but for the tracking number, and the rows (application, routings, history, SMS) equal but for
   ids and times. Each list's first page, at 50 and at 200 rows, is byte-identical (key order, cursors,
   masking, dates and times), and both wrote the same KVKK rows: one per listed application for the search,
   naming tcKimlikNo, none for the inbox. Status and content type must match too; other headers may differ.
5. Round trips: a second server and a second raw endpoint, whose connections go through a relay of
   PostgreSQL's wire protocol, answer --count-requests sequential requests per path (the lists: at 50 rows and
   at 200). Each Query message, and each batch of messages ended by a Sync (or by a Flush: asyncpg prepares a
   statement so), is one round trip (the client waits for the answer). Connections opened meanwhile count
   with their first statements. Units of work that touch outbox_message other than by inserting into it, with
   the pool's pre-ping before them, are the outbox dispatcher's: counted apart ("+ N outbox" per submit or
   route; sequential requests make it send each SMS on its own, the worst case), and left out for reads. The
   raw endpoint's own count must agree.
6. Timing: for each path, the server then the raw endpoint, each while the other is stopped (SIGSTOP), under
   wrk (1 thread, --connections, --warmup then --seconds; submit also at 64 connections). The endpoint and
   PostgreSQL share the first CPU (so requests per second compare the whole cost of a request, database
   included); wrk and the simulators have the others. Server CPU per request is the endpoint process's
   utime+stime (/proc/<pid>/stat) over the run over the requests wrk completed. For submit and route, the
   dispatcher's CPU for sending the run's SMS (until the outbox is empty), which the raw endpoint only queues,
   is reported beside it, and once more added to it in the targets. Every answer is checked in wrk's Lua
   (status 200, no "errors", the expected field) and every submit must have made its application, every step
   moved its application on, or the run is reported as bad.
7. Filters (server only, the raw endpoint stopped): for each criterion of the search (bench_lists.FILTERS:
   trackingNo, tcKimlikNo, firstName "mehmet", lastName "sahin", categoryId, subcategoryId, statuses, results,
   kinds, channels, isSpecial, isConfidential, priorityGroups, a registration month, unitNo, overdue; values
   taken from Ankara's own applications), one untimed request then --filter-requests (15) sequential ones as
   the AKS over HTTP, first 50 with totalCount: p50 and p99 (nearest rank). Then the statements the product
   runs for that filter, the page (with its total) and the total alone, rebuilt by acikkapi.services.search
   itself in this process (db.Prepared recorded), under EXPLAIN (ANALYZE, BUFFERS) with their arguments (a
   custom plan) and EXPLAIN (GENERIC_PLAN) (the plan a prepared statement may switch to after five runs):
   any "Seq Scan on application" is reported.
8. Export (server only): Rapor Al of about --export-rows (100,000) applications by the AKS of the province
   holding the most. No office of the fill holds that many (the largest about 6% of them): the missing ones are
   copies of other provinces' applications (every n-th by id, with their category rows and routings, their
   registration times kept) made that province's first; an office holding more than asked is cut to its most
   recent days with registeredFrom. startApplicationExport through the API, exportJob polled every 0.1 s until
   DONE, the workbook downloaded from its signed link and its rows counted. Time: the job's createdAt →
   finishedAt. Memory: the server process's VmHWM, reset (clear_refs) just before the export, and its RSS
   sampled every 20 ms, during the job and during the download. Beside it, the csv module: a process of its
   own on the server's CPU (scripts/bench_lists.py csv) fetches the same rows with asyncpg from a server-side
   cursor (the product's statement, 1,000 rows at a time, repeatable read) and writes the export's 13 columns
   with csv.writer; the count and the KVKK insert the export also does are timed apart (and rolled back).

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
import statistics
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
from acikkapi.models import Application, Routing  # noqa: E402
from acikkapi.services.business_days import due_date  # noqa: E402
from acikkapi.services.links import check_signed  # noqa: E402
from acikkapi.services.sessions import token_hash  # noqa: E402
from acikkapi.settings import Settings  # noqa: E402
from tests.documents import (  # noqa: E402
    ANSWER, CATEGORIES, REQUEST_APPLY, REQUEST_STAFF, REQUEST_TRACKING, ROUTE, SUBMIT, TRACKED, VERIFY,
)
from tests.helpers import AKS_ANKARA, YETKILI_ANKARA  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
import bench_lists  # noqa: E402
from bench_lists import EXPORT_JOB, FILTERS, INBOX_PAGE, PAGE, SEARCH_PAGE, START_EXPORT  # noqa: E402

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
    "search": HotPath("search", f"`searchApplications` (AKS, first {PAGE}, every column, totalCount, KVKK log)",
                      '"searchApplications":{"totalCount":'),
    "inbox": HotPath("inbox", f"`routingInbox` (Yetkili, first {PAGE}, with the application, totalCount)",
                     '"routingInbox":{"totalCount":'),
    "submit": HotPath("submit", "`submitApplication` (2 categories, no files)", '"SubmitApplicationSuccess"'),
    "route": HotPath("route", "`routeApplication` (pool → 1 unit, its SMS)", '"status":"YONLENDIRILDI"'),
    "answer": HotPath("answer", "`answerRouting` (text, the last open routing)", '"status":"CEVAPLANDI"'),
}
# Measured otherwise than under wrk: sequential requests per filter of the search, and one big export.
CHECKS = {"filters": "the search's filters: sequential latency and EXPLAIN",
          "export": "Rapor Al of about --export-rows rows: time, memory, the csv module beside it"}
LISTS = {"search": SEARCH_PAGE, "inbox": INBOX_PAGE}
LIST_ROLES = {"route": AKS_ANKARA, "answer": YETKILI_ANKARA, "search": AKS_ANKARA, "inbox": YETKILI_ANKARA}
BIG_PAGE = 200  # the round trips of a page must not grow with its size
FILTER_GOAL_MS = 50
EXPORT_RATIO_GOAL, EXPORT_MEMORY_GOAL_MB = 2.0, 150
TRANSITIONS = ("route", "answer")
WRITES = ("submit", *TRANSITIONS)  # each request adds an application to the AKS's office, or moves one on
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
    ready_rss_mb: float = 0.0  # its RSS once it answered its first request

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
COPIED = [c.name for c in Application.__table__.columns if c.computed is None  # generated: the name words
          and c.name not in ("id", "tracking_no", "status", "version", "created_at", "idempotency_key")]
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
    closed history (with its internal rows), an e-mail."""
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


def list_body(key: str, first: int = PAGE, filter: dict | None = None) -> dict:
    """A list's request as the screens send it: the document with its variables."""
    return {"query": LISTS[key], "variables": {"filter": filter or {}, "first": first}}


LIST_FIELDS = {"search": "searchApplications", "inbox": "routingInbox"}


async def kvkk_mark(db: asyncpg.Connection) -> int:
    return await db.fetchval("SELECT coalesce(max(id), 0) FROM kvkk_access_log")


async def kvkk_rows(db: asyncpg.Connection, after: int) -> list[tuple]:
    """The KVKK log rows written since `after`, without ids and times."""
    return sorted((r["user_id"], r["application_id"], tuple(r["fields"])) for r in await db.fetch(
        "SELECT user_id, application_id, fields FROM kvkk_access_log WHERE id > $1", after))


async def check_lists(http: httpx.AsyncClient, db: asyncpg.Connection, product: Endpoint, raw: Endpoint,
                      staff: dict[str, str]) -> None:
    """Each list's first page, at the timed size and at the largest, from both: byte-identical answers, and the
    same KVKK rows written (the search: one per listed application, naming tcKimlikNo; the inbox: none)."""
    for key, name in LIST_FIELDS.items():
        user_id = await db.fetchval("SELECT user_id FROM auth_session WHERE token_hash = $1", token_hash(staff[key]))
        for first in (PAGE, BIG_PAGE):
            answers, logged = [], []
            for endpoint in (product, raw):
                mark = await kvkk_mark(db)
                answers.append(await post(http, endpoint.url, list_body(key, first), staff[key]))
                logged.append(await kvkk_rows(db, mark))
            same(f"{name} (first {first})", *answers, answers[0].content, answers[1].content)
            body = json.loads(answers[0].content)
            if "errors" in body or PATHS[key].expect.encode() not in answers[0].content:
                raise Refusal(f"{name}: the server refused the page: {answers[0].content[:300]!r}")
            connection = body["data"][name]
            edges, total = connection["edges"], connection["totalCount"]
            if len(edges) != min(first, total) or connection["pageInfo"]["hasNextPage"] != (total > first):
                raise Refusal(f"{name}: {len(edges)} rows of {total} on a page of {first}")
            rows = [edge["node"] if key == "search" else edge["node"]["application"] for edge in edges]
            expected = sorted({(user_id, int(row["id"]), ("tcKimlikNo",)) for row in rows}) if key == "search" else []
            if logged[0] != logged[1] or logged[0] != expected:
                raise Refusal(f"{name}: KVKK rows written: server {len(logged[0])}, raw {len(logged[1])}, "
                              f"expected {len(expected)}; server {logged[0][:3]}, raw {logged[1][:3]}")
            routings = sum(len(row["routings"]) for row in rows)
            categories = sum(len(row["categories"]) for row in rows)
            hidden = sum(row["firstName"] is None for row in rows)
            log(f"{name}, first {first}: byte-identical ({len(answers[0].content):,} bytes: {len(edges)} rows of "
                f"{total:,}, {categories} category rows, {routings} routings, {hidden} without names); "
                f"the same {len(logged[0])} KVKK rows written")


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
    # each request's own, in order: a connection the pool opens meanwhile counts its setup (type introspection,
    # statements prepared anew) with the request that opened it
    per_request: list[int] = field(default_factory=list)


async def count_round_trips(relay: RoundTripRelay, send, n: int, warm: int, settle=None, own=None) -> Count:
    for _ in range(warm):
        await send()
    if settle:
        await settle()
    own_before = await own() if own else 0
    relay.trips = []
    relay.recording = True
    marks = []  # where each request's trips begin
    for _ in range(n):
        marks.append(len(relay.trips))
        await send()
    if settle:
        await settle()
    await asyncio.sleep(0.2)
    relay.recording = False
    trips = relay.trips
    attribute(trips)
    listing = []
    for trip in trips[marks[-1]:]:
        if trip.owner == "request":
            text = " | ".join(" ".join(t.split()) for t in trip.texts) or "(empty)"
            listing.append(("prepare: " if trip.prepare else "") + (text[:150] + "…" if len(text) > 150 else text))
    per_request = [sum(t.owner == "request" for t in trips[a:b]) for a, b in zip(marks, [*marks[1:], len(trips)])]
    return Count(request=sum(t.owner == "request" for t in trips) / n,
                 outbox=sum(t.owner == "outbox" for t in trips) / n, listing=listing,
                 own=(await own() - own_before) / n if own else None, per_request=per_request)


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


def list_targets(results: dict, counts: dict, args, filters: "list[FilterRun]", export: dict | None) -> list[str]:
    """The staff lists' targets: the search against raw, the statements per page, the filters, the export."""
    out = []

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    c = args.connections
    for key, goal in (("search", 0.70), ("inbox", None)):
        if (key, c, "product") in results:
            ratio = results[key, c, "product"].rate / results[key, c, "raw"].rate
            cpu = results[key, c, "raw"].cpu_ms / results[key, c, "product"].cpu_ms
            out.append(f"{key} ≥ {goal:.2f} of raw: {ratio:.2f} (in CPU per request {cpu:.2f}), {verdict(ratio >= goal)}"
                       if goal else f"{key} (no target): {ratio:.2f} of raw (in CPU per request {cpu:.2f})")
    for key in LISTS:
        sizes = [(first, counts.get((key if first == PAGE else f"{key}@{first}", "product")))
                 for first in (PAGE, BIG_PAGE)]
        if all(count for _, count in sizes):
            most = max(count.request for _, count in sizes)
            raw = counts[key, "raw"].request
            out.append(f"{key}: ≤ 4 SQL statements per page, the session lookup included, whatever the page size: "
                       + ", ".join(f"{trips_text(count.request)} at first {first} (per request: median "
                                   f"{statistics.median(count.per_request):g}, most {max(count.per_request)})"
                                   for first, count in sizes)
                       + f" (raw {trips_text(raw)}), {verdict(most <= 4.05)}")
    if filters:
        slow = [run for run in filters if run.p50 > FILTER_GOAL_MS]
        worst = max(filters, key=lambda run: run.p50)
        out.append(f"every filter's p50 ≤ {FILTER_GOAL_MS} ms ({args.applications:,} applications, "
                   f"{args.filter_requests} sequential requests each): slowest {worst.name} {worst.p50:.1f} ms, "
                   + (f"NOT met by {len(slow)}: " + ", ".join(f"{run.name} {run.p50:.0f} ms" for run in slow)
                      if slow else "met"))
        scans = [(run.name, line) for run in filters for line in run.seq_scans]
        out.append("no Seq Scan on application in the filters' page and count statements (EXPLAIN, custom and "
                   "generic plans): " + ("none, met" if not scans else
                                         f"NOT met, {len(scans)} in " + ", ".join(sorted({n for n, _ in scans}))))
    if export:
        csv_s, job_s = export["csv"]["rows_s"], export["job_s"]
        ratio = job_s / csv_s
        whole = csv_s + export["csv"]["count_s"] + export["csv"]["kvkk_log_s"]
        out.append(f"export ≤ {EXPORT_RATIO_GOAL:g}× the csv module's time ({export['job']['rowsWritten']:,} rows): "
                   f"job {job_s:.1f} s vs csv {csv_s:.1f} s (fetch and write) = {ratio:.2f}×, "
                   f"{verdict(ratio <= EXPORT_RATIO_GOAL)} (with the export's count and KVKK insert added to the csv "
                   f"side: {job_s / whole:.2f}×)")
        peak = max(export["hwm_job_mb"], export["hwm_after_mb"]) if export["peak_reset"] else export["hwm_after_mb"]
        out.append(f"export ≤ {EXPORT_MEMORY_GOAL_MB} MB peak for the whole server process (VmHWM): {peak:.0f} MB "
                   f"(RSS {export['rss_before_mb']:.0f} MB before the export), {verdict(peak <= EXPORT_MEMORY_GOAL_MB)}")
    return out


def filters_report(filters: "list[FilterRun]") -> str:
    lines = ["| filter (AKS of Ankara, first 50, totalCount) | rows | p50 | p99 | page statement | count statement "
             "| Seq Scan on application |", "|---|---|---|---|---|---|---|"]
    for run in filters:
        values = json.dumps(run.variables, ensure_ascii=False)
        lines.append(f"| {run.name} `{values}` | {run.total:,} | {run.p50:.1f} ms | {run.p99:.1f} ms "
                     f"| {run.plans['page']['ms']:.1f} ms | {run.plans['count']['ms']:.1f} ms "
                     f"| {'; '.join(run.seq_scans) or 'none'} |")
    lines.append("")
    lines.append("p50 and p99 over HTTP (nearest rank: p99 is the slowest of the requests); the statements' times "
                 "are EXPLAIN ANALYZE's execution times (custom plan), the page statement's with its total.")
    return "\n".join(lines)


def export_report(export: dict) -> str:
    job, csv = export["job"], export["csv"]
    other = csv["count_s"] + csv["kvkk_log_s"]
    return "\n".join([
        f"Export: province {export['province']}, filter {json.dumps(export['filter'])}: {job['rowsWritten']:,} rows, "
        f"{export['file_mb']:.1f} MB workbook ({export['file_rows']:,} rows in its sheet).",
        f"- job {export['job_s']:.1f} s (createdAt → finishedAt; {export['wall_s']:.1f} s from the mutation to DONE "
        f"seen), download {export['download_s']:.2f} s; server CPU {export['server_cpu_s']:.1f} s, PostgreSQL CPU "
        f"{export['database_cpu_s']:.1f} s meanwhile",
        f"- server memory: RSS {export['rss_ready_mb']:.0f} MB once started, {export['rss_before_mb']:.0f} MB before "
        f"the export (VmHWM {export['hwm_before_mb']:.0f} MB since it started), during the job VmHWM {export['hwm_job_mb']:.0f} MB"
        + ("" if export["peak_reset"] else " (could not reset: since it started)")
        + f" (sampled RSS peak {export['rss_peak_sampled_mb']:.0f} MB), during the download sampled peak "
        f"{export['rss_peak_download_mb']:.0f} MB, RSS after {export['rss_after_mb']:.0f} MB",
        f"- csv module, same rows in a process of its own: {csv['rows_s']:.1f} s (fetching {csv['fetch_s']:.1f} s, "
        f"columns and csv.writer {csv['csv_s']:.1f} s), {csv['bytes'] / 1e6:.1f} MB, peak RSS {csv['peak_rss_mb']:.0f} "
        f"MB; the export's other work apart: count {csv['count_s']:.2f} s, KVKK log insert {csv['kvkk_log_s']:.2f} s "
        f"(with them: {csv['rows_s'] + other:.1f} s, the job {export['job_s'] / (csv['rows_s'] + other):.1f}×)",
    ])


def runs_of(args, keys: list[str] | None = None) -> list[tuple[str, int]]:
    runs = []
    for key in args.timed if keys is None else keys:
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
        product.ready_rss_mb = status_mb(product.pid, "VmRSS")

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
            real_staff = {}  # by T.C. Kimlik No: the real sessions, of which each path gets a copy of its own
            for person in (AKS_ANKARA, YETKILI_ANKARA):
                real_staff[person["tckn"]] = await sign_in(http, product_url, urls["sms"], REQUEST_STAFF, {
                    "input": {"tcKimlikNo": person["tckn"], "phone": person["phone"]}}, phone=person["phone"])
            staff = {key: await staff_session(db, real_staff[person["tckn"]]) for key, person in LIST_ROLES.items()}
            transitions = Transitions(db, await db.fetchval("SELECT id FROM application WHERE tracking_no = $1",
                                                            submitted["trackingNo"]),
                                      AKS_ANKARA["tckn"], await yetkili_unit(db, YETKILI_ANKARA["tckn"]))
            await outbox_drained(db)

            log("checking that the raw endpoint answers the same bytes")
            try:
                await check_identical(http, db, product, raw, settings, track_token, form, sessions,
                                      (first_submit, apply_token))
                await check_transitions(http, db, product, raw, transitions, staff)
                await check_lists(http, db, product, raw, staff)
            except Refusal as refusal:
                raise SystemExit(f"not timing: {refusal}") from None
            await outbox_drained(db)

            # The reads first (counted, then timed), the filters and the export, then the steps that add
            # applications to the AKS's office (counted, then timed): the lists and filters see the filled office.
            counts, results, filters, export = {}, {}, [], None
            for writes in (False, True):
                keys = [key for key in args.timed if (key in WRITES) == writes]
                if writes and "filters" in args.paths:
                    with paused(raw):
                        filters = await check_filters(args, http, db, db_url, product, staff["search"])
                if writes and "export" in args.paths:
                    with paused(raw):
                        export = await run_export(args, http, db, db_url, product, real_staff[AKS_ANKARA["tckn"]],
                                                  work, server_cpus, pg.get_pid())
                if not keys:
                    continue
                if args.count_requests:
                    with paused(product), paused(raw):
                        counts.update(await count_all(args, keys, processes, env, work, socket_dir, http, db,
                                                      sessions, form, track_token, transitions, staff))
                results.update(await time_all(args, keys, product, raw, db, sessions, form, track_token, transitions,
                                              staff, work, server_cpus, load_cpus, pg.get_pid()))
        await db.close()

        print()
        print(report(results, counts, args, machine, postgres, pinned))
        print()
        for line in targets(results, counts, args) + list_targets(results, counts, args, filters, export):
            print(f"- {line}")
        print()
        print(details(results))
        if filters:
            print()
            print(filters_report(filters))
        if export:
            print()
            print(export_report(export))
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


async def count_all(args, keys: list[str], processes: Processes, env: dict, work: Path, socket_dir: str, http: httpx.AsyncClient,
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
            for key in keys:
                if key in LISTS:
                    for first in (PAGE, BIG_PAGE):
                        send = sender(lambda: list_body(key, first), lambda: staff[key])
                        counts[key if first == PAGE else f"{key}@{first}", name] = await count_round_trips(
                            relay, send, n, warm, own=own)
                    continue
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
            for key in keys:
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


async def time_all(args, keys: list[str], product: Endpoint, raw: Endpoint, db: asyncpg.Connection, sessions: Sessions,
                   form: dict, track_token: str, transitions: Transitions, staff: dict[str, str], work: Path,
                   server_cpus: set[int], load_cpus: set[int], postmaster: int) -> dict:
    results = {}
    rates = {}  # measured while warming up: sizes the pools and batches of the run after it
    guess = {"product": 1000.0, "raw": 3000.0}  # until measured
    for key, connections in runs_of(args, keys):
        for name, endpoint, other in (("product", product, raw), ("raw", raw, product)):
            with paused(other):
                log(f"{key}, {connections} connections: {endpoint.name}")
                if key == "tracking":
                    body, token = {"query": TRACKED}, track_token
                elif key == "categories":
                    body, token = {"query": CATEGORIES}, None
                elif key == "submit":
                    body, token = {"query": SUBMIT, "variables": {"input": form}}, None
                elif key in LISTS:
                    body, token = list_body(key), staff[key]
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


# --- the search's filters and the export ------------------------------------------------------------------

def nearest_rank(values: list[float], q: float) -> float:
    """The q-th percentile by nearest rank (p99 of fewer than 100 values is their maximum); NaN of none."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * q // 100) - 1))] if ordered else float("nan")


@dataclass
class FilterRun:
    name: str
    variables: dict
    total: int
    latencies: list[float]  # ms, sequential requests over HTTP
    plans: dict = field(default_factory=dict)  # "page"/"count" → {"ms", "seq_scans", "generic_seq_scans", "plan"}

    def percentile(self, q: float) -> float:
        return nearest_rank(self.latencies, q)

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p99(self) -> float:
        return self.percentile(99)

    @property
    def seq_scans(self) -> list[str]:
        return [f"{which}{' (generic plan)' if generic else ''}: {line}" for which, plan in self.plans.items()
                for generic in (False, True) for line in plan["generic_seq_scans" if generic else "seq_scans"]]


async def check_filters(args, http: httpx.AsyncClient, db: asyncpg.Connection, db_url: str, product: Endpoint,
                        token: str) -> list[FilterRun]:
    """Each filter of the search as the AKS: one untimed request, then --filter-requests sequential ones (first
    50, totalCount), over HTTP to the server; then EXPLAIN of the statements the product runs for it."""
    from acikkapi.db import make_engine, to_asyncpg_url

    province_id = await db.fetchval("SELECT province_id FROM app_user WHERE tckn = $1", AKS_ANKARA["tckn"])
    samples = await bench_lists.filter_samples(db, province_id, PERSON["tcKimlikNo"])
    actor = bench_lists.office_actor(province_id)
    engine = make_engine(to_asyncpg_url(db_url), pool_size=1).execution_options(isolation_level="AUTOCOMMIT")
    runs = []
    try:
        for criterion in FILTERS:
            variables = criterion.variables(samples)
            body = list_body("search", PAGE, variables)
            latencies, answer = [], None
            for i in range(args.filter_requests + 1):
                started = time.perf_counter()
                response = await post(http, product.url, body, token)
                elapsed = 1000 * (time.perf_counter() - started)
                answer = response.json()
                if response.status_code != 200 or "errors" in answer:
                    raise SystemExit(f"the server refused the filter {criterion.name}: {response.text[:300]}")
                if i:
                    latencies.append(elapsed)
            run = FilterRun(criterion.name, variables, answer["data"]["searchApplications"]["totalCount"], latencies)
            for which, (sql, arguments) in (await bench_lists.product_statements(engine, actor, variables)).items():
                plan = await bench_lists.explain(db, sql, arguments)
                generic = await bench_lists.explain(db, sql, arguments, generic=True)
                executed = next((float(m.group(1)) for line in plan
                                 if (m := re.search(r"Execution Time: ([\d.]+) ms", line))), float("nan"))
                run.plans[which] = {
                    "ms": executed, "plan": plan, "generic": generic,
                    "seq_scans": [line.strip() for line in plan if bench_lists.SEQ_SCAN.search(line)],
                    "generic_seq_scans": [line.strip() for line in generic if bench_lists.SEQ_SCAN.search(line)]}
            log(f"  {criterion.name}: {run.total:,} rows, p50 {run.p50:.1f} ms, p99 {run.p99:.1f} ms; page statement "
                f"{run.plans['page']['ms']:.1f} ms, count {run.plans['count']['ms']:.1f} ms"
                + (f"; {len(run.seq_scans)} seq scans on application" if run.seq_scans else ""))
            runs.append(run)
    finally:
        await engine.dispose()
    return runs


def status_mb(pid: int, name: str) -> float:
    """A VmXXX line of /proc/<pid>/status, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak(pid: int) -> bool:
    """VmHWM back to the current RSS (clear_refs 5, Linux 4.0)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class RssSampler:
    """The process's RSS every 20 ms, its peak kept."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.task = pid, 0.0, None

    async def __aenter__(self) -> "RssSampler":
        async def sample() -> None:
            while True:
                self.peak = max(self.peak, status_mb(self.pid, "VmRSS"))
                await asyncio.sleep(0.02)
        self.task = asyncio.create_task(sample())
        return self

    async def __aexit__(self, *exc) -> None:
        self.peak = max(self.peak, status_mb(self.pid, "VmRSS"))
        self.task.cancel()


async def export_office(db: asyncpg.Connection, rows: int) -> tuple[int, dict]:
    """The office of the export: the province with the most applications and its valilik AKS. When it has
    fewer than `rows`, copies of other provinces' applications (with their category rows and routings, their
    registration times kept) are made its own up to `rows`: no office of the fill reaches 100,000 (a province
    holds at most about 6% of them). Returns the province and the AKS (id, tckn, phone)."""
    province_id, have = await db.fetchrow(
        "SELECT subject_province_id, count(*) FROM application GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1")
    aks = await db.fetchrow("SELECT id, tckn, phone FROM app_user WHERE role = 'AKS' AND province_id = $1 "
                            "AND district_id IS NULL AND active ORDER BY id LIMIT 1", province_id)
    if aks is None:
        raise SystemExit(f"no AKS in province {province_id} for the export")
    missing = rows - have
    if missing > 0:
        started = time.monotonic()
        others = await db.fetchval("SELECT count(*) FROM application WHERE subject_province_id <> $1", province_id)
        step = max(1, others // missing)
        application_columns = [c.name for c in Application.__table__.columns if c.computed is None and c.name not in (
            "id", "tracking_no", "subject_province_id", "subject_district_id", "subject_place_id", "idempotency_key")]
        routing_columns = [c.name for c in Routing.__table__.columns if c.name not in ("id", "application_id",
                                                                                      "parent_id")]
        async with db.transaction():
            await db.execute(
                """CREATE TEMP TABLE bench_export_copy ON COMMIT DROP AS
                   SELECT id AS source, nextval(pg_get_serial_sequence('application', 'id'))::int AS id,
                          nextval('application_tracking_no_seq') AS tracking_no
                   FROM (SELECT id FROM application WHERE subject_province_id <> $1 AND id % $2 = 0
                         ORDER BY id LIMIT $3) s""", province_id, step, missing)
            place = await db.fetchrow("SELECT d.province_id, d.id AS district_id, p.id AS place_id FROM place p "
                                      "JOIN district d ON d.id = p.district_id WHERE d.province_id = $1 "
                                      "ORDER BY p.id LIMIT 1", province_id)
            columns = ", ".join(application_columns)
            await db.execute(
                f"""INSERT INTO application (id, tracking_no, subject_province_id, subject_district_id,
                                             subject_place_id, {columns})
                    SELECT c.id, c.tracking_no, $1, $2, $3, {", ".join(f"a.{n}" for n in application_columns)}
                    FROM bench_export_copy c JOIN application a ON a.id = c.source""", *place)
            await db.execute(
                """INSERT INTO application_category (application_id, position, category_id, subcategory_id,
                                                     description)
                   SELECT c.id, r.position, r.category_id, r.subcategory_id, r.description
                   FROM bench_export_copy c JOIN application_category r ON r.application_id = c.source""")
            columns = ", ".join(routing_columns)
            await db.execute(
                f"""INSERT INTO routing (application_id, {columns})
                    SELECT c.id, {", ".join(f"r.{n}" for n in routing_columns)}
                    FROM bench_export_copy c JOIN routing r ON r.application_id = c.source ORDER BY r.id""")
        await db.execute("ANALYZE application, application_category, routing")
        have = await db.fetchval("SELECT count(*) FROM application WHERE subject_province_id = $1", province_id)
        log(f"  {min(missing, others // step):,} applications of other provinces copied into province "
            f"{province_id} in {time.monotonic() - started:.0f} s: {have:,} now")
    return province_id, dict(aks)


async def run_export(args, http: httpx.AsyncClient, db: asyncpg.Connection, db_url: str, product: Endpoint,
                     real_aks: str, work: Path, server_cpus: set[int], postmaster: int) -> dict:
    """Rapor Al of the office's applications (about --export-rows) through the API: started, polled until
    DONE, downloaded; the server's memory meanwhile; then the csv module on the same rows, in a process of
    its own on the server's CPU."""
    log(f"export of about {args.export_rows:,} rows")
    province_id, aks = await export_office(db, args.export_rows)
    token = f"bench-export-{secrets.token_urlsafe(24)}"
    await db.execute(
        """INSERT INTO auth_session (token_hash, purpose, tckn, phone, user_id, application_id, identity,
                                     created_at, last_seen_at, expires_at)
           SELECT $1, s.purpose, $3, $4, $5, NULL, s.identity, now(), now(), now() + (s.expires_at - s.created_at)
           FROM auth_session s WHERE s.token_hash = $2""",
        token_hash(token), token_hash(real_aks), aks["tckn"], aks["phone"], aks["id"])
    variables = {}
    have = await db.fetchval("SELECT count(*) FROM application WHERE subject_province_id = $1", province_id)
    if have > args.export_rows * 1.05:  # the most recent days that hold about that many
        day = await db.fetchval(
            "SELECT (created_at AT TIME ZONE 'Europe/Istanbul')::date FROM application WHERE subject_province_id = $1 "
            "ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1", province_id, args.export_rows - 1)
        variables = {"registeredFrom": day.isoformat()}
    pid = product.pid
    result = {"province": province_id, "filter": variables, "rss_ready_mb": product.ready_rss_mb,
              "rss_before_mb": status_mb(pid, "VmRSS"),
              "hwm_before_mb": status_mb(pid, "VmHWM")}
    result["peak_reset"] = reset_peak(pid)
    cpu, database = product.cpu_seconds(), postgres_cpu_seconds(postmaster)
    async with RssSampler(pid) as sampler:
        started = time.monotonic()
        answer = await gql(http, product.url, START_EXPORT, {"input": {"filter": variables}}, token)
        started_job = answer["startApplicationExport"]
        if started_job["__typename"] != "ExportStarted":
            raise SystemExit(f"the server did not start the export: {started_job}")
        job_id = started_job["job"]["id"]
        while True:
            job = (await gql(http, product.url, EXPORT_JOB, {"id": job_id}, token))["exportJob"]
            if job["status"] not in ("QUEUED", "RUNNING"):
                break
            if time.monotonic() - started > 1800:
                raise SystemExit(f"the export did not finish in 30 minutes: {job}")
            await asyncio.sleep(0.1)
        result["wall_s"] = time.monotonic() - started
    result["server_cpu_s"] = product.cpu_seconds() - cpu
    result["database_cpu_s"] = postgres_cpu_seconds(postmaster) - database
    result["rss_peak_sampled_mb"], result["hwm_job_mb"] = sampler.peak, status_mb(pid, "VmHWM")
    result["rss_after_mb"] = status_mb(pid, "VmRSS")
    if job["status"] != "DONE":
        raise SystemExit(f"the export failed: {job}\n{product.log_tail()}")
    result["job"] = job
    result["job_s"] = (datetime.fromisoformat(job["finishedAt"]) - datetime.fromisoformat(job["createdAt"])).total_seconds()
    file = work / "export.xlsx"
    async with RssSampler(pid) as sampler:
        started = time.monotonic()
        async with http.stream("GET", job["downloadUrl"]) as response:
            if response.status_code != 200:
                raise SystemExit(f"the download failed: {response.status_code}")
            with file.open("wb") as out:
                async for chunk in response.aiter_bytes():
                    out.write(chunk)
        result["download_s"] = time.monotonic() - started
    result["rss_peak_download_mb"], result["hwm_after_mb"] = sampler.peak, status_mb(pid, "VmHWM")
    result["file_mb"] = file.stat().st_size / 1e6
    result["file_rows"] = sheet_rows(file)
    if not result["file_rows"] == job["rowsWritten"] == job["rowsTotal"]:
        raise SystemExit(f"the workbook has {result['file_rows']} rows, the job says {job}")
    log(f"  {job['rowsWritten']:,} rows in {result['job_s']:.1f} s (job), {result['file_mb']:.1f} MB; server RSS "
        f"{result['rss_before_mb']:.0f} MB before, peak {result['hwm_job_mb']:.0f} MB")
    log("  the csv module on the same rows")
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "scripts" / "bench_lists.py"), "csv", "--dsn", db_url, "--province",
        str(province_id), "--user", str(aks["id"]), "--filter", json.dumps(variables), "--out",
        str(work / "export.csv"), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        preexec_fn=lambda: os.sched_setaffinity(0, server_cpus))
    with paused(product):
        output = (await process.communicate())[0].decode(errors="replace")
    match = re.search(r"^CSV (.*)$", output, re.MULTILINE)
    if not match:
        raise SystemExit(f"the csv yardstick failed:\n{output}")
    result["csv"] = json.loads(match.group(1))
    if result["csv"]["rows"] != job["rowsWritten"]:
        raise SystemExit(f"the csv yardstick wrote {result['csv']['rows']} rows, the export {job['rowsWritten']}")
    log(f"  csv: {result['csv']['rows_s']:.1f} s for the rows (fetch {result['csv']['fetch_s']:.1f} s), "
        f"count {result['csv']['count_s']:.2f} s, KVKK log {result['csv']['kvkk_log_s']:.2f} s")
    return result


def sheet_rows(path: Path) -> int:
    """The data rows of an exported workbook's sheet, counted in its XML as it streams out of the zip."""
    import zipfile

    mark = b"<row "
    rows, tail = 0, b""
    with zipfile.ZipFile(path) as package, package.open("xl/worksheets/sheet1.xml") as sheet:
        while chunk := sheet.read(1 << 20):
            data = tail + chunk
            rows += data.count(mark)
            tail = data[-(len(mark) - 1):]  # too short to hold a mark counted already
    return rows - 1  # the header


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10, help="timed seconds per path and endpoint (10)")
    parser.add_argument("--warmup", type=float, default=2, help="untimed seconds before each (2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16); submit also at 64")
    parser.add_argument("--applications", type=int, default=100_000, help="applications in the database")
    parser.add_argument("--paths", default=",".join([*PATHS, *CHECKS]),
                        help=f"comma-separated: {', '.join([*PATHS, *CHECKS])} (all)")
    parser.add_argument("--filter-requests", type=int, default=15,
                        help="filters: sequential requests per filter, after one untimed (15)")
    parser.add_argument("--export-rows", type=int, default=100_000,
                        help="export: the rows of the export (100,000); see the docstring")
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
    if unknown := set(args.paths) - set(PATHS) - set(CHECKS):
        parser.error(f"unknown paths: {', '.join(sorted(unknown))}")
    args.timed = [key for key in args.paths if key in PATHS]
    asyncio.run(benchmark(args))


if __name__ == "__main__":
    main()
