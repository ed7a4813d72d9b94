from datetime import datetime, timedelta
from typing import Annotated, Union

import strawberry
from strawberry.types import Info

from acikkapi.models import OtpChallenge, Purpose
from acikkapi.permissions.actor import require_staff
from acikkapi.resolvers import signin
from acikkapi.schema.errors import ERROR_TYPES, as_payload
from acikkapi.schema.reference import Province
from acikkapi.services.errors import DomainError
from acikkapi.services.sessions import idle_deadline

CodePurpose = strawberry.enum(Purpose, name="CodePurpose", description="What a code or session is for.")


@strawberry.type(description="A code was sent (if the request matched anything); enter it before `expiresAt`.")
class Challenge:
    id: strawberry.ID
    expires_at: datetime
    resend_available_at: datetime
    phone_hint: str | None = strawberry.field(description="The masked number the code went to, e.g. 542*****67.")

    @classmethod
    def of(cls, challenge: OtpChallenge, cooldown_seconds: int) -> "Challenge":
        return cls(id=strawberry.ID(str(challenge.id)), expires_at=challenge.expires_at,
                   resend_available_at=challenge.last_sent_at + timedelta(seconds=cooldown_seconds),
                   phone_hint=signin.phone_hint(challenge))


@strawberry.type(description="The code was right. Send `token` as `Authorization: Bearer <token>`.")
class SignedIn:
    token: str
    purpose: CodePurpose
    expires_at: datetime = strawberry.field(description="When the session ends if it is not used.")


@strawberry.type
class Done:
    ok: bool = True


ChallengePayload = Annotated[Union[Challenge, *ERROR_TYPES], strawberry.union("ChallengePayload")]
VerifyCodePayload = Annotated[Union[SignedIn, *ERROR_TYPES], strawberry.union("VerifyCodePayload")]
DonePayload = Annotated[Union[Done, *ERROR_TYPES], strawberry.union("DonePayload")]


@strawberry.input
class RequestApplicationCodeInput:
    tc_kimlik_no: str
    first_name: str
    last_name: str
    mother_maiden_initials: str = strawberry.field(
        description="First and last letter of the mother's maiden surname, e.g. “KA” for KAYA.")
    phone: str


@strawberry.input
class RequestTrackingCodeInput:
    tracking_no: int = strawberry.field(description="Başvuru Takip No.")
    tc_kimlik_no: str


@strawberry.input
class RequestStaffCodeInput:
    tc_kimlik_no: str
    phone: str


@strawberry.type(description="A DETSİS unit.")
class Unit:
    detsis_no: int
    name: str


@strawberry.type(description="The signed-in staff member.")
class Me:
    first_name: str
    last_name: str
    role: str
    role_label: str
    province: Province | None
    units: list[Unit]
    session_expires_at: datetime


async def _challenge(info: Info, action) -> ChallengePayload:
    try:
        challenge = await action
    except DomainError as error:
        return as_payload(error)
    return Challenge.of(challenge, info.context.settings.otp_resend_cooldown_seconds)


@strawberry.type
class SigninQuery:
    @strawberry.field(description="The signed-in staff member; null when not signed in as staff.")
    def me(self, info: Info) -> Me | None:
        try:
            user = require_staff(info.context.actor)
        except DomainError:
            return None
        return Me(first_name=user.first_name, last_name=user.last_name, role=user.role.name,
                  role_label=user.role.value, province=user.province,
                  units=[Unit(detsis_no=u.detsis_no, name=u.name) for u in user.units],
                  session_expires_at=idle_deadline(info.context.settings, info.context.actor.session))


@strawberry.type
class SigninMutation:
    @strawberry.mutation(description="Başvuru Giriş: check the identity and send a code to the phone.")
    async def request_application_code(self, info: Info, input: RequestApplicationCodeInput) -> ChallengePayload:
        return await _challenge(info, signin.request_apply_code(
            info.context, tckn=input.tc_kimlik_no, first_name=input.first_name, last_name=input.last_name,
            mother_initials=input.mother_maiden_initials, phone=input.phone))

    @strawberry.mutation(description="Başvuru Sorgulama: send a code to the phone on record of the application.")
    async def request_tracking_code(self, info: Info, input: RequestTrackingCodeInput) -> ChallengePayload:
        return await _challenge(info, signin.request_tracking_code(
            info.context, tracking_no=input.tracking_no, tckn=input.tc_kimlik_no))

    @strawberry.mutation(description="Sorumlu/Yetkili Girişi: send a sign-in code to the staff member's phone.")
    async def request_staff_code(self, info: Info, input: RequestStaffCodeInput) -> ChallengePayload:
        return await _challenge(info, signin.request_staff_code(
            info.context, tckn=input.tc_kimlik_no, phone=input.phone))

    @strawberry.mutation(description="Send a new code for the same challenge, after the cooldown.")
    async def resend_code(self, info: Info, challenge_id: strawberry.ID) -> ChallengePayload:
        return await _challenge(info, signin.resend_code(info.context, challenge_id))

    @strawberry.mutation(description="“Vazgeç”: the code can no longer be used.")
    async def cancel_code(self, info: Info, challenge_id: strawberry.ID) -> DonePayload:
        try:
            await signin.cancel_code(info.context, challenge_id)
        except DomainError as error:
            return as_payload(error)
        return Done()

    @strawberry.mutation(description="Enter the code; a right one opens a session for the challenge's purpose.")
    async def verify_code(self, info: Info, challenge_id: strawberry.ID, code: str) -> VerifyCodePayload:
        try:
            token, auth = await signin.verify_code(info.context, challenge_id, code)
        except DomainError as error:
            return as_payload(error)
        return SignedIn(token=token, purpose=auth.purpose, expires_at=idle_deadline(info.context.settings, auth))

    @strawberry.mutation(description="End the staff session.")
    async def sign_out(self, info: Info) -> DonePayload:
        try:
            await signin.sign_out(info.context)
        except DomainError as error:
            return as_payload(error)
        return Done()
