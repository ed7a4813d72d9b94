"""The benchmark's yardstick: the hot paths written by hand with starlette, asyncpg and orjson.

    .venv/bin/python scripts/bench_raw.py --port 8200     # configured like the server, by ACIKKAPI_* variables

It answers POST /graphql for exactly seven documents (TRACKED, CATEGORIES, SUBMIT, ROUTE and ANSWER of
tests/documents.py, SEARCH_PAGE and INBOX_PAGE of scripts/bench_lists.py) with the bytes the server answers,
after the same work:

- the bearer session: the token's SHA-256 looked up in `auth_session` (not revoked), the absolute and idle
  limits checked, the staff user's `active` flag checked (with a staff step, the user's role, office and
  units read in the same statement), `last_seen_at` touched when older than 30 seconds;
- trackedApplication: the tracked application with its address records, category rows with their names,
  attachments and public history, and the same signed links (the key derived from ACIKKAPI_SECRET_KEY as
  `Settings.link_key` does, on ACIKKAPI_PUBLIC_BASE_URL, valid ACIKKAPI_DOWNLOAD_LINK_SECONDS);
- serviceCategories: the active categories and subcategories, read on every request;
- submitApplication: in one transaction, the session row locked, the residence matched to the address
  records, the subject address and the category pairs validated, then the application, its category rows,
  its history event and its tracking-number SMS in the outbox written, and the session marked as applied.
  The SMS is only queued: sending it is the server's dispatcher's work, which this endpoint does not have.
- routeApplication (an AKS): the units looked up (active), then in one transaction the application locked
  through the AKS's office (its province, or its district for a kaymakamlık), the workflow's checks (a status
  the AKS has it in, not gizli), the routings inserted with their due date (services/business_days.py), a unit
  routed already refusing the step, and the new status and version, the history row and, for the first
  routing, the applicant's SMS written in one statement;
- answerRouting (a Yetkili, text only): in one transaction the routing of one of the user's units locked with
  its application (not gizli), the checks (the application routed, the routing not answered), then the
  answer, the application's status (Cevaplandı once no routing waits for an answer) and version and the
  history row written in one statement;
- searchApplications (an AKS or MİA; no filter, no cursor, `first` 1-200): the office's applications (its
  province, or its district for a kaymakamlık) newest first, each with its category rows and routings as
  arrays of records and the office's total, in one statement; then one multi-row INSERT into kvkk_access_log
  (the T.C. Kimlik No of each listed application read). Cursors, labels, masking, the subject cut at 200
  characters, each routing's and row's overdue / due date / first routing as services/search.py makes them;
- routingInbox (a Yetkili; likewise): the routings of the user's units whose applications are not gizli,
  waiting ones first by due date, with their application's row (only the units' own routings, an ihbar's
  names null) and the total, in one statement.

Only the success paths answer like the server; anything else gets a plain 400 (the benchmark checks that
it never sends one). No access log. GET /_roundtrips tells how many database round trips it has made.
"""

import argparse
import base64
import hashlib
import hmac
import re
import sys
import time
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from acikkapi.models import (
    ApplicationKind, ApplicationResult, ApplicationStatus, Channel, PlaceKind, PriorityGroup, Role, RoutingStatus,
)
from acikkapi.services.business_days import ISTANBUL, due_date
from acikkapi.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the documents the tests send
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the list documents the benchmark sends
from bench_lists import INBOX_PAGE, SEARCH_PAGE  # noqa: E402
from tests.documents import ANSWER, CATEGORIES, ROUTE, SUBMIT, TRACKED  # noqa: E402

HEADERS = {"cache-control": "no-store"}
TOUCH_EVERY = timedelta(seconds=30)
SUBMITTED_MESSAGE = ("Başvurunuz başarıyla alınmıştır. Başvuru takip numarası ile durum takibi "
                     "yapabilirsiniz.")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

STATUS_LABEL = {member.name: member.value for member in ApplicationStatus}
RESULT_LABEL = {member.name: member.value for member in ApplicationResult}
KIND_LABEL = {member.name: member.value for member in ApplicationKind}
PLACE_KIND_LABEL = {member.name: member.value for member in PlaceKind}
ROLE_LABEL = {member.name: member.value for member in Role}
CHANNEL_LABEL = {member.name: member.value for member in Channel}
PRIORITY_LABEL = {member.name: member.value for member in PriorityGroup}
ROUTING_LABEL = {member.name: member.value for member in RoutingStatus}
# The workflow's table, for the two steps: the statuses each may be taken in.
ROUTABLE = {"HAVUZDA", "YONLENDIRILDI", "CEVAPLANDI", "MIA_DEGERLENDIRDI"}
ANSWERABLE = {"YONLENDIRILDI"}
MAX_UNITS = 10
MAX_ANSWER = 5000

