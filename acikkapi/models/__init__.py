"""All tables; importing this package registers every model on `Base.metadata`."""

from sqlalchemy.orm import configure_mappers

from acikkapi.models.application import (
    Application, ApplicationCategory, ApplicationEvent, ApplicationKind, ApplicationResult,
    ApplicationStatus, Attachment, Channel, EventAction, Gender, PriorityGroup, PublicStatus,
)
from acikkapi.models.audit import AuditAction, AuditEntity, AuditEvent
from acikkapi.models.auth import AuthSession, EIcisleriSignIn, OtpChallenge, Purpose
from acikkapi.models.base import Base
from acikkapi.models.export import ExportJob, ExportStatus
from acikkapi.models.identity_lookup import IdentityLookup, LookupOutcome, LookupPurpose
from acikkapi.models.kvkk import KvkkAccessLog
from acikkapi.models.outbox import OutboxMessage, OutboxStatus
from acikkapi.models.reference import (
    District, Place, PlaceKind, Province, ReferenceVersion, ServiceCategory, Unit, UnitKind,
)
from acikkapi.models.routing import Routing, RoutingStatus
from acikkapi.models.user import Role, User, user_unit

# Every model is imported: the mappers are complete, and instances built past the ORM (`Base.detached`) need them
# configured.
configure_mappers()

__all__ = [
    "Application", "ApplicationCategory", "ApplicationEvent", "ApplicationKind", "ApplicationResult",
    "ApplicationStatus", "Attachment", "AuthSession", "Base", "Channel", "District", "EventAction", "Gender",
    "OtpChallenge", "OutboxMessage", "OutboxStatus", "Place", "PlaceKind", "PriorityGroup", "Province", "PublicStatus", "Purpose",
    "ReferenceVersion", "Role", "ServiceCategory", "Unit", "UnitKind", "User", "user_unit",
    "IdentityLookup", "LookupOutcome", "LookupPurpose", "EIcisleriSignIn",
    "KvkkAccessLog", "Routing", "RoutingStatus", "ExportJob", "ExportStatus", "AuditAction", "AuditEntity",
    "AuditEvent",
]
