"""How long a DETSİS import takes: a generated directory of N units imported, then imported again with changes.

    .venv/bin/python scripts/bench_detsis.py                    # 100,000 units on a throwaway embedded database
    .venv/bin/python scripts/bench_detsis.py --units 300000
    .venv/bin/python scripts/bench_detsis.py --dsn postgresql://…/scratch   # a scratch database: its units are
                                                                           # replaced by the generated ones

The file looks like the real directory: the shipped units (acikkapi/data/detsis_units.json), ministries and
their genel müdürlükler and bölge müdürlükleri, each province's valilik, il müdürlükleri, il özel idaresi and
belediye, each district's kaymakamlık, belediye and ilçe müdürlükleri, then more units under those until there
are N; in random order (a unit often comes before its parent), with names in Turkish capitals. The re-import
renames 2% of the units, moves 1% under another parent, leaves 1% out (deactivated) and adds 1%.

Each import runs as the server runs it (services/detsis_import.py, the server's statement timeout): the file
read and checked on its own, then checked against the database and applied in one transaction by the ministry's
user admin. Printed: the file's size, the seconds of each part and the report's counts.
"""

import argparse
import asyncio
import csv
import io
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from acikkapi.cli import prepare_database
from acikkapi.db import make_engine, make_sessionmaker, resolve_database_url, stop_embedded_postgres
from acikkapi.models import User
from acikkapi.services import detsis_import
from acikkapi.services.reference_data import DATA, DEMO_USERS, read_addresses
from acikkapi.settings import Settings

NATIONAL_ADMIN = next(user[0] for user in DEMO_USERS if user[4].name == "YETKI_ISLEMLERI" and user[5] is None)
SUBJECTS = ["MİLLÎ EĞİTİM", "SAĞLIK", "TARIM VE ORMAN", "ÇEVRE, ŞEHİRCİLİK VE İKLİM DEĞİŞİKLİĞİ", "GENÇLİK VE SPOR",
            "AİLE VE SOSYAL HİZMETLER", "KÜLTÜR VE TURİZM", "SANAYİ VE TEKNOLOJİ", "TİCARET", "NÜFUS VE VATANDAŞLIK",
            "GÖÇ İDARESİ", "AFET VE ACİL DURUM", "MÜFTÜLÜK", "VAKIFLAR", "KARAYOLLARI", "DEVLET SU İŞLERİ",
            "ORMAN İŞLETME", "TAPU VE KADASTRO", "ÇALIŞMA VE İŞ KURUMU", "SOSYAL GÜVENLİK"]
MINISTRIES = ["ADALET", "AİLE VE SOSYAL HİZMETLER", "ÇALIŞMA VE SOSYAL GÜVENLİK", "ÇEVRE, ŞEHİRCİLİK VE İKLİM "
              "DEĞİŞİKLİĞİ", "DIŞİŞLERİ", "ENERJİ VE TABİİ KAYNAKLAR", "GENÇLİK VE SPOR", "HAZİNE VE MALİYE",
              "KÜLTÜR VE TURİZM", "MİLLÎ EĞİTİM", "MİLLÎ SAVUNMA", "SAĞLIK", "SANAYİ VE TEKNOLOJİ", "TARIM VE ORMAN",
              "TİCARET", "ULAŞTIRMA VE ALTYAPI"]
OFFICES = ["ŞUBE MÜDÜRLÜĞÜ", "BÜRO AMİRLİĞİ", "HİZMET BİRİMİ", "KOORDİNATÖRLÜĞÜ", "ŞEFLİĞİ", "MERKEZİ"]


