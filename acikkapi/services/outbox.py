"""The SMS outbox. A change and its messages commit together; a dispatcher sends them with retries.

The dispatcher claims due rows with FOR UPDATE SKIP LOCKED, so several server processes may run it.
A gateway outage only delays messages: they stay PENDING with a growing backoff until they go out.
"""

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from acikkapi.models import OutboxMessage, OutboxStatus
from acikkapi.services.sms import SmsDeliveryFailed, SmsGateway

log = logging.getLogger(__name__)


def queue_sms(session: AsyncSession, *, phone: str, body: str) -> OutboxMessage:
    message = OutboxMessage(phone=phone, body=body)
    session.add(message)
    return message


class OutboxDispatcher:
    def __init__(self, sessionmaker: async_sessionmaker, gateway: SmsGateway, *, poll_seconds: float,
                 max_attempts: int, backoff_seconds: float, batch_size: int = 20) -> None:
        self.sessionmaker = sessionmaker
        self.gateway = gateway
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.batch_size = batch_size
        self.wakeup = asyncio.Event()

    async def run_forever(self) -> None:
        while True:
            self.wakeup.clear()  # before dispatching: a wake-up during the dispatch is not lost
            try:
                while await self.dispatch_due() == self.batch_size:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup must not kill the dispatcher
                log.exception("outbox dispatch failed")
            try:
                await asyncio.wait_for(self.wakeup.wait(), timeout=self.poll_seconds)
            except asyncio.TimeoutError:
                pass

    async def dispatch_due(self) -> int:
        """Send one batch of due messages; returns how many were tried."""
        async with self.sessionmaker() as session, session.begin():
            due = (await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= func.now())
                .order_by(OutboxMessage.next_attempt_at)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            )).all()
            for message in due:  # in order: a recipient reads them as they were written
                await self._send(message)
            return len(due)

    async def _send(self, message: OutboxMessage) -> None:
        message.attempts += 1
        try:
            await self.gateway.send(phone=message.phone, body=message.body, reference=f"outbox-{message.id}")
        except SmsDeliveryFailed as error:
            message.last_error = str(error)[:500]
            if message.attempts >= self.max_attempts:
                message.status = OutboxStatus.FAILED
                log.error("SMS %s given up after %s attempts: %s", message.id, message.attempts, error)
            else:
                delay = min(self.backoff_seconds * 2 ** (message.attempts - 1), 3600)
                message.next_attempt_at = func.now() + timedelta(seconds=delay)
            return
        message.status = OutboxStatus.SENT
        message.sent_at = func.now()