SESSION = """
SELECT s.id, s.purpose, s.phone, s.application_id, s.identity, s.last_seen_at, s.expires_at, now() AS now,
       u.active AS user_active, s.user_id
FROM auth_session s LEFT JOIN app_user u ON u.id = s.user_id
WHERE s.token_hash = $1 AND s.revoked_at IS NULL"""
STAFF_SESSION = """
SELECT s.id, s.purpose, s.last_seen_at, s.expires_at, now() AS now, s.user_id, u.active AS user_active, u.role,
       u.first_name, u.last_name, u.province_id, u.district_id,
       ARRAY(SELECT uu.unit_no FROM user_unit uu WHERE uu.user_id = u.id) AS unit_nos
FROM auth_session s JOIN app_user u ON u.id = s.user_id
WHERE s.token_hash = $1 AND s.revoked_at IS NULL"""
TOUCH = "UPDATE auth_session SET last_seen_at = $2 WHERE id = $1"

APPLICATION = """
SELECT a.tracking_no, a.status, a.result, a.answer, a.kind, a.applicant_tckn, a.applicant_first_name,
       a.applicant_last_name, a.residence_address, rd.name AS residence_district, rp.name AS residence_province,
       a.subject_address, a.phone, a.email, a.subject,
       p.id AS province_id, p.name AS province_name, d.id AS district_id, d.name AS district_name,
       pl.id AS place_id, pl.name AS place_name, pl.kind AS place_kind
FROM application a
JOIN province p ON p.id = a.subject_province_id
JOIN district d ON d.id = a.subject_district_id
JOIN place pl ON pl.id = a.subject_place_id
LEFT JOIN district rd ON rd.id = a.residence_district_id
LEFT JOIN province rp ON rp.id = a.residence_province_id
WHERE a.id = $1"""
CATEGORY_ROWS = """
SELECT ac.position, c.name AS category, s.name AS subcategory, ac.description
FROM application_category ac
JOIN service_category c ON c.id = ac.category_id
JOIN service_category s ON s.id = ac.subcategory_id
WHERE ac.application_id = $1 ORDER BY ac.position"""
ATTACHMENTS = """
SELECT id, file_name, content_type, size FROM attachment WHERE application_id = $1 ORDER BY uploaded_at, id"""
PUBLIC_EVENTS = """
SELECT status, note, created_at FROM application_event WHERE application_id = $1 AND public ORDER BY id"""

ACTIVE_CATEGORIES = """
SELECT id, parent_id, name FROM service_category WHERE active
ORDER BY parent_id NULLS FIRST, position, name"""

LOCK_SESSION = "SELECT application_id FROM auth_session WHERE id = $1 FOR UPDATE"
TRACKING_NO = "SELECT tracking_no FROM application WHERE id = $1"
RESIDENCE = """
SELECT d.province_id, d.id, p.id FROM district d JOIN place p ON p.district_id = d.id
WHERE d.province_id = $1 AND d.name = $2 AND p.name = $3 LIMIT 1"""
ADDRESS = """
SELECT p.id FROM place p JOIN district d ON d.id = p.district_id
WHERE p.id = $1 AND d.id = $2 AND d.province_id = $3"""
CATEGORY_PAIRS = """
SELECT s.parent_id, s.id FROM service_category s JOIN service_category parent ON parent.id = s.parent_id
WHERE s.id = ANY($1::int[]) AND s.active AND parent.active"""
INSERT_APPLICATION = """
INSERT INTO application (
  kind, channel, status, applicant_tckn, applicant_first_name, applicant_last_name, applicant_birth_date,
  applicant_gender, residence_address, residence_province_id, residence_district_id, subject_address,
  subject_province_id, subject_district_id, subject_place_id, phone, email, subject, is_special,
  is_confidential, version)
VALUES ($1, 'WEB', 'HAVUZDA', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, false, false, 1)
RETURNING id, tracking_no"""
INSERT_CATEGORY_ROWS = """
INSERT INTO application_category (application_id, position, category_id, subcategory_id, description)
SELECT $1, * FROM unnest($2::smallint[], $3::int[], $4::int[], $5::varchar[])"""
INSERT_EVENT = """
INSERT INTO application_event (application_id, action, status, actor_label, public)
VALUES ($1, 'SUBMITTED', 'HAVUZDA', 'Vatandaş', true)"""
INSERT_SMS = """
INSERT INTO outbox_message (phone, template, params, priority)
VALUES ($1, 'takip_numarasi', jsonb_build_object('ad', $2::text, 'takip_no', $3::bigint), 0)"""
MARK_APPLIED = "UPDATE auth_session SET application_id = $2, identity = NULL WHERE id = $1"

