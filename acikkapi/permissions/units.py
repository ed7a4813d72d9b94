"""Who may look up DETSİS units: the staff who route applications to them or assign users to them."""

from acikkapi.models import Purpose, Role
from acikkapi.permissions.actor import Actor
from acikkapi.services.errors import PermissionDenied, Unauthenticated

UNIT_SEARCHERS = {Role.AKS, Role.MIA, Role.YETKI_ISLEMLERI}


def ensure_can_search_units(actor: Actor) -> None:
    if actor.session is None:
        raise Unauthenticated()
    if actor.purpose is not Purpose.STAFF or actor.role not in UNIT_SEARCHERS:
        raise PermissionDenied()
