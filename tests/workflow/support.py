"""The staff of the workflow tests (demo users, acikkapi/services/reference_data.py) and the steps they take."""

import json
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from acikkapi.services.links import signed_path
from acikkapi.services.sessions import token_hash
from acikkapi.simulators.eicisleri import DEMO_PASSWORD
from tests.documents import (
    ANSWER, CLOSE, COMPLETE_EICISLERI, REGISTER, REVIEW, ROUTE, ROUTING_INBOX, SEND_TO_MIA, STAFF_APPLICATION,
    START_EICISLERI,
)
from tests.helpers import (
    AKS_ANKARA, AYSE, MIA_ANKARA, YETKILI_ANKARA, first_category, istanbul_today, staff_session,
)

ANKARA, ISTANBUL = 6, 34
MILLI_EGITIM = 55461037  # ANKARA İL MİLLÎ EĞİTİM MÜDÜRLÜĞÜ
KECIOREN_MILLI_EGITIM = 26746921  # KEÇİÖREN İLÇE MİLLÎ EĞİTİM MÜDÜRLÜĞÜ
SAGLIK = 41085047  # ANKARA İL SAĞLIK MÜDÜRLÜĞÜ

AKS_ISTANBUL = {"tckn": "10000000696", "phone": "5321000006"}
AKS_KECIOREN = {"tckn": "10000000764", "phone": "5321000007"}  # a kaymakamlık's office
AKS_CANKAYA = {"tckn": "10000000832", "phone": "5321000008"}  # another district's office
YETKILI_KECIOREN = {"tckn": "10000000900", "phone": "5321000009"}  # KEÇİÖREN İLÇE MİLLÎ EĞİTİM
YETKILI_SAGLIK = {"tckn": "10000001068", "phone": "5321000010"}  # a unit nothing is routed to
MIA_ISTANBUL = {"tckn": "10000001136"}
MIA_KECIOREN = {"tckn": "10000001204"}  # the kaymakam
ANALIST = {"tckn": "10000000528"}

AYSE_PHONE = "5350001047"


async def mia_sign_in(world, staff: dict) -> str:
    """The MİA signs in through the e-İçişleri simulator: start, its sign-in page, back with code and state."""
    started = (await world.gql(START_EICISLERI))["startEIcisleriSignIn"]
    page = urlsplit(started["authorizationUrl"])
    form = {**dict(parse_qsl(page.query)), "tckn": staff["tckn"], "parola": DEMO_PASSWORD}
    response = await world.http.post(f"{page.scheme}://{page.netloc}{page.path}", data=form)
    answer = dict(parse_qsl(urlsplit(response.headers["location"]).query))
    signed_in = (await world.gql(COMPLETE_EICISLERI, {"code": answer["code"], "state": answer["state"]}))[
        "completeEIcisleriSignIn"]
    assert signed_in["__typename"] == "SignedIn", signed_in
    return signed_in["token"]


async def step(world, token: str, document: str, **input) -> dict:
    """Run one workflow mutation; its payload (success or typed error)."""
    data = await world.gql(document, {"input": input}, token=token)
    return next(iter(data.values()))


async def done(world, token: str, document: str, **input) -> dict:
    payload = await step(world, token, document, **input)
    assert payload["__typename"] == "WorkflowStepDone", payload
    return payload


async def staff_view(world, token: str, tracking_no: int) -> dict:
    return (await world.gql(STAFF_APPLICATION, {"trackingNo": tracking_no}, token=token))["staffApplication"]


async def inbox(world, token: str, **variables) -> list[dict]:
    """The first page of a Yetkili's inbox, each routing with its application's tracking number."""
    edges = (await world.gql(ROUTING_INBOX, variables, token=token))["routingInbox"]["edges"]
    return [{**edge["node"], "trackingNo": edge["node"]["application"]["trackingNo"]} for edge in edges]


async def register(world, aks: str, *, person: dict | None = None, kind: str = "TALEP", files: tuple = (),
                   phone: str = AYSE_PHONE, **changes) -> int:
    """An application registered at the desk by the AKS (no code to wait for), with `files` ((name, bytes,
    content type) each); its tracking number."""
    person = person or AYSE
    category, subcategory = await first_category(world)
    application = {"kind": kind, "sameAsResidence": True, "phone": phone, "subject": "Okul temizliği talebi.",
                   "categories": [{"categoryId": category, "subcategoryId": subcategory}], **changes}
    data = {"tcKimlikNo": person["tckn"], "arrivalDate": istanbul_today().isoformat(), "application": application}
    if files:
        application["files"] = [None] * len(files)
        paths = {f"variables.input.application.files.{i}": file for i, file in enumerate(files)}
        payload = (await multipart(world, aks, REGISTER, {"input": data}, paths))["registerApplication"]
    else:
        payload = (await world.gql(REGISTER, {"input": data}, token=aks))["registerApplication"]
    assert payload["__typename"] == "SubmitApplicationSuccess", payload
    return payload["trackingNo"]