ROUTE_UNITS = "SELECT detsis_no, name FROM unit WHERE detsis_no = ANY($1::int[]) AND active"
# Read committed: a lock that had to wait returns the row as the other step left it, while the subqueries
# still see the snapshot from before; `seen_version` tells, and the lock is taken again.
LOCK_IN_OFFICE = """
SELECT a.id, a.status, a.version, a.is_confidential, a.phone,
       a.applicant_first_name || ' ' || a.applicant_last_name AS name,
       EXISTS (SELECT FROM routing r WHERE r.application_id = a.id) AS has_routings,
       (SELECT s.version FROM application s WHERE s.id = a.id) AS seen_version
FROM application a
WHERE a.tracking_no = $1 AND a.subject_province_id = $2 AND ($3::int IS NULL OR a.subject_district_id = $3)
FOR UPDATE OF a"""
ROUTE_WRITE = """
WITH made AS (
  INSERT INTO routing (application_id, unit_no, due_date, created_by_id)
  SELECT $1::int, unnest($2::int[]), $3::date, $4::int
  ON CONFLICT (application_id, unit_no) DO NOTHING RETURNING id),
advanced AS (
  UPDATE application SET status = 'YONLENDIRILDI', version = version + 1 WHERE id = $1 RETURNING id, version),
history AS (
  INSERT INTO application_event (application_id, action, status, note, actor_id, actor_label, actor_role, public)
  SELECT id, 'ROUTED', 'YONLENDIRILDI', $5, $4, $6, 'AKS', true FROM advanced),
sms AS (
  INSERT INTO outbox_message (phone, template, params, priority)
  SELECT $7, 'yonlendirildi', jsonb_build_object('ad', $8::text, 'takip_no', $9::bigint), 0 WHERE $10)
SELECT (SELECT count(*) FROM made) AS made, (SELECT version FROM advanced) AS version"""
LOCK_ROUTING = """
SELECT a.id, a.tracking_no, a.status, a.version, r.status AS routing_status,
       (SELECT count(*) FROM routing c WHERE c.application_id = a.id AND c.status <> 'ANSWERED') AS open_routings,
       (SELECT s.version FROM application s WHERE s.id = a.id) AS seen_version
FROM routing r JOIN application a ON a.id = r.application_id
WHERE r.id = $1 AND r.unit_no = ANY($2::int[]) AND NOT a.is_confidential
FOR UPDATE OF a"""
ANSWER_WRITE = """
WITH answered AS (
  UPDATE routing SET status = 'ANSWERED', answer = $2, answered_by_id = $3, answered_at = now(),
                     version = version + 1
  WHERE id = $1 RETURNING id),
advanced AS (
  UPDATE application SET status = $5, version = version + 1 WHERE id = $4 RETURNING id, version),
history AS (
  INSERT INTO application_event (application_id, action, status, note, actor_id, actor_label, actor_role, public,
                                 routing_id)
  SELECT advanced.id, 'ANSWERED', $5, $2, $3, $6, 'YETKILI', false, answered.id FROM advanced, answered)
SELECT version FROM advanced"""

# The lists: a page of rows with their category rows and routings as arrays of records, and the total, in one
# statement; the rows' columns as the screens show them (the subject cut at 200 characters).
LIST_COLUMNS = """
       a.id, a.tracking_no, a.status, a.result, a.kind, a.channel, a.created_at, a.arrival_date, a.is_special,
       a.is_confidential, a.priority_group, a.applicant_tckn, a.applicant_first_name, a.applicant_last_name,
       CASE WHEN length(a.subject) > 200 THEN left(a.subject, 199) || '…' ELSE a.subject END,
       (SELECT array_agg((c.position, k.name, s.name, c.description) ORDER BY c.position)
        FROM application_category c JOIN service_category k ON k.id = c.category_id
        JOIN service_category s ON s.id = c.subcategory_id WHERE c.application_id = a.id)"""
