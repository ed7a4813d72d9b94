"""Asking for, resending, cancelling and verifying one-time codes; e-İçişleri sign-in; staff sign-out."""

import uuid
from datetime import datetime

from acikkapi.models import OtpChallenge, Purpose
from acikkapi.context import Context
from acikkapi.services import eicisleri_signin, otp, sessions, signin
from acikkapi.services.eicisleri import EIcisleri
from acikkapi.services.eicisleri_signin import SignInSecrets
from acikkapi.services.errors import Unauthenticated, ValidationFailed, raises
from acikkapi.services.identity import IdentityMismatch
from acikkapi.services.tckn import mask_phone


def challenge_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise otp.CodeInvalid() from None


def phone_hint(challenge: OtpChallenge) -> str | None:
    # The tracking form names no phone: hinting at one would tell whether the application exists.
    return None if challenge.purpose is Purpose.TRACK else mask_phone(challenge.phone)


@raises(*signin.check_apply_request.raises, *signin.check_apply_limits.raises,
        *signin.verify_applicant.raises, *signin.send_apply_code.raises)
async def request_apply_code(context: Context, **fields) -> OtpChallenge:
    """The identity service is asked with no connection and no lock held: a slow answer delays only this
    request. The limits are checked before (to refuse early) and again in the short write after."""
    request = signin.check_apply_request(client_ip=context.client_ip, **fields)
    async with context.reading() as session:
        await signin.check_apply_limits(session, context.settings, request)
    try:
        person = await signin.verify_applicant(context.services.identity, request)
    except IdentityMismatch:
        async with context.mutation() as session:
            await signin.record_mismatch(session, request)
        raise
    async with context.mutation() as session:
        return await signin.send_apply_code(session, context.settings, request, person)


@raises(*signin.request_tracking_code.raises)
async def request_tracking_code(context: Context, *, tracking_no: int, tckn: str) -> OtpChallenge:
    async with context.mutation() as session:
        return await signin.request_tracking_code(session, context.settings, tracking_no=tracking_no,
                                                  tckn=tckn, client_ip=context.client_ip)


@raises(*signin.request_staff_code.raises)
async def request_staff_code(context: Context, *, tckn: str, phone: str) -> OtpChallenge:
    async with context.mutation() as session:
        return await signin.request_staff_code(session, context.settings, tckn=tckn, phone=phone,
                                               client_ip=context.client_ip)


@raises(*otp.resend_code.raises)
async def resend_code(context: Context, raw_id: str) -> OtpChallenge:
    async with context.mutation() as session:
        return await otp.resend_code(session, context.settings, challenge_id(raw_id), context.client_ip)


@raises(*otp.cancel_challenge.raises)
async def cancel_code(context: Context, raw_id: str) -> None:
    async with context.mutation() as session:
        await otp.cancel_challenge(session, challenge_id(raw_id))


@raises(ValidationFailed, *otp.verify_code.raises)
async def verify_code(context: Context, raw_id: str, code: str):
    if len(code) > 16:
        raise ValidationFailed("Onay kodu 6 haneli olmalıdır.", field="code")
    async with context.mutation() as session:
        challenge = await otp.verify_code(session, context.settings, challenge_id(raw_id), code)
        token, auth = await sessions.open_session(session, context.settings, challenge)
    return token, auth


@raises(*EIcisleri.authorization_url.raises, *eicisleri_signin.start_sign_in.raises)
async def start_eicisleri_sign_in(context: Context) -> tuple[str, datetime]:
    """Where to send the browser, and until when the sign-in can be completed."""
    sign_in = SignInSecrets.new()
    url = await context.services.eicisleri.authorization_url(state=sign_in.state, nonce=sign_in.nonce,
                                                             code_challenge=sign_in.code_challenge)
    async with context.mutation() as session:
        expires_at = await eicisleri_signin.start_sign_in(session, context.settings, sign_in,
                                                          client_ip=context.client_ip)
    return url, expires_at


@raises(ValidationFailed, *eicisleri_signin.use_sign_in.raises, *EIcisleri.signed_in_person.raises,
        *eicisleri_signin.open_eicisleri_session.raises)
async def complete_eicisleri_sign_in(context: Context, *, code: str, state: str):
    """The browser is back with a code. The started sign-in is used up first (one try per sign-in); the code
    is exchanged and the token checked with no connection held; then a staff session opens."""
    if not 0 < len(code) <= 512:
        raise ValidationFailed("Giriş kodu geçersiz.", field="code")
    if not 0 < len(state) <= 128:
        raise ValidationFailed("Giriş isteği geçersiz.", field="state")
    async with context.mutation() as session:
        sign_in = await eicisleri_signin.use_sign_in(session, state)
    tckn = await context.services.eicisleri.signed_in_person(code=code, code_verifier=sign_in.code_verifier,
                                                             nonce=sign_in.nonce)
    async with context.mutation() as session:
        return await eicisleri_signin.open_eicisleri_session(session, context.settings, tckn)


@raises(Unauthenticated)
async def sign_out(context: Context) -> None:
    """End the caller's session, whatever it was opened for (a citizen on a shared computer too)."""
    if context.actor.session is None:
        raise Unauthenticated()
    async with context.mutation() as session:
        if not await sessions.revoke(session, context.actor.session):
            raise Unauthenticated()
