"""Which writer for the "Rapor Al" Excel exports: time and memory of each candidate on the same rows.

    .venv/bin/python scripts/bench_workbook.py                  # 100,000 rows × 12 columns, about two minutes
    .venv/bin/python scripts/bench_workbook.py --writers csv,workbook,rustpy --repeat 3   # less noise

Each writer runs in a fresh process on rows made by a generator (so no writer can borrow a list that is
already in memory), in a worker thread while the event loop ticks every millisecond, as the server will run
it. Per writer it prints: seconds (the rows' generation included; the `generate` line is that part alone),
the ratio to the csv module, the process's peak RSS and its growth over the RSS just before writing, the
file's size, and the event loop's longest stall (how long the server would not answer while exporting).

Every writer does what the export needs: datetimes converted from UTC to Istanbul time, texts cleaned of
characters XML cannot carry, dates as dates; the csv module writes the rows as they come (the baseline of
the issue). Writers that are not installed are skipped: `pip install xlsxwriter rustpy-xlsxwriter
rvgsrust-xlsxwriter pyexcelerate` to measure them all.
"""

import argparse
import asyncio
import csv
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from acikkapi.services.workbook import _NOT_XML, ISTANBUL, Column, ColumnKind, write_workbook

COLUMNS = [
    Column("Başvuru Takip No", ColumnKind.INTEGER, 16), Column("Kategori", ColumnKind.TEXT, 40),
    Column("T.C. Kimlik No", ColumnKind.TEXT, 13), Column("Ad Soyad", ColumnKind.TEXT, 24),
    Column("Başvuru Konusu", ColumnKind.TEXT, 60), Column("Başvuru Tarihi", ColumnKind.DATETIME, 17),
    Column("Yönlendirme Tarihi", ColumnKind.DATE, 12), Column("Cevap Tarihi", ColumnKind.DATE, 12),
    Column("Durum", ColumnKind.TEXT, 26), Column("Birim", ColumnKind.TEXT, 40),
    Column("Geçen Gün", ColumnKind.INTEGER, 10), Column("Süresinde", ColumnKind.TEXT, 10),
]
HEADERS = [column.header for column in COLUMNS]

_FIRST = ["MEHMET", "AYŞE", "MUSTAFA", "FATMA", "AHMET", "EMİNE", "ALİ", "HATİCE", "HÜSEYİN", "ZEYNEP", "İSMAİL",
          "ŞÜKRÜ", "ÖZGÜR", "GÜLŞEN", "ÇAĞLA", "İBRAHİM"]
_LAST = ["YILMAZ", "KAYA", "DEMİR", "ŞAHİN", "ÇELİK", "YILDIZ", "YILDIRIM", "ÖZTÜRK", "AYDIN", "ÖZDEMİR", "ARSLAN",
         "DOĞAN", "KILIÇ", "ASLAN", "ÇETİN", "KOÇ", "KURT", "ÖZKAN", "ŞİMŞEK", "GÜNEŞ"]
_WORDS = ["başvuru", "mahallemizdeki", "sokağın", "aydınlatması", "çalışmıyor", "çöp", "konteynerleri", "düzenli",
          "toplanmıyor", "şikâyetimi", "iletiyorum", "gereğinin", "yapılmasını", "arz", "ederim", "okulun", "önündeki",
          "kaldırım", "kırık", "çocuklar", "için", "tehlikeli", "ilçe", "belediyesi", "muhtarlık", "su", "kesintisi",
          "günlerdir", "sürüyor", "yol", "çalışması", "ışıklandırma", "güvenlik", "değerlendirilmesini", "Ümraniye",
          "Çankaya", "Şişli", "Iğdır", "Ağrı", "Muş"]
_CATEGORIES = ["Altyapı Hizmetleri > Yol, Kaldırım ve Köprü Çalışmaları > Bakım ve Onarım Talepleri",
               "Çevre ve Şehircilik > Atık Yönetimi ve Temizlik > Çöp Toplama ile İlgili Şikâyetler",
               "Sağlık Hizmetleri > Devlet Hastaneleri ve Aile Sağlığı > Randevu ve Sıra Sorunları",
               "Millî Eğitim > Okul Güvenliği ve Öğrenci Taşımacılığı > Servis Araçları Şikâyetleri",
               "Kamu Düzeni ve Güvenlik > Asayiş Hizmetleri > Gürültü ve Rahatsızlık Şikâyetleri",
               "Sosyal Yardımlaşma ve Dayanışma > Muhtaç Ailelere Yardım > Başvuru Sonucu Takibi"]
_STATUSES = ["Yeni Başvuru", "İlgili Birime Yönlendirildi", "Cevaplandı", "Sonuçlandı (Olumlu)",
             "Sonuçlandı (Olumsuz)", "İşlem Görüyor"]