ROUTING_RECORDS = """
       (SELECT array_agg((l.id, l.unit_no, u.name, l.status, l.due_date, l.created_at, l.answered_at) ORDER BY l.id)
        FROM routing l JOIN unit u ON u.detsis_no = l.unit_no WHERE l.application_id = a.id{units})"""
OFFICE_PAGE = """
SELECT {columns},{routings},
       (SELECT count(*) FROM application t WHERE t.{office} = $1)
FROM application a WHERE a.{office} = $1
ORDER BY a.created_at DESC, a.id DESC LIMIT $2"""
SEARCH_PAGES = {office: OFFICE_PAGE.format(columns=LIST_COLUMNS, routings=ROUTING_RECORDS.format(units=""),
                                           office=office)
                for office in ("subject_province_id", "subject_district_id")}
# A Yetkili's inbox: their units' routings of applications that are not gizli, waiting ones first by due date.
INBOX = """
SELECT r.id, r.unit_no, u.name, r.status, r.due_date, r.created_at, r.answered_at, {columns},{routings},
       (SELECT count(*) FROM routing t JOIN application ta ON ta.id = t.application_id
        WHERE t.unit_no = ANY($1::int[]) AND NOT ta.is_confidential)
FROM routing r JOIN application a ON a.id = r.application_id JOIN unit u ON u.detsis_no = r.unit_no
WHERE r.unit_no = ANY($1::int[]) AND NOT a.is_confidential
ORDER BY r.status = 'ANSWERED', r.due_date, r.id LIMIT $2""".format(
    columns=LIST_COLUMNS, routings=ROUTING_RECORDS.format(units=" AND l.unit_no = ANY($1::int[])"))
LOG_READS = """
INSERT INTO kvkk_access_log (user_id, application_id, fields) SELECT $1, unnest($2::int[]), $3::varchar[]"""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_PAGE = 200


class Refused(Exception):
    """A request off the benchmark's success paths."""


async def _keep(connection: asyncpg.Connection) -> None:
    """Released connections need no reset: the handlers leave no session state behind."""


