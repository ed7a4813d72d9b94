"""Signing in through e-İçişleri: the short-lived request a sign-in starts with, and the staff session it ends in.

The token says who; our user table says what. Role and province come from `app_user`, and only the roles that
sign in through e-İçişleri get a session here (an AKS or a Yetkili signs in with an SMS code).
"""

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from acikkapi.models import AuthSession, EIcisleriSignIn, Role, User
from acikkapi.services.errors import DomainError, RateLimited, raises
from acikkapi.services.sessions import open_staff_session
from acikkapi.settings import Settings

EICISLERI_ROLES = (Role.MIA, Role.YETKI_ISLEMLERI, Role.ANALIST)


class SignInRequestInvalid(DomainError):
    """No sign-in was started with this state, or it was started too long ago."""

    code = "EICISLERI_STATE_INVALID"
    message = "Giriş isteği bulunamadı veya süresi doldu. Lütfen e-İçişleri ile yeniden giriş yapınız."


class SignInReplayed(DomainError):
    """This sign-in was completed (or tried) already: each one is good for one session."""

    code = "EICISLERI_SIGN_IN_REPLAYED"
    message = "Bu giriş isteği daha önce kullanılmış. Lütfen e-İçişleri ile yeniden giriş yapınız."


class EIcisleriUserUnknown(DomainError):
    """e-İçişleri vouched for a person who is not an Açık Kapı user."""

    code = "EICISLERI_USER_UNKNOWN"
    message = ("e-İçişleri kimliğiniz doğrulandı, ancak Açık Kapı'da kullanıcı kaydınız bulunmamaktadır. "
               "Lütfen ilinizin yetki işlemleri görevlisine başvurunuz.")


class EIcisleriUserInactive(DomainError):
    """The person's Açık Kapı account is switched off."""

    code = "EICISLERI_USER_INACTIVE"
    message = "Açık Kapı kullanıcı hesabınız pasif durumdadır. Lütfen ilinizin yetki işlemleri görevlisine başvurunuz."


class EIcisleriRoleNotAllowed(DomainError):
    """The user's role signs in with an SMS code, not through e-İçişleri."""

    code = "EICISLERI_ROLE_NOT_ALLOWED"
    message = ("Açık Kapı Sorumlusu ve Yetkili kullanıcılar e-İçişleri ile değil, cep telefonlarına gönderilen "
               "onay kodu ile giriş yapar.")


@dataclass(frozen=True)
class SignInSecrets:
    """What binds the provider's answer to this browser's sign-in: `state` comes back with the code, `nonce`
    inside the ID token, and only the holder of `code_verifier` can exchange the code (PKCE)."""

    state: str
    nonce: str
    code_verifier: str

    @classmethod
    def new(cls) -> "SignInSecrets":
        return cls(secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64))

    @property
    def code_challenge(self) -> str:
        digest = hashlib.sha256(self.code_verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def state_hash(state: str) -> bytes:
    return hashlib.sha256(state.encode()).digest()


@raises(RateLimited)
async def start_sign_in(session: AsyncSession, settings: Settings, sign_in: SignInSecrets, *,
                        client_ip: str | None) -> datetime:
    """Record a started sign-in; returns when it can no longer be completed."""
    started, now = (await session.execute(
        select(func.count(), func.now()).select_from(EIcisleriSignIn)
        .where(EIcisleriSignIn.client_ip == client_ip, EIcisleriSignIn.created_at > func.now() - timedelta(hours=1))
    )).one()
    if client_ip is not None and started >= settings.eicisleri_hourly_starts_per_client:
        raise RateLimited()
    expires_at = now + timedelta(seconds=settings.eicisleri_sign_in_seconds)
    session.add(EIcisleriSignIn(state_hash=state_hash(sign_in.state), nonce=sign_in.nonce,
                                code_verifier=sign_in.code_verifier, client_ip=client_ip, expires_at=expires_at))
    await session.flush()
    return expires_at


@raises(SignInRequestInvalid, SignInReplayed)
async def use_sign_in(session: AsyncSession, state: str) -> SignInSecrets:
    """Mark the started sign-in used, before its code is exchanged: whatever happens next, it is used once."""
    row = (await session.execute(
        select(EIcisleriSignIn, func.now()).where(EIcisleriSignIn.state_hash == state_hash(state))
        .with_for_update())).first()
    if row is None or row[0].expires_at <= row[1]:
        raise SignInRequestInvalid()
    request, now = row
    if request.consumed_at is not None:
        raise SignInReplayed()
    request.consumed_at = now
    await session.flush()
    return SignInSecrets(state, request.nonce, request.code_verifier)


@raises(EIcisleriUserUnknown, EIcisleriUserInactive, EIcisleriRoleNotAllowed)
async def open_eicisleri_session(session: AsyncSession, settings: Settings,
                                 tckn: str) -> tuple[str, AuthSession]:
    """A staff session for the user e-İçişleri vouched for, on our own record of their role and province."""
    # Their active account, or else their last one (which tells they were deactivated).
    row = (await session.execute(select(User, func.now()).where(User.tckn == tckn)
                                 .order_by(User.active.desc(), User.id.desc()).limit(1))).first()
    if row is None:
        raise EIcisleriUserUnknown()
    user, now = row
    if not user.active:
        raise EIcisleriUserInactive()
    if user.role not in EICISLERI_ROLES:
        raise EIcisleriRoleNotAllowed()
    return await open_staff_session(session, settings, user, now)
