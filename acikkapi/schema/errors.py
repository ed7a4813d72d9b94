"""Typed errors of mutation payloads. Every one carries a stable `code` and a Turkish `message`."""

import strawberry

from acikkapi.services import attachments, identity, otp, signin, staff_lookups
from acikkapi.services.errors import (
    DomainError, NotFound, PermissionDenied, RateLimited, ServiceUnavailable, Unauthenticated, ValidationFailed,
)


@strawberry.interface(description="An expected failure: branch on `code`, show `message`.")
class Error:
    code: str
    message: str


@strawberry.type(description="An input was missing or wrong; `field` names it.")
class ValidationError(Error):
    field: str | None = None


@strawberry.type(description="Not signed in, the session has ended, or the role may not do this.")
class AuthorizationError(Error):
    pass


@strawberry.type(description="The requested record does not exist or is not visible to you.")
class NotFoundError(Error):
    pass


@strawberry.type(description="Too many tries or codes in a short time; try again later.")
class RateLimitError(Error):
    pass


@strawberry.type(description="A one-time code was wrong, expired, used up or cancelled.")
class CodeError(Error):
    pass


@strawberry.type(description="The identity service did not confirm the person.")
class IdentityMismatchError(Error):
    pass


@strawberry.type(description="An outside service (identity, SMS) is not answering.")
class ServiceUnavailableError(Error):
    pass


@strawberry.type(description="An attachment was refused: too large or not an allowed type.")
class FileRejectedError(Error):
    field: str | None = None


ERROR_TYPES = (ValidationError, AuthorizationError, NotFoundError, RateLimitError, CodeError,
               IdentityMismatchError, ServiceUnavailableError, FileRejectedError)

_BY_DOMAIN: list[tuple[type[DomainError], type]] = [
    (attachments.FileTooLarge, FileRejectedError),
    (attachments.FileTypeNotAllowed, FileRejectedError),
    (ValidationFailed, ValidationError),
    (Unauthenticated, AuthorizationError),
    (PermissionDenied, AuthorizationError),
    (NotFound, NotFoundError),
    (RateLimited, RateLimitError),
    (otp.ResendTooSoon, RateLimitError),
    (otp.TooManyAttempts, RateLimitError),
    (otp.CodeInvalid, CodeError),
    (otp.CodeExpired, CodeError),
    (otp.WrongCode, CodeError),
    (identity.IdentityMismatch, IdentityMismatchError),
    (identity.IdentityNotFound, IdentityMismatchError),
    (ServiceUnavailable, ServiceUnavailableError),
    (signin.PhoneNotVerified, ValidationError),
    (staff_lookups.IdentityLookupRefused, IdentityMismatchError),
    (staff_lookups.TooManyIdentityLookups, RateLimitError),
]


def as_payload(error: DomainError) -> Error:
    for domain_class, graphql_class in _BY_DOMAIN:
        if isinstance(error, domain_class):
            kwargs = {"field": error.field} if "field" in graphql_class.__annotations__ else {}
            return graphql_class(code=error.code, message=error.message, **kwargs)
    raise error  # an unmapped domain error is a bug: let the masking layer log it