def create_app(settings: Settings, dsn: str) -> Starlette:
    link_key = settings.link_key
    base_url = settings.public_base_url.rstrip("/")
    idle = {"STAFF": timedelta(minutes=settings.staff_idle_minutes),
            "APPLY": timedelta(minutes=settings.citizen_idle_minutes),
            "TRACK": timedelta(minutes=settings.citizen_idle_minutes)}
    state: dict = {"round_trips": 0}

    def count(n: int = 1) -> None:
        state["round_trips"] += n

    def link(path: str, session_id: str) -> str:
        expires = int(time.time()) + settings.download_link_seconds
        signature = hmac.new(link_key, f"{path}|{session_id}|{expires}".encode(), hashlib.sha256).hexdigest()
        return f"{base_url}{path}?s={session_id}&e={expires}&sig={signature}"

    async def session_of(connection, request: Request, query: str = SESSION):
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not 10 < len(token) < 200:
            raise Refused("no session")
        row = await connection.fetchrow(query, hashlib.sha256(token.encode()).digest())
        count()
        if row is None:
            raise Refused("no session")
        now = row["now"]
        if now >= row["expires_at"] or now - row["last_seen_at"] > idle[row["purpose"]]:
            raise Refused("session ended")
        if row["user_id"] is not None and not row["user_active"]:
            raise Refused("user inactive")
        if now - row["last_seen_at"] > TOUCH_EVERY:
            await connection.execute(TOUCH, row["id"], now)
            count()
        return row

    async def tracked_application(connection, request: Request, variables: dict) -> dict:
        auth = await session_of(connection, request)
        if auth["purpose"] != "TRACK":
            raise Refused("not a tracking session")
        application_id = auth["application_id"]
        a = await connection.fetchrow(APPLICATION, application_id)
        categories = await connection.fetch(CATEGORY_ROWS, application_id)
        files = await connection.fetch(ATTACHMENTS, application_id)
        events = await connection.fetch(PUBLIC_EVENTS, application_id)
        count(4)
        session_id = str(auth["id"])
        closed = a["status"] == "SONUCLANDI"
        result = a["result"] if closed else None
        residence = a["residence_address"]
        if a["residence_district"] and a["residence_province"]:
            residence = f"{residence} {a['residence_district']} / {a['residence_province']}"
        if closed and a["result"]:
            status_label = f"Sonuçlandı ({RESULT_LABEL[a['result']]})"
        else:
            status_label = "Sonuçlandı" if closed else "İşlem Görüyor"
        return {"trackedApplication": {
            "trackingNo": a["tracking_no"], "status": "SONUCLANDI" if closed else "ISLEM_GORUYOR",
            "statusLabel": status_label, "result": result,
            "resultLabel": RESULT_LABEL[result] if result else None, "answer": a["answer"] if closed else None,
            "closed": closed,
            "kind": a["kind"], "kindLabel": KIND_LABEL[a["kind"]],
            "tcKimlikNo": a["applicant_tckn"], "firstName": a["applicant_first_name"],
            "lastName": a["applicant_last_name"], "residenceAddress": residence,
            "subjectAddress": a["subject_address"], "phone": a["phone"], "email": a["email"],
            "province": {"id": a["province_id"], "name": a["province_name"]},
            "district": {"id": a["district_id"], "name": a["district_name"]},
            "place": {"id": a["place_id"], "name": a["place_name"], "kind": a["place_kind"],
                      "kindLabel": PLACE_KIND_LABEL[a["place_kind"]]},
            "subject": a["subject"],
            "categories": [{"position": c["position"], "category": c["category"], "subcategory": c["subcategory"],
                            "description": c["description"]} for c in categories],
            "files": [{"id": str(f["id"]), "fileName": f["file_name"], "contentType": f["content_type"],
                       "size": f["size"], "downloadUrl": link(f"/files/{f['id']}", session_id)} for f in files],
            "history": [{"position": i, "status": e["status"], "statusLabel": STATUS_LABEL[e["status"]],
                         "note": e["note"], "at": e["created_at"].isoformat()}
                        for i, e in enumerate(events, start=1)],
            "reportUrl": link(f"/reports/applications/{a['tracking_no']}", session_id),
        }}

    async def service_categories(connection, request: Request, variables: dict) -> dict:
        rows = await connection.fetch(ACTIVE_CATEGORIES)
        count()
        children: dict[int, list] = {}
        for row in rows:
            if row["parent_id"] is not None:
                children.setdefault(row["parent_id"], []).append({"id": row["id"], "name": row["name"]})
        return {"serviceCategories": [{"id": row["id"], "name": row["name"], "subcategories": children.get(row["id"], [])}
                                      for row in rows if row["parent_id"] is None]}

    async def submit_application(connection, request: Request, variables: dict) -> dict:
        auth = await session_of(connection, request)
        if auth["purpose"] != "APPLY":
            raise Refused("not an application session")
        form = variables["input"]
        if _phone(form["phone"]) != auth["phone"]:
            raise Refused("phone not verified")
        person = orjson.loads(auth["identity"])
        residence_record = person["residence"]
        rows = form["categories"]
        async with connection.transaction():
            count()  # BEGIN
            made = await connection.fetchval(LOCK_SESSION, auth["id"])
            count()
            if made is not None:
                tracking_no = await connection.fetchval(TRACKING_NO, made)
                count(2)  # and COMMIT
                return _submitted(tracking_no)
            residence = await connection.fetchrow(RESIDENCE, residence_record["province_code"],
                                                  residence_record["district"], residence_record["place"])
            count()
            if form.get("sameAsResidence"):
                if residence is None:
                    raise Refused("residence not resolved")
                province_id, district_id, place_id = residence
                subject_address = residence_record["address"]
            else:
                province_id, district_id, place_id = form.get("provinceId"), form.get("districtId"), form.get("placeId")
                subject_address = form.get("subjectAddress")
            subject, email = form["subject"], form.get("email")
            descriptions = [row.get("description") for row in rows]
            _check_text(subject, subject_address, email, descriptions)
            phone = _phone(form["phone"])
            if not (province_id and district_id and place_id):
                raise Refused("address incomplete")
            found = await connection.fetchval(ADDRESS, place_id, district_id, province_id)
            count()
            if found is None:
                raise Refused("address records do not match")
            if not rows or len(rows) > 10:
                raise Refused("category rows")
            pairs = {(row["categoryId"], row["subcategoryId"]) for row in rows}
            valid = {tuple(pair) for pair in await connection.fetch(CATEGORY_PAIRS, [sub for _, sub in pairs])}
            count()
            if pairs - valid or any(d and len(d) > 1000 for d in descriptions):
                raise Refused("category rows")
            gender = person.get("gender")
            birth = person.get("birth_date")
            application_id, tracking_no = await connection.fetchrow(
                INSERT_APPLICATION, form.get("kind", "TALEP"), person["tckn"], person["first_name"],
                person["last_name"], date.fromisoformat(birth) if birth else None,
                gender if gender in ("ERKEK", "KADIN") else None, residence_record["address"],
                residence[0] if residence else None, residence[1] if residence else None,
                subject_address.strip(), province_id, district_id, place_id, phone, email or None,
                subject.strip())
            await connection.execute(
                INSERT_CATEGORY_ROWS, application_id, list(range(1, len(rows) + 1)),
                [row["categoryId"] for row in rows], [row["subcategoryId"] for row in rows],
                [(d or "").strip() or None for d in descriptions])
            await connection.execute(INSERT_EVENT, application_id)
            await connection.execute(INSERT_SMS, phone, f"{person['first_name']} {person['last_name']}",
                                     tracking_no)
            await connection.execute(MARK_APPLIED, auth["id"], application_id)
            count(6)  # the five writes and COMMIT
        return _submitted(tracking_no)

    async def staff_of(connection, request: Request, role: str):
        auth = await session_of(connection, request, STAFF_SESSION)
        if auth["purpose"] != "STAFF" or auth["role"] != role:
            raise Refused("not this role's step")
        return auth

    async def locked(connection, statement: str, *args):
        row = await connection.fetchrow(statement, *args)
        count()
        if row is not None and row["version"] != row["seen_version"]:
            row = await connection.fetchrow(statement, *args)
            count()
        if row is None:
            raise Refused("not found in scope")
        return row

    async def route_application(connection, request: Request, variables: dict) -> dict:
        auth = await staff_of(connection, request, "AKS")
        form = variables["input"]
        tracking_no, unit_nos = form["trackingNo"], list(dict.fromkeys(form["unitNos"]))
        if not 1 <= len(unit_nos) <= MAX_UNITS:
            raise Refused("units")
        names = dict(await connection.fetch(ROUTE_UNITS, unit_nos))
        count()
        if len(names) < len(unit_nos):
            raise Refused("unit not found")
        label = f"{auth['first_name']} {auth['last_name']} ({ROLE_LABEL['AKS']})"
        async with connection.transaction():
            count()  # BEGIN
            app = await locked(connection, LOCK_IN_OFFICE, tracking_no, auth["province_id"], auth["district_id"])
            if form.get("expectedVersion") not in (None, app["version"]):
                raise Refused("concurrent change")
            if app["status"] not in ROUTABLE or app["is_confidential"]:
                raise Refused("transition not allowed")
            made, version = await connection.fetchrow(
                ROUTE_WRITE, app["id"], unit_nos, due_date(datetime.now(UTC)), auth["user_id"],
                ", ".join(names[no] for no in unit_nos), label, app["phone"], app["name"], tracking_no,
                not app["has_routings"])
            count(2)  # and COMMIT
            if made < len(unit_nos):
                raise Refused("unit already routed")  # rolls the routings made back
        return _step_done("routeApplication", tracking_no, "YONLENDIRILDI", version)

    async def answer_routing(connection, request: Request, variables: dict) -> dict:
        auth = await staff_of(connection, request, "YETKILI")
        form = variables["input"]
        routing_id, text = form["routingId"], form["answer"]
        if not routing_id.isdigit() or int(routing_id) >= 2 ** 31 or form.get("files"):
            raise Refused("routing")
        if _control_characters(text) or not text.strip() or len(text.strip()) > MAX_ANSWER:
            raise Refused("answer")
        text = text.strip()
        label = f"{auth['first_name']} {auth['last_name']} ({ROLE_LABEL['YETKILI']})"
        async with connection.transaction():
            count()  # BEGIN
            app = await locked(connection, LOCK_ROUTING, int(routing_id), auth["unit_nos"])
            if app["status"] not in ANSWERABLE or app["routing_status"] == "ANSWERED":
                raise Refused("transition not allowed")
            status = "CEVAPLANDI" if app["open_routings"] <= 1 else "YONLENDIRILDI"
            version = await connection.fetchval(ANSWER_WRITE, int(routing_id), text, auth["user_id"], app["id"],
                                                status, label)
            count(2)  # and COMMIT
        return _step_done("answerRouting", app["tracking_no"], status, version)

    def page_size(variables: dict) -> int:
        first = variables.get("first")
        first = 50 if first is None else first
        if not isinstance(first, int) or not 1 <= first <= MAX_PAGE:
            raise Refused("first")
        if variables.get("after") is not None or any(v is not None for v in (variables.get("filter") or {}).values()):
            raise Refused("only the first page of the unfiltered list")
        return first

    async def search_applications(connection, request: Request, variables: dict) -> dict:
        auth = await session_of(connection, request, STAFF_SESSION)
        if auth["purpose"] != "STAFF" or auth["role"] not in ("AKS", "MIA"):
            raise Refused("not the office's staff")
        first = page_size(variables)
        district = auth["district_id"]
        office = "subject_district_id" if district is not None else "subject_province_id"
        rows = await connection.fetch(SEARCH_PAGES[office], district if district is not None else auth["province_id"],
                                      first + 1)
        count()
        rows, more = rows[:first], len(rows) > first
        if rows:  # KVKK: the T.C. Kimlik No of every listed application was read
            await connection.execute(LOG_READS, auth["user_id"], [row[0] for row in rows], ["tcKimlikNo"])
            count()
        today = datetime.now(ISTANBUL).date()
        edges = [{"cursor": _cursor(f"a.{_micros(row[6])}.{row[0]}"), "node": _list_item(row, 0, today, True)}
                 for row in rows]
        return {"searchApplications": {
            "totalCount": rows[0][-1] if rows else 0,
            "pageInfo": {"hasNextPage": more, "endCursor": edges[-1]["cursor"] if edges else None},
            "edges": edges}}

    async def routing_inbox(connection, request: Request, variables: dict) -> dict:
        auth = await staff_of(connection, request, "YETKILI")
        first = page_size(variables)
        rows = await connection.fetch(INBOX, auth["unit_nos"], first + 1)
        count()
        rows, more = rows[:first], len(rows) > first
        today = datetime.now(ISTANBUL).date()
        edges = []
        for row in rows:
            routing = _listed_routing(row[:7], today)
            due = row[4]
            overdue = routing["overdue"]
            edges.append({
                "cursor": _cursor(f"i.{int(row[3] == 'ANSWERED')}.{due.toordinal()}.{row[0]}"),
                "node": {"id": routing["id"], "unit": routing["unit"], "status": routing["status"],
                         "statusLabel": routing["statusLabel"], "dueDate": due, "overdue": overdue,
                         "daysLate": (today - due).days if overdue else 0, "routedAt": row[5],
                         "answeredAt": row[6], "application": _list_item(row, 7, today, False)}})
        return {"routingInbox": {
            "totalCount": rows[0][-1] if rows else 0,
            "pageInfo": {"hasNextPage": more, "endCursor": edges[-1]["cursor"] if edges else None},
            "edges": edges}}

    handlers = {}

    async def graphql(request: Request) -> Response:
        try:
            body = orjson.loads(await request.body())
            handler = handlers[body["query"]]
            async with state["pool"].acquire() as connection:
                data = await handler(connection, request, body.get("variables") or {})
        except (Refused, KeyError, TypeError, ValueError, orjson.JSONDecodeError) as error:
            return Response(orjson.dumps({"raw": f"refused: {error!r}"}), status_code=400,
                            media_type="application/json")
        return Response(orjson.dumps({"data": data}), media_type="application/json", headers=HEADERS)

    async def round_trips(request: Request) -> Response:
        return Response(orjson.dumps({"roundTrips": state["round_trips"]}), media_type="application/json")

    @asynccontextmanager
    async def lifespan(app):
        # As many connections as the server may open (its pool has no overflow), with its statement timeout.
        state["pool"] = await asyncpg.create_pool(
            dsn, min_size=1, max_size=settings.db_pool_size, reset=_keep,
            server_settings={"statement_timeout": str(round(settings.db_statement_timeout_seconds * 1000))})
        try:
            yield
        finally:
            await state["pool"].close()

    handlers.update({TRACKED: tracked_application, CATEGORIES: service_categories, SUBMIT: submit_application,
                     ROUTE: route_application, ANSWER: answer_routing, SEARCH_PAGE: search_applications,
                     INBOX_PAGE: routing_inbox})
    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"]),
                             Route("/_roundtrips", round_trips)], lifespan=lifespan)


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _micros(moment: datetime) -> int:
    delta = moment - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _listed_routing(r, today: date) -> dict:
    """(id, unit_no, unit name, status, due date, routed at, answered at) as the lists show a routing."""
    status, due = r[3], r[4]
    return {"id": str(r[0]), "unit": {"detsisNo": r[1], "name": r[2]}, "status": status,
            "statusLabel": ROUTING_LABEL[status], "dueDate": due, "overdue": status != "ANSWERED" and due < today,
            "routedAt": r[5], "answeredAt": r[6]}


