"""Citizen intake (profile, submit) and the citizen's tracking view."""

from datetime import date, datetime, timedelta

from sqlalchemy import select

from acikkapi.models import Application, Channel, District, Place, Province, Purpose
from acikkapi.permissions.actor import require_purpose
from acikkapi.permissions.applications import ensure_can_register, visible_applications
from acikkapi.schema.context import Context
from acikkapi.services import applications, sessions
from acikkapi.services.applications import ApplicationDraft
from acikkapi.services.errors import Unauthenticated, ValidationFailed
from acikkapi.services.identity import Person
from acikkapi.services.reports import ISTANBUL
from acikkapi.services.tckn import check_tckn

ARRIVAL_DATE_MAX_AGE = timedelta(days=365)  # a petition is entered as it arrives: an older date is a typing error


async def applicant_profile(context: Context) -> tuple[Person, str, tuple | None]:
    """The identity service's answer for the verified applicant, with the residence as address records."""
    auth = require_purpose(context.actor, Purpose.APPLY)
    person = Person.from_json(auth.identity)
    async with context.reading() as session:
        ids = await applications.resolve_residence(session, person)
        records = None
        if ids:
            records = (await session.execute(
                select(Province, District, Place)
                .join(District, District.province_id == Province.id)
                .join(Place, Place.district_id == District.id)
                .where(Place.id == ids[2]))).first()
    return person, auth.phone, tuple(records) if records else None


async def submit_application(context: Context, draft: ApplicationDraft) -> Application:
    auth = require_purpose(context.actor, Purpose.APPLY)
    async with context.mutation() as session:
        # One verified code, one application: claim the session first; a concurrent submit waits on the
        # row and then finds it used. A failed submit rolls the claim back, so the citizen can correct it.
        if not await sessions.revoke(session, auth):
            raise Unauthenticated()
        return await applications.submit_application(
            session, context.settings, context.services.storage, person=Person.from_json(auth.identity),
            draft=draft, channel=Channel.WEB, actor_label="Vatandaş")


async def tracked_application(context: Context) -> Application:
    require_purpose(context.actor, Purpose.TRACK)
    async with context.reading() as session:
        return await applications.load_application(session, visible_applications(context.actor))


async def register_application(context: Context, *, tckn: str, arrival_date: date,
                               draft: ApplicationDraft) -> Application:
    """Başvuru Kayıt by an AKS for a citizen who applied in writing or at the desk (channel: banko).
    The identity and residence come from the identity service by number, never typed by hand."""
    actor = context.actor
    ensure_can_register(actor)
    tckn = check_tckn(tckn)
    if arrival_date > datetime.now(ISTANBUL).date():
        raise ValidationFailed("Başvuru Geliş Tarihi ileri bir tarih olamaz.", field="arrivalDate")
    if arrival_date < datetime.now(ISTANBUL).date() - ARRIVAL_DATE_MAX_AGE:
        raise ValidationFailed("Başvuru Geliş Tarihi bir yıldan eski olamaz.", field="arrivalDate")
    person = await context.services.identity.lookup(tckn)
    async with context.mutation() as session:
        return await applications.submit_application(
            session, context.settings, context.services.storage, person=person, draft=draft,
            channel=Channel.BANKO, actor_label=actor.label, created_by_id=actor.user.id, arrival_date=arrival_date,
            check_province=lambda province_id: ensure_can_register(actor, province_id))
