"""Realtime inboxes: the `applicationEvents` subscription (over graphql-transport-ws, ws_view.py) and the query a
client that reconnects catches up with."""

from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry
from strawberry.types import Info

from acikkapi.models import ApplicationStatus
from acikkapi.resolvers import realtime
from acikkapi.schema.search import After, First, PageInfo
from acikkapi.schema.signin import StaffRole
from acikkapi.schema.workflow import EventAction
from acikkapi.services.realtime import MAX_PAGE, Notice, SubscriptionOverHttp


@strawberry.type(name="ApplicationEventNotice", description="A step of an application, as it commits.")
class NoticeType:
    cursor: str = strawberry.field(description="Give it to the `applicationEvents` query to catch up from here.")
    application_id: strawberry.ID
    tracking_no: int
    status: ApplicationStatus = strawberry.field(description="The application's status after the step.")
    status_label: str
    action: EventAction
    action_label: str
    actor_label: str = strawberry.field(description="Who, with their role.")
    actor_role: StaffRole | None = strawberry.field(description="Null for the citizen.")
    actor_role_label: str | None
    at: datetime

    @classmethod
    def of(cls, n: Notice) -> "NoticeType":
        return cls(cursor=n.cursor, application_id=strawberry.ID(str(n.application_id)), tracking_no=n.tracking_no,
                   status=n.status, status_label=n.status.value, action=n.action, action_label=n.action.value,
                   actor_label=n.actor_label, actor_role=n.actor_role,
                   actor_role_label=n.actor_role.value if n.actor_role else None, at=n.at)


@strawberry.type
class NoticeEdge:
    cursor: str
    node: NoticeType


@strawberry.type
class NoticeConnection:
    edges: list[NoticeEdge]
    page_info: PageInfo


@strawberry.type
class RealtimeQuery:
    @strawberry.field(description=(
        "Staff: the steps you hear of (as the subscription), oldest first. With `after` (a notice's cursor): "
        "those after it, to catch up after a reconnect; without: the latest `first`."))
    async def application_events(self, info: Info, after: After = None, first: First = 100) -> NoticeConnection:
        notices, more = await realtime.notices_after(info.context, after=after, first=100 if first is None else first)
        edges = [NoticeEdge(cursor=n.cursor, node=NoticeType.of(n)) for n in notices]
        return NoticeConnection(edges=edges, page_info=PageInfo(
            has_next_page=more, has_previous_page=False, start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else after))


@strawberry.type
class RealtimeSubscription:
    @strawberry.subscription(description=(
        "Staff: each step of an application you may see, as it commits. An AKS hears of every step of their "
        "office's applications, a MİA of those sent for their approval, a Yetkili of those routed or returned "
        f"to their units. Served over graphql-transport-ws at /graphql (sign in with `{{token}}` in "
        f"connection_init); catch up with the query of the same name (at most {MAX_PAGE} a page)."))
    async def application_events(self, info: Info) -> AsyncGenerator[NoticeType, None]:
        raise SubscriptionOverHttp()  # the transport (ws_view.py) runs the document on each notice itself
        yield  # pragma: no cover - makes this an async generator
