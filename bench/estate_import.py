"""Benchmark of the estate import at Paris Habitat's scale (DESIGN.md §8).

Generates an ERP export of 125,900 dwellings and 286,500 people (21 agencies, 1,000
residences, 3,000 buildings, 6,000 entrances, 1,000 caretakers), then imports it with
``palier estate import`` into a fresh database, in a child process whose peak memory is read
from the kernel (``ru_maxrss`` returned by ``wait4``). A second import of the same file measures
the idempotent path (everything unchanged).

Run from anywhere with the project's interpreter::

    .venv/bin/python bench/estate_import.py              # SQLite
    .venv/bin/python bench/estate_import.py --postgresql # SQLite, then a throw-away PostgreSQL

Targets: at most 60 s and 500 MB peak for the first import. The last line printed is one JSON
object. Exit status: 0 targets met, 1 a target missed, 3 the benchmark could not run.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
VENV_BIN = Path(sys.executable).parent

AGENCIES = 21
RESIDENCES = 1000
BUILDINGS_PER_RESIDENCE = 3
ENTRANCES_PER_BUILDING = 2
DWELLINGS = 125_900
PEOPLE = 286_500
VACANT = 3_000  # about 2.4 % of the dwellings are empty on the day of the export
TARGET_SECONDS = 60.0
TARGET_PEAK_MB = 500.0
EXIT_OK, EXIT_TARGET_MISSED, EXIT_CANNOT_RUN = 0, 1, 3

HEADER = ["code_agence", "agence", "code_residence", "residence", "code_postal", "commune",
          "code_batiment", "batiment", "adresse", "code_entree", "entree", "code_logement",
          "etage", "porte", "typologie", "surface_m2", "code_menage", "code_bail",
          "date_debut_bail", "date_fin_bail", "code_personne", "civilite", "prenom", "nom",
          "email", "telephone", "email_gardien"]
FIRST_NAMES = ["Camille", "Nadia", "Jean", "Fatou", "Louis", "Inès", "Marc", "Zoé", "Karim",
               "Élise", "Hugo", "Mireille", "Yacine", "Sophie", "Thierry", "Léa", "Bernard",
               "Aïcha", "Paul", "Josiane", "Mamadou", "Chloé", "Rémi", "Samira"]
LAST_NAMES = ["Martin", "Bernard", "Diallo", "Garcia", "Nguyen", "Lefèvre", "Moreau", "Benali",
              "Rousseau", "Fontaine", "Mercier", "Ferreira", "Lambert", "Bonnet", "Chevalier",
              "Dupont", "Haddad", "Girard", "Roux", "Fabre", "Traoré", "Petit", "Da Silva"]
STREETS = ["rue de Belleville", "boulevard de la Villette", "rue des Pyrénées",
           "avenue de Flandre",
           "rue de Tolbiac", "rue Championnet", "boulevard Davout", "rue de la Roquette"]
KINDS = [("T1", 28.0), ("T2", 45.5), ("T3", 64.5), ("T4", 78.8), ("T5", 93.2), ("T6", 108.0)]


def caretaker_email(residence: int) -> str:
    return f"gardien{residence:04d}@bench.palier.fr"


def generate(path: Path, seed: int = 125900) -> dict:
    """Write the export; return what it holds."""
    rng = random.Random(seed)
    occupied = DWELLINGS - VACANT
    sizes = [1] * occupied
    for _ in range(PEOPLE - occupied):
        sizes[rng.randrange(occupied)] += 1
    vacant = set(rng.sample(range(DWELLINGS), VACANT))
    today = date(2026, 1, 1)
    lines = households = dwelling = 0
    entrances = RESIDENCES * BUILDINGS_PER_RESIDENCE * ENTRANCES_PER_BUILDING
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(HEADER)
        entrance_index = 0
        for residence in range(RESIDENCES):
            agency = residence % AGENCIES + 1
            arrondissement = residence % 20 + 1
            res_ref = f"RES{residence:04d}"
            estate = [f"AG{agency:02d}", f"Agence Paris {agency}", res_ref,
                      f"Résidence {rng.choice(LAST_NAMES)} {residence}",
                      f"750{arrondissement:02d}", "Paris"]
            for b in range(1, BUILDINGS_PER_RESIDENCE + 1):
                bld_ref = f"{res_ref}-B{b}"
                building = [bld_ref, f"Bâtiment {chr(64 + b)}",
                            f"{rng.randrange(1, 200)} {rng.choice(STREETS)}"]
                for e in range(1, ENTRANCES_PER_BUILDING + 1):
                    ent_ref = f"{bld_ref}-E{e}"
                    # Spread the dwellings evenly over the entrances.
                    count = (DWELLINGS * (entrance_index + 1)) // entrances - dwelling
                    entrance_index += 1
                    for n in range(count):
                        floor, door = divmod(n, 4)
                        kind, surface = rng.choice(KINDS)
                        dwelling_columns = [ent_ref, f"Entrée {e}", f"LOG{dwelling:06d}",
                                            "RDC" if floor == 0 else str(floor),
                                            f"{floor}{door + 1:02d}", kind,
                                            f"{surface:.1f}".replace(".", ",")]
                        head = estate + building + dwelling_columns
                        if dwelling in vacant:
                            writer.writerow(head + [""] * 10 + [caretaker_email(residence)])
                            lines += 1
                        else:
                            size = sizes[households]
                            households += 1
                            start = today - timedelta(days=rng.randrange(30, 12000))
                            lease = [f"MEN{households:06d}", f"BAIL{households:06d}",
                                     start.strftime("%d/%m/%Y"), ""]
                            last = rng.choice(LAST_NAMES)
                            for p in range(size):
                                first = rng.choice(FIRST_NAMES)
                                email = (f"{first}.{last}.{households}-{p}@exemple.fr".lower()
                                         .replace(" ", "") if rng.random() < 0.6 else "")
                                phone = (f"06 {rng.randrange(10**8):08d}"
                                         if rng.random() < 0.8 else "")
                                person = [f"PER{households:06d}-{p + 1}",
                                          rng.choice(["Mme", "M."]), first, last, email, phone]
                                writer.writerow(head + lease + person
                                                + [caretaker_email(residence)])
                                lines += 1
                        dwelling += 1
    return {"lines": lines, "dwellings": dwelling, "people": sum(sizes),
            "households": households, "bytes": path.stat().st_size}


def _environment(instance: Path, database_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PALIER_")}
    env.update(PALIER_INSTANCE_PATH=str(instance), PALIER_SECRET_KEY=secrets.token_hex(32),
               PALIER_ENVIRONMENT="production", PALIER_DATABASE_URL=database_url,
               PALIER_MAIL_KEEP_LOCALLY="true")
    return env


def _run(args: list[str], env: dict) -> None:
    completed = subprocess.run(args, env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}")


CREATE_CARETAKERS = """
from sqlalchemy import insert
from core import create_app
from core.accounts import Role, User
from core.extensions import db
with create_app().app_context():
    db.session.execute(insert(User), [
        {"email": f"gardien{n:04d}@bench.palier.fr", "display_name": f"Gardien {n}",
         "role": Role.CARETAKER, "active": True, "session_version": 1}
        for n in range(%d)])
    db.session.commit()