def _list_item(row, at: int, today: date, personal: bool) -> dict:
    """The application's row of a list, from the columns of LIST_COLUMNS and ROUTING_RECORDS starting at `at`;
    `personal`: the office's reader, who sees the T.C. Kimlik No (asked for) and an ihbar's names."""
    (id, tracking_no, status, result, kind, channel, created_at, arrival_date, is_special, is_confidential,
     priority, tckn, first_name, last_name, summary, categories, routings) = row[at:at + 17]
    listed = [_listed_routing(r, today) for r in routings or ()]
    waiting = [r["dueDate"] for r in listed if r["status"] != "ANSWERED"]
    identity = personal or kind != "IHBAR"
    item = {"id": str(id), "trackingNo": tracking_no, "status": status, "statusLabel": STATUS_LABEL[status],
            "result": result, "resultLabel": RESULT_LABEL[result] if result else None, "kind": kind,
            "kindLabel": KIND_LABEL[kind], "channel": channel, "channelLabel": CHANNEL_LABEL[channel],
            "createdAt": created_at, "arrivalDate": arrival_date, "isSpecial": is_special,
            "isConfidential": is_confidential, "priorityGroup": priority,
            "priorityGroupLabel": PRIORITY_LABEL[priority] if priority else None}
    if personal:
        item["tcKimlikNo"] = tckn
    item.update({
        "firstName": first_name if identity else None, "lastName": last_name if identity else None,
        "subjectSummary": summary,
        "categories": [{"position": c[0], "category": c[1], "subcategory": c[2], "description": c[3]}
                       for c in categories or ()],
        "routings": listed, "unitArrivalAt": min((r["routedAt"] for r in listed), default=None),
        "dueDate": min(waiting, default=None), "overdue": any(r["overdue"] for r in listed)})
    return item