@dataclass(frozen=True)
class Prepared:
    """An application brought to a status through the workflow: routed (except in the pool) to the il milli
    eğitim (answered) and the ilçe milli eğitim (waiting in YONLENDIRILDI, answered after)."""

    tracking_no: int
    milli_egitim: str | None = None  # routing ids
    kecioren: str | None = None


@dataclass(frozen=True)
class Staff:
    aks: str
    yetkili: str  # ANKARA İL MİLLÎ EĞİTİM
    yetkili_kecioren: str  # KEÇİÖREN İLÇE MİLLÎ EĞİTİM
    mia: str

    @classmethod
    async def of(cls, world) -> "Staff":
        return cls(*[await staff_session(world, who["tckn"])
                     for who in (AKS_ANKARA, YETKILI_ANKARA, YETKILI_KECIOREN, MIA_ANKARA)])


REACHED_BY = ["HAVUZDA", "YONLENDIRILDI", "CEVAPLANDI", "MIA_ONAYINDA", "MIA_DEGERLENDIRDI", "SONUCLANDI"]


async def prepare(world, staff: Staff, status: str, **register_changes) -> Prepared:
    tracking_no = await register(world, staff.aks, **register_changes)
    if status == "HAVUZDA":
        return Prepared(tracking_no)
    await done(world, staff.aks, ROUTE, trackingNo=tracking_no, unitNos=[MILLI_EGITIM, KECIOREN_MILLI_EGITIM])
    milli_egitim, kecioren = (r["id"] for r in (await staff_view(world, staff.aks, tracking_no))["routings"])
    prepared = Prepared(tracking_no, milli_egitim, kecioren)
    await done(world, staff.yetkili, ANSWER, routingId=milli_egitim, answer="İl müdürlüğünün cevabı.")
    steps = [
        (staff.yetkili_kecioren, ANSWER, {"routingId": kecioren, "answer": "İlçe müdürlüğünün cevabı."}),
        (staff.aks, SEND_TO_MIA, {"trackingNo": tracking_no, "confirm": True}),
        (staff.mia, REVIEW, {"trackingNo": tracking_no, "note": "Uygundur."}),
        (staff.aks, CLOSE, {"trackingNo": tracking_no, "result": "OLUMLU", "answer": "Talebiniz karşılanmıştır."}),
    ]
    for token, document, input in steps[:REACHED_BY.index(status) - 1]:
        await done(world, token, document, **input)
    return prepared


async def snapshot(world, tracking_no: int) -> dict:
    """Everything a step may change about an application, to prove that a refused one changed nothing."""
    [row] = await world.sql(
        "SELECT a.status, a.version, a.result, a.answer, a.is_special, a.is_confidential, a.priority_group,"
        " (SELECT count(*) FROM application_event e WHERE e.application_id = a.id) AS events,"
        " (SELECT array_agg(ROW(c.category_id, c.subcategory_id)::text ORDER BY c.position)"
        "  FROM application_category c WHERE c.application_id = a.id) AS categories,"
        " (SELECT array_agg(ROW(r.unit_no, r.status, r.answer, r.return_reason, r.version)::text ORDER BY r.id)"
        "  FROM routing r WHERE r.application_id = a.id) AS routings,"
        " (SELECT count(*) FROM attachment f WHERE f.application_id = a.id) AS files,"
        " (SELECT count(*) FROM outbox_message) AS messages "
        "FROM application a WHERE a.tracking_no = $1", tracking_no)
    return dict(row)


async def multipart(world, token: str, document: str, variables: dict, files: dict[str, tuple]) -> dict:
    """One operation through the GraphQL multipart request spec; `files` maps a variable path (e.g.
    "variables.input.files.0", which must hold null) to (file name, bytes, content type). Returns `data`."""
    mapping = {str(i): [path] for i, path in enumerate(files)}
    headers = {"X-Forwarded-For": world.new_address(), "GraphQL-Preflight": "1", "Authorization": f"Bearer {token}"}
    response = await world.http.post(
        "/graphql", headers=headers,
        data={"operations": json.dumps({"query": document, "variables": variables}), "map": json.dumps(mapping)},
        files=[(str(i), file) for i, file in enumerate(files.values())])
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return body["data"]


async def session_id(world, token: str) -> uuid.UUID:
    [row] = await world.sql("SELECT id FROM auth_session WHERE token_hash = $1", token_hash(token))
    return row["id"]


def link(world, path: str, session: uuid.UUID) -> str:
    """A signed link to `path` for `session`, as the server would issue it to that session."""
    settings = world.settings
    return signed_path(settings.link_key, path, session, settings.download_link_seconds, base_url=world.base_url)
