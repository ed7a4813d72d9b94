"""One-time codes ("Onay Kodu"): 6 digits, short-lived, single use, stored as an HMAC bound to the challenge.

Every try is counted in the database before the code is compared, so many aliased or batched attempts
in one request each use up one try. Sending is capped per identity number, per phone and per client address.
"""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from acikkapi.models import OtpChallenge, Purpose
from acikkapi.services.errors import DomainError, RateLimited
from acikkapi.services.outbox import queue_sms
from acikkapi.settings import Settings


class CodeInvalid(DomainError):
    code = "CODE_INVALID"
    message = "Onay kodu geçersiz veya daha önce kullanılmış. Lütfen yeni kod isteyiniz."


class CodeExpired(DomainError):
    code = "CODE_EXPIRED"
    message = "Onay kodunun süresi doldu. Lütfen yeni kod isteyiniz."


class TooManyAttempts(DomainError):
    code = "TOO_MANY_ATTEMPTS"
    message = "Çok fazla hatalı deneme yapıldı. Lütfen yeni kod isteyiniz."


class WrongCode(DomainError):
    code = "CODE_WRONG"
    message = "Onay kodu hatalı."
    keep_changes = True  # the used-up try must be committed even though the mutation fails


class ResendTooSoon(DomainError):
    code = "RESEND_TOO_SOON"
    message = "Yeni kod isteyebilmek için lütfen biraz bekleyiniz."


@dataclass(frozen=True)
class Sender:
    """Who asks for a code: the numbers the limits count, and where the code goes."""

    tckn: str
    phone: str
    client_ip: str | None


def hash_code(key: bytes, challenge_id: uuid.UUID, code: str) -> bytes:
    return hmac.new(key, f"{challenge_id}:{code}".encode(), hashlib.sha256).digest()


def new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def code_sms(code: str, ttl_seconds: int) -> str:
    return (f"Açık Kapı onay kodunuz: {code}. Kod {ttl_seconds // 60} dakika geçerlidir; "
            "bu kodu kimseyle paylaşmayınız. AÇIK KAPI")


async def check_send_limits(session: AsyncSession, settings: Settings, sender: Sender, purpose: Purpose) -> None:
    # Serialise concurrent sends for the same identity, phone and address, then count the last hour.
    keys = sorted({f"otp:t:{sender.tckn}", f"otp:p:{sender.phone}", f"otp:ip:{sender.client_ip}"})
    for key in keys:
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
    since = func.now() - timedelta(hours=1)
    limits = [(OtpChallenge.tckn == sender.tckn, settings.otp_hourly_limit_per_identity)]
    # Tracking codes skip the phone limit: only a real application has a phone, so refusing on it would tell.
    if sender.phone and purpose is not Purpose.TRACK:
        limits.append((OtpChallenge.phone == sender.phone, settings.otp_hourly_limit_per_phone))
    if sender.client_ip:
        limits.append((OtpChallenge.client_ip == sender.client_ip, settings.otp_hourly_limit_per_client))
    for condition, limit in limits:
        sent = await session.scalar(
            select(func.coalesce(func.sum(OtpChallenge.sends), 0))
            .where(condition, OtpChallenge.created_at > since))
        if sent >= limit:
            raise RateLimited()


async def send_challenge(session: AsyncSession, settings: Settings, *, purpose: Purpose, sender: Sender,
                         deliverable: bool = True, user_id: int | None = None,
                         application_id: int | None = None, identity: dict | None = None) -> OtpChallenge:
    """Create a challenge and queue its code. A non-deliverable one (nothing matched) looks the same."""
    await check_send_limits(session, settings, sender, purpose)
    now = await session.scalar(select(func.now()))
    challenge = OtpChallenge(
        id=uuid.uuid4(), purpose=purpose, tckn=sender.tckn, phone=sender.phone, client_ip=sender.client_ip,
        deliverable=deliverable, user_id=user_id, application_id=application_id, identity=identity,
        last_sent_at=now, expires_at=now + timedelta(seconds=settings.otp_ttl_seconds), created_at=now,
    )
    _issue_code(session, settings, challenge)
    session.add(challenge)
    await session.flush()
    return challenge


def _issue_code(session: AsyncSession, settings: Settings, challenge: OtpChallenge) -> None:
    code = new_code()
    if challenge.deliverable:
        challenge.code_hash = hash_code(settings.code_key, challenge.id, code)
        queue_sms(session, phone=challenge.phone, body=code_sms(code, settings.otp_ttl_seconds))
    else:
        challenge.code_hash = secrets.token_bytes(32)  # nothing can ever match it


async def _locked(session: AsyncSession, challenge_id: uuid.UUID) -> OtpChallenge:
    challenge = await session.get(OtpChallenge, challenge_id, with_for_update=True, populate_existing=True)
    if challenge is None or challenge.consumed_at or challenge.cancelled_at:
        raise CodeInvalid()
    return challenge


async def resend_code(session: AsyncSession, settings: Settings, challenge_id: uuid.UUID,
                      client_ip: str | None) -> OtpChallenge:
    challenge = await _locked(session, challenge_id)
    now = await session.scalar(select(func.now()))
    wait = challenge.last_sent_at + timedelta(seconds=settings.otp_resend_cooldown_seconds) - now
    if wait.total_seconds() > 0:
        raise ResendTooSoon(f"Yeni kod isteyebilmek için {int(wait.total_seconds()) + 1} saniye bekleyiniz.")
    if challenge.sends > settings.otp_max_resends:
        raise RateLimited()
    await check_send_limits(session, settings, Sender(challenge.tckn, challenge.phone, client_ip), challenge.purpose)
    challenge.sends += 1
    challenge.attempts = 0
    challenge.last_sent_at = now
    challenge.expires_at = now + timedelta(seconds=settings.otp_ttl_seconds)
    _issue_code(session, settings, challenge)
    await session.flush()
    return challenge


async def cancel_challenge(session: AsyncSession, challenge_id: uuid.UUID) -> None:
    """"Vazgeç": the code can no longer be used."""
    challenge = await _locked(session, challenge_id)
    challenge.cancelled_at = func.now()
    await session.flush()


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
