"""Yetki İşlemleri: what a user admin may manage. An admin of a province (`province_id` set) manages its users;
the ministry's admins (no province) manage every province's users, the national accounts, and the national
reference data (service categories, the DETSİS directory)."""

from dataclasses import dataclass

from acikkapi.models import Purpose, Role
from acikkapi.permissions.actor import Actor, require_staff
from acikkapi.services.errors import PermissionDenied

PROVINCE_GRANTS = frozenset({Role.AKS, Role.YETKILI, Role.MIA, Role.ANALIST})
NATIONAL_GRANTS = PROVINCE_GRANTS | {Role.YETKI_ISLEMLERI}
NATIONAL_ROLES = frozenset({Role.ANALIST, Role.YETKI_ISLEMLERI})  # may have no province: the ministry's


@dataclass(frozen=True)
class AdminScope:
    user_id: int
    province_id: int | None  # None: every province

    @property
    def national(self) -> bool:
        return self.province_id is None

    @property
    def grants(self) -> frozenset[Role]:
        return NATIONAL_GRANTS if self.national else PROVINCE_GRANTS

    def covers(self, province_id: int | None) -> bool:
        """Whether a user (or an event) of `province_id` (None: national) is within the scope."""
        return self.national or province_id == self.province_id


def admin_scope(actor: Actor) -> AdminScope:
    user = require_staff(actor, Role.YETKI_ISLEMLERI)
    return AdminScope(user.id, user.province_id)


def national_admin(actor: Actor) -> AdminScope:
    """The ministry's admins only: the national reference data is theirs."""
    scope = admin_scope(actor)
    if not scope.national:
        raise PermissionDenied()
    return scope


def is_national_admin(actor: Actor) -> bool:
    """`national_admin` as a yes or no, for decisions taken before a resolver runs (an upload's body)."""
    user = actor.user
    return (actor.purpose is Purpose.STAFF and user is not None and user.role is Role.YETKI_ISLEMLERI
            and user.province_id is None)
