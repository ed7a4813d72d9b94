"""The SMS outbox. A change and its messages commit together; a dispatcher sends them with retries.

A message is a template and its parameters, rendered only when it is sent; its secret parameters (a
one-time code) are removed once it is sent, expired or given up.

The dispatcher is a pool of `concurrency` sends, each message in three steps, so no transaction, lock or
connection is held while a gateway answers:
1. claim: one statement (its own transaction) marks the one-time codes past their `not_after` EXPIRED (never
   sent) and leases as many due rows as there are free slots (FOR UPDATE SKIP LOCKED, `leased_until`), codes
   first;
2. send: each claimed row at once in its own slot, outside any transaction, bounded by a timeout, with its
   row's id as the gateway's message reference;
3. mark: only while the lease is still its dispatcher's. The messages the gateway took are marked SENT by the
   next claim, in the same statement (under load one statement marks and claims many); a failed attempt is
   marked at once, in a statement of its own.
A slot is free again as soon as its send ends, and the dispatcher then claims for it: a hung send holds its own
slot until its timeout, never the messages queued after it. Several processes may run it: every server by
default, or `acikkapi outbox` apart from servers run with `outbox_in_server` off.
A gateway outage only delays messages: they stay PENDING with a growing backoff until they go out (a code
until its expiry).

Guarantees. A message is sent at most once per lease: a dispatcher that dies after claiming loses only its
lease, and once that has passed the next claim sends the message. It is sent exactly once unless the gateway
took it and the mark never came (the send timed out although the gateway had taken it, or the process died
between the send and the mark): then the next lease sends it again under the same reference, which a gateway
that de-duplicates by reference (ours does) delivers once.
"""

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Interval, Text, bindparam, cast, func, insert, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from acikkapi.db import Prepared, hide_values
from acikkapi.models import OutboxMessage, OutboxStatus
from acikkapi.services.sms import SmsDeliveryFailed, SmsGateway
from acikkapi.settings import Settings

log = hide_values(logging.getLogger(__name__))
OUTBOX_CHANNEL = "acikkapi_outbox"  # NOTIFYed when messages are queued (migration 0015): dispatchers wake at once


@dataclass(frozen=True)
class Template:
    text: str
    priority: int = 0  # higher leaves first

    def render(self, params: dict) -> str:
        return self.text.format(**params)


# Every SMS the system sends, in one place.
TEMPLATES = {
    "onay_kodu": Template("Açık Kapı onay kodunuz: {kod}. Kod {dakika} dakika geçerlidir; "
                          "bu kodu kimseyle paylaşmayınız. AÇIK KAPI", priority=1),
    "takip_numarasi": Template("Sayın {ad}, Açık Kapı üzerinden yapmış olduğunuz başvuruya ait takip "
                               "numarası: {takip_no}. Takip numarası ile başvuru durumunuzu sorgulayabilirsiniz. "
                               "AÇIK KAPI"),
    # Directive md. 10(ç): the applicant is told when the application is forwarded and when it is answered.
    "yonlendirildi": Template("Sayın {ad}, {takip_no} numaralı Açık Kapı başvurunuz değerlendirilmek üzere "
                              "ilgili birime yönlendirilmiştir. AÇIK KAPI"),
    "sonuclandi": Template("Sayın {ad}, {takip_no} numaralı Açık Kapı başvurunuz sonuçlanmıştır. Sonucu takip "
                           "numaranız ile sorgulayabilirsiniz. AÇIK KAPI"),
    "metin": Template("{metin}"),  # messages queued before templates existed (migration 0004)
}
_outbox = OutboxMessage.__table__
# Parameters that must not outlive their message: dropped from the row once it is sent, expired or given up.
SECRET_PARAMS = ("kod", "metin")
_WITHOUT_SECRETS = _outbox.c.params.op("-", return_type=JSONB)(cast(list(SECRET_PARAMS), ARRAY(Text)))

# The dispatcher's statements, built once.
_PENDING = _outbox.c.status == OutboxStatus.PENDING
_UNLEASED = or_(_outbox.c.leased_until.is_(None), _outbox.c.leased_until <= func.now())
_LAPSED = _outbox.c.not_after <= func.now()
# One statement: the messages sent since the last claim are marked SENT, the codes past their `not_after`
# become EXPIRED (never sent), and up to `limit` other due messages, codes first, are leased. (A data-modifying
# WITH runs whether or not the statement reads it; each touches other rows: the sent ones are still leased.)
_SENT_SINCE = func.unnest(bindparam("sent_ids", type_=ARRAY(_outbox.c.id.type)),
                          bindparam("sent_leases", type_=ARRAY(_outbox.c.leased_until.type))
                          ).table_valued("id", "lease").render_derived()
