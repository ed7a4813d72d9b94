"""Başvuru Arama, a Yetkili's inbox and the overdue view as Relay connections (forward paging: `first`,
`after`), with the search screens' columns and `totalCount`; Rapor Al as export jobs."""

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from acikkapi.models import ApplicationKind, ApplicationResult, ApplicationStatus, ExportStatus
from acikkapi.permissions.applications import reads_personal_data
from acikkapi.resolvers import search
from acikkapi.resolvers.search import Listing
from acikkapi.schema.applications import CategoryLine
from acikkapi.schema.errors import as_payload, payload_union
from acikkapi.schema.workflow import Channel, PriorityGroup, RoutedUnit, RoutingStatus, linker
from acikkapi.services.errors import DomainError
from acikkapi.services.search import DEFAULT_PAGE, MAX_PAGE, SUMMARY_LENGTH, ApplicationLine, ListedRouting


@strawberry.input(description="Filtreleme Kriterleri: every criterion given must hold.")
class ApplicationFilter:
    tracking_no: int | None = strawberry.field(default=None, description="Başvuru No.")
    tc_kimlik_no: str | None = strawberry.field(default=None, description="The applicant's T.C. Kimlik No (not "
                                                                          "for a Yetkili).")
    first_name: str | None = strawberry.field(
        default=None, description="Words beginning the applicant's first names, Turkish case and accents ignored "
                                  "(“sahin” finds “ŞAHİN”).")
    last_name: str | None = strawberry.field(default=None, description="The same for the surname.")
    category_id: int | None = strawberry.field(default=None, description="Hizmet Başlığı.")
    subcategory_id: int | None = strawberry.field(default=None, description="Hizmet Alt Başlığı.")
    statuses: list[ApplicationStatus] | None = None
    results: list[ApplicationResult] | None = None
    kinds: list[ApplicationKind] | None = None
    channels: list[Channel] | None = None
    priority_groups: list[PriorityGroup] | None = None
    is_special: bool | None = strawberry.field(default=None, description="Özellikli.")
    is_confidential: bool | None = strawberry.field(default=None, description="Gizli.")
    registered_from: date | None = strawberry.field(default=None, description="Registered on or after this day "
                                                                             "(Istanbul).")
    registered_to: date | None = strawberry.field(default=None, description="Registered on or before this day.")
    unit_no: int | None = strawberry.field(default=None, description="Routed to this DETSİS unit.")
    overdue: bool | None = strawberry.field(default=None, description="A routing waits past its due date.")


@strawberry.type(name="ListedRouting", description="A routing as the lists show it.")
class ListedRoutingType:
    id: strawberry.ID
    unit: RoutedUnit
    status: RoutingStatus
    status_label: str
    due_date: date = strawberry.field(description="Son Cevap Verme Tarihi.")
    overdue: bool
    routed_at: datetime = strawberry.field(description="Birime Geliş Tarihi.")
    answered_at: datetime | None


@strawberry.type(description="A row of Başvuru Arama. The T.C. Kimlik No is null for a role that may not read "
                             "it, the name for the units of an ihbar.")
class ApplicationListItem:
    id: strawberry.ID
    tracking_no: int
    status: ApplicationStatus
    status_label: str
    result: ApplicationResult | None
    result_label: str | None
    kind: ApplicationKind
    kind_label: str
    channel: Channel
    channel_label: str
    created_at: datetime = strawberry.field(description="Başvuru Kayıt Tarihi.")
    arrival_date: date | None
    is_special: bool
    is_confidential: bool
    priority_group: PriorityGroup | None
    priority_group_label: str | None
    tc_kimlik_no: str | None
    first_name: str | None
    last_name: str | None
    subject_summary: str = strawberry.field(description=f"Başvuru Konusu, shortened to {SUMMARY_LENGTH} characters.")
    categories: list[CategoryLine]
    routings: list[ListedRoutingType] = strawberry.field(description="The routings the reader may see.")
    unit_arrival_at: datetime | None = strawberry.field(description="Birime Geliş Tarihi: the first routing's.")
    due_date: date | None = strawberry.field(description="Son Cevap Verme Tarihi: the soonest of the routings "
                                                         "still waiting.")
    overdue: bool = strawberry.field(description="A routing waits past its due date.")


@strawberry.type(description="Where a page ends (forward paging only).")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class ApplicationEdge:
    cursor: str
    node: ApplicationListItem


