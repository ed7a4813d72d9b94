"""Bearer sessions: a random token for the client, its SHA-256 in the database.

Staff sessions end after `staff_idle_minutes` without a request; citizen grants after `citizen_idle_minutes`.
Every session also has an absolute end, so a token that is used constantly still dies.
"""

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from acikkapi.db import Prepared
from acikkapi.models import AuthSession, District, OtpChallenge, Province, Purpose, Role, Unit, UnitKind, User
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


# Every request with a token runs one of these: built once, one indexed lookup, no ORM loading. Only a staff
# session reads its user (with province, district and units) in a second statement.
_SESSION = AuthSession.__table__
_LIVE_SESSION = select(_SESSION, func.now().label("now")).where(_SESSION.c.revoked_at.is_(None))
_BY_TOKEN = _LIVE_SESSION.where(_SESSION.c.token_hash == bindparam("key"))
_BY_ID = _LIVE_SESSION.where(_SESSION.c.id == bindparam("key"))
# A staff user with its province, district and units, in one statement (units as an array of records).
_STAFF_USER = Prepared(f"""
SELECT {", ".join(f"u.{column.key}" for column in User.__table__.columns)},
       p.name AS province_name, d.name AS district_name, d.province_id AS district_province_id,
       ARRAY(SELECT ROW(n.detsis_no, n.name, n.kind, n.province_id, n.parent_no, n.active)
             FROM user_unit uu JOIN unit n ON n.detsis_no = uu.unit_no
             WHERE uu.user_id = u.id ORDER BY n.detsis_no) AS units
FROM app_user u LEFT JOIN province p ON p.id = u.province_id LEFT JOIN district d ON d.id = u.district_id
WHERE u.id = $1 AND u.active""")
_TOUCH = Prepared(update(_SESSION).where(_SESSION.c.id == bindparam("session_id")).values(last_seen_at=func.now()))
_FIND = {True: Prepared(_BY_TOKEN), False: Prepared(_BY_ID)}


async def find_session(connection: AsyncConnection, settings: Settings, *, token: str | None = None,
                       session_id: uuid.UUID | None = None, touch: bool = True) -> AuthSession | None:
    """The live session of a bearer `token` (or of a signed link's `session_id`), with the staff user,
    province and units loaded; touched for idle tracking. Detached: read it, never change it.
    Run on every request with a token: Core on an autocommit connection, no ORM session unless staff."""
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
        user = await _staff_user(connection, row["user_id"])
        if user is None:  # deactivated
            return None
    auth = AuthSession(**{column.key: row[column.key] for column in _SESSION.columns}, user=user)
    if touch and now - auth.last_seen_at > TOUCH_EVERY:
        await _TOUCH.fetch(connection, {"session_id": auth.id})
        auth.last_seen_at = now
    return auth


async def _staff_user(connection: AsyncConnection, user_id: int) -> User | None:
    row = await _STAFF_USER.first(connection, (user_id,))
    if row is None:
        return None
    user = User(**{column.key: row[column.key] for column in User.__table__.columns if column.key != "role"},
                role=Role[row["role"]],
                units=[Unit(detsis_no=no, name=name, kind=UnitKind[kind], province_id=province_id, parent_no=parent,
                            active=active) for no, name, kind, province_id, parent, active in row["units"]])
    if row["province_id"] is not None:
        user.province = Province(id=row["province_id"], name=row["province_name"])
    if row["district_id"] is not None:
        user.district = District(id=row["district_id"], province_id=row["district_province_id"],
                                 name=row["district_name"])
    return user


def idle_deadline(settings: Settings, auth: AuthSession) -> datetime:
    return min(auth.last_seen_at + idle_limit(settings, auth.purpose), auth.expires_at)


async def revoke(session: AsyncSession, auth: AuthSession) -> bool:
    """End the session, dropping its copy of the identity service's answer; False if it had already ended.
    Concurrent callers: exactly one gets True."""
    ended = await session.scalar(
        update(AuthSession).where(AuthSession.id == auth.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=func.now(), identity=None).returning(AuthSession.id))
    return ended is not None