""" % RESIDENCES


def _peak_mb(usage) -> float:
    return round(usage.ru_maxrss / 1024, 1)  # Linux reports kibibytes


def bench_database(kind: str, csv_path: Path, facts: dict, database_url: str,
                   instance: Path) -> dict:
    env = _environment(instance, database_url)
    _run([str(VENV_BIN / "palier"), "db", "upgrade"], env)
    _run([sys.executable, "-c", CREATE_CARETAKERS], env)
    runs = {}
    for name in ("first", "again"):
        run = _import_with_rusage(csv_path, env)
        run["rows_per_s"] = round(facts["lines"] / run["seconds"])
        runs[name] = run
        print(f"{kind:<10} {name:<6} {run['seconds']:>7.2f} s {run['rows_per_s']:>9,} lines/s "
              f"{run['peak_mb']:>7.1f} MB peak", flush=True)
    return runs


def _import_with_rusage(csv_path: Path, env: dict) -> dict:
    started = time.perf_counter()
    child = subprocess.Popen([str(VENV_BIN / "palier"), "estate", "import", str(csv_path)],
                             env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
    output = child.stdout.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"the import failed (exit {child.returncode}):\n{output}")
    return {"seconds": round(seconds, 2), "peak_mb": _peak_mb(usage),
            "summary": output.strip().splitlines()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgresql", action="store_true",
                        help="also import into a throw-away PostgreSQL server")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    options = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="palier-bench-import-"))
    results: dict = {}
    problems: list[str] = []
    try:
        csv_path = folder / "patrimoine.csv"
        started = time.perf_counter()
        facts = generate(csv_path)
        print(f"Generated {csv_path.name}: {facts['lines']:,} lines, {facts['dwellings']:,} "
              f"dwellings, {facts['people']:,} people, {facts['bytes'] / 1e6:.1f} MB "
              f"in {time.perf_counter() - started:.1f} s", flush=True)
        (folder / "sqlite").mkdir()
        results["sqlite"] = bench_database(
            "SQLite", csv_path, facts, f"sqlite:///{folder / 'sqlite' / 'palier.sqlite3'}",
            folder / "sqlite")
        if options.postgresql:
            sys.path.insert(0, str(REPO_ROOT))
            from core.testing.postgres import TemporaryPostgres

            with TemporaryPostgres("palier_bench") as server:
                (folder / "postgresql").mkdir()
                results["postgresql"] = bench_database(
                    "PostgreSQL", csv_path, facts, server.url, folder / "postgresql")
    except Exception as error:  # noqa: BLE001 - reported as "could not run"
        print(f"The benchmark could not run: {error}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    finally:
        if not options.keep:
            shutil.rmtree(folder, ignore_errors=True)
    for kind, runs in results.items():
        first = runs["first"]
        if first["seconds"] > TARGET_SECONDS:
            problems.append(f"{kind}: {first['seconds']} s > {TARGET_SECONDS} s")
        if first["peak_mb"] > TARGET_PEAK_MB:
            problems.append(f"{kind}: {first['peak_mb']} MB > {TARGET_PEAK_MB} MB")
    for problem in problems:
        print("TARGET MISSED:", problem)
    print(json.dumps({"file": facts, "results": results, "problems": problems,
                      "targets": {"seconds": TARGET_SECONDS, "peak_mb": TARGET_PEAK_MB},
                      "ok": not problems}, ensure_ascii=False))
    return EXIT_TARGET_MISSED if problems else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
