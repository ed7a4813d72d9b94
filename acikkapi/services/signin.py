"""The three ways to ask for a code: to apply, to track an application, and for staff to sign in.

The tracking and staff requests answer the same way whether or not anything matched; only a matching
request sends an SMS, and both count against the same limits.
"""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from acikkapi.models import Application, OtpChallenge, Purpose, Role, User
from acikkapi.services.checks import fits
from acikkapi.services.errors import ValidationFailed
from acikkapi.services.identity import IdentityMismatch, IdentityService
from acikkapi.services.otp import Sender, check_send_limits, send_challenge
from acikkapi.services.tckn import check_phone, check_tckn, check_text, turkish_upper
from acikkapi.settings import Settings

SMS_SIGN_IN_ROLES = (Role.AKS, Role.YETKILI)


def _required(value: str, field: str, label: str, max_length: int = 64) -> str:
    value = " ".join(turkish_upper(check_text(value, field)).split())
    if not value:
        raise ValidationFailed(f"{label} zorunludur.", field=field)
    if len(value) > max_length:
        raise ValidationFailed(f"{label} en fazla {max_length} karakter olabilir.", field=field)
    return value


class RecordedMismatch(IdentityMismatch):
    keep_changes = True  # the failed try counts against the sender's limits


async def request_apply_code(session: AsyncSession, settings: Settings, identity: IdentityService, *,
                             tckn: str, first_name: str, last_name: str, mother_initials: str, phone: str,
                             client_ip: str | None) -> OtpChallenge:
    tckn = check_tckn(tckn)
    first_name = _required(first_name, "firstName", "Adınız")
    last_name = _required(last_name, "lastName", "Soyadınız")
    initials = turkish_upper(mother_initials.replace(" ", ""))
    if len(initials) != 2 or not initials.isalpha():
        raise ValidationFailed("Annenizin evlenmeden önceki soyadının ilk ve son harfini giriniz.",
                               field="motherMaidenInitials")
    sender = Sender(tckn, check_phone(phone), client_ip)
    await check_send_limits(session, settings, sender, Purpose.APPLY)
    try:
        person = await identity.verify(tckn=tckn, first_name=first_name, last_name=last_name,
                                       mother_initials=initials)
    except IdentityMismatch:
        await send_challenge(session, settings, purpose=Purpose.APPLY, sender=sender, deliverable=False)
        raise RecordedMismatch() from None
    return await send_challenge(session, settings, purpose=Purpose.APPLY, sender=sender,
                                identity=person.as_json())


async def request_tracking_code(session: AsyncSession, settings: Settings, *, tracking_no: int, tckn: str,
                                client_ip: str | None) -> OtpChallenge:
    tckn = check_tckn(tckn)
    if tracking_no <= 0 or not fits(tracking_no, Application.tracking_no):
        raise ValidationFailed("Geçersiz başvuru numarası.", field="trackingNo")
    application = (await session.execute(
        select(Application.id, Application.phone)
        .where(Application.tracking_no == tracking_no, Application.applicant_tckn == tckn)
    )).first()
    sender = Sender(tckn, application.phone if application else "", client_ip)
    return await send_challenge(session, settings, purpose=Purpose.TRACK, sender=sender,
                                deliverable=application is not None,
                                application_id=application.id if application else None)


async def request_staff_code(session: AsyncSession, settings: Settings, *, tckn: str, phone: str,
                             client_ip: str | None) -> OtpChallenge:
    sender = Sender(check_tckn(tckn), check_phone(phone), client_ip)
    user_id = await session.scalar(
        select(User.id).where(User.tckn == sender.tckn, User.phone == sender.phone, User.active,
                              User.role.in_(SMS_SIGN_IN_ROLES)))
    return await send_challenge(session, settings, purpose=Purpose.STAFF, sender=sender,
                                deliverable=user_id is not None, user_id=user_id)