def directory(count: int, rng: random.Random) -> list[list]:
    """At least `count` units as [number, name, kind, province, parent], the shipped ones first (the skeleton
    alone is about 10,000: a smaller count gets the skeleton)."""
    units = [[u["detsis_no"], u["name"], u["kind"], u["province"], u["parent"]]
             for u in json.loads((DATA / "detsis_units.json").read_text())]
    taken = {unit[0] for unit in units}

    def add(name: str, kind: str, province: int | None, parent: int | None) -> int:
        number = rng.randrange(10_000_000, 100_000_000)
        while number in taken:
            number = rng.randrange(10_000_000, 100_000_000)
        taken.add(number)
        units.append([number, name, kind, province, parent])
        return len(units) - 1

    genel = {}
    for ministry in MINISTRIES:
        top = units[add(f"T.C. {ministry} BAKANLIĞI", "BAKANLIK", None, None)][0]
        for subject in rng.sample(SUBJECTS, 8):
            genel[subject] = units[add(f"{subject} GENEL MÜDÜRLÜĞÜ ({ministry})", "GENEL_MUDURLUK", None, top)][0]
    districts: dict[tuple[int, str], set[str]] = {}
    for plate, province, district, _ in read_addresses():
        districts.setdefault((plate, province), set()).add(district)
    offices = []  # the units more units go under
    for (plate, province), names in sorted(districts.items()):
        upper = province.upper()
        valilik = units[add(f"{upper} VALİLİĞİ", "VALILIK", plate, None)][0]
        add(f"{upper} İL ÖZEL İDARESİ", "IL_OZEL_IDARESI", plate, valilik)
        add(f"{upper} BELEDİYESİ", "BELEDIYE", plate, None)
        for subject in SUBJECTS:
            offices.append(add(f"{upper} İL {subject} MÜDÜRLÜĞÜ", "IL_MUDURLUGU", plate, genel.get(subject, valilik)))
        for subject in rng.sample(SUBJECTS, 3):
            add(f"{upper} {subject} BÖLGE MÜDÜRLÜĞÜ", "BOLGE_MUDURLUGU", plate, genel.get(subject))
        for district in sorted(names):
            name = district.upper()
            kaymakamlik = units[add(f"{name} KAYMAKAMLIĞI", "KAYMAKAMLIK", plate, valilik)][0]
            add(f"{name} BELEDİYESİ", "BELEDIYE", plate, None)
            for subject in rng.sample(SUBJECTS, 6):
                offices.append(add(f"{name} İLÇE {subject} MÜDÜRLÜĞÜ", "IL_MUDURLUGU", plate, kaymakamlik))
    while len(units) < count:
        parent, name, _, plate, _ = units[rng.choice(offices)]
        add(f"{name} {rng.choice(OFFICES)} {len(units)}", "IL_MUDURLUGU", plate, parent)
    return units


def changed(units: list[list], rng: random.Random) -> list[list]:
    """The directory a while later: 2% renamed, 1% moved, 1% left out, 1% new (under units that stay)."""
    units = [list(unit) for unit in units]
    parents = {unit[4] for unit in units}
    leaves = [i for i, unit in enumerate(units) if unit[0] not in parents and unit[2] == "IL_MUDURLUGU"]
    rng.shuffle(leaves)
    share = len(units) // 100
    for i in leaves[:2 * share]:
        units[i][1] += " (YENİ ADI)"
    for i in leaves[2 * share:3 * share]:
        units[i][4] = units[rng.choice(leaves[4 * share:])][0]
    gone = set(leaves[3 * share:4 * share])
    kept = [unit for i, unit in enumerate(units) if i not in gone]
    taken = {unit[0] for unit in units}
    for n in range(share):
        number = rng.randrange(10_000_000, 100_000_000)
        while number in taken:
            number = rng.randrange(10_000_000, 100_000_000)
        taken.add(number)
        parent = rng.choice(kept)
        kept.append([number, f"{parent[1]} YENİ BİRİM {n}", "IL_MUDURLUGU", parent[3], parent[0]])
    return kept


def csv_file(units: list[list], rng: random.Random) -> bytes:
    rows = list(units)
    rng.shuffle(rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["DETSİS No", "Ad", "Tür", "İl", "Üst Birim"])
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    return out.getvalue().encode()


async def timed_import(sessionmaker, actor: User, content: bytes, max_bytes: int) -> tuple[dict, float, float]:
    started = time.perf_counter()
    file = await asyncio.to_thread(detsis_import.read_file, content, name="detsis.csv", max_bytes=max_bytes)
    read = time.perf_counter()
    async with sessionmaker() as session, session.begin():
        report = await detsis_import.import_units(await session.connection(), actor, file)
    return report, read - started, time.perf_counter() - read


async def bench(settings: Settings, count: int, seed: int) -> None:
    rng = random.Random(seed)
    await prepare_database(settings, seed=True, demo=True)
    engine = make_engine(resolve_database_url(settings), pool_size=2, settings=settings)
    try:
        async with make_sessionmaker(engine)() as session:
            actor = await session.scalar(select(User).where(User.tckn == NATIONAL_ADMIN))
        first = directory(count, rng)
        second = changed(first, rng)
        for title, units in (("first import", first), ("re-import", second)):
            content = csv_file(units, rng)
            max_bytes = max(settings.detsis_max_file_bytes, len(content))
            report, reading, applying = await timed_import(make_sessionmaker(engine), actor, content, max_bytes)
            print(f"{title}: {len(units):,} units, {len(content) / 2**20:.1f} MB: read and checked {reading:.2f} s, "
                  f"applied {applying:.2f} s, in all {reading + applying:.2f} s")
            print(f"    added {report.added:,}, changed {report.changed:,}, reactivated {report.reactivated:,}, "
                  f"deactivated {report.deactivated:,}, unchanged {report.unchanged:,}")
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--dsn", help="a scratch PostgreSQL database (its units are replaced)")
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    work = None if args.dsn else Path(tempfile.mkdtemp(prefix="acikkapi-detsis-"))
    settings = Settings(database_url=args.dsn) if args.dsn else Settings(data_dir=work)
    try:
        asyncio.run(bench(settings, args.units, args.seed))
    finally:
        if work:
            stop_embedded_postgres()
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
