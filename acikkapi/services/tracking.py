"""The citizen's tracking view (Başvuru Sorgulama), the hottest read of the citizen side: one prebuilt statement,
one round trip, rows mapped straight to plain objects (no ORM loading).

The printable report, read far less often, loads the ORM graph instead (`applications.load_application`).
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from acikkapi.db import Prepared
from acikkapi.models import ApplicationKind, ApplicationResult, ApplicationStatus, PlaceKind
from acikkapi.services.errors import NotFound

# Child rows come back as arrays of anonymous records, which asyncpg decodes to typed tuples.
_TRACKING_VIEW = Prepared("""
SELECT a.tracking_no, a.status, a.result, a.answer, a.kind, a.created_at, a.applicant_tckn, a.applicant_first_name,
       a.applicant_last_name, a.residence_address, rd.name AS residence_district, rp.name AS residence_province,
       a.subject_address, a.phone, a.email, a.subject,
       sp.id AS province_id, sp.name AS province_name, sd.id AS district_id, sd.name AS district_name,
       pl.id AS place_id, pl.name AS place_name, pl.kind AS place_kind,
       ARRAY(SELECT ROW(c.position, cat.name, sub.name, c.description)
             FROM application_category c
             JOIN service_category cat ON cat.id = c.category_id
             JOIN service_category sub ON sub.id = c.subcategory_id
             WHERE c.application_id = a.id ORDER BY c.position) AS categories,
       ARRAY(SELECT ROW(f.id, f.file_name, f.content_type, f.size)
             FROM attachment f WHERE f.application_id = a.id AND f.routing_id IS NULL
             ORDER BY f.uploaded_at, f.id) AS files,
       ARRAY(SELECT ROW(e.status, e.note, e.created_at)
             FROM application_event e WHERE e.application_id = a.id AND e.public ORDER BY e.id) AS history
FROM application a
JOIN province sp ON sp.id = a.subject_province_id
JOIN district sd ON sd.id = a.subject_district_id
JOIN place pl ON pl.id = a.subject_place_id
LEFT JOIN district rd ON rd.id = a.residence_district_id
LEFT JOIN province rp ON rp.id = a.residence_province_id
WHERE a.id = $1
""")


@dataclass(frozen=True)
class Named:
    id: int
    name: str


@dataclass(frozen=True)
class PlaceRef:
    id: int
    name: str
    kind: PlaceKind


@dataclass(frozen=True)
class CategoryLine:
    position: int
    category: str
    subcategory: str
    description: str | None


@dataclass(frozen=True)
class FileLine:
    id: object  # uuid.UUID
    file_name: str
    content_type: str
    size: int


@dataclass(frozen=True)
class HistoryLine:
    status: ApplicationStatus
    note: str | None
    at: datetime


@dataclass(frozen=True)
class TrackingView:
    tracking_no: int
    status: ApplicationStatus
    result: ApplicationResult | None
    answer: str | None  # the answer to the citizen, once closed
    kind: ApplicationKind
    created_at: datetime
    tckn: str
    first_name: str
    last_name: str
    residence_line: str  # “<açık adres> KEÇİÖREN / ANKARA”, as the tracking page prints it
    subject_address: str
    province: Named
    district: Named
    place: PlaceRef
    phone: str
    email: str | None
    subject: str
    categories: list[CategoryLine]
    files: list[FileLine]
    history: list[HistoryLine]


async def tracking_view(connection: AsyncConnection, application_id: int) -> TrackingView:
    row = await _TRACKING_VIEW.first(connection, (application_id,))
    if row is None:
        raise NotFound("Başvuru bulunamadı.")
    residence = row["residence_address"]
    if row["residence_district"] and row["residence_province"]:
        residence = f"{residence} {row['residence_district']} / {row['residence_province']}"
    return TrackingView(
        tracking_no=row["tracking_no"], status=ApplicationStatus[row["status"]],
        result=ApplicationResult[row["result"]] if row["result"] else None, answer=row["answer"], kind=ApplicationKind[row["kind"]],
        created_at=row["created_at"], tckn=row["applicant_tckn"], first_name=row["applicant_first_name"],
        last_name=row["applicant_last_name"], residence_line=residence, subject_address=row["subject_address"],
        province=Named(row["province_id"], row["province_name"]),
        district=Named(row["district_id"], row["district_name"]),
        place=PlaceRef(row["place_id"], row["place_name"], PlaceKind[row["place_kind"]]),
        phone=row["phone"], email=row["email"], subject=row["subject"],
        categories=[CategoryLine(*line) for line in row["categories"]],
        files=[FileLine(*line) for line in row["files"]],
        history=[HistoryLine(ApplicationStatus[status], note, at) for status, note, at in row["history"]],
    )
