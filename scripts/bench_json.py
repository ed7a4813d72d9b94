"""Who should build a list page's JSON: Python from the rows, or PostgreSQL (json_agg) with the bytes spliced in?

    .venv/bin/python -m scripts.bench_json --dsn postgresql://… --province 6 --seconds 8

On the database of scripts/bench.py (keep it with --keep), for the AKS search's first page of an office (first
50, every column, the total), without HTTP, one connection, sequential:
- rows: the raw endpoint's statement (scripts/bench_raw.py: categories and routings as arrays of records), each
  row made into the response's dict in Python, then orjson;
- json: one statement that returns the whole `searchApplications` object as JSON text, built by PostgreSQL
  (json_build_object, json_agg; labels from a parameter), spliced into the response as it comes.
Both answers are checked to be the same data (times compared as instants). For each it prints pages per second
and the CPU per page of this process and of the PostgreSQL backend that served it.
"""

import argparse
import asyncio
import json
import os
import time
from datetime import datetime

import asyncpg
import orjson

from scripts.bench_raw import (
    CHANNEL_LABEL, KIND_LABEL, PRIORITY_LABEL, RESULT_LABEL, ROUTING_LABEL, SEARCH_PAGES, STATUS_LABEL, _cursor,
    _list_item, _micros,
)
from acikkapi.services.business_days import ISTANBUL

LABELS = {"status": STATUS_LABEL, "result": RESULT_LABEL, "kind": KIND_LABEL, "channel": CHANNEL_LABEL,
          "priority": PRIORITY_LABEL, "routing": ROUTING_LABEL}
# The same page, as JSON made by PostgreSQL: $1 the province, $2 the page size, $3 the labels, $4 today.
JSON_PAGE = """
WITH page AS (
  SELECT a.*, row_number() OVER (ORDER BY a.created_at DESC, a.id DESC) AS n
  FROM application a WHERE a.subject_province_id = $1
  ORDER BY a.created_at DESC, a.id DESC LIMIT $2 + 1),
nodes AS (
  SELECT p.n, p.created_at, p.id,
    rtrim(translate(encode(convert_to('a.' || (extract(epoch FROM p.created_at) * 1000000)::bigint || '.' || p.id,
                                      'UTF8'), 'base64'), '+/', '-_'), '=') AS cursor,
    json_build_object(
      'id', p.id::text, 'trackingNo', p.tracking_no, 'status', p.status,
      'statusLabel', $3::jsonb -> 'status' ->> p.status::text, 'result', p.result,
      'resultLabel', $3::jsonb -> 'result' ->> p.result::text, 'kind', p.kind,
      'kindLabel', $3::jsonb -> 'kind' ->> p.kind::text, 'channel', p.channel,
      'channelLabel', $3::jsonb -> 'channel' ->> p.channel::text, 'createdAt', p.created_at,
      'arrivalDate', p.arrival_date, 'isSpecial', p.is_special, 'isConfidential', p.is_confidential,
      'priorityGroup', p.priority_group, 'priorityGroupLabel', $3::jsonb -> 'priority' ->> p.priority_group::text,
      'tcKimlikNo', p.applicant_tckn, 'firstName', p.applicant_first_name, 'lastName', p.applicant_last_name,
      'subjectSummary', CASE WHEN length(p.subject) > 200 THEN left(p.subject, 199) || '…' ELSE p.subject END,
      'categories', coalesce((
        SELECT json_agg(json_build_object('position', c.position, 'category', k.name, 'subcategory', s.name,
                                          'description', c.description) ORDER BY c.position)
        FROM application_category c JOIN service_category k ON k.id = c.category_id
        JOIN service_category s ON s.id = c.subcategory_id WHERE c.application_id = p.id), '[]'),
      'routings', coalesce(r.routings, '[]'), 'unitArrivalAt', r.arrival, 'dueDate', r.due,
      'overdue', coalesce(r.overdue, false)) AS node
  FROM page p, LATERAL (
    SELECT json_agg(json_build_object(
             'id', l.id::text, 'unit', json_build_object('detsisNo', l.unit_no, 'name', u.name), 'status', l.status,
             'statusLabel', $3::jsonb -> 'routing' ->> l.status::text, 'dueDate', l.due_date,
             'overdue', l.status <> 'ANSWERED' AND l.due_date < $4, 'routedAt', l.created_at,
             'answeredAt', l.answered_at) ORDER BY l.id) AS routings,
           min(l.created_at) AS arrival, min(l.due_date) FILTER (WHERE l.status <> 'ANSWERED') AS due,
           bool_or(l.status <> 'ANSWERED' AND l.due_date < $4) AS overdue
    FROM routing l JOIN unit u ON u.detsis_no = l.unit_no WHERE l.application_id = p.id) r
  WHERE p.n <= $2)
SELECT json_build_object('searchApplications', json_build_object(
  'totalCount', (SELECT count(*) FROM application t WHERE t.subject_province_id = $1),
  'pageInfo', json_build_object('hasNextPage', (SELECT count(*) > $2 FROM page),
                                'endCursor', (SELECT cursor FROM nodes ORDER BY n DESC LIMIT 1)),
  'edges', coalesce((SELECT json_agg(json_build_object('cursor', cursor, 'node', node) ORDER BY n) FROM nodes),
                    '[]')))::text"""