@strawberry.type(description="A routing of an inbox or of the overdue view, with its application.")
class RoutingListItem:
    id: strawberry.ID
    unit: RoutedUnit
    status: RoutingStatus
    status_label: str
    due_date: date = strawberry.field(description="Son Cevap Verme Tarihi.")
    overdue: bool
    days_late: int = strawberry.field(description="Calendar days past the due date; 0 when not late.")
    routed_at: datetime = strawberry.field(description="Birime Geliş Tarihi.")
    answered_at: datetime | None
    application: ApplicationListItem


@strawberry.type
class RoutingEdge:
    cursor: str
    node: RoutingListItem


def _page_info(listing: Listing) -> PageInfo:
    cursors = listing.page.cursors
    return PageInfo(has_next_page=listing.page.has_next, has_previous_page=False,
                    start_cursor=cursors[0] if cursors else None, end_cursor=cursors[-1] if cursors else None)


@strawberry.type
class ApplicationConnection:
    edges: list[ApplicationEdge]
    page_info: PageInfo
    listing: strawberry.Private[Listing]

    @strawberry.field(description="The applications meeting the filter, on every page.")
    async def total_count(self) -> int:
        return await self.listing.count()


@strawberry.type
class RoutingConnection:
    edges: list[RoutingEdge]
    page_info: PageInfo
    listing: strawberry.Private[Listing]

    @strawberry.field(description="The routings meeting the filter, on every page.")
    async def total_count(self) -> int:
        return await self.listing.count()


def _routing(r: ListedRouting) -> ListedRoutingType:
    return ListedRoutingType(id=strawberry.ID(str(r.id)), unit=RoutedUnit(detsis_no=r.unit.id, name=r.unit.name),
                             status=r.status, status_label=r.status.value, due_date=r.due_date, overdue=r.overdue,
                             routed_at=r.routed_at, answered_at=r.answered_at)


def _item(a: ApplicationLine, personal: bool) -> ApplicationListItem:
    identity = personal or a.kind is not ApplicationKind.IHBAR
    return ApplicationListItem(
        id=strawberry.ID(str(a.id)), tracking_no=a.tracking_no, status=a.status, status_label=a.status.value,
        result=a.result, result_label=a.result.value if a.result else None, kind=a.kind, kind_label=a.kind.value,
        channel=a.channel, channel_label=a.channel.value, created_at=a.created_at, arrival_date=a.arrival_date,
        is_special=a.is_special, is_confidential=a.is_confidential, priority_group=a.priority_group,
        priority_group_label=a.priority_group.value if a.priority_group else None,
        tc_kimlik_no=a.tckn if personal else None, first_name=a.first_name if identity else None,
        last_name=a.last_name if identity else None, subject_summary=a.subject_summary, categories=a.categories,
        routings=[_routing(r) for r in a.routings], unit_arrival_at=a.unit_arrival, due_date=a.due_date,
        overdue=a.overdue)


def _routing_connection(listing: Listing, personal: bool) -> RoutingConnection:
    edges = []
    for cursor, line in zip(listing.page.cursors, listing.page.lines):
        r = line.routing
        edges.append(RoutingEdge(cursor=cursor, node=RoutingListItem(
            id=strawberry.ID(str(r.id)), unit=RoutedUnit(detsis_no=r.unit.id, name=r.unit.name), status=r.status,
            status_label=r.status.value, due_date=r.due_date, overdue=r.overdue, days_late=line.days_late,
            routed_at=r.routed_at, answered_at=r.answered_at, application=_item(line.application, personal))))
    return RoutingConnection(edges=edges, page_info=_page_info(listing), listing=listing)


def selected_below(info: Info) -> set[str]:
    """The names of every field asked for anywhere below this one, through fragments too."""
    names: set[str] = set()

    def walk(selections) -> None:
        for selection in selections:
            if hasattr(selection, "name"):
                names.add(selection.name)
            walk(selection.selections)

    for field in info.selected_fields:
        walk(field.selections)
    return names


First = Annotated[int | None, strawberry.argument(description=f"Rows per page: 1 to {MAX_PAGE} ({DEFAULT_PAGE} "
                                                                    f"when not given).")]
After = Annotated[str | None, strawberry.argument(description="The `endCursor` of the page before.")]


