"""Bearer sessions: a random token for the client, its SHA-256 in the database.

Staff sessions end after `staff_idle_minutes` without a request; citizen grants after `citizen_idle_minutes`.
Every session also has an absolute end, so a token that is used constantly still dies.
"""

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from acikkapi.db import Prepared, records
from acikkapi.models import AuthSession, District, OtpChallenge, Province, Purpose, Unit, UnitKind, User, user_unit
from acikkapi.settings import Settings

TOUCH_EVERY = timedelta(seconds=30)  # idle tracking without a write per request


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def idle_limit(settings: Settings, purpose: Purpose) -> timedelta:
    minutes = settings.staff_idle_minutes if purpose is Purpose.STAFF else settings.citizen_idle_minutes
    return timedelta(minutes=minutes)


async def open_session(session: AsyncSession, settings: Settings, challenge: OtpChallenge) -> tuple[str, AuthSession]:
    opened = await _open(session, settings, challenge.consumed_at, purpose=challenge.purpose, tckn=challenge.tckn,
                         phone=challenge.phone, user_id=challenge.user_id, application_id=challenge.application_id,
                         identity=challenge.identity)
    challenge.identity = None  # from now on only the session holds the identity service's answer, until it is used
    return opened


async def open_staff_session(session: AsyncSession, settings: Settings, user: User,
                             now: datetime) -> tuple[str, AuthSession]:
    """A staff session for a user signed in elsewhere (e-İçişleri): the same kind a staff code opens."""
    return await _open(session, settings, now, purpose=Purpose.STAFF, tckn=user.tckn, phone=user.phone,
                       user_id=user.id)


async def _open(session: AsyncSession, settings: Settings, now: datetime, **fields) -> tuple[str, AuthSession]:
    token = secrets.token_urlsafe(32)
    auth = AuthSession(token_hash=token_hash(token), created_at=now, last_seen_at=now,
                       expires_at=now + timedelta(hours=settings.session_max_hours), **fields)
    session.add(auth)
    await session.flush()
    return token, auth


# Every request with a token runs one of these: built once, one indexed lookup, no ORM loading. A staff
# session comes with its user, province, district and units (an array of records), in the same statement.
_SESSION, _USER = AuthSession.__table__, User.__table__
_province, _district = Province.__table__, District.__table__
_USER_COLUMNS = [column.label(f"staff_{column.key}") for column in _USER.columns]
_unit = Unit.__table__
_UNITS = records(_unit.c.detsis_no, _unit.c.name, _unit.c.kind, _unit.c.province_id, _unit.c.parent_no,
                 _unit.c.active, order_by=[_unit.c.detsis_no],
                 select_from=user_unit.join(_unit, _unit.c.detsis_no == user_unit.c.unit_no),
                 where=[user_unit.c.user_id == _USER.c.id])
_LIVE_SESSION = (
    select(_SESSION, func.now().label("now"), *_USER_COLUMNS, _province.c.name.label("province_name"),
           _district.c.name.label("district_name"), _district.c.province_id.label("district_province_id"),
           _UNITS.label("units"))
    .select_from(_SESSION.outerjoin(_USER, and_(_USER.c.id == _SESSION.c.user_id, _USER.c.active))
                 .outerjoin(_province, _province.c.id == _USER.c.province_id)
                 .outerjoin(_district, _district.c.id == _USER.c.district_id))
    .where(_SESSION.c.revoked_at.is_(None)))
_FIND = {True: Prepared(_LIVE_SESSION.where(_SESSION.c.token_hash == bindparam("key"))),
         False: Prepared(_LIVE_SESSION.where(_SESSION.c.id == bindparam("key")))}
_TOUCH = Prepared(update(_SESSION).where(_SESSION.c.id == bindparam("session_id")).values(last_seen_at=func.now()))


async def find_session(connection: AsyncConnection, settings: Settings, *, token: str | None = None,
                       session_id: uuid.UUID | None = None, touch: bool = True) -> AuthSession | None:
    """The live session of a bearer `token` (or of a signed link's `session_id`), with the staff user,
    province and units loaded; touched for idle tracking. Detached: read it, never change it.
    Run on every request with a token: one prepared statement (two when touched), no ORM session."""
    find = _FIND[token is not None]
    row = await find.first(connection, {"key": token_hash(token) if token else session_id})
    if row is None:
        return None
    row = dict(zip(find.keys, row))
    now = row["now"]
    if now >= row["expires_at"] or now - row["last_seen_at"] > idle_limit(settings, row["purpose"]):
        return None
    user = None
    if row["user_id"] is not None:
        if row["user_id"] != row["staff_id"]:  # deactivated
            return None
        user = _staff_user(row)
    auth = AuthSession.detached(**{column.key: row[column.key] for column in _SESSION.columns}, user=user)
    if touch and now - auth.last_seen_at > TOUCH_EVERY:
        await _TOUCH.fetch(connection, {"session_id": auth.id})
        auth.last_seen_at = now
    return auth


def _staff_user(row: dict) -> User:
    province_id, district_id = row["staff_province_id"], row["staff_district_id"]
    return User.detached(
        **{column.key: row[f"staff_{column.key}"] for column in _USER.columns},
        units=[Unit.detached(detsis_no=no, name=name, kind=UnitKind[kind], province_id=unit_province, parent_no=parent,
                             active=active) for no, name, kind, unit_province, parent, active in row["units"] or ()],
        province=None if province_id is None else Province.detached(id=province_id, name=row["province_name"]),
        district=None if district_id is None else District.detached(
            id=district_id, province_id=row["district_province_id"], name=row["district_name"]))


def idle_deadline(settings: Settings, auth: AuthSession) -> datetime:
    return min(auth.last_seen_at + idle_limit(settings, auth.purpose), auth.expires_at)


async def revoke(session: AsyncSession, auth: AuthSession) -> bool:
    """End the session, dropping its copy of the identity service's answer; False if it had already ended.
    Concurrent callers: exactly one gets True."""
    ended = await session.scalar(
        update(AuthSession).where(AuthSession.id == auth.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=func.now(), identity=None).returning(AuthSession.id))
    return ended is not None
