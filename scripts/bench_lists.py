"""The staff lists' side of the benchmark (scripts/bench.py): the documents the list paths send (the raw endpoint,
scripts/bench_raw.py, answers exactly these), the filters of the latency check, the statements behind them as
the product builds them (for EXPLAIN), and the csv baseline of the export.

    .venv/bin/python scripts/bench_lists.py csv --dsn postgresql://… --province 34 --from 2025-01-01 --out rows.csv

`csv` is the export's yardstick, run by scripts/bench.py in a process of its own: the rows the product's export
writes (the same statement, built by acikkapi.services.search, from a server-side cursor in batches of the same
size, in a repeatable-read transaction), as the export's 13 columns (services/exports.row_of), written with the
csv module; also, apart, the count and the KVKK insert the export does around them (rolled back). It prints one
JSON line: its timings and its peak memory.
"""

import argparse
import asyncio
import json
import re
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# --- documents ---------------------------------------------------------------------------------------------------

_APPLICATION_FIELDS = """
        id trackingNo status statusLabel result resultLabel kind kindLabel channel channelLabel createdAt
        arrivalDate isSpecial isConfidential priorityGroup priorityGroupLabel{tckn} firstName lastName subjectSummary
        categories {{ position category subcategory description }}
        routings {{ id unit {{ detsisNo name }} status statusLabel dueDate overdue routedAt answeredAt }}
        unitArrivalAt dueDate overdue"""

# Başvuru Arama as the AKS's screen asks for it: every column of a row, the T.C. Kimlik No included (so each
# listed application gets its KVKK log row), and the total.
SEARCH_PAGE = """
query Search($filter: ApplicationFilter, $first: Int, $after: String) {
  searchApplications(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {%s
      }
    }
  }
}""" % _APPLICATION_FIELDS.format(tckn=" tcKimlikNo")

# A Yetkili's inbox: the routing's fields and its application's row (no T.C. Kimlik No: a unit never reads it;
# an ihbar's names come back null).
INBOX_PAGE = """
query Inbox($filter: ApplicationFilter, $first: Int, $after: String) {
  routingInbox(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id unit { detsisNo name } status statusLabel dueDate overdue daysLate routedAt answeredAt
        application {%s
        }
      }
    }
  }
}""" % _APPLICATION_FIELDS.format(tckn="")

START_EXPORT = """
mutation StartExport($input: StartApplicationExportInput!) {
  startApplicationExport(input: $input) {
    __typename
    ... on ExportStarted { job { id status createdAt } }
    ... on Error { code message field }
  }
}"""

EXPORT_JOB = """
query ExportJob($id: ID!) {
  exportJob(id: $id) { id status rowsTotal rowsWritten fileName fileSize createdAt finishedAt downloadUrl }
}"""

PAGE = 50


# --- the filters of the latency check ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Criterion:
    name: str
    variables: Callable[[dict], dict]  # the sample's values (see `filter_samples`) → the GraphQL filter


FILTERS = [
    Criterion("trackingNo", lambda s: {"trackingNo": s["tracking_no"]}),
    Criterion("tcKimlikNo", lambda s: {"tcKimlikNo": s["tckn"]}),
    Criterion("firstName", lambda s: {"firstName": "mehmet"}),
    Criterion("lastName", lambda s: {"lastName": "sahin"}),  # finds ŞAHİN: Turkish folding
    Criterion("categoryId", lambda s: {"categoryId": s["category_id"]}),
    Criterion("subcategoryId", lambda s: {"subcategoryId": s["subcategory_id"]}),
    Criterion("statuses", lambda s: {"statuses": ["YONLENDIRILDI", "CEVAPLANDI"]}),
    Criterion("results", lambda s: {"results": ["KISMEN"]}),
    Criterion("kinds", lambda s: {"kinds": ["IHBAR"]}),
    Criterion("channels", lambda s: {"channels": ["KIOSK"]}),
    Criterion("isSpecial", lambda s: {"isSpecial": True}),
    Criterion("isConfidential", lambda s: {"isConfidential": True}),
    Criterion("priorityGroups", lambda s: {"priorityGroups": ["GAZI"]}),
    Criterion("registeredFrom+To", lambda s: {"registeredFrom": s["month_from"], "registeredTo": s["month_to"]}),
    Criterion("unitNo", lambda s: {"unitNo": s["unit_no"]}),
    Criterion("overdue", lambda s: {"overdue": True}),
]


