"""Expected failures of the domain. Each has a stable `code` for clients and a Turkish `message` for people."""


class DomainError(Exception):
    code = "DOMAIN_ERROR"
    message = "İşlem gerçekleştirilemedi."

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = message or type(self).message
        self.field = field
        super().__init__(self.message)


class ValidationFailed(DomainError):
    code = "VALIDATION_FAILED"
    message = "Girilen bilgiler geçersiz."


class NotFound(DomainError):
    code = "NOT_FOUND"
    message = "Kayıt bulunamadı."


class PermissionDenied(DomainError):
    code = "PERMISSION_DENIED"
    message = "Bu işlem için yetkiniz bulunmamaktadır."


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"
    message = "Oturumunuz bulunamadı veya süresi doldu. Lütfen yeniden giriş yapınız."


class RateLimited(DomainError):
    code = "RATE_LIMITED"
    message = "Çok fazla deneme yapıldı. Lütfen daha sonra tekrar deneyiniz."


class ServiceUnavailable(DomainError):
    code = "SERVICE_UNAVAILABLE"
    message = "Kimlik doğrulama servisine şu anda ulaşılamıyor. Lütfen daha sonra tekrar deneyiniz."
