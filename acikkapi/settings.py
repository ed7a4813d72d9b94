import hashlib
import hmac
from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


# Public, so only `demo` and tests may use it (see `Settings.secret_key_problem`).
DEVELOPMENT_SECRET = "gelistirme-anahtari-uretimde-degistirin-32-bayttan-uzun"
MIN_SECRET_BYTES = 32


class Settings(BaseSettings):
    """Every knob of the server. Each default works on the embedded database with the local simulators."""

    model_config = SettingsConfigDict(env_prefix="ACIKKAPI_", env_file=".env", extra="ignore")

    # Database: an external PostgreSQL when set, otherwise an embedded one kept in `data_dir`. A request waits
    # at most the pool timeout for a connection; the server cancels a statement that runs longer than the
    # statement timeout, and ends a session left idle inside a transaction.
    database_url: str | None = None
    data_dir: Path = Path("var")
    db_pool_size: int = 40
    db_pool_timeout_seconds: float = 5.0
    db_statement_timeout_seconds: float = 10.0
    db_idle_in_transaction_timeout_seconds: float = 30.0

    # HTTP. Client addresses are taken from X-Forwarded-For only when the peer is one of these proxies.
    # Links in responses (downloads, reports) are absolute, on the address citizens and staff reach us at.
    host: str = "127.0.0.1"
    port: int = 8000
    forwarded_allow_ips: str = "127.0.0.1"
    public_base_url: str = "http://127.0.0.1:8000"
    # GraphiQL at /graphql for browsers; introspection is allowed where GraphiQL is, and for staff sessions.
    graphiql: bool = False

    # The one secret: the HMAC keys for one-time codes and for signed links are derived from it.
    secret_key: str = DEVELOPMENT_SECRET
    # Lets tests and local runs use DEVELOPMENT_SECRET (`acikkapi demo` sets it; never set it in production).
    allow_development_secret: bool = False

    # Outside services. Each has a circuit breaker: open after this many failures in a row, tried again after
    # the pause. The simulators `demo` starts listen on these ports (0 picks a free one).
    identity_url: str = "http://127.0.0.1:8101"
    sms_url: str = "http://127.0.0.1:8102"
    sms_sender: str = "ACIKKAPI"
    http_timeout_seconds: float = 5.0
    circuit_failures_to_open: int = 5
    circuit_open_seconds: float = 30.0
    identity_simulator_port: int = 8101
    sms_simulator_port: int = 8102

    # e-İçişleri single sign-on (OpenID Connect) for the MİA, user admins and analysts: the provider (its
    # discovery document is at <issuer>/.well-known/openid-configuration), our client registration there, and
    # the page the provider sends the browser back to, which calls completeEIcisleriSignIn (by default the
    # simulator's own return page, for the demo). A started sign-in must be completed within
    # `eicisleri_sign_in_seconds`; ID tokens may be this many seconds past their expiry (clocks differ). The
    # discovery document and keys are kept for `eicisleri_cache_seconds`; a token signed by a key we do not know
    # makes us fetch the keys again, once per key id. Sign-ins started per client address per hour are capped.
    eicisleri_issuer: str = "http://127.0.0.1:8103"
    eicisleri_client_id: str = "acikkapi"
    eicisleri_client_secret: str = "gelistirme-istemci-sirri"
    eicisleri_redirect_uri: str = "http://127.0.0.1:8103/donus"
    eicisleri_sign_in_seconds: int = 600
    eicisleri_leeway_seconds: int = 60
    eicisleri_cache_seconds: float = 3600
    eicisleri_hourly_starts_per_client: int = 60
    eicisleri_simulator_port: int = 8103

    # One-time codes.
    otp_ttl_seconds: int = 180
    otp_max_attempts: int = 5
    otp_resend_cooldown_seconds: int = 60
    otp_max_resends: int = 3
    # Codes per hour: per T.C. Kimlik No (with the phone or tracking number it asks for), per phone, and per
    # client address: in all, for applying requests the identity service refused, and for staff sign-in plus
    # tracking requests (all of these count: their answer may not tell whether they matched).
    otp_hourly_limit_per_identity: int = 5
    otp_hourly_limit_per_phone: int = 5
    otp_hourly_limit_per_client: int = 200
    otp_hourly_failures_per_client: int = 20
    otp_hourly_lookups_per_client: int = 60
    # Identity lookups by number per staff member per hour (registerApplication).
    staff_identity_lookups_per_hour: int = 30

    # Sessions.
    staff_idle_minutes: int = 30
    citizen_idle_minutes: int = 30
    session_max_hours: int = 12
    download_link_seconds: int = 300

    # Attachments. Multipart requests read at once are bounded; more are refused with 503 and Retry-After.
    storage_dir: Path | None = None
    max_file_bytes: int = 10 * 1024 * 1024
    max_files_per_request: int = 10
    max_concurrent_uploads: int = 8
    upload_retry_after_seconds: int = 5

    # The DETSİS directory's CSV file (acikkapi/services/detsis_import.py), which the ministry's user admins
    # upload: their multipart requests take a file up to this size (32 MB: ~300,000 units), others' the
    # attachments' limit.
    detsis_max_file_bytes: int = 32 * 1024 * 1024

    # Rapor Al: workbooks written in the background, at most `max_concurrent_exports` at a time in a server
    # (the rest wait their turn) and `max_unfinished_exports` waiting or running per user; each file is kept
    # `export_keep_hours` for its download, then deleted with its job.
    export_dir: Path | None = None
    max_concurrent_exports: int = 2
    max_unfinished_exports: int = 2
    export_keep_hours: float = 24
    export_progress_seconds: float = 1.0

    # Realtime inboxes over WebSocket (graphql-transport-ws): the time a client has to send connection_init,
    # the server's keep-alive ping (a client that has not answered the last one by the next is gone), the
    # frames a slow client may have waiting before it is closed, and subscriptions per connection.
    ws_init_timeout_seconds: float = 3.0
    ws_ping_seconds: float = 20.0
    ws_queue_frames: int = 256
    ws_max_subscriptions: int = 20

    # GraphQL limits: cheap refusals before execution.
    max_body_bytes: int = 1024 * 1024
    max_query_depth: int = 10
    max_aliases: int = 15
    max_tokens: int = 2000
    max_batch_operations: int = 5

    # Outbox: up to `outbox_concurrency` sends in flight, each failing after `outbox_send_timeout_seconds`
    # (a hung gateway then holds one slot, never the others). A claimed message is leased for twice the
    # timeout plus 30 s: if its dispatcher dies, another sends it after that. With `outbox_in_server` off the
    # server only queues, and `acikkapi outbox` sends in a process of its own (it claims every poll).
    outbox_in_server: bool = True
    outbox_poll_seconds: float = 1.0
    outbox_max_attempts: int = 12
    outbox_backoff_seconds: float = 5.0
    outbox_concurrency: int = 10
    outbox_send_timeout_seconds: float = 10.0

    # Retention (KVKK), swept every `retention_interval_seconds` by the server or once by `acikkapi purge`:
    # code challenges this long after they were created, sessions this long after they ended, outbox messages
    # this long after they were queued once sent, expired or given up, stored files that no attachment row
    # records once older than the grace period, and staff identity lookups (an audit record, which must
    # outlive the sessions it records).
    retention_interval_seconds: float = 3600
    retention_challenge_days: int = 7
    retention_session_days: int = 30
    retention_outbox_days: int = 30
    retention_file_grace_hours: int = 24
    retention_identity_lookup_days: int = 730

    # Reference data (il, ilçe, mahalle/köy, service categories) is cached in the server, which looks for
    # changes at most every `reference_check_seconds`. Anonymous answers made of it alone may be kept by
    # browsers and proxies for `reference_max_age_seconds` (and revalidated by their ETag after that).
    reference_check_seconds: float = 5.0
    reference_max_age_seconds: int = 60

    def secret_key_problem(self) -> str | None:
        """Why `secret_key` must not sign codes and links in this configuration; None when it may."""
        if self.secret_key == DEVELOPMENT_SECRET and not self.allow_development_secret:
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
    def exports_dir(self) -> Path:
        return self.export_dir or self.data_dir / "exports"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_body_bytes + self.max_files_per_request * self.max_file_bytes


def derive_key(secret: str, purpose: str) -> bytes:
    """One key per purpose, so what is signed for one purpose is worthless for another."""
    return hmac.new(secret.encode(), f"acikkapi/{purpose}".encode(), hashlib.sha256).digest()


@lru_cache
def get_settings() -> Settings:
    return Settings()
