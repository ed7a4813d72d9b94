"""Citizen intake (profile, submit) and the citizen's tracking view."""

from datetime import date, datetime, timedelta

from sqlalchemy import select

from acikkapi.models import Channel, District, LookupPurpose, Place, Province, Purpose
from acikkapi.permissions.actor import require_purpose
from acikkapi.permissions.applications import ensure_can_register
from acikkapi.context import Context
from acikkapi.resolvers import identity_lookups
from acikkapi.services import applications, signin, tracking
from acikkapi.services.applications import ApplicationDraft, Submitted
from acikkapi.services.errors import PermissionDenied, Unauthenticated, ValidationFailed, raises
from acikkapi.services.identity import Person
from acikkapi.services.reports import ISTANBUL
from acikkapi.services.tracking import TrackingView
from acikkapi.services.tckn import check_tckn

ARRIVAL_DATE_MAX_AGE = timedelta(days=365)  # a petition is entered as it arrives: an older date is a typing error


async def applicant_profile(context: Context) -> tuple[Person, str, tuple | None]:
    """The identity service's answer for the verified applicant, with the residence as address records."""
    auth = require_purpose(context.actor, Purpose.APPLY)
    if auth.application_id is not None:  # applied: the session now only answers a repeated submit
        raise Unauthenticated()
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


@raises(Unauthenticated, PermissionDenied, *signin.verified_phone.raises, *applications.pending_files.raises,
        *applications.submit_application.raises)
async def submit_application(context: Context, draft: ApplicationDraft) -> Submitted:
    auth = require_purpose(context.actor, Purpose.APPLY)
    draft.phone = signin.verified_phone(auth, draft.phone)
    if auth.application_id is not None:  # applied: a repeated submit answers with that application
        async with context.connection() as connection:
            return await applications.submitted_application(connection, auth.application_id)
    storage = context.services.storage
    # One verified code, one application: the write claims the session, so a repeated or concurrent submit
    # (a double click) answers with the application already made. A refused submit writes nothing, so the
    # citizen can correct it and try again.
    async with applications.pending_files(storage, draft.files, context.settings) as stored, \
            context.connection() as connection:
        submitted = await applications.submit_application(
            connection, storage, person=Person.from_json(auth.identity), draft=draft, stored=stored,
            channel=Channel.WEB, actor_label="Vatandaş", session_id=auth.id)
    context.services.wake_outbox()
    return submitted


async def tracked_application(context: Context) -> TrackingView:
    auth = require_purpose(context.actor, Purpose.TRACK)  # a tracking session sees its one application
    async with context.connection() as connection:
        return await tracking.tracking_view(connection, auth.application_id)


@raises(Unauthenticated, PermissionDenied, ValidationFailed, *applications.check_draft.raises,
        *identity_lookups.person_of.raises, *applications.pending_files.raises,
        *applications.submit_application.raises)
async def register_application(context: Context, *, tckn: str, arrival_date: date, draft: ApplicationDraft,
                               idempotency_key: str | None = None) -> Submitted:
    """Başvuru Kayıt by an AKS for a citizen who applied in writing or at the desk (channel: banko).
    The identity and residence come from the identity service by number, never typed by hand; the lookup is
    recorded and rate-limited. The phone is the officer's entry: the citizen is at the desk or wrote it down.
    A repeated request with the same `idempotency_key` answers with the application it made."""
    actor = context.actor
    ensure_can_register(actor)
    tckn = check_tckn(tckn)
    if idempotency_key is not None:
        if not 8 <= len(idempotency_key) <= 64 or not idempotency_key.isascii() or not idempotency_key.isprintable():
            raise ValidationFailed("İşlem anahtarı 8-64 karakterlik bir metin olmalıdır.", field="idempotencyKey")
        async with context.connection() as connection:
            made = await applications.registered_with_key(connection, actor.user.id, idempotency_key)
        if made is not None:
            return made
    today = datetime.now(ISTANBUL).date()
    if arrival_date > today:
        raise ValidationFailed("Başvuru Geliş Tarihi ileri bir tarih olamaz.", field="arrivalDate")
    if arrival_date < today - ARRIVAL_DATE_MAX_AGE:
        raise ValidationFailed("Başvuru Geliş Tarihi bir yıldan eski olamaz.", field="arrivalDate")
    if not draft.same_as_residence:
        ensure_can_register(actor, draft.province_id, draft.district_id)
    async with context.connection() as connection:
        await applications.check_draft(connection, draft)
    storage = context.services.storage
    # The files are checked first: refused ones cost no identity lookup.
    async with applications.pending_files(storage, draft.files, context.settings) as stored:
        person = await identity_lookups.person_of(context, tckn, LookupPurpose.REGISTER_APPLICATION,
                                                  province_id=actor.province_id,
                                                  same_as_residence=draft.same_as_residence)
        async with context.connection() as connection:
            submitted = await applications.submit_application(
                connection, storage, person=person, draft=draft, stored=stored, channel=Channel.BANKO,
                actor_label=actor.label, actor_role=actor.role, created_by_id=actor.user.id,
                arrival_date=arrival_date, idempotency_key=idempotency_key,
                check_address=lambda province, district: ensure_can_register(actor, province, district))
    context.services.wake_outbox()
    return submitted
