"""Who may see which application. One scoping condition, used by lookups, lists and downloads alike."""

from sqlalchemy import ColumnElement, false

from acikkapi.models import Application, Purpose, Role
from acikkapi.permissions.actor import Actor
from acikkapi.services.errors import PermissionDenied, Unauthenticated

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


def ensure_can_register(actor: Actor, province_id: int | None = None) -> None:
    """An AKS registers written applications (banko) only for an address in their own province.
    Without a province, only the role is checked (before any outside call)."""
    if actor.session is None:
        raise Unauthenticated()
    if actor.purpose is not Purpose.STAFF or actor.role is not Role.AKS:
        raise PermissionDenied()
    if province_id is not None and province_id != actor.province_id:
        raise PermissionDenied("Yalnızca kendi ilinizdeki bir adrese ait başvuru kaydedebilirsiniz.",
                               field="provinceId")


def may_upload(actor: Actor) -> bool:
    """Only submitApplication (an APPLY session) and registerApplication (an AKS) take files: anyone else's
    multipart request is refused before its body is read."""
    return actor.purpose is Purpose.APPLY or (actor.purpose is Purpose.STAFF and actor.role is Role.AKS)
