"""Expected failures of the domain. Each has a stable `code` for clients and a Turkish `message` for people."""


class DomainError(Exception):
    code = "DOMAIN_ERROR"
    message = "İşlem gerçekleştirilemedi."

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = message or type(self).message
        self.field = field
        super().__init__(self.message)


class ValidationFailed(DomainError):
    """An input was missing or wrong; `field` names it."""

    code = "VALIDATION_FAILED"
    message = "Girilen bilgiler geçersiz."


class NotFound(DomainError):
    """The record does not exist or is not visible to the caller."""

    code = "NOT_FOUND"
    message = "Kayıt bulunamadı."


class PermissionDenied(DomainError):
    """Signed in, but this role or scope may not do this."""

    code = "PERMISSION_DENIED"
    message = "Bu işlem için yetkiniz bulunmamaktadır."


class Unauthenticated(DomainError):
    """Not signed in, or the session has ended."""

    code = "UNAUTHENTICATED"
    message = "Oturumunuz bulunamadı veya süresi doldu. Lütfen yeniden giriş yapınız."


class RateLimited(DomainError):
    """Too many requests or codes in a short time; try again later."""

    code = "RATE_LIMITED"
    message = "Çok fazla deneme yapıldı. Lütfen daha sonra tekrar deneyiniz."


class ServiceUnavailable(DomainError):
    """An outside service (identity, SMS) is not answering."""

    code = "SERVICE_UNAVAILABLE"
    message = "Kimlik doğrulama servisine şu anda ulaşılamıyor. Lütfen daha sonra tekrar deneyiniz."


def raises(*errors: type[DomainError]):
    """Declare the expected errors of a step. A mutation's payload union is built from its declaration,
    and an error it did not declare is treated as a bug."""

    def declare(function):
        function.raises = tuple(dict.fromkeys(errors))
        return function

    return declare


def condition_of(error_class: type[DomainError]) -> type[DomainError]:
    """The class that names the condition: the nearest one that sets its own `code`. A subclass that only
    changes behaviour (e.g. keeps its writes) is the same condition to a client."""
    return next(klass for klass in error_class.__mro__ if "code" in vars(klass))


# Refusals of a request as a whole, before any resolver runs (answered with a 4xx or 503).

class InvalidValue(DomainError):
    """A variable or literal does not fit its GraphQL type (a coercion error)."""

    code = "BAD_USER_INPUT"
    message = "Sorgudaki bir değer beklenen türe uymuyor."


class TooManyAliases(DomainError):
    """The document has more aliases than allowed."""

    code = "TOO_MANY_ALIASES"
    message = "Sorguda izin verilenden fazla takma ad (alias) var."


class IntrospectionNotAllowed(DomainError):
    """Introspection is open only where GraphiQL is, and to staff sessions."""

    code = "INTROSPECTION_NOT_ALLOWED"
    message = "Şema sorgulaması (introspection) bu sunucuda yalnızca personel oturumlarına açıktır."


class UploadNotAllowed(DomainError):
    """This session may not send files: the multipart request is refused before its body is read."""

    code = "UPLOAD_NOT_ALLOWED"
    message = ("Dosya yalnızca başvuru oturumunda veya Açık Kapı Sorumlusu oturumunda yüklenebilir. "
               "Lütfen giriş yapınız.")


class UploadsBusy(DomainError):
    """Too many uploads are being read at once; try again in a few seconds."""

    code = "UPLOADS_BUSY"
    message = "Şu anda çok sayıda dosya yükleniyor. Lütfen birkaç saniye sonra tekrar deneyiniz."


class InvalidClientAddress(DomainError):
    """A trusted proxy forwarded a client address that is not an IP address."""

    code = "INVALID_CLIENT_ADDRESS"
    message = "İsteğin geldiği adres okunamadı."


class DatabaseUnavailable(DomainError):
    """The database did not answer in time (no free connection, a statement timeout) or cannot be reached."""

    code = "DATABASE_UNAVAILABLE"
    message = "Sistem şu anda yanıt veremiyor. Lütfen biraz sonra tekrar deneyiniz."