_MARK_SENT = (
    update(_outbox)
    .where(tuple_(_outbox.c.id, _outbox.c.leased_until).in_(select(_SENT_SINCE.c.id, _SENT_SINCE.c.lease)))
    .values(status=OutboxStatus.SENT, sent_at=func.now(), leased_until=None, params=_WITHOUT_SECRETS)
    .cte("sent"))
_EXPIRE = (
    update(_outbox)
    .where(_outbox.c.id.in_(
        select(_outbox.c.id).where(_PENDING, _LAPSED, _UNLEASED).with_for_update(skip_locked=True)))
    .values(status=OutboxStatus.EXPIRED, leased_until=None, params=_WITHOUT_SECRETS)
    .cte("expired"))
_CLAIM = Prepared(
    update(_outbox)
    .add_cte(_EXPIRE)
    .where(_outbox.c.id.in_(
        select(_outbox.c.id)
        .where(_PENDING, _outbox.c.next_attempt_at <= func.now(), _UNLEASED,
               or_(_outbox.c.not_after.is_(None), ~_LAPSED))
        .order_by(_outbox.c.priority.desc(), _outbox.c.next_attempt_at, _outbox.c.id)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True)))
    .values(leased_until=func.now() + bindparam("lease", type_=Interval), attempts=_outbox.c.attempts + 1)
    .add_cte(_MARK_SENT)
    .returning(_outbox.c.id, _outbox.c.phone, _outbox.c.template, _outbox.c.params, _outbox.c.attempts,
               _outbox.c.leased_until))
# A mark changes the row only while the lease is still the dispatcher's.
_MARK = (update(_outbox)
         .where(_outbox.c.id == bindparam("message_id"), _outbox.c.leased_until == bindparam("lease"))
         .values(leased_until=None))
_GIVEN_UP = _MARK.values(status=OutboxStatus.FAILED, last_error=bindparam("error"), params=_WITHOUT_SECRETS)
_RETRY_LATER = _MARK.values(last_error=bindparam("error"),
                            next_attempt_at=func.now() + bindparam("delay", type_=Interval))
_QUEUE = insert(_outbox).returning(_outbox.c.id)


async def queue_sms(session: AsyncSession, *, phone: str, template: str, params: dict,
                    not_after: datetime | None = None) -> int:
    """Queue `template` with `params` for `phone`; a message with `not_after` is never sent after it.
    Returns the message's id."""
    chosen = TEMPLATES[template]
    chosen.render(params)  # a missing parameter is a bug of the caller: fail its transaction, not the send
    return await session.scalar(_QUEUE, {"phone": phone, "template": template, "params": params,
                                         "priority": chosen.priority, "not_after": not_after})


@dataclass(frozen=True)
class Claimed:
    """A leased message, as the dispatcher sends it."""

    id: int
    phone: str
    template: str
    params: dict
    attempts: int
    leased_until: datetime  # the lease: the row is marked only while it still holds this value


# After a wake-up the dispatcher waits this long before it claims: under load one claim then takes (and marks)
# the messages of many requests instead of one each; an SMS leaves this much later.
GATHER_SECONDS = 0.01