async def filter_samples(db, province_id: int, benchmark_tckn: str) -> dict:
    """Values for the filters that name a row, from the office's own applications (not those the benchmark
    made, by `benchmark_tckn`): a tracking number and a T.C. Kimlik No of a recent one, the most used category
    and subcategory, the unit it routes to most, and a month a year ago."""
    recent = await db.fetchrow(
        "SELECT tracking_no, applicant_tckn FROM application WHERE subject_province_id = $1 AND applicant_tckn <> $2 "
        "ORDER BY created_at DESC, id DESC OFFSET (SELECT count(*) / 20 FROM application "
        "WHERE subject_province_id = $1) LIMIT 1", province_id, benchmark_tckn)
    category_id, subcategory_id = await db.fetchrow(
        "SELECT c.category_id, c.subcategory_id FROM application_category c JOIN application a ON a.id = c.application_id "
        "WHERE a.subject_province_id = $1 GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1", province_id)
    unit_no = await db.fetchval(
        "SELECT r.unit_no FROM routing r JOIN application a ON a.id = r.application_id "
        "WHERE a.subject_province_id = $1 GROUP BY 1 ORDER BY count(*) DESC LIMIT 1", province_id)
    month = await db.fetchval("SELECT (date_trunc('month', now() AT TIME ZONE 'Europe/Istanbul') "
                              "- interval '12 months')::date")
    month_end = await db.fetchval("SELECT ($1::date + interval '1 month' - interval '1 day')::date", month)
    return {"tracking_no": recent["tracking_no"], "tckn": recent["applicant_tckn"], "category_id": category_id,
            "subcategory_id": subcategory_id, "unit_no": unit_no, "month_from": month.isoformat(),
            "month_to": month_end.isoformat()}


# --- the product's statements, for EXPLAIN ------------------------------------------------------------------------

def office_actor(province_id: int, district_id: int | None = None):
    """Enough of an AKS for acikkapi's filter check and scope parameters."""
    from acikkapi.models import Purpose, Role

    return SimpleNamespace(purpose=Purpose.STAFF, role=Role.AKS, province_id=province_id, district_id=district_id,
                           unit_nos=frozenset(), session=None)


def checked_filter(actor, variables: dict):
    """A GraphQL filter (as sent) → the product's Filter, through the product's own checks and conversions."""
    from acikkapi.models import ApplicationKind, ApplicationResult, ApplicationStatus, Channel, PriorityGroup
    from acikkapi.permissions.applications import scope_of
    from acikkapi.resolvers.search import checked_filter as check

    enums = {"statuses": ApplicationStatus, "results": ApplicationResult, "kinds": ApplicationKind,
             "channels": Channel, "priorityGroups": PriorityGroup}
    values = {}
    for key, value in variables.items():
        name = re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()
        if key in enums:
            value = [enums[key][v] for v in value]
        elif key in ("registeredFrom", "registeredTo"):
            value = date.fromisoformat(value)
        values[name] = value
    return check(SimpleNamespace(actor=actor), scope_of(actor), values)


