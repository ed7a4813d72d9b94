"""Importing the DETSİS directory from a CSV file: the whole file is checked first, and every problem is reported
with its line; only a file without problems is applied, in one transaction.

The file is UTF-8 (a byte order mark is allowed), one unit per line, no line breaks inside a field, fields
separated by commas or by semicolons (as Excel writes CSV in Turkish), quoted where needed. The first line names
the columns, in any order; each column may be named in Turkish or in English, in any case, with or without
Turkish letters ("Tür", "TUR" and "tür" are one name):

    DETSİS No | number    the unit's 8-digit DETSİS number
    Ad        | name      the unit's name (at most 256 characters)
    Tür       | kind      a `UnitKind`: its name (IL_MUDURLUGU) or its label (İl Müdürlüğü)
    İl        | province  the province's plate code (6 or 06); empty for a national unit
    Üst Birim | parent    the DETSİS number of the unit it belongs to, in the file or already known; may be empty

Applying a file: a unit of the file is added, or updated by its number; an active unit missing from the file is
deactivated (never deleted: routings and users keep referring to it); an inactive unit in the file is
reactivated. Every unit added, changed, reactivated or deactivated gets its row in the audit log (its province:
the unit's, after the change), and the import one more row of its own (IMPORTED, national, its entity id the
first 32 hex digits of the file's SHA-256, with the file's name and the counts). The writes are a few set-based
statements over a temporary table the file is copied into, so a 100,000-unit file takes seconds
(scripts/bench_detsis.py). The unit's search words are a generated column, and the reference version moves
with the writes (migration 0006's statement triggers).
"""

import csv
import enum
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from acikkapi.models import AuditAction, AuditEntity, Province, Unit, UnitKind, User
from acikkapi.services import audit
from acikkapi.services.errors import DomainError, raises
from acikkapi.services.unit_search import fold

MAX_PROBLEMS = 1000  # reported of a rejected file; the count says how many there are in all
REPORTED_NUMBERS = 1000  # DETSİS numbers listed per kind of change in the report; the counts are complete
MAX_NAME_LENGTH = 256

# column → its Turkish header; the English one is the column's own name. Headers are compared folded.
TITLES = {"number": "DETSİS No", "name": "Ad", "kind": "Tür", "province": "İl", "parent": "Üst Birim"}
HEADERS = {fold(title): column for column, title in TITLES.items()} | {column: column for column in TITLES}
_HEADER = ", ".join(TITLES.values())
KINDS = {fold(key): kind for kind in UnitKind for key in (kind.name, kind.value)}
_NUMBER = re.compile("[1-9][0-9]{7}")
_PLATE = re.compile("[0-9]{1,2}")
_BOM = b"\xef\xbb\xbf"


class ProblemCode(enum.Enum):
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    NOT_UTF8 = "NOT_UTF8"
    EMPTY_FILE = "EMPTY_FILE"
    MISSING_COLUMN = "MISSING_COLUMN"
    UNKNOWN_COLUMN = "UNKNOWN_COLUMN"
    DUPLICATE_COLUMN = "DUPLICATE_COLUMN"
    MALFORMED_LINE = "MALFORMED_LINE"
    WRONG_COLUMN_COUNT = "WRONG_COLUMN_COUNT"
    INVALID_NUMBER = "INVALID_NUMBER"
    DUPLICATE_NUMBER = "DUPLICATE_NUMBER"
    EMPTY_NAME = "EMPTY_NAME"
    NAME_TOO_LONG = "NAME_TOO_LONG"
    UNKNOWN_KIND = "UNKNOWN_KIND"
    UNKNOWN_PROVINCE = "UNKNOWN_PROVINCE"
    INVALID_PARENT = "INVALID_PARENT"
    UNKNOWN_PARENT = "UNKNOWN_PARENT"
    PARENT_CYCLE = "PARENT_CYCLE"


@dataclass(frozen=True, slots=True)
class Problem:
    line: int | None  # 1 is the header; None: the file as a whole
    code: ProblemCode
    message: str


