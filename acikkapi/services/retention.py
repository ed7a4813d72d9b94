"""Retention (KVKK): personal data nobody needs any more is deleted once its period in settings has passed.

- one-time code challenges and started e-İçişleri sign-ins, `retention_challenge_days` after they were
  created (the sending limits look back one hour);
- sessions, `retention_session_days` after they ended (signed out or used up, expired, or left idle);
- outbox messages that were sent, expired or given up, `retention_outbox_days` after they were queued;
- staff identity lookups (an audit record), `retention_identity_lookup_days` after they were made;
- stored files that no attachment row records, once older than `retention_file_grace_hours`: pending files
  whose transaction never committed, and files whose row is gone. A pending file whose row exists (the
  process died between the commit and the move) is moved into place instead;
- export jobs (Rapor Al) and their workbooks once they expire (services/exports.py), and export files no job
  records, like attachments.

The identity service's answer goes sooner: every sweep drops it from the challenges that were used, cancelled
or left expired, and from the sessions that have ended, though the rows themselves stay for their periods.

The server sweeps every `retention_interval_seconds`; `acikkapi purge` sweeps once.
"""

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from acikkapi.models import (Attachment, AuthSession, EIcisleriSignIn, ExportJob, IdentityLookup, OtpChallenge,
                             OutboxMessage, OutboxStatus, Purpose)
from acikkapi.services import exports
from acikkapi.services.sessions import idle_limit
from acikkapi.services.storage import FileSystemStorage, Storage
from acikkapi.settings import Settings

log = logging.getLogger(__name__)
KEYS_PER_QUERY = 1000


@dataclass
class Purged:
    challenges: int = 0  # with started e-İçişleri sign-ins
    sessions: int = 0
    messages: int = 0
    lookups: int = 0
    identities: int = 0  # copies of the identity service's answer dropped from challenges and sessions
    files: int = 0
    promoted: int = 0
    exports: int = 0


async def purge(sessionmaker: async_sessionmaker, storage: Storage, settings: Settings) -> Purged:
    purged = Purged()
    now = func.now()
    session_end = now - timedelta(days=settings.retention_session_days)
    idle = timedelta(minutes=max(settings.staff_idle_minutes, settings.citizen_idle_minutes))
    async with sessionmaker() as session, session.begin():
        for table in (OtpChallenge, EIcisleriSignIn):
            purged.challenges += await _rowcount(session, delete(table).where(
                table.created_at < now - timedelta(days=settings.retention_challenge_days)))
        purged.sessions = await _rowcount(session, delete(AuthSession).where(or_(
            AuthSession.revoked_at < session_end, AuthSession.expires_at < session_end,
            AuthSession.last_seen_at < session_end - idle)))
        purged.messages = await _rowcount(session, delete(OutboxMessage).where(
            OutboxMessage.status != OutboxStatus.PENDING,
            OutboxMessage.created_at < now - timedelta(days=settings.retention_outbox_days)))
        purged.lookups = await _rowcount(session, delete(IdentityLookup).where(
            IdentityLookup.created_at < now - timedelta(days=settings.retention_identity_lookup_days)))
        purged.identities = await drop_identity_copies(session, settings)
    grace = timedelta(hours=settings.retention_file_grace_hours)
    purged.files, purged.promoted = await sweep_files(sessionmaker, storage, grace, Attachment.storage_key)
    exported = FileSystemStorage(settings.exports_dir)
    async with sessionmaker() as session, session.begin():
        purged.exports = await exports.sweep(await session.connection(), exported, settings)
    files, _ = await sweep_files(sessionmaker, exported, grace, ExportJob.storage_key)
    purged.files += files
    return purged


async def _rowcount(session, statement) -> int:
    return (await session.execute(statement.execution_options(synchronize_session=False))).rowcount


async def drop_identity_copies(session: AsyncSession, settings: Settings) -> int:
    """Drop the identity service's answer from the challenges and sessions that can no longer use it."""
    now = func.now()
    held = OtpChallenge.identity.is_not(None)
    dropped = await _rowcount(session, update(OtpChallenge).where(
        held, or_(OtpChallenge.consumed_at.is_not(None), OtpChallenge.cancelled_at.is_not(None)))
        .values(identity=None))
    # An expired code may still be sent again, and a session opened on it would lack the identity: so a code
    # left expired as long as a session may idle ends here, and a later resend is refused like a cancelled one.
    dropped += await _rowcount(session, update(OtpChallenge).where(
        held, OtpChallenge.expires_at < now - idle_limit(settings, Purpose.APPLY))
        .values(identity=None, cancelled_at=now))
    idle = or_(*(and_(AuthSession.purpose == purpose, AuthSession.last_seen_at < now - idle_limit(settings, purpose))
                 for purpose in Purpose))
    ended = or_(AuthSession.revoked_at.is_not(None), AuthSession.expires_at <= now, idle)
    dropped += await _rowcount(session, update(AuthSession).where(AuthSession.identity.is_not(None), ended)
                               .values(identity=None))
    return dropped


async def sweep_files(sessionmaker: async_sessionmaker, storage: Storage, grace: timedelta,
                      recorded_by) -> tuple[int, int]:
    """Delete stored files no row records (by the column `recorded_by`) once older than `grace`, and move into
    place the pending ones a row records; returns (deleted, promoted)."""
    files = await storage.listing()
    recorded: set[str] = set()
    async with sessionmaker() as session:
        for start in range(0, len(files), KEYS_PER_QUERY):
            keys = [file.key for file in files[start:start + KEYS_PER_QUERY]]
            recorded.update(await session.scalars(
                select(recorded_by).where(recorded_by.in_(keys))))
    written_before = datetime.now(UTC) - grace
    deleted = promoted = 0
    for file in files:
        if file.key in recorded:
            if file.pending:
                await storage.promote(file.key)
                promoted += 1
        elif file.written_at < written_before:
            await storage.delete(file.key)
            deleted += 1
    return deleted, promoted


async def run_forever(sessionmaker: async_sessionmaker, storage: Storage, settings: Settings) -> None:
    """The server's periodic sweep; the first one an interval after start."""
    while True:
        await asyncio.sleep(settings.retention_interval_seconds)
        try:
            purged = await purge(sessionmaker, storage, settings)
        except asyncio.CancelledError:
            raise
        except Exception:  # a database hiccup must not end the sweeps
            log.exception("retention sweep failed")
        else:
            log.info("retention sweep: %s", purged)
