"""One-time codes ("Onay Kodu"): 6 digits, short-lived, single use, stored as an HMAC bound to the challenge.

Every try is counted in the database before the code is compared, so many aliased or batched attempts
in one request each use up one try.

Sending is capped so that nobody can lock someone else out: per identity number together with the phone (or,
for tracking, the tracking number), per phone for codes actually sent, and per client address, where requests
that matched nothing have a lower cap of their own. Made-up phones or numbers therefore only use up the
requester's allowance, never the person's whose T.C. Kimlik No was typed.
"""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, select, text, true
from sqlalchemy.ext.asyncio import AsyncSession

from acikkapi.models import OtpChallenge, Purpose
from acikkapi.services.errors import DomainError, RateLimited, raises
from acikkapi.services.outbox import queue_sms
from acikkapi.settings import Settings


class CodeInvalid(DomainError):
    """The challenge does not exist, was used or was cancelled."""

    code = "CODE_INVALID"
    message = "Onay kodu geçersiz veya daha önce kullanılmış. Lütfen yeni kod isteyiniz."


class CodeExpired(DomainError):
    """The code's time is up."""

    code = "CODE_EXPIRED"
    message = "Onay kodunun süresi doldu. Lütfen yeni kod isteyiniz."


class TooManyAttempts(DomainError):
    """The code's tries are used up."""

    code = "TOO_MANY_ATTEMPTS"
    message = "Çok fazla hatalı deneme yapıldı. Lütfen yeni kod isteyiniz."


class WrongCode(DomainError):
    """The code was wrong; the message says how many tries are left."""

    code = "CODE_WRONG"
    message = "Onay kodu hatalı."
    keep_changes = True  # the used-up try must be committed even though the mutation fails


class ResendTooSoon(DomainError):
    """A new code was asked for before the cooldown ended."""

    code = "RESEND_TOO_SOON"
    message = "Yeni kod isteyebilmek için lütfen biraz bekleyiniz."


@dataclass(frozen=True)
class Sender:
    """Who asks for a code: the numbers the limits count, and where the code goes."""

    tckn: str
    phone: str
    client_ip: str | None
    tracking_no: int | None = None


def hash_code(key: bytes, challenge_id: uuid.UUID, code: str) -> bytes:
    return hmac.new(key, f"{challenge_id}:{code}".encode(), hashlib.sha256).digest()


def new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


# Staff and tracking requests answer alike whether or not they matched; so must their limits: each of them
# counts. For applying, only codes actually sent count toward a person's allowance.
ANSWERS_ALIKE = (Purpose.STAFF, Purpose.TRACK)


def _send_limits(settings: Settings, sender: Sender, purpose: Purpose) -> list[tuple[str, ColumnElement, int]]:
    """(lock key, the challenges that count, the hourly limit) for each limit a request must stay under."""
    sent = OtpChallenge.deliverable if purpose not in ANSWERS_ALIKE else true()
    # The person's own allowance is keyed by the number and where the code goes, so codes asked for with
    # someone's number and made-up phones (or tracking numbers) never use it up.
    if purpose is Purpose.TRACK:
        where, same_place = sender.tracking_no, OtpChallenge.tracking_no == sender.tracking_no
    else:
        where, same_place = sender.phone, OtpChallenge.phone == sender.phone
    limits = [(f"otp:{purpose.name}:{sender.tckn}:{where}",
               and_(OtpChallenge.purpose == purpose, OtpChallenge.tckn == sender.tckn, same_place, sent),
               settings.otp_hourly_limit_per_identity)]
    # Only applying has a per-phone cap: a staff phone gets codes only through its own pair above, and a
    # tracking request has no phone of its own (refusing on the application's phone would tell it exists).
    if purpose is Purpose.APPLY:
        limits.append((f"otp:p:{sender.phone}",
                       and_(OtpChallenge.purpose == purpose, OtpChallenge.phone == sender.phone, sent),
                       settings.otp_hourly_limit_per_phone))
    # Per client address: a total, and a smaller share per purpose for what may be probing (all staff and
    # tracking requests, failed applying ones). An office's staff signing in (many people behind one address),
    # the citizens tracking and the citizens applying there never use up each other's share.
    if sender.client_ip:
        key, by_client = f"otp:ip:{sender.client_ip}", OtpChallenge.client_ip == sender.client_ip
        limits.append((key, by_client, settings.otp_hourly_limit_per_client))
        if purpose in ANSWERS_ALIKE:
            limits.append((key, and_(by_client, OtpChallenge.purpose == purpose),
                           settings.otp_hourly_lookups_per_client))
        else:
            limits.append((key, and_(by_client, OtpChallenge.purpose == purpose, ~OtpChallenge.deliverable),
                           settings.otp_hourly_failures_per_client))
    return limits


async def check_send_limits(session: AsyncSession, settings: Settings, sender: Sender, purpose: Purpose, *,
                            lock: bool = False) -> None:
    """Count the last hour's codes for each limit; `lock` first serialises concurrent senders of the same
    keys until the caller's transaction ends (only around the short write: never across an outside call)."""
    limits = _send_limits(settings, sender, purpose)
    if lock:
        for key in sorted({key for key, _, _ in limits}):
            await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
    since = func.now() - timedelta(hours=1)
    for _, condition, limit in limits:
        sent = await session.scalar(
            select(func.coalesce(func.sum(OtpChallenge.sends), 0))
            .where(condition, OtpChallenge.created_at > since))
        if sent >= limit:
            raise RateLimited()