_UNITS = ["Ankara İl Sağlık Müdürlüğü", "Çankaya Kaymakamlığı Yazı İşleri Müdürlüğü", "İl Millî Eğitim Müdürlüğü",
          "Ankara Büyükşehir Belediyesi Fen İşleri Dairesi", "İl Emniyet Müdürlüğü", "Sosyal Yardımlaşma Vakfı"]


def rows(count: int, seed: int = 2024) -> Iterator[tuple]:
    """`count` rows as the search's cursor gives them, from pools so that generating them stays cheap."""
    pick = random.Random(seed)
    names = [f"{pick.choice(_FIRST)} {pick.choice(_LAST)}" for _ in range(997)]
    subjects = [" ".join(pick.choices(_WORDS, k=20)).capitalize()[:150] for _ in range(991)]
    subjects[::97] = ["=HYPERLINK(\"http://ornek\")" + s for s in subjects[::97]]  # what a prankster sends
    identities = [str(pick.randrange(10**10, 10**11)) for _ in range(983)]
    start = datetime(2023, 1, 1, tzinfo=UTC)
    moments = [start + timedelta(seconds=pick.randrange(0, 2 * 365 * 86400)) for _ in range(977)]
    days = [None if i % 4 == 0 else date(2024, 1, 1) + timedelta(days=i % 700) for i in range(971)]
    for i in range(count):
        yield (2023000001 + i, _CATEGORIES[i % 6], identities[i % 983], names[i % 997], subjects[i % 991],
               moments[i % 977], days[i % 971], days[(i * 7) % 971], _STATUSES[i % 6], _UNITS[(i * 5) % 6],
               i % 45, "Evet" if i % 3 else "Hayır")


def _prepared(row: tuple) -> list:
    """A row as the library writers need it: Istanbul wall time, clean texts."""
    return [value.astimezone(ISTANBUL).replace(tzinfo=None) if isinstance(value, datetime)
            else _clean(value) if isinstance(value, str) else value for value in row]


def _clean(text: str) -> str:
    return text if text.isprintable() else _NOT_XML.sub("", text)  # the libraries escape & < > themselves


# --- the writers ---------------------------------------------------------------------------------------------

