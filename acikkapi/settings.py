import hashlib
import hmac
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


# Public, so only `demo` and tests may use it (see `Settings.secret_key_problem`).
DEVELOPMENT_SECRET = "gelistirme-anahtari-uretimde-degistirin-32-bayttan-uzun"
MIN_SECRET_BYTES = 32


class Settings(BaseSettings):
    """Every knob of the server. Each default works on the embedded database with the local simulators."""

    model_config = SettingsConfigDict(env_prefix="ACIKKAPI_", env_file=".env", extra="ignore")

    # Database: an external PostgreSQL when set, otherwise an embedded one kept in `data_dir`.
    database_url: str | None = None
    data_dir: Path = Path("var")
    db_pool_size: int = 10

    host: str = "127.0.0.1"
    port: int = 8000
    # Client addresses are taken from X-Forwarded-For only when the peer is one of these.
    forwarded_allow_ips: str = "127.0.0.1"

    # Secrets: HMAC keys for one-time codes and signed download links. Set them in production.
    secret_key: str = DEVELOPMENT_SECRET

    # External services.
    identity_url: str = "http://127.0.0.1:8101"
    sms_url: str = "http://127.0.0.1:8102"
    sms_sender: str = "ACIKKAPI"
    http_timeout_seconds: float = 5.0

    # One-time codes.
    otp_ttl_seconds: int = 180
    otp_max_attempts: int = 5
    otp_resend_cooldown_seconds: int = 60
    otp_max_resends: int = 3
    # Codes sent per hour per T.C. Kimlik No, per phone number and per client address.
    otp_hourly_limit_per_identity: int = 5
    otp_hourly_limit_per_phone: int = 5
    otp_hourly_limit_per_client: int = 30

    # Sessions.
    staff_idle_minutes: int = 30
    citizen_idle_minutes: int = 30
    session_max_hours: int = 12
    download_link_seconds: int = 300

    # Attachments.
    storage_dir: Path | None = None
    max_file_bytes: int = 10 * 1024 * 1024
    max_files_per_request: int = 10

    # GraphQL limits: cheap refusals before execution.
    max_body_bytes: int = 1024 * 1024
    max_query_depth: int = 10
    max_aliases: int = 15
    max_tokens: int = 2000
    max_batch_operations: int = 5

    # Outbox dispatcher.
    outbox_poll_seconds: float = 1.0
    outbox_max_attempts: int = 12
    outbox_backoff_seconds: float = 5.0

    graphiql: bool = True
    demo: bool = Field(default=False, description="Log every SMS so a developer can read the codes.")

    # --- Operations: demo simulators' ports and the secret rule ---
    # The simulators `demo` starts; 0 picks a free port. The defaults match identity_url and sms_url.
    identity_simulator_port: int = 8101
    sms_simulator_port: int = 8102
    # Lets tests and local runs use DEVELOPMENT_SECRET; `demo` always may.
    allow_development_secret: bool = False

    def secret_key_problem(self) -> str | None:
        """Why `secret_key` must not sign codes and links in this configuration; None when it may."""
        if self.secret_key == DEVELOPMENT_SECRET and not (self.demo or self.allow_development_secret):
            return "ACIKKAPI_SECRET_KEY is not set: codes and links would be signed with a public key"
        if len(self.secret_key.encode()) < MIN_SECRET_BYTES:
            return f"ACIKKAPI_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes"
        return None

    @property
    def code_key(self) -> bytes:
        """HMAC key for one-time codes."""
        return derive_key(self.secret_key, "one-time codes")

    @property
    def link_key(self) -> bytes:
        """HMAC key for signed download and report links."""
        return derive_key(self.secret_key, "signed links")

    @property
    def attachment_dir(self) -> Path:
        return self.storage_dir or self.data_dir / "files"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_body_bytes + self.max_files_per_request * self.max_file_bytes


def derive_key(secret: str, purpose: str) -> bytes:
    """One key per purpose, so what is signed for one purpose is worthless for another."""
    return hmac.new(secret.encode(), f"acikkapi/{purpose}".encode(), hashlib.sha256).digest()


@lru_cache
def get_settings() -> Settings:
    return Settings()
