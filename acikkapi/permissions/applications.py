"""Who may see which application, routing and file, and which of the applicant's data.

One scoping condition per aggregate (`visible_applications`, `visible_routings`, `visible_attachments`), used
by every lookup, list, download, report and transition. A condition depends only on the kind of scope, so
statements are built once per kind at module level; `scope_params` gives the actor's values for them.
"""

import enum

from sqlalchemy import ColumnElement, Integer, and_, any_, bindparam, exists, false, or_, select
from sqlalchemy.dialects.postgresql import ARRAY

from acikkapi.models import Application, ApplicationEvent, ApplicationKind, Attachment, Purpose, Role, Routing
from acikkapi.permissions.actor import Actor
from acikkapi.permissions.admin import is_national_admin
from acikkapi.services.errors import PermissionDenied, Unauthenticated

OFFICE_ROLES = {Role.AKS, Role.MIA}  # the office's staff: every application of the office
# The applicant's personal data (KVKK), by GraphQL field: only the office's staff, whose screens need it, read
# it, and each read is recorded (services/kvkk.py).
PERSONAL_FIELDS = ("tcKimlikNo", "birthDate", "gender", "phone", "email", "residenceAddress")
PERSONAL_DATA_READERS = OFFICE_ROLES
# Who the applicant is: hidden from the units an ihbar is routed to (SPEC §5).
IDENTITY_FIELDS = ("firstName", "lastName")


class Scope(enum.Enum):
    NONE = "none"
    OWN = "own"  # a tracking citizen: their one application
    PROVINCE = "province"  # the AKS and MİA of a valilik's office
    DISTRICT = "district"  # the AKS and MİA of a kaymakamlık's office
    UNITS = "units"  # a Yetkili: what is routed to their units, never a confidential (gizli) application


def scope_of(actor: Actor) -> Scope:
    if actor.purpose is Purpose.TRACK:
        return Scope.OWN
    if actor.purpose is Purpose.STAFF and actor.role in OFFICE_ROLES:
        return Scope.DISTRICT if actor.district_id is not None else Scope.PROVINCE
    if actor.purpose is Purpose.STAFF and actor.role is Role.YETKILI:
        return Scope.UNITS
    return Scope.NONE


def scope_params(actor: Actor) -> dict:
    """The actor's values for the parameters of the scope conditions."""
    return {"scope_application": actor.session.application_id if actor.session else None,
            "scope_province": actor.province_id, "scope_district": actor.district_id,
            "scope_units": sorted(actor.unit_nos)}


_application, _routing, _attachment = Application.__table__, Routing.__table__, Attachment.__table__
_event = ApplicationEvent.__table__
_units = bindparam("scope_units", type_=ARRAY(Integer))
# Subqueries read routings under their own name, so a statement that also selects `routing` never correlates them.
_own = _routing.alias("own_routing")
_OWN_ROUTINGS = select(_own.c.id).where(_own.c.unit_no == any_(_units))


def visible_applications(scope: Scope) -> ColumnElement[bool]:
    """Which applications the scope sees (a condition on `application`)."""
    if scope is Scope.OWN:
        return _application.c.id == bindparam("scope_application")
    if scope is Scope.PROVINCE:
        return _application.c.subject_province_id == bindparam("scope_province")
    if scope is Scope.DISTRICT:
        return _application.c.subject_district_id == bindparam("scope_district")
    if scope is Scope.UNITS:
        # Correlated explicitly: it also names the right application from inside another statement's subquery.
        return and_(~_application.c.is_confidential,
                    exists().where(_own.c.application_id == _application.c.id, _own.c.unit_no == any_(_units))
                    .correlate(_application))
    return false()


def visible_routings(scope: Scope, routing=_routing) -> ColumnElement[bool]:
    """Which routings the scope sees (a condition on `routing`, or an alias of it, joined to its
    `application`): the office's staff every routing of what they see, a Yetkili only their own units'
    routings, a citizen none."""
    if scope is Scope.UNITS:  # one of their own routings shows its application is routed to them
        return and_(~_application.c.is_confidential, routing.c.unit_no == any_(_units))
    if scope in (Scope.PROVINCE, Scope.DISTRICT):
        return visible_applications(scope)
    return false()


def visible_attachments(scope: Scope) -> ColumnElement[bool]:
    """Which files the scope sees (a condition on `attachment` joined to its `application`): the applicant's
    own files with the application, a unit's answer files with its routing. A unit sees no file of an ihbar's
    applicant, which may say who they are."""
    own_file = _attachment.c.routing_id.is_(None)
    if scope is Scope.UNITS:
        unit_file = _attachment.c.routing_id.in_(_OWN_ROUTINGS)
        applicant_file = and_(own_file, _application.c.kind != ApplicationKind.IHBAR)
        return and_(visible_applications(scope), or_(applicant_file, unit_file))
    if scope is Scope.OWN:
        return and_(visible_applications(scope), own_file)
    if scope in (Scope.PROVINCE, Scope.DISTRICT):
        return visible_applications(scope)
    return false()


def visible_events(scope: Scope) -> ColumnElement[bool]:
    """Which rows of İşlem Hareketleri the scope sees (a condition on `application_event` joined to its
    `application`): the office's staff all of them, a Yetkili the public ones and those of their own routings,
    a citizen the public ones."""
    if scope is Scope.UNITS:
        return and_(visible_applications(scope), or_(_event.c.public, _event.c.routing_id.in_(_OWN_ROUTINGS)))
    if scope is Scope.OWN:
        return and_(visible_applications(scope), _event.c.public)
    if scope in (Scope.PROVINCE, Scope.DISTRICT):
        return visible_applications(scope)
    return false()


def reads_personal_data(actor: Actor) -> bool:
    return actor.purpose is Purpose.STAFF and actor.role in PERSONAL_DATA_READERS


def shows_identity(actor: Actor, kind: ApplicationKind) -> bool:
    """Whether the applicant's name may be shown: never to a unit for an ihbar."""
    return reads_personal_data(actor) or kind is not ApplicationKind.IHBAR


def ensure_can_register(actor: Actor, province_id: int | None = None, district_id: int | None = None) -> None:
    """An AKS registers written applications (banko) only for an address of their own office (province, or
    district for a kaymakamlık). Without an address, only the role is checked (before any outside call)."""
    if actor.session is None:
        raise Unauthenticated()
    if actor.purpose is not Purpose.STAFF or actor.role is not Role.AKS:
        raise PermissionDenied()
    if province_id is not None and province_id != actor.province_id:
        raise PermissionDenied("Yalnızca kendi ilinizdeki bir adrese ait başvuru kaydedebilirsiniz.",
                               field="provinceId")
    if district_id is not None and actor.district_id is not None and district_id != actor.district_id:
        raise PermissionDenied("Yalnızca kendi ilçenizdeki bir adrese ait başvuru kaydedebilirsiniz.",
                               field="districtId")


def may_upload(actor: Actor) -> bool:
    """Only submitApplication (an APPLY session), registerApplication (an AKS), answerRouting (a Yetkili) and
    importDetsisUnits (the ministry's user admins) take files: anyone else's multipart request is refused before
    its body is read."""
    return actor.purpose is Purpose.APPLY or (
        actor.purpose is Purpose.STAFF and actor.role in (Role.AKS, Role.YETKILI)) or is_national_admin(actor)