async def send_challenge(session: AsyncSession, settings: Settings, *, purpose: Purpose, sender: Sender,
                         deliverable: bool = True, user_id: int | None = None,
                         application_id: int | None = None, identity: dict | None = None) -> OtpChallenge:
    """Create a challenge and queue its code. A non-deliverable one (nothing matched) looks the same."""
    await check_send_limits(session, settings, sender, purpose, lock=True)
    now = await session.scalar(select(func.now()))
    challenge = OtpChallenge(
        id=uuid.uuid4(), purpose=purpose, tckn=sender.tckn, phone=sender.phone, client_ip=sender.client_ip,
        tracking_no=sender.tracking_no, deliverable=deliverable, user_id=user_id, application_id=application_id,
        identity=identity, last_sent_at=now, expires_at=now + timedelta(seconds=settings.otp_ttl_seconds),
        created_at=now,
    )
    await _issue_code(session, settings, challenge)
    session.add(challenge)
    await session.flush()
    return challenge


async def record_failed_match(session: AsyncSession, *, purpose: Purpose, sender: Sender) -> None:
    """A request the identity service refused: no code, nothing to answer, but a count against the requester."""
    session.add(OtpChallenge(
        id=uuid.uuid4(), purpose=purpose, tckn=sender.tckn, phone=sender.phone, client_ip=sender.client_ip,
        deliverable=False, code_hash=secrets.token_bytes(32), last_sent_at=func.now(), expires_at=func.now(),
        cancelled_at=func.now()))
    await session.flush()


async def _issue_code(session: AsyncSession, settings: Settings, challenge: OtpChallenge) -> None:
    code = new_code()
    if challenge.deliverable:
        challenge.code_hash = hash_code(settings.code_key, challenge.id, code)
        await queue_sms(session, phone=challenge.phone, template="onay_kodu",
                        params={"kod": code, "dakika": settings.otp_ttl_seconds // 60},
                        not_after=challenge.expires_at)
    else:
        challenge.code_hash = secrets.token_bytes(32)  # nothing can ever match it


async def _locked(session: AsyncSession, challenge_id: uuid.UUID) -> OtpChallenge:
    challenge = await session.get(OtpChallenge, challenge_id, with_for_update=True, populate_existing=True)
    if challenge is None or challenge.consumed_at or challenge.cancelled_at:
        raise CodeInvalid()
    return challenge


@raises(CodeInvalid, ResendTooSoon, RateLimited)
async def resend_code(session: AsyncSession, settings: Settings, challenge_id: uuid.UUID,
                      client_ip: str | None) -> OtpChallenge:
    challenge = await _locked(session, challenge_id)
    now = await session.scalar(select(func.now()))
    wait = challenge.last_sent_at + timedelta(seconds=settings.otp_resend_cooldown_seconds) - now
    if wait.total_seconds() > 0:
        raise ResendTooSoon(f"Yeni kod isteyebilmek için {int(wait.total_seconds()) + 1} saniye bekleyiniz.")
    if challenge.sends > settings.otp_max_resends:
        raise RateLimited()
    sender = Sender(challenge.tckn, challenge.phone, client_ip, challenge.tracking_no)
    await check_send_limits(session, settings, sender, challenge.purpose, lock=True)
    challenge.sends += 1
    challenge.attempts = 0
    challenge.last_sent_at = now
    challenge.expires_at = now + timedelta(seconds=settings.otp_ttl_seconds)
    await _issue_code(session, settings, challenge)
    await session.flush()
    return challenge


@raises(CodeInvalid)
async def cancel_challenge(session: AsyncSession, challenge_id: uuid.UUID) -> None:
    """"Vazgeç": the code can no longer be used."""
    challenge = await _locked(session, challenge_id)
    challenge.cancelled_at = func.now()
    await session.flush()


@raises(CodeInvalid, CodeExpired, TooManyAttempts, WrongCode)
async def verify_code(session: AsyncSession, settings: Settings, challenge_id: uuid.UUID,
                      code: str) -> OtpChallenge:
    """Consume the challenge if `code` is right. Concurrent right answers: the row lock lets one win."""
    challenge = await _locked(session, challenge_id)
    now: datetime = await session.scalar(select(func.now()))
    if challenge.expires_at <= now:
        raise CodeExpired()
    if challenge.attempts >= settings.otp_max_attempts:
        raise TooManyAttempts()
    challenge.attempts += 1
    expected = hash_code(settings.code_key, challenge.id, code.strip())
    if not hmac.compare_digest(expected, challenge.code_hash):
        await session.flush()
        left = settings.otp_max_attempts - challenge.attempts
        raise WrongCode(f"Onay kodu hatalı. Kalan deneme hakkınız: {left}.")
    challenge.consumed_at = now
    await session.flush()
    return challenge
