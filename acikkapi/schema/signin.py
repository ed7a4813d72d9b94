from datetime import datetime, timedelta

import strawberry
from strawberry.types import Info

from acikkapi.models import OtpChallenge, Purpose, Role
from acikkapi.permissions.actor import require_staff
from acikkapi.resolvers import signin
from acikkapi.schema.errors import as_payload, payload_union
from acikkapi.schema.reference import District, Province
from acikkapi.schema.units import Unit
from acikkapi.services.errors import DomainError
from acikkapi.services.sessions import idle_deadline

CodePurpose = strawberry.enum(Purpose, name="CodePurpose", description="What a code or session is for.")
StaffRole = strawberry.enum(Role, name="StaffRole", description="A staff user's role; `roleLabel` is its Turkish name.")


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


@strawberry.type(description="Send the browser to `authorizationUrl` (e-İçişleri); it comes back to our page "
                             "with `code` and `state` for `completeEIcisleriSignIn`, before `expiresAt`.")
class EIcisleriSignInStarted:
    authorization_url: str
    expires_at: datetime


@strawberry.type
class Done:
    ok: bool = True


RequestApplicationCodePayload = payload_union("RequestApplicationCodePayload", Challenge, signin.request_apply_code)
RequestTrackingCodePayload = payload_union("RequestTrackingCodePayload", Challenge, signin.request_tracking_code)
RequestStaffCodePayload = payload_union("RequestStaffCodePayload", Challenge, signin.request_staff_code)
ResendCodePayload = payload_union("ResendCodePayload", Challenge, signin.resend_code)
CancelCodePayload = payload_union("CancelCodePayload", Done, signin.cancel_code)
VerifyCodePayload = payload_union("VerifyCodePayload", SignedIn, signin.verify_code)
StartEIcisleriSignInPayload = payload_union("StartEIcisleriSignInPayload", EIcisleriSignInStarted,
                                           signin.start_eicisleri_sign_in)
CompleteEIcisleriSignInPayload = payload_union("CompleteEIcisleriSignInPayload", SignedIn,
                                              signin.complete_eicisleri_sign_in)
SignOutPayload = payload_union("SignOutPayload", Done, signin.sign_out)


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


@strawberry.type(description="The signed-in staff member.")
class Me:
    first_name: str
    last_name: str
    role: StaffRole
    role_label: str
    province: Province | None
    district: District | None = strawberry.field(description="Set for the staff of a kaymakamlık's office.")
    units: list[Unit]
    session_expires_at: datetime


async def _challenge(info: Info, resolver, *args, **kwargs) -> Challenge:
    try:
        challenge = await resolver(info.context, *args, **kwargs)
    except DomainError as error:
        return as_payload(error, resolver)
    return Challenge.of(challenge, info.context.settings.otp_resend_cooldown_seconds)


@strawberry.type
class SigninQuery:
    @strawberry.field(description="The signed-in staff member; null when not signed in as staff.")
    def me(self, info: Info) -> Me | None:
        try:
            user = require_staff(info.context.actor)
        except DomainError:
            return None
        return Me(first_name=user.first_name, last_name=user.last_name, role=user.role,
                  role_label=user.role.value, province=user.province, district=user.district,
                  units=[Unit.of(unit) for unit in user.units],
                  session_expires_at=idle_deadline(info.context.settings, info.context.actor.session))


@strawberry.type
class SigninMutation:
    @strawberry.mutation(description="Başvuru Giriş: check the identity and send a code to the phone.")
    async def request_application_code(self, info: Info,
                                       input: RequestApplicationCodeInput) -> RequestApplicationCodePayload:
        return await _challenge(
            info, signin.request_apply_code, tckn=input.tc_kimlik_no, first_name=input.first_name,
            last_name=input.last_name, mother_initials=input.mother_maiden_initials, phone=input.phone)

    @strawberry.mutation(description="Başvuru Sorgulama: send a code to the phone on record of the application.")
    async def request_tracking_code(self, info: Info, input: RequestTrackingCodeInput) -> RequestTrackingCodePayload:
        return await _challenge(info, signin.request_tracking_code, tracking_no=input.tracking_no,
                                tckn=input.tc_kimlik_no)

    @strawberry.mutation(description="Sorumlu/Yetkili Girişi: send a sign-in code to the staff member's phone.")
    async def request_staff_code(self, info: Info, input: RequestStaffCodeInput) -> RequestStaffCodePayload:
        return await _challenge(info, signin.request_staff_code, tckn=input.tc_kimlik_no, phone=input.phone)

    @strawberry.mutation(description="Send a new code for the same challenge, after the cooldown.")
    async def resend_code(self, info: Info, challenge_id: strawberry.ID) -> ResendCodePayload:
        return await _challenge(info, signin.resend_code, challenge_id)

    @strawberry.mutation(description="“Vazgeç”: the code can no longer be used.")
    async def cancel_code(self, info: Info, challenge_id: strawberry.ID) -> CancelCodePayload:
        try:
            await signin.cancel_code(info.context, challenge_id)
        except DomainError as error:
            return as_payload(error, signin.cancel_code)
        return Done()

    @strawberry.mutation(description="Enter the code; a right one opens a session for the challenge's purpose.")
    async def verify_code(self, info: Info, challenge_id: strawberry.ID, code: str) -> VerifyCodePayload:
        try:
            token, auth = await signin.verify_code(info.context, challenge_id, code)
        except DomainError as error:
            return as_payload(error, signin.verify_code)
        return SignedIn(token=token, purpose=auth.purpose, expires_at=idle_deadline(info.context.settings, auth))

    @strawberry.mutation(name="startEIcisleriSignIn",
                         description="MİA, Yetki İşlemleri and analysts: start signing in through e-İçişleri.")
    async def start_eicisleri_sign_in(self, info: Info) -> StartEIcisleriSignInPayload:
        try:
            url, expires_at = await signin.start_eicisleri_sign_in(info.context)
        except DomainError as error:
            return as_payload(error, signin.start_eicisleri_sign_in)
        return EIcisleriSignInStarted(authorization_url=url, expires_at=expires_at)

    @strawberry.mutation(name="completeEIcisleriSignIn",
                         description="The `code` and `state` e-İçişleri sent the browser back with: opens a staff "
                                     "session for the user it vouched for, on our own record of their role.")
    async def complete_eicisleri_sign_in(self, info: Info, code: str, state: str) -> CompleteEIcisleriSignInPayload:
        try:
            token, auth = await signin.complete_eicisleri_sign_in(info.context, code=code, state=state)
        except DomainError as error:
            return as_payload(error, signin.complete_eicisleri_sign_in)
        return SignedIn(token=token, purpose=auth.purpose, expires_at=idle_deadline(info.context.settings, auth))

    @strawberry.mutation(description="End the current session (staff, or a citizen applying or tracking).")
    async def sign_out(self, info: Info) -> SignOutPayload:
        try:
            await signin.sign_out(info.context)
        except DomainError as error:
            return as_payload(error, signin.sign_out)
        return Done()