def write_csv(path: Path, count: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(HEADERS)
        writer.writerows(rows(count))


def write_generate_only(path: Path, count: int) -> None:
    for _ in rows(count):
        pass


def write_project(path: Path, count: int) -> None:
    write_workbook(path, "Başvurular", COLUMNS, rows(count))


def write_openpyxl(path: Path, count: int) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Başvurular")
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{count + 1}"
    for i, column in enumerate(COLUMNS, 1):
        sheet.column_dimensions[get_column_letter(i)].width = column.width
    bold = Font(bold=True)
    header = [WriteOnlyCell(sheet, text) for text in HEADERS]
    for cell in header:
        cell.font = bold
    sheet.append(header)
    date_format = {ColumnKind.DATE: "dd.mm.yyyy", ColumnKind.DATETIME: "dd.mm.yyyy hh:mm"}
    for row in rows(count):
        values = _prepared(row)
        for i, column in enumerate(COLUMNS):
            if column.kind in date_format and values[i] is not None:
                cell = WriteOnlyCell(sheet, values[i])
                cell.number_format = date_format[column.kind]
                values[i] = cell
            elif isinstance(values[i], str) and values[i].startswith("="):
                cell = WriteOnlyCell(sheet, values[i])
                cell.data_type = "s"  # openpyxl would store it as a formula
                values[i] = cell
        sheet.append(values)
    book.save(path)


def write_xlsxwriter(path: Path, count: int) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("Başvurular")
    bold = book.add_format({"bold": True})
    formats = {ColumnKind.DATE: book.add_format({"num_format": "dd.mm.yyyy"}),
               ColumnKind.DATETIME: book.add_format({"num_format": "dd.mm.yyyy hh:mm"})}
    writers = {ColumnKind.TEXT: sheet.write_string, ColumnKind.INTEGER: sheet.write_number,
               ColumnKind.DATE: sheet.write_datetime, ColumnKind.DATETIME: sheet.write_datetime}
    for i, column in enumerate(COLUMNS):
        sheet.set_column(i, i, column.width)
    sheet.write_row(0, 0, HEADERS, bold)
    sheet.freeze_panes(1, 0)
    plan = [(i, writers[c.kind], formats.get(c.kind)) for i, c in enumerate(COLUMNS)]
    number = 0
    for number, row in enumerate(rows(count), 1):
        values = _prepared(row)
        for i, write, style in plan:
            if values[i] is not None:
                write(number, i, values[i], style)
    sheet.autofilter(0, 0, number, len(COLUMNS) - 1)
    book.close()


def write_rustpy(path: Path, count: int) -> None:
    from rustpy_xlsxwriter import Format, write_worksheet

    formats = {c.header: Format().set_num_format("dd.mm.yyyy" if c.kind is ColumnKind.DATE else "dd.mm.yyyy hh:mm")
               for c in COLUMNS if c.kind in (ColumnKind.DATE, ColumnKind.DATETIME)}
    records = (dict(zip(HEADERS, _prepared(row))) for row in rows(count))
    write_worksheet(records, str(path), sheet_name="Başvurular", freeze_row=1, bold_headers=True, autofilter=True,
                    column_widths=[c.width for c in COLUMNS], column_formats=formats)


def write_rvgsrust(path: Path, count: int) -> None:
    import rvgsrust_xlsxwriter as rv

    book = rv.Workbook(str(path))
    sheet = book.add_worksheet("Başvurular", constant_memory=True)
    bold = book.add_format().set_bold()
    styles = {ColumnKind.DATE: book.add_format().set_num_format("dd.mm.yyyy"),
              ColumnKind.DATETIME: book.add_format().set_num_format("dd.mm.yyyy hh:mm")}
    for i, column in enumerate(COLUMNS):
        sheet.set_column_width(i, column.width)
    sheet.write_row(0, 0, HEADERS, bold)
    sheet.freeze_panes(1, 0)
    plan = [(i, styles.get(c.kind)) for i, c in enumerate(COLUMNS)]
    write = sheet.write
    number = 0
    for number, row in enumerate(rows(count), 1):
        values = _prepared(row)
        for i, style in plan:
            if values[i] is not None:
                write(number, i, values[i], style)
    sheet.autofilter(0, 0, number, len(COLUMNS) - 1)
    book.close()


def write_pyexcelerate(path: Path, count: int) -> None:
    """Holds the whole sheet in memory: measured to show what streaming saves, not a candidate."""
    from pyexcelerate import Workbook

    book = Workbook()
    book.new_sheet("Başvurular", data=itertools.chain([HEADERS], (_prepared(row) for row in rows(count))))
    book.save(str(path))


WRITERS = {"generate": write_generate_only, "csv": write_csv, "workbook": write_project, "openpyxl": write_openpyxl,
           "xlsxwriter": write_xlsxwriter, "rustpy": write_rustpy, "rvgsrust": write_rvgsrust,
           "pyexcelerate": write_pyexcelerate}
MODULES = {"openpyxl": "openpyxl", "xlsxwriter": "xlsxwriter", "rustpy": "rustpy_xlsxwriter",
           "rvgsrust": "rvgsrust_xlsxwriter", "pyexcelerate": "pyexcelerate"}


# --- one measurement, in its own process ---------------------------------------------------------------------

def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def _measure(name: str, count: int, repeat: int, directory: Path) -> dict:
    path = directory / f"{name}.{'csv' if name == 'csv' else 'xlsx'}"
    if name in MODULES:
        __import__(MODULES[name])
    rss_before = _rss_mib()
    best, longest_stall = float("inf"), 0.0
    for _ in range(repeat):
        writing = asyncio.create_task(asyncio.to_thread(WRITERS[name], path, count))
        started = tick = time.perf_counter()
        while not writing.done():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            longest_stall, tick = max(longest_stall, now - tick - 0.001), now
        await writing
        best = min(best, time.perf_counter() - started)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"writer": name, "seconds": best, "peak_rss_mib": peak, "rss_growth_mib": peak - rss_before,
            "size_mib": path.stat().st_size / 2**20 if path.exists() else 0.0, "stall_ms": longest_stall * 1000}


def _run_one(name: str, count: int, repeat: int) -> dict:
    with tempfile.TemporaryDirectory() as directory:
        return asyncio.run(_measure(name, count, repeat, Path(directory)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--writers", default=",".join(WRITERS))
    parser.add_argument("--repeat", type=int, default=1, help="runs per writer; the fastest counts")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the child process's writer
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_run_one(args.one, args.rows, args.repeat)))
        return

    results = []
    for name in args.writers.split(","):
        if name in MODULES and subprocess.run([sys.executable, "-c", f"import {MODULES[name]}"],
                                              capture_output=True).returncode:
            print(f"{name}: not installed, skipped", file=sys.stderr)
            continue
        child = subprocess.run([sys.executable, __file__, "--one", name, "--rows", str(args.rows),
                                "--repeat", str(args.repeat)],
                               capture_output=True, text=True, check=True)
        results.append(json.loads(child.stdout))
        print(f"{name}: {results[-1]['seconds']:.2f} s", file=sys.stderr)

    baseline = next((r["seconds"] for r in results if r["writer"] == "csv"), None)
    runs = "one run each" if args.repeat == 1 else f"fastest of {args.repeat} runs"
    print(f"\n{args.rows:,} rows × {len(COLUMNS)} columns, {runs}, Python {sys.version.split()[0]}\n")
    print("| writer | seconds | × csv | peak RSS MiB | RSS growth MiB | file MiB | longest loop stall ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        ratio = f"{r['seconds'] / baseline:.2f}" if baseline else "-"
        print(f"| {r['writer']} | {r['seconds']:.2f} | {ratio} | {r['peak_rss_mib']:.0f} | {r['rss_growth_mib']:.1f} "
              f"| {r['size_mib']:.1f} | {r['stall_ms']:.0f} |")


if __name__ == "__main__":
    main()