def _submitted(tracking_no: int) -> dict:
    return {"submitApplication": {"__typename": "SubmitApplicationSuccess", "trackingNo": tracking_no,
                                  "message": SUBMITTED_MESSAGE}}


def _step_done(field: str, tracking_no: int, status: str, version: int) -> dict:
    return {field: {"__typename": "WorkflowStepDone", "trackingNo": tracking_no, "status": status,
                    "statusLabel": STATUS_LABEL[status], "version": version}}


def _phone(value: str) -> str:
    digits = re.sub(r"[\s\-()]", "", value)
    digits = re.sub(r"^(\+90|0090|90(?=5[0-9]{9}$)|0)", "", digits)
    if not re.fullmatch(r"5[0-9]{9}", digits):
        raise Refused("phone")
    return digits


def _control_characters(value: str | None) -> bool:
    return bool(value) and any(ord(char) < 32 and char not in "\n\r\t" for char in value)


def _check_text(subject: str, subject_address: str | None, email: str | None, descriptions: list) -> None:
    for value in (subject, subject_address, email, *descriptions):
        if _control_characters(value):
            raise Refused("control characters")
    if not subject.strip() or len(subject) > 5000:
        raise Refused("subject")
    if not (subject_address or "").strip() or len(subject_address) > 500:
        raise Refused("subject address")
    if email and (len(email) > 254 or not EMAIL.fullmatch(email)):
        raise Refused("email")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = Settings()
    dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://")
    uvicorn.run(create_app(settings, dsn), host=args.host, port=args.port, log_level="warning",
                access_log=False, server_header=False, loop="auto", http="auto")


if __name__ == "__main__":
    main()