class OutboxDispatcher:
    def __init__(self, engine: AsyncEngine, gateway: SmsGateway, *, poll_seconds: float,
                 max_attempts: int, backoff_seconds: float, concurrency: int = 10,
                 send_timeout_seconds: float = 10.0) -> None:
        # The claim and the marks are one statement each, so each is its own transaction: as atomic as within
        # BEGIN … COMMIT, without those two round trips.
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT", logging_token="outbox")
        self.gateway = gateway
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.concurrency = concurrency
        self.send_timeout = send_timeout_seconds
        # Far longer than a send and its mark, so only a dead dispatcher's messages are claimed again.
        self.lease = timedelta(seconds=2 * send_timeout_seconds + 30)
        self.wakeup = asyncio.Event()
        self.sending: set[asyncio.Task] = set()
        self.sent: list[Claimed] = []  # taken by the gateway, to be marked SENT by the next claim
        self.backlog = False  # the last claim took every free slot: more may be due when a slot frees up

    @classmethod
    def of(cls, settings: Settings, engine: AsyncEngine, gateway: SmsGateway) -> "OutboxDispatcher":
        return cls(engine, gateway, poll_seconds=settings.outbox_poll_seconds,
                   max_attempts=settings.outbox_max_attempts, backoff_seconds=settings.outbox_backoff_seconds,
                   concurrency=settings.outbox_concurrency, send_timeout_seconds=settings.outbox_send_timeout_seconds)

    async def run_forever(self) -> None:
        try:
            while True:
                self.wakeup.clear()  # before claiming: a wake-up during the claim is not lost
                try:
                    await self.start_due()
                except asyncio.CancelledError:
                    raise
                except Exception:  # a database hiccup must not kill the dispatcher
                    log.exception("outbox dispatch failed")
                try:
                    await asyncio.wait_for(self.wakeup.wait(), timeout=self.poll_seconds)
                except asyncio.TimeoutError:
                    continue
                await asyncio.sleep(GATHER_SECONDS)  # what else is queued or sent meanwhile joins the next claim
        finally:  # the sends in flight lose their leases; a later claim sends them again
            sending = list(self.sending)
            for task in sending:
                task.cancel()
            await asyncio.gather(*sending, return_exceptions=True)
            if self.sent:  # what the gateway took is marked now, not sent again when its lease runs out
                try:
                    await self.claim(0)
                except Exception:
                    log.exception("outbox: the messages sent last could not be marked")

    async def start_due(self) -> list[asyncio.Task]:
        """Mark what was sent, claim due messages for the free slots and start sending each; returns the sends
        started."""
        free = max(self.concurrency - len(self.sending), 0)
        self.backlog = True  # a slot that frees up meanwhile wakes the loop to claim again
        if not free and not self.sent:
            return []
        batch = await self.claim(free)
        self.backlog = len(batch) == free
        return [self._start(message) for message in batch]

    async def dispatch_due(self) -> int:
        """One round: claim for the free slots, send, and wait until each is marked; returns how many were
        claimed. The server's loop (`run_forever`) does not wait: it claims again as slots free up."""
        started = await self.start_due()
        try:
            for send in asyncio.as_completed(started):
                await send
                if self.sent:  # marked as each send ends, not when the last one does
                    await self.claim(0)
        finally:  # cancelled: so are the sends
            for send in started:
                send.cancel()
        return len(started)

    def _start(self, message: Claimed) -> asyncio.Task:
        task = asyncio.create_task(self._send(message), name=f"outbox-{message.id}")
        self.sending.add(task)
        task.add_done_callback(self._slot_freed)
        return task

    def _slot_freed(self, task: asyncio.Task) -> None:
        self.sending.discard(task)
        if self.backlog or self.sent:
            self.wakeup.set()

    async def _send(self, message: Claimed) -> None:
        try:
            await self._deliver(message)
        except Exception as error:  # its lease runs out and a later claim tries it again
            log.error("outbox message %s could not be marked: %r", message.id, error)

    async def claim(self, limit: int) -> list[Claimed]:
        """Mark the messages sent since the last claim, expire the codes past their time, then lease up to
        `limit` due messages, codes first. If it fails, the sent ones wait for the next claim."""
        sent, self.sent = self.sent, []
        try:
            async with self.engine.connect() as connection:
                rows = await _CLAIM.fetch(connection, {
                    "limit": limit, "lease": self.lease, "sent_ids": [message.id for message in sent],
                    "sent_leases": [message.leased_until for message in sent]})
        except BaseException:
            self.sent[:0] = sent
            raise
        return [Claimed(*row) for row in rows]

    async def _deliver(self, message: Claimed) -> None:
        try:
            body = TEMPLATES[message.template].render(message.params)
            await asyncio.wait_for(
                self.gateway.send(phone=message.phone, body=body, reference=f"outbox-{message.id}"),
                timeout=self.send_timeout)
        except asyncio.TimeoutError:
            await self._failed(message, f"gateway did not answer within {self.send_timeout:g} s")
        except SmsDeliveryFailed as error:
            await self._failed(message, str(error))
        except Exception as error:  # a bug: it fails this message only, and is retried like a gateway failure
            log.exception("SMS %s could not be sent", message.id)
            await self._failed(message, repr(error))
        else:
            self.sent.append(message)

    async def _failed(self, message: Claimed, error: str) -> None:
        if message.attempts >= self.max_attempts:
            log.error("SMS %s given up after %s attempts: %s", message.id, message.attempts, error)
            await self._mark(message, _GIVEN_UP, error=error[:500])
        else:
            delay = min(self.backoff_seconds * 2 ** (message.attempts - 1), 3600)
            await self._mark(message, _RETRY_LATER, error=error[:500], delay=timedelta(seconds=delay))

    async def _mark(self, message: Claimed, statement, **params) -> None:
        """One short write, and only while the lease is still ours: a dispatcher that lost it (it was too
        slow) leaves the row to the one that claimed it since."""
        async with self.engine.connect() as connection:
            marked = await connection.execute(
                statement, {"message_id": message.id, "lease": message.leased_until, **params})
        if marked.rowcount == 0:
            log.warning("outbox message %s: lease lost before it was marked", message.id)