async def by_rows(connection: asyncpg.Connection, province: int, first: int) -> bytes:
    rows = await connection.fetch(SEARCH_PAGES["subject_province_id"], province, first + 1)
    rows, more = rows[:first], len(rows) > first
    today = datetime.now(ISTANBUL).date()
    edges = [{"cursor": _cursor(f"a.{_micros(row[6])}.{row[0]}"), "node": _list_item(row, 0, today, True)}
             for row in rows]
    return orjson.dumps({"data": {"searchApplications": {
        "totalCount": rows[0][-1] if rows else 0,
        "pageInfo": {"hasNextPage": more, "endCursor": edges[-1]["cursor"] if edges else None},
        "edges": edges}}})


async def by_json(connection: asyncpg.Connection, province: int, first: int) -> bytes:
    today = datetime.now(ISTANBUL).date()
    text = await connection.fetchval(JSON_PAGE, province, first, LABELS_JSON, today)
    return b'{"data":' + text.encode() + b"}"


LABELS_JSON = json.dumps(LABELS)


def normalised(document: bytes) -> object:
    """The answer with times as instants (PostgreSQL and orjson write fractions of seconds differently)."""
    def walk(value):
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, str) and len(value) > 19 and value[10:11] == "T" and value[:4].isdigit():
            return datetime.fromisoformat(value).timestamp()
        return value
    page = walk(json.loads(document))
    page["data"]["searchApplications"]["pageInfo"].pop("hasPreviousPage", None)
    return page


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(name: str, page, connection, backend: int, province: int, first: int, seconds: float) -> None:
    for _ in range(20):
        await page(connection, province, first)
    started, cpu, pg = time.perf_counter(), time.process_time(), backend_cpu(backend)
    pages = 0
    while time.perf_counter() - started < seconds:
        await page(connection, province, first)
        pages += 1
    wall = time.perf_counter() - started
    cpu, pg = time.process_time() - cpu, backend_cpu(backend) - pg
    print(f"{name:5} {pages / wall:7.1f} pages/s · Python {cpu / pages * 1000:.2f} ms a page · PostgreSQL "
          f"{pg / pages * 1000:.2f} ms a page · {len(await page(connection, province, first)):,} bytes")


async def run(args) -> None:
    connection = await asyncpg.connect(args.dsn, server_settings={"TimeZone": "UTC"})
    try:
        backend = await connection.fetchval("SELECT pg_backend_pid()")
        if normalised(await by_rows(connection, args.province, args.first)) != \
                normalised(await by_json(connection, args.province, args.first)):
            raise SystemExit("the two answers differ")
        print(f"province {args.province}, first {args.first}: the same data")
        for name, page in (("rows", by_rows), ("json", by_json)):
            await measure(name, page, connection, backend, args.province, args.first, args.seconds)
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--province", type=int, default=6)
    parser.add_argument("--first", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=8)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