class Recorder:
    """Records the SQL and the positional arguments of every prepared statement acikkapi runs (db.Prepared),
    while it is active."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, list]] = []

    def __enter__(self) -> "Recorder":
        from acikkapi.db import Prepared

        self._originals = {name: getattr(Prepared, name) for name in ("fetch", "first")}
        recorder = self

        def wrap(original):
            async def recorded(prepared, connection, params=()):
                recorder.statements.append((prepared.sql, list(prepared._arguments(params))))
                return await original(prepared, connection, params)
            return recorded

        for name, original in self._originals.items():
            setattr(Prepared, name, wrap(original))
        return self

    def __exit__(self, *exc) -> None:
        from acikkapi.db import Prepared

        for name, original in self._originals.items():
            setattr(Prepared, name, original)


async def product_statements(engine, actor, variables: dict) -> dict[str, tuple[str, list]]:
    """The statements the product runs for a search page of `variables` (first: PAGE, with its total), and for
    the total alone (when a page does not carry it): each as (SQL, arguments)."""
    from acikkapi.permissions.applications import scope_of, scope_params
    from acikkapi.services import search

    f, scope, params, now = checked_filter(actor, variables), scope_of(actor), scope_params(actor), datetime.now(UTC)
    statements = {}
    async with engine.connect() as connection:
        with Recorder() as recorder:
            await search.search_applications(connection, scope, params, f, first=PAGE, after=None, now=now,
                                             with_total=True)
        statements["page"] = recorder.statements[-1]
        with Recorder() as recorder:
            await search.count_applications(connection, scope, params, f, now=now)
        statements["count"] = recorder.statements[-1]
    return statements


SEQ_SCAN = re.compile(r"Seq Scan on application\b(?: \w+)?")


async def explain(db, sql: str, arguments: list, generic: bool = False) -> list[str]:
    """EXPLAIN ANALYZE of the statement with its arguments (the plan a custom plan of the prepared statement
    gets), or, `generic`, EXPLAIN (GENERIC_PLAN) of it (the plan PostgreSQL may switch the prepared statement to
    after five runs)."""
    if generic:
        await db.execute("""
            CREATE OR REPLACE FUNCTION pg_temp.bench_generic_plan(statement text) RETURNS SETOF text
            LANGUAGE plpgsql AS $$
            DECLARE line text;
            BEGIN
              FOR line IN EXECUTE 'EXPLAIN (GENERIC_PLAN) ' || statement LOOP RETURN NEXT line; END LOOP;
            END $$""")
        return [row[0] for row in await db.fetch("SELECT * FROM pg_temp.bench_generic_plan($1)", sql)]
    return [row[0] for row in await db.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *arguments)]


# --- the export's yardstick ----------------------------------------------------------------------------------------

async def csv_export(dsn: str, province_id: int, user_id: int, variables: dict, out: Path) -> dict:
    """The export's rows, fetched as the product's export fetches them, written with the csv module."""
    import csv

    import asyncpg
    from sqlalchemy import Integer, bindparam, insert, select

    from acikkapi.db import Prepared
    from acikkapi.models import KvkkAccessLog
    from acikkapi.permissions.applications import scope_of, scope_params
    from acikkapi.services import search
    from acikkapi.services.exports import BATCH_ROWS, COLUMNS, PERSONAL_COLUMNS, row_of

    actor = office_actor(province_id)
    f, scope, params, now = checked_filter(actor, variables), scope_of(actor), scope_params(actor), datetime.now(UTC)
    today = search.today_in_istanbul(now)
    # The export's statements as the product builds them: the rows (search.export_rows), the total
    # (search.count_applications_in) and the KVKK log of the T.C. numbers (kvkk.record_reads_of).
    statement = search._export_statement(scope, f, today)
    _, values = search.application_conditions(f, today)
    rows_statement = Prepared(statement)
    count_statement = Prepared(search._applications(scope, f, today, search.func.count())[0].order_by(None))
    ids, id_values = search.ids_of(scope, f, now)
    read = ids.subquery()
    log_table = KvkkAccessLog.__table__
    log_statement = Prepared(insert(log_table).from_select(
        ["user_id", "application_id", "fields"],
        select(bindparam("reader", type_=Integer), read.c.id, bindparam("read_fields", type_=log_table.c.fields.type))))
    timings = {}
    written = total = 0
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction(isolation="repeatable_read"):
            started = time.perf_counter()
            total = await connection.fetchval(count_statement.sql, *count_statement._arguments({**params, **values}))
            timings["count_s"] = time.perf_counter() - started
            started = time.perf_counter()
            await connection.execute(log_statement.sql, *log_statement._arguments(
                {**params, **id_values, "reader": user_id, "read_fields": list(PERSONAL_COLUMNS)}))
            timings["kvkk_log_s"] = time.perf_counter() - started
            started = time.perf_counter()
            fetching = writing = 0.0
            with out.open("w", newline="", encoding="utf-8") as file:
                writer = csv.writer(file)
                writer.writerow([column.header for column in COLUMNS])
                cursor = await connection.cursor(rows_statement.sql, *rows_statement._arguments({**params, **values}))
                while True:
                    mark = time.perf_counter()
                    batch = await cursor.fetch(BATCH_ROWS)
                    fetching += time.perf_counter() - mark
                    if not batch:
                        break
                    mark = time.perf_counter()
                    rows = [row_of(record, True) for record in batch]  # the export's 13 columns, as it makes them
                    writer.writerows(rows)
                    writing += time.perf_counter() - mark
                    written += len(rows)
            timings["rows_s"] = time.perf_counter() - started
            timings["fetch_s"] = fetching
            timings["csv_s"] = writing  # the columns made from the records, and written
            raise _RollBack
    except _RollBack:
        pass
    finally:
        await connection.close()
    return {"rows": written, "total": total, "bytes": out.stat().st_size,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **timings}


class _RollBack(Exception):
    """The KVKK rows of the yardstick are not kept."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    csv_parser = sub.add_parser("csv")
    csv_parser.add_argument("--dsn", required=True)
    csv_parser.add_argument("--province", type=int, required=True)
    csv_parser.add_argument("--user", type=int, required=True, help="the reader the KVKK rows name")
    csv_parser.add_argument("--filter", default="{}", help="the GraphQL filter, as JSON")
    csv_parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    result = asyncio.run(csv_export(args.dsn, args.province, args.user, json.loads(args.filter), args.out))
    print("CSV " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
