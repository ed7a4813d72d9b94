"""Who is asking: built once per request from the bearer session, used by every rule."""

from dataclasses import dataclass, field

from acikkapi.models import AuthSession, Purpose, Role, User
from acikkapi.services.errors import PermissionDenied, Unauthenticated


@dataclass(frozen=True)
class Actor:
    session: AuthSession | None = None
    user: User | None = None
    unit_nos: frozenset[int] = field(default_factory=frozenset)

    @property
    def purpose(self) -> Purpose | None:
        return self.session.purpose if self.session else None

    @property
    def role(self) -> Role | None:
        return self.user.role if self.user else None

    @property
    def province_id(self) -> int | None:
        return self.user.province_id if self.user else None

    @property
    def district_id(self) -> int | None:
        """Set for the staff of a kaymakamlık's office; null for a valilik's."""
        return self.user.district_id if self.user else None

    @property
    def label(self) -> str:
        if self.user:
            return f"{self.user.full_name} ({self.user.role.value})"
        return "Vatandaş"

    @classmethod
    def of(cls, session: AuthSession | None) -> "Actor":
        if session is None:
            return cls()
        user = session.user
        return cls(session=session, user=user,
                   unit_nos=frozenset(unit.detsis_no for unit in user.units) if user else frozenset())


ANONYMOUS = Actor()


def require_purpose(actor: Actor, purpose: Purpose) -> AuthSession:
    """The actor's session if it was opened for `purpose`; otherwise the request is refused."""
    if actor.session is None:
        raise Unauthenticated()
    if actor.session.purpose is not purpose:
        raise PermissionDenied()
    return actor.session


def require_staff(actor: Actor, *roles: Role) -> User:
    if actor.session is None:
        raise Unauthenticated()
    if actor.user is None:  # a citizen's session
        raise PermissionDenied()
    if roles and actor.user.role not in roles:
        raise PermissionDenied()
    return actor.user
