import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, func, text, true
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from acikkapi.models.base import Base, created_at_column, str_enum
from acikkapi.models.user import User


class Purpose(enum.Enum):
    """What a one-time code or a session is good for."""

    APPLY = "Başvuru"
    TRACK = "Başvuru Sorgulama"
    STAFF = "Personel Girişi"


class OtpChallenge(Base):
    """One "Onay Kodu Gönder": the hashed code, its tries and what a right answer grants."""

    __tablename__ = "otp_challenge"
    __table_args__ = (
        Index(None, "tckn", "created_at"),
        Index(None, "phone", "created_at"),
        Index(None, "client_ip", "created_at"),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, server_default=func.gen_random_uuid())
    purpose: Mapped[Purpose] = mapped_column(str_enum(Purpose))
    tckn: Mapped[str] = mapped_column(String(11))
    phone: Mapped[str] = mapped_column(String(10))
    client_ip: Mapped[str | None] = mapped_column(INET)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # What a right code grants: the staff user, the application, or the identity service's answer.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"))
    identity: Mapped[dict | None] = mapped_column(JSONB(none_as_null=True))  # dropped once used: SQL NULL
    # The Başvuru Takip No a tracking request named, matched or not: its requests are counted together.
    tracking_no: Mapped[int | None] = mapped_column(BigInteger)
    # False when the request matched nothing: it answers like any other and never verifies.
    deliverable: Mapped[bool] = mapped_column(default=True, server_default=true())
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    sends: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    last_sent_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    consumed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()


class AuthSession(Base):
    """A bearer token's server side. Only the token's SHA-256 is stored."""

    __tablename__ = "auth_session"
    # `id` is public (download links name it); only `token_hash` authenticates.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, server_default=func.gen_random_uuid())
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    purpose: Mapped[Purpose] = mapped_column(str_enum(Purpose))
    tckn: Mapped[str] = mapped_column(String(11))
    phone: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), index=True)
    identity: Mapped[dict | None] = mapped_column(JSONB(none_as_null=True))  # dropped once used: SQL NULL
    created_at: Mapped[datetime] = created_at_column()
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User | None] = relationship(lazy="raise")


class EIcisleriSignIn(Base):
    """One started e-İçişleri sign-in: what the provider's answer must match. Single use, short-lived; only the
    state's SHA-256 is stored (the browser carries the state), the PKCE verifier as we must send it."""

    __tablename__ = "eicisleri_sign_in"
    __table_args__ = (Index(None, "client_ip", "created_at"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, server_default=func.gen_random_uuid())
    state_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    nonce: Mapped[str] = mapped_column(String(64))
    code_verifier: Mapped[str] = mapped_column(String(128))
    client_ip: Mapped[str | None] = mapped_column(INET)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime]
    consumed_at: Mapped[datetime | None]
