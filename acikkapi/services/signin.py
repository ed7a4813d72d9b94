"""The three ways to ask for a code: to apply, to track an application, and for staff to sign in.

The tracking and staff requests answer the same way whether or not anything matched; only a matching
request sends an SMS, and both count against the same limits.

Applying asks the identity service first. That call happens outside any transaction (see the resolver):
the limits are checked once before it without locks, and again under locks in the short write after it.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from acikkapi.models import Application, AuthSession, OtpChallenge, Purpose, Role, User
from acikkapi.services.checks import fits
from acikkapi.services.errors import RateLimited, ServiceUnavailable, ValidationFailed, raises
from acikkapi.services.identity import IdentityMismatch, IdentityService, Person
from acikkapi.services.otp import Sender, check_send_limits, record_failed_match, send_challenge
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


@dataclass(frozen=True)
class ApplyRequest:
    """A checked Başvuru Giriş form: who asks, and what the identity service is to compare."""

    sender: Sender
    first_name: str
    last_name: str
    mother_initials: str


@raises(ValidationFailed)
def check_apply_request(*, tckn: str, first_name: str, last_name: str, mother_initials: str, phone: str,
                        client_ip: str | None) -> ApplyRequest:
    tckn = check_tckn(tckn)
    first_name = _required(first_name, "firstName", "Adınız")
    last_name = _required(last_name, "lastName", "Soyadınız")
    initials = turkish_upper(mother_initials.replace(" ", ""))
    if len(initials) != 2 or not initials.isalpha():
        raise ValidationFailed("Annenizin evlenmeden önceki soyadının ilk ve son harfini giriniz.",
                               field="motherMaidenInitials")
    return ApplyRequest(Sender(tckn, check_phone(phone), client_ip), first_name, last_name, initials)


@raises(RateLimited)
async def check_apply_limits(session: AsyncSession, settings: Settings, request: ApplyRequest) -> None:
    """Refuse early, before the identity service is asked; read-only, so it holds no lock."""
    await check_send_limits(session, settings, request.sender, Purpose.APPLY)


@raises(IdentityMismatch, ServiceUnavailable)
async def verify_applicant(identity: IdentityService, request: ApplyRequest) -> Person:
    sender = request.sender
    return await identity.verify(tckn=sender.tckn, first_name=request.first_name, last_name=request.last_name,
                                 mother_initials=request.mother_initials)


async def record_mismatch(session: AsyncSession, request: ApplyRequest) -> None:
    """The identity service did not confirm the person: counted against the requester, not the person."""
    await record_failed_match(session, purpose=Purpose.APPLY, sender=request.sender)


@raises(RateLimited)
async def send_apply_code(session: AsyncSession, settings: Settings, request: ApplyRequest,
                          person: Person) -> OtpChallenge:
    return await send_challenge(session, settings, purpose=Purpose.APPLY, sender=request.sender,
                                identity=person.as_json())


@raises(ValidationFailed, RateLimited)
async def request_tracking_code(session: AsyncSession, settings: Settings, *, tracking_no: int, tckn: str,
                                client_ip: str | None) -> OtpChallenge:
    tckn = check_tckn(tckn)
    if tracking_no <= 0 or not fits(tracking_no, Application.tracking_no):
        raise ValidationFailed("Geçersiz başvuru numarası.", field="trackingNo")
    application = (await session.execute(
        select(Application.id, Application.phone)
        .where(Application.tracking_no == tracking_no, Application.applicant_tckn == tckn)
    )).first()
    sender = Sender(tckn, application.phone if application else "", client_ip, tracking_no)
    return await send_challenge(session, settings, purpose=Purpose.TRACK, sender=sender,
                                deliverable=application is not None,
                                application_id=application.id if application else None)


@raises(ValidationFailed, RateLimited)
async def request_staff_code(session: AsyncSession, settings: Settings, *, tckn: str, phone: str,
                             client_ip: str | None) -> OtpChallenge:
    sender = Sender(check_tckn(tckn), check_phone(phone), client_ip)
    user_id = await session.scalar(
        select(User.id).where(User.tckn == sender.tckn, User.phone == sender.phone, User.active,
                              User.role.in_(SMS_SIGN_IN_ROLES)))
    return await send_challenge(session, settings, purpose=Purpose.STAFF, sender=sender,
                                deliverable=user_id is not None, user_id=user_id)


class PhoneNotVerified(ValidationFailed):
    """The application's phone is not the one the sign-in code was sent to."""

    code = "PHONE_NOT_VERIFIED"
    message = ("Cep telefonu, onay kodunun gönderildiği numara olmalıdır. Başka bir numara kullanmak için "
               "lütfen o numarayla yeniden giriş yapınız.")


@raises(ValidationFailed, PhoneNotVerified)
def verified_phone(auth: AuthSession, phone: str) -> str:
    """The phone of an application the citizen submits: the one the sign-in code went to, since every later
    tracking code goes there."""
    phone = check_phone(phone)
    if phone != auth.phone:
        raise PhoneNotVerified(field="phone")
    return phone
