"""The "Rapor Al" workbook: what staff see when they open an export, read back with openpyxl."""

import asyncio
import csv
import io
import os
import shutil
import subprocess
import tracemalloc
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from acikkapi.services.workbook import (
    MAX_CELL_CHARS,
    Column,
    ColumnKind,
    write_workbook,
    write_workbook_from_batches,
)

COLUMNS = [
    Column("Başvuru Takip No", ColumnKind.INTEGER, 16),
    Column("Ad Soyad", ColumnKind.TEXT, 24),
    Column("Başvuru Tarihi", ColumnKind.DATETIME, 17),
    Column("Cevap Tarihi", ColumnKind.DATE, 12),
    Column("Başvuru Konusu", ColumnKind.TEXT, 60),
]
ROWS = [
    (1047, "MEHMET ŞAHİN", datetime(2024, 3, 1, 21, 30, tzinfo=UTC), date(2024, 3, 8), "Sokak lambası yanmıyor"),
    (1048, "AYŞE ÇİÇEK", datetime(2024, 7, 15, 6, 5, 9, tzinfo=UTC), None, "=HYPERLINK(\"http://kötü\",\"Tıkla\")"),
    (1049, "İSMAİL GÜNDÜZ", datetime(2024, 1, 2, 9, 0, tzinfo=UTC), None, "Zil\x07 sesi \x00ve <çöp> & su"),
]


def sheet_of(path):
    return openpyxl.load_workbook(path).active