class DetsisFileRejected(DomainError):
    """The DETSİS file has problems (each with its line): nothing was imported, no unit was changed."""

    code = "DETSIS_FILE_REJECTED"
    message = "DETSİS dosyası hatalı olduğu için içe aktarılmadı; hiçbir birim değiştirilmedi."

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"DETSİS dosyasında {len(problems)} sorun bulundu; dosya içe aktarılmadı, hiçbir birim "
                         "değiştirilmedi.", field="file")
        ordered = sorted(problems, key=lambda problem: problem.line or 0)
        self.problem_count = len(ordered)
        self.problems = ordered[:MAX_PROBLEMS]


@dataclass(frozen=True, slots=True)
class UnitLine:
    """A line's unit; on a line with problems, what could not be read is None."""

    line: int
    detsis_no: int | None
    name: str
    kind: UnitKind | None
    province_id: int | None
    parent_no: int | None


@dataclass
class DetsisFile:
    """A file read and checked on its own; `check_references` adds what only the database can tell."""

    name: str | None
    sha256: str
    lines: list[UnitLine] = field(default_factory=list)  # every unit line, with problems or without
    units: list[UnitLine] = field(default_factory=list)  # the lines without problems, each number once
    numbers: dict[int, int] = field(default_factory=dict)  # each number the file gives → its first line
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class ImportReport:
    added: int
    changed: int
    reactivated: int
    deactivated: int
    unchanged: int
    added_numbers: list[int]  # the first REPORTED_NUMBERS of each, in order
    changed_numbers: list[int]
    reactivated_numbers: list[int]
    deactivated_numbers: list[int]


def _rejected(code: ProblemCode, message: str) -> DetsisFileRejected:
    """A file rejected as a whole, before its lines are read."""
    return DetsisFileRejected([Problem(None, code, message)])


@raises(DetsisFileRejected)
def read_file(data: bytes, *, name: str | None, max_bytes: int) -> DetsisFile:
    """The file's units and the problems of its lines. A file that cannot be read line by line (too large, not
    UTF-8, empty, a header without the columns) is rejected at once."""
    if len(data) > max_bytes:
        raise _rejected(ProblemCode.FILE_TOO_LARGE,
                        f"DETSİS dosyası en fazla {max_bytes / (1024 * 1024):g} MB olabilir.")
    file = DetsisFile(name=name, sha256=hashlib.sha256(data).hexdigest())
    lines = data.removeprefix(_BOM).split(b"\n")
    try:
        texts = [line.decode("utf-8").removesuffix("\r") for line in lines]
    except UnicodeDecodeError:
        raise DetsisFileRejected(list(_undecodable(lines))) from None
    numbered = [(number, line) for number, line in enumerate(texts, start=1) if line.strip()]
    if len(numbered) < 2:
        raise _rejected(ProblemCode.EMPTY_FILE, "DETSİS dosyası boş: başlık satırından sonra birim satırı yok.")
    (header_line, header), rows = numbered[0], numbered[1:]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    columns = _columns(header_line, _fields(header, delimiter) or [])
    for number, line in rows:
        fields = _fields(line, delimiter)
        if fields is None:
            file.problems.append(Problem(number, ProblemCode.MALFORMED_LINE,
                                         "Satır okunamadı: tırnak işaretleri eşleşmiyor veya satırda geçersiz "
                                         "bir karakter var."))
        elif len(fields) != len(columns):
            file.problems.append(Problem(number, ProblemCode.WRONG_COLUMN_COUNT,
                                         f"Satırda {len(fields)} sütun var; başlıkta {len(columns)} sütun var."))
        else:
            _read_unit(file, number, dict(zip(columns, fields)))
    return file


