"""Realtime inboxes: the catch-up query (the subscription itself is served by ws_view.py)."""

from acikkapi.context import Context
from acikkapi.permissions.actor import require_staff
from acikkapi.services import realtime
from acikkapi.services.errors import PermissionDenied, ValidationFailed
from acikkapi.services.realtime import MAX_PAGE, Listener, Notice


def listener_of(context: Context) -> Listener:
    require_staff(context.actor)
    listener = Listener.of(context.actor)
    if listener is None:  # user admins and analysts follow no inbox
        raise PermissionDenied()
    return listener


async def notices_after(context: Context, *, after: str | None, first: int) -> tuple[list[Notice], bool]:
    listener = listener_of(context)
    if not 1 <= first <= MAX_PAGE:
        raise ValidationFailed(f"Bir sayfada 1 ile {MAX_PAGE} arasında kayıt listelenebilir.", field="first")
    async with context.connection() as connection:
        return await realtime.notices_after(connection, listener, after, first)
