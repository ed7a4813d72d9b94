import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from acikkapi.models.base import Base, created_at_column, str_enum


class ExportStatus(enum.Enum):
    QUEUED = "Sırada"
    RUNNING = "Hazırlanıyor"
    DONE = "Hazır"
    FAILED = "Hazırlanamadı"


class ExportJob(Base):
    """Rapor Al for a list too long to wait for: a workbook written in the background, its progress, and the
    stored file, downloadable by the user who asked until `expires_at`."""

    __tablename__ = "export_job"
    __table_args__ = (
        Index("ix_export_job_unfinished_user_id", "user_id", postgresql_where=text("status IN ('QUEUED', 'RUNNING')")),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, server_default=func.gen_random_uuid())
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    status: Mapped[ExportStatus] = mapped_column(
        str_enum(ExportStatus), default=ExportStatus.QUEUED, server_default=ExportStatus.QUEUED.name)
    rows_total: Mapped[int | None]
    rows_written: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    storage_key: Mapped[str | None] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(128))
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = created_at_column()
    # Moves with every progress report: a RUNNING job that stopped moving died with its process.
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None] = mapped_column(index=True)  # the file and the row go then