def _undecodable(lines: list[bytes]) -> Iterable[Problem]:
    for number, line in enumerate(lines, start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            yield Problem(number, ProblemCode.NOT_UTF8,
                          "Satır UTF-8 kodlamasında değil; dosyayı UTF-8 olarak kaydedip yeniden yükleyiniz.")


def _fields(line: str, delimiter: str) -> list[str] | None:
    try:
        return [value.strip() for value in next(csv.reader((line,), delimiter=delimiter, strict=True))]
    except csv.Error:
        return None


def _columns(line: int, names: list[str]) -> list[str]:
    """The column of each field of the header; a header that lacks a column or names an unknown one is rejected."""
    columns = [HEADERS.get(fold(name)) for name in names]
    problems = [Problem(line, ProblemCode.UNKNOWN_COLUMN, f"“{name}” sütunu tanınmıyor; sütunlar: {_HEADER}.")
                for name, column in zip(names, columns) if column is None]
    problems += [Problem(line, ProblemCode.DUPLICATE_COLUMN, f"“{name}” sütunu başlıkta birden fazla kez geçiyor.")
                 for i, (name, column) in enumerate(zip(names, columns)) if column and column in columns[:i]]
    problems += [Problem(line, ProblemCode.MISSING_COLUMN, f"“{title}” sütunu eksik; sütunlar: {_HEADER}.")
                 for column, title in TITLES.items() if column not in columns]
    if problems:
        raise DetsisFileRejected(problems)
    return columns


def _read_unit(file: DetsisFile, line: int, values: dict[str, str]) -> None:
    """One line's unit into `file.units`, or its problems into `file.problems`."""
    problems = []
    number, kind_name, province, parent = values["number"], values["kind"], values["province"], values["parent"]
    detsis_no = int(number) if _NUMBER.fullmatch(number) else None
    if detsis_no is None:
        problems.append((ProblemCode.INVALID_NUMBER,
                         f"“{number}” geçerli bir DETSİS numarası değil: 8 haneli bir sayı olmalı."))
    elif detsis_no in file.numbers:
        problems.append((ProblemCode.DUPLICATE_NUMBER, f"DETSİS numarası {detsis_no} dosyada daha önce "
                                                       f"{file.numbers[detsis_no]}. satırda geçiyor."))
    else:
        file.numbers[detsis_no] = line
    name = " ".join(values["name"].split())
    if not name:
        problems.append((ProblemCode.EMPTY_NAME, "Birim adı boş."))
    elif len(name) > MAX_NAME_LENGTH:
        problems.append((ProblemCode.NAME_TOO_LONG, f"Birim adı en fazla {MAX_NAME_LENGTH} karakter olabilir."))
    kind = KINDS.get(fold(kind_name))
    if kind is None:
        problems.append((ProblemCode.UNKNOWN_KIND, f"“{kind_name}” bilinen bir birim türü değil; türler: "
                                                   f"{', '.join(kind.name for kind in UnitKind)}."))
    if province and not _PLATE.fullmatch(province):
        problems.append((ProblemCode.UNKNOWN_PROVINCE, f"“{province}” bir il plaka kodu değil."))
    if parent and not _NUMBER.fullmatch(parent):
        problems.append((ProblemCode.INVALID_PARENT, f"Üst birim “{parent}” geçerli bir DETSİS numarası değil."))
    unit = UnitLine(line, detsis_no, name, kind, int(province) if _PLATE.fullmatch(province) else None,
                    int(parent) if _NUMBER.fullmatch(parent) else None)
    file.lines.append(unit)
    if problems:
        file.problems.extend(Problem(line, code, message) for code, message in problems)
    else:
        file.units.append(unit)


def check_references(file: DetsisFile, provinces: set[int], known: dict[int, int | None]) -> list[Problem]:
    """What the database tells about the file's units: their provinces and parents exist, and no chain of
    parents comes back to where it began. `known` is every unit's parent, by number."""
    problems = []
    for unit in file.lines:  # a line with other problems too: every problem is reported at once
        if unit.province_id is not None and unit.province_id not in provinces:
            problems.append(Problem(unit.line, ProblemCode.UNKNOWN_PROVINCE,
                                    f"{unit.province_id} plaka kodlu bir il yok."))
        if unit.parent_no is not None and unit.parent_no not in file.numbers and unit.parent_no not in known:
            problems.append(Problem(unit.line, ProblemCode.UNKNOWN_PARENT,
                                    f"Üst birim {unit.parent_no} ne dosyada ne de kayıtlı birimler arasında var."))
    first_lines = [unit for unit in file.lines if unit.detsis_no and file.numbers[unit.detsis_no] == unit.line]
    return problems + _cycles(first_lines, known)


def _cycles(units: list[UnitLine], known: dict[int, int | None]) -> list[Problem]:
    """A problem for each line whose unit is on a cycle of parents, once the file is applied (its units
    replacing the known ones)."""
    parent_of = known | {unit.detsis_no: unit.parent_no for unit in units}
    line_of = {unit.detsis_no: unit.line for unit in units}
    walked: dict[int, bool] = {}  # number → whether it is on the walk under way (False: walked before)
    problems = []
    for start in line_of:
        path, number = [], start
        while number is not None and number not in walked:
            walked[number] = True
            path.append(number)
            number = parent_of.get(number)
        if number is not None and walked[number]:  # back on this walk: a cycle
            cycle = path[path.index(number):]
            chain = " → ".join(map(str, [*cycle, number]))
            problems += [Problem(line_of[member], ProblemCode.PARENT_CYCLE, f"Üst birim zinciri kendine dönüyor: "
                                                                            f"{chain}.")
                         for member in cycle if member in line_of]
        walked.update(dict.fromkeys(path, False))
    return problems


_LOCK = text("LOCK TABLE unit IN SHARE ROW EXCLUSIVE MODE")  # one import at a time; routing to units goes on
# A whole directory's first import writes 100,000 units in one statement (~4 s on 2 cores): more than a request's
# statement timeout allows on a slower server, or for a larger file.
_TIMEOUT = text("SET LOCAL statement_timeout = '60s'")
_KNOWN = select(Unit.detsis_no, Unit.parent_no)
_PROVINCES = select(Province.id)
_FILE_TABLE = text("""
    CREATE TEMPORARY TABLE detsis_file (
        detsis_no integer PRIMARY KEY, name varchar(256) NOT NULL, kind varchar(32) NOT NULL, province_id smallint,
        parent_no integer
    ) ON COMMIT DROP""")
_FILE_COLUMNS = ["detsis_no", "name", "kind", "province_id", "parent_no"]
# The audit rows of the changes, written before the changes from the rows as they are; the changed fields only
# (those that stay the same are subtracted from both sides). Per action: how many, and the first numbers.
_AUDIT = text("""
    WITH change AS (
        SELECT f.detsis_no, f.province_id,
               CASE WHEN u.detsis_no IS NULL THEN 'CREATED' WHEN u.active THEN 'UPDATED' ELSE 'REACTIVATED' END
                   AS action,
               CASE WHEN u.detsis_no IS NOT NULL THEN jsonb_build_object(
                   'name', u.name, 'kind', u.kind, 'province_id', u.province_id, 'parent_no', u.parent_no,
                   'active', u.active) END AS before,
               jsonb_build_object('name', f.name, 'kind', f.kind, 'province_id', f.province_id,
                                  'parent_no', f.parent_no, 'active', true) AS after,
               CASE WHEN u.detsis_no IS NULL THEN '{}'::text[] ELSE ARRAY[
                   CASE WHEN u.name = f.name THEN 'name' END, CASE WHEN u.kind = f.kind THEN 'kind' END,
                   CASE WHEN u.province_id IS NOT DISTINCT FROM f.province_id THEN 'province_id' END,
                   CASE WHEN u.parent_no IS NOT DISTINCT FROM f.parent_no THEN 'parent_no' END,
                   CASE WHEN u.active THEN 'active' END] END AS same
        FROM detsis_file f LEFT JOIN unit u ON u.detsis_no = f.detsis_no
        WHERE u.detsis_no IS NULL OR NOT u.active
           OR (u.name, u.kind, u.province_id, u.parent_no) IS DISTINCT FROM (f.name, f.kind, f.province_id, f.parent_no)
        UNION ALL
        SELECT u.detsis_no, u.province_id, 'DEACTIVATED', '{"active": true}', '{"active": false}', '{}'
        FROM unit u
        WHERE u.active AND NOT EXISTS (SELECT FROM detsis_file f WHERE f.detsis_no = u.detsis_no)
    ), written AS (
        INSERT INTO audit_event (actor_id, actor_label, actor_role, entity, entity_id, action, province_id, before,
                                 after)
        SELECT CAST(:actor_id AS integer), CAST(:actor_label AS varchar), CAST(:actor_role AS varchar), 'UNIT',
               detsis_no::text, action, province_id, before - same, after - same
        FROM change ORDER BY detsis_no
        RETURNING action, entity_id::integer AS detsis_no
    )
    SELECT action, count(*), (array_agg(detsis_no ORDER BY detsis_no))[1:CAST(:listed AS integer)]
    FROM written GROUP BY action""")
# The new units, then the changed ones (a changed unit may be moved under a new one). The table is locked against
# other writers: no number can be taken between the two.
_INSERT = text("""
    INSERT INTO unit (detsis_no, name, kind, province_id, parent_no)
    SELECT f.detsis_no, f.name, f.kind, f.province_id, f.parent_no FROM detsis_file f
    WHERE NOT EXISTS (SELECT FROM unit u WHERE u.detsis_no = f.detsis_no)""")
_UPDATE = text("""
    UPDATE unit u
    SET name = f.name, kind = f.kind, province_id = f.province_id, parent_no = f.parent_no, active = true
    FROM detsis_file f
    WHERE u.detsis_no = f.detsis_no
      AND (NOT u.active
           OR (u.name, u.kind, u.province_id, u.parent_no) IS DISTINCT FROM (f.name, f.kind, f.province_id, f.parent_no))
""")
_DEACTIVATE = text("""
    UPDATE unit SET active = false
    WHERE active AND NOT EXISTS (SELECT FROM detsis_file f WHERE f.detsis_no = unit.detsis_no)""")


@raises(DetsisFileRejected)
async def import_units(connection: AsyncConnection, actor: User, file: DetsisFile) -> ImportReport:
    """Apply a file `read_file` read, in the caller's transaction; rejected (nothing written) if it has problems."""
    await connection.execute(_TIMEOUT)
    await connection.execute(_LOCK)
    provinces = set((await connection.scalars(_PROVINCES)).all())
    known = dict((await connection.execute(_KNOWN)).all())
    problems = file.problems + check_references(file, provinces, known)
    if problems:
        raise DetsisFileRejected(problems)
    await connection.execute(_FILE_TABLE)
    driver = (await connection.get_raw_connection()).driver_connection
    await driver.copy_records_to_table("detsis_file", columns=_FILE_COLUMNS, records=[
        (unit.detsis_no, unit.name, unit.kind.name, unit.province_id, unit.parent_no) for unit in file.units])
    await connection.execute(text("ANALYZE detsis_file"))
    who = audit.event_values(actor, AuditEntity.UNIT, "", AuditAction.IMPORTED, province_id=None)
    changes = {AuditAction[action]: (count, numbers) for action, count, numbers in await connection.execute(_AUDIT, {
        "actor_id": who["actor_id"], "actor_label": who["actor_label"], "actor_role": actor.role.name,
        "listed": REPORTED_NUMBERS})}
    # Only the statements with something to do: each fires the reference version's trigger, even on no row.
    for statement, actions in ((_INSERT, [AuditAction.CREATED]),
                               (_UPDATE, [AuditAction.UPDATED, AuditAction.REACTIVATED]),
                               (_DEACTIVATE, [AuditAction.DEACTIVATED])):
        if any(action in changes for action in actions):
            await connection.execute(statement)
    counts = {action: changes.get(action, (0, []))[0] for action in AuditAction}
    numbers = {action: changes.get(action, (0, []))[1] for action in AuditAction}
    report = ImportReport(
        added=counts[AuditAction.CREATED], changed=counts[AuditAction.UPDATED],
        reactivated=counts[AuditAction.REACTIVATED], deactivated=counts[AuditAction.DEACTIVATED],
        unchanged=len(file.units) - counts[AuditAction.CREATED] - counts[AuditAction.UPDATED]
        - counts[AuditAction.REACTIVATED],
        added_numbers=numbers[AuditAction.CREATED], changed_numbers=numbers[AuditAction.UPDATED],
        reactivated_numbers=numbers[AuditAction.REACTIVATED], deactivated_numbers=numbers[AuditAction.DEACTIVATED])
    await audit.record(connection, actor, AuditEntity.UNIT, file.sha256[:32], AuditAction.IMPORTED, province_id=None,
                       after={"file_name": file.name, "units": len(file.units), "added": report.added,
                              "changed": report.changed, "reactivated": report.reactivated,
                              "deactivated": report.deactivated, "unchanged": report.unchanged})
    return report