@strawberry.type
class SearchQuery:
    @strawberry.field(description="Başvuru Arama (AKS, MİA): the office's applications meeting the filter, newest "
                                  "first. Reads of the applicant's T.C. Kimlik No are recorded (KVKK).")
    async def search_applications(self, info: Info, filter: ApplicationFilter | None = None,
                                  first: First = DEFAULT_PAGE, after: After = None) -> ApplicationConnection:
        listing = await search.search_applications(info.context, vars(filter) if filter else {}, first=first,
                                                   after=after, selected=selected_below(info))
        personal = reads_personal_data(info.context.actor)
        edges = [ApplicationEdge(cursor=cursor, node=_item(line, personal))
                 for cursor, line in zip(listing.page.cursors, listing.page.lines)]
        return ApplicationConnection(edges=edges, page_info=_page_info(listing), listing=listing)

    @strawberry.field(description="Yetkili: the routings of your units whose applications meet the filter, those "
                                  "waiting for an answer first, soonest due first.")
    async def routing_inbox(self, info: Info, filter: ApplicationFilter | None = None, first: First = DEFAULT_PAGE,
                            after: After = None) -> RoutingConnection:
        listing = await search.routing_inbox(info.context, vars(filter) if filter else {}, first=first, after=after,
                                             selected=selected_below(info))
        return _routing_connection(listing, reads_personal_data(info.context.actor))

    @strawberry.field(description="AKS, MİA: the office's routings waiting past their due date, the most late "
                                  "first, with the unit and the days late (the filter's `overdue` is ignored).")
    async def overdue_routings(self, info: Info, filter: ApplicationFilter | None = None,
                               first: First = DEFAULT_PAGE, after: After = None) -> RoutingConnection:
        listing = await search.overdue_routings(info.context, vars(filter) if filter else {}, first=first,
                                                after=after, selected=selected_below(info))
        return _routing_connection(listing, reads_personal_data(info.context.actor))


ExportStatusType = strawberry.enum(ExportStatus, name="ExportStatus", description="Where an export job is.")


@strawberry.type(name="ExportJob", description="Rapor Al: a workbook being written in the background, or ready.")
class ExportJobType:
    id: strawberry.ID
    status: ExportStatusType
    status_label: str
    rows_total: int | None = strawberry.field(description="The rows the workbook will have, once counted.")
    rows_written: int
    file_name: str
    file_size: int | None = strawberry.field(description="Bytes, once ready.")
    created_at: datetime
    finished_at: datetime | None
    expires_at: datetime | None = strawberry.field(description="The file and the job are deleted then.")
    download_url: str | None = strawberry.field(description="Once ready: the workbook, valid for a few minutes "
                                                            "(ask for the job again for a new link).")

    @classmethod
    def of(cls, job, context) -> "ExportJobType":
        ready = job.status is ExportStatus.DONE
        return cls(id=strawberry.ID(str(job.id)), status=job.status, status_label=job.status.value,
                   rows_total=job.rows_total, rows_written=job.rows_written, file_name=job.file_name,
                   file_size=job.file_size, created_at=job.created_at, finished_at=job.finished_at,
                   expires_at=job.expires_at, download_url=linker(context)(f"/exports/{job.id}") if ready else None)


@strawberry.input(description="Rapor Al: the search to export (the same filter as the list's).")
class StartApplicationExportInput:
    filter: ApplicationFilter | None = None


@strawberry.type(description="The export has started: poll `exportJob` for its progress.")
class ExportStarted:
    job: ExportJobType


StartApplicationExportPayload = payload_union("StartApplicationExportPayload", ExportStarted, search.start_export)


@strawberry.type
class ExportQuery:
    @strawberry.field(description="One of your export jobs: its progress, and its download link once ready.")
    async def export_job(self, info: Info, id: strawberry.ID) -> ExportJobType:
        return ExportJobType.of(await search.export_job(info.context, id), info.context)


@strawberry.type
class ExportMutation:
    @strawberry.mutation(description="Rapor Al (AKS, MİA, Yetkili): every application of the search as an Excel "
                                     "workbook, written in the background, with no row cap; the T.C. Kimlik No "
                                     "and names masked as in the list.")
    async def start_application_export(self, info: Info, input: StartApplicationExportInput
                                       ) -> StartApplicationExportPayload:
        try:
            job = await search.start_export(info.context, vars(input.filter) if input.filter else {})
        except DomainError as error:
            return as_payload(error, search.start_export)
        return ExportStarted(job=ExportJobType.of(job, info.context))