def values(sheet):
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def many_rows(count):
    """Rows as a cursor hands them over: each its own objects, so holding them would show in memory."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(count):
        yield (i, f"VATANDAŞ {i} ŞAHİN", start + timedelta(minutes=i), date(2024, 1, 1) + timedelta(days=i % 400),
               f"Başvuru {i}: mahallemizdeki çöp konteynerleri düzenli toplanmıyor, gereğini arz ederim.")


async def batches_of(rows, size, produced=None):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            if produced is not None:
                produced.append(len(batch))
            yield batch
            batch = []
            await asyncio.sleep(0)
    if batch:
        yield batch


class TestWriteWorkbook:
    def test_the_header_row_is_bold_frozen_and_filtered(self, tmp_path):
        path = tmp_path / "rapor.xlsx"
        write_workbook(path, "Başvurular", COLUMNS, ROWS)
        sheet = sheet_of(path)
        assert sheet.title == "Başvurular"
        assert values(sheet)[0] == [column.header for column in COLUMNS]
        assert all(cell.font.b for cell in sheet[1])
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == "A1:E4"
        assert sheet.column_dimensions["E"].width == 60

    def test_numbers_are_numbers_and_times_are_dates_in_istanbul(self, tmp_path):
        path = tmp_path / "rapor.xlsx"
        assert write_workbook(path, "Başvurular", COLUMNS, ROWS) == 3
        sheet = sheet_of(path)
        number, name, submitted, answered, _ = values(sheet)[1]
        assert number == 1047 and type(number) is int
        assert submitted == datetime(2024, 3, 2, 0, 30)  # 21:30 UTC is past midnight in Istanbul
        assert sheet["C2"].number_format == "dd.mm.yyyy hh:mm"
        assert answered == datetime(2024, 3, 8) and sheet["D2"].number_format == "dd.mm.yyyy"
        assert values(sheet)[2][2] == datetime(2024, 7, 15, 9, 5, 9)

    def test_a_date_column_given_an_instant_shows_its_day_in_istanbul(self, tmp_path):
        path = tmp_path / "rapor.xlsx"
        write_workbook(path, "Başvurular", COLUMNS[3:4], [(datetime(2024, 3, 8, 22, 15, tzinfo=UTC),)])
        assert sheet_of(path)["A2"].value == datetime(2024, 3, 9)

    def test_turkish_letters_are_kept(self, tmp_path):
        path = tmp_path / "rapor.xlsx"
        write_workbook(path, "Başvurular", COLUMNS, ROWS)
        assert [row[1] for row in values(sheet_of(path))[1:]] == ["MEHMET ŞAHİN", "AYŞE ÇİÇEK", "İSMAİL GÜNDÜZ"]

    def test_none_is_an_empty_cell(self, tmp_path):
        path = tmp_path / "rapor.xlsx"
        write_workbook(path, "Başvurular", COLUMNS, ROWS)
        sheet = sheet_of(path)
        assert sheet["D3"].value is None and sheet["D4"].value is None
        assert "<c r=\"D3\"" not in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()

    def test_a_formula_looking_text_stays_a_text(self, tmp_path):
        path = tmp_path / "rapor.xlsx"
        write_workbook(path, "Başvurular", COLUMNS, ROWS)
        cell = sheet_of(path)["E3"]
        assert cell.data_type == "s" and cell.value == "=HYPERLINK(\"http://kötü\",\"Tıkla\")"
        assert cell.quotePrefix  # Excel keeps it a text even when the cell is edited

    def test_a_text_that_looks_like_an_encoded_character_is_escaped_as_written(self, tmp_path):
        """ECMA-376 reads "_x0041_" in a string as "A": its underscore is written "_x005F_" to keep it. (openpyxl
        does not decode inline strings, so the XML itself is checked.)"""
        path = tmp_path / "rapor.xlsx"
        write_workbook(path, "Başvurular", COLUMNS[1:2], [("dosya_x0041_adı_x41",)])
        assert ">dosya_x005F_x0041_adı_x41<" in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()

    def test_characters_xml_cannot_carry_are_dropped_and_markup_is_escaped(self, tmp_path):
        path = tmp_path / "rapor.xlsx"
        write_workbook(path, "Başvurular", COLUMNS, ROWS + [(1050, "A\ud800B\ufffe", None, None, "satır\nsonu\t")])
        sheet = sheet_of(path)
        assert sheet["E4"].value == "Zil sesi ve <çöp> & su"
        assert sheet["B5"].value == "AB" and sheet["E5"].value == "satır\nsonu\t"

    def test_a_text_is_cut_at_excels_cell_limit(self, tmp_path):
        path = tmp_path / "rapor.xlsx"
        write_workbook(path, "Başvurular", COLUMNS[:2], [(1, "ş" * 40_000), (2, "😀" * 20_000)])
        sheet = sheet_of(path)
        assert sheet["B2"].value == "ş" * MAX_CELL_CHARS
        assert sheet["B3"].value == "😀" * (MAX_CELL_CHARS // 2)  # two UTF-16 units each; no half is left

    def test_a_naive_datetime_is_refused_rather_than_guessed(self, tmp_path):
        with pytest.raises(ValueError, match="naive"):
            write_workbook(tmp_path / "rapor.xlsx", "Başvurular", COLUMNS[2:3], [(datetime(2024, 1, 1),)])

    def test_a_failed_write_leaves_no_file(self, tmp_path):
        path = tmp_path / "rapor.xlsx"
        with pytest.raises(ValueError):
            write_workbook(path, "Başvurular", COLUMNS[:1], [(1,), ("bir",)])
        assert not path.exists()

    def test_progress_is_reported_every_n_rows_and_at_the_end(self, tmp_path):
        reported = []
        count = write_workbook(tmp_path / "rapor.xlsx", "Başvurular", COLUMNS, many_rows(2500),
                               progress=reported.append, progress_every=1000)
        assert count == 2500 and reported == [1000, 2000, 2500]

    def test_a_stream_target_gets_the_workbook(self):
        stream = io.BytesIO()
        write_workbook(stream, "Başvurular", COLUMNS, ROWS)
        assert values(sheet_of(io.BytesIO(stream.getvalue())))[3][0] == 1049

    def test_memory_stays_flat_whatever_the_row_count(self, tmp_path):
        def peak(action):
            tracemalloc.start()
            try:
                action()
                return tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

        small = peak(lambda: write_workbook(tmp_path / "a.xlsx", "S", COLUMNS, many_rows(2_000)))
        large = peak(lambda: write_workbook(tmp_path / "b.xlsx", "S", COLUMNS, many_rows(10_000)))
        extra_rows = peak(lambda: list(many_rows(8_000)))  # what holding the rows would add, at the least
        assert extra_rows > small, "rows this small would not show a writer that holds them"
        assert large < 1.5 * small


class TestWriteWorkbookFromBatches:
    async def test_all_rows_from_an_async_cursor_are_written(self, tmp_path):
        path = tmp_path / "rapor.xlsx"
        reported = []
        count = await write_workbook_from_batches(path, "Başvurular", COLUMNS, batches_of(many_rows(1050), 100),
                                                  progress=reported.append, progress_every=500)
        assert count == 1050 and reported == [500, 1000, 1050]
        assert values(sheet_of(path))[-1][0] == 1049

    async def test_the_cursor_is_never_more_than_a_few_batches_ahead(self, tmp_path):
        produced, lead = [], []

        def written(count):
            lead.append(sum(produced) - count)

        await write_workbook_from_batches(tmp_path / "rapor.xlsx", "S", COLUMNS,
                                          batches_of(many_rows(5000), 100, produced),
                                          progress=written, progress_every=100, max_pending=2)
        assert max(lead) <= (2 + 2) * 100  # the queue, the batch being written, the one being fetched

    async def test_a_failing_cursor_stops_the_writer_and_leaves_no_file(self, tmp_path):
        path = tmp_path / "rapor.xlsx"

        async def broken_cursor():
            yield list(many_rows(10))
            raise ConnectionError("the database went away")

        with pytest.raises(ConnectionError):
            await asyncio.wait_for(write_workbook_from_batches(path, "S", COLUMNS, broken_cursor()), 10)
        assert not path.exists()

    async def test_a_cancelled_export_stops_the_writer_and_leaves_no_file(self, tmp_path):
        path = tmp_path / "rapor.xlsx"
        started = asyncio.Event()
        export = asyncio.create_task(write_workbook_from_batches(
            path, "S", COLUMNS, batches_of(many_rows(1_000_000), 100), progress=lambda _: started.set(),
            progress_every=100))
        await asyncio.wait_for(started.wait(), 10)
        export.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(export, 10)
        assert not path.exists()

    async def test_a_failing_writer_stops_and_closes_the_cursor(self, tmp_path):
        produced, closed = [], []

        async def cursor():
            try:
                async for batch in batches_of([(1,)] * 150 + [("bir",)] + [(2,)] * 10_000, 50, produced):
                    yield batch
            finally:
                closed.append(True)

        with pytest.raises(ValueError):
            await asyncio.wait_for(write_workbook_from_batches(
                tmp_path / "rapor.xlsx", "S", COLUMNS[:1], cursor(), max_pending=2), 10)
        assert sum(produced) < 1000 and closed


# CI installs LibreOffice (.ci/run) and sets ACIKKAPI_TEST_LIBREOFFICE: there a missing soffice fails the test.
needs_libreoffice = pytest.mark.skipif(shutil.which("soffice") is None
                                       and os.environ.get("ACIKKAPI_TEST_LIBREOFFICE") != "required",
                                       reason="LibreOffice (soffice) is not installed")


def libreoffice_rows(path: Path, work: Path) -> list[list[str]]:
    """The workbook's first sheet as LibreOffice reads it: converted to csv (UTF-8) headless, cells as shown."""
    subprocess.run(["soffice", f"-env:UserInstallation=file://{work}/profile", "--headless", "--convert-to",
                    "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(work), str(path)],
                   check=True, capture_output=True, timeout=120)
    with open(work / f"{path.stem}.csv", encoding="utf-8") as converted:
        return list(csv.reader(converted))


@needs_libreoffice
def test_libreoffice_opens_the_workbook(tmp_path):
    path = tmp_path / "rapor.xlsx"
    write_workbook(path, "Başvurular", COLUMNS, ROWS)
    rows = libreoffice_rows(path, tmp_path)
    assert rows[0][0] == "Başvuru Takip No"
    assert rows[1][:4] == ["1047", "MEHMET ŞAHİN", "02.03.2024 00:30", "08.03.2024"]
    assert rows[2][4] == "=HYPERLINK(\"http://kötü\",\"Tıkla\")"
