"""Who may see which application. One scoping condition, used by lookups, lists and downloads alike."""

from sqlalchemy import ColumnElement, false

from acikkapi.models import Application, Purpose, Role
from acikkapi.permissions.actor import Actor

PROVINCE_WIDE = {Role.AKS, Role.MIA}


def visible_applications(actor: Actor) -> ColumnElement[bool]:
    if actor.purpose is Purpose.TRACK:
        return Application.id == actor.session.application_id
    if actor.purpose is Purpose.STAFF and actor.role in PROVINCE_WIDE:
        return Application.subject_province_id == actor.province_id
    # Yetkili users see applications routed to their units once routing exists; everyone else sees none.
    return false()


def can_see(actor: Actor, application: Application) -> bool:
    if actor.purpose is Purpose.TRACK:
        return application.id == actor.session.application_id
    if actor.purpose is Purpose.STAFF and actor.role in PROVINCE_WIDE:
        return application.subject_province_id == actor.province_id
    return False
