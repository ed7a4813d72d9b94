"""Yetki İşlemleri in GraphQL: the ministry's user admins import the DETSİS directory from a CSV file."""

import dataclasses

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from acikkapi.resolvers import detsis
from acikkapi.schema.errors import Error, as_payload, error_type, payload_union
from acikkapi.services import detsis_import
from acikkapi.services.errors import DomainError

DetsisProblemCode = strawberry.enum(detsis_import.ProblemCode, name="DetsisProblemCode",
                                    description="What is wrong with a line (or the whole) of a DETSİS file.")


@strawberry.type(description="One problem of a DETSİS file, with its line.")
class DetsisFileProblem:
    line: int | None = strawberry.field(description="The line of the file (1 is the header); null: the whole file.")
    code: DetsisProblemCode
    message: str


@strawberry.type(description="The DETSİS file has problems: nothing was imported, no unit was changed. Each "
                             "problem has its line.")
class DetsisFileRejected(Error):
    problem_count: int = strawberry.field(description="All the problems found; `problems` lists the first 1,000.")
    problems: list[DetsisFileProblem]


error_type(detsis_import.DetsisFileRejected, DetsisFileRejected)


@strawberry.type(description="The DETSİS file was imported. Every unit of the file was added, changed, reactivated "
                             "or left unchanged; the active units missing from it were deactivated (never "
                             "deleted). The numbers list the first 1,000 of each, in order.")
class DetsisImported:
    added: int
    changed: int
    reactivated: int = strawberry.field(description="Inactive units that are in the file again: active once more.")
    deactivated: int
    unchanged: int
    added_numbers: list[int]
    changed_numbers: list[int]
    reactivated_numbers: list[int]
    deactivated_numbers: list[int]


ImportDetsisUnitsPayload = payload_union("ImportDetsisUnitsPayload", DetsisImported, detsis.import_units)


@strawberry.type
class DetsisMutation:
    @strawberry.mutation(description=(
        "The ministry's user admins: import the DETSİS directory from a CSV file (UTF-8; columns DETSİS No, Ad, "
        "Tür, İl, Üst Birim, or number, name, kind, province, parent). Units are added or updated by number; "
        "active units missing from the file are deactivated. A file with any problem is rejected whole, with "
        "every problem's line, and changes nothing."))
    async def import_detsis_units(self, info: Info, file: Upload) -> ImportDetsisUnitsPayload:
        try:
            report = await detsis.import_units(info.context, file=file.file, file_name=file.filename)
        except DomainError as error:
            return as_payload(error, detsis.import_units)
        return DetsisImported(**dataclasses.asdict(report))
