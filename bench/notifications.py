"""Benchmark of the notifications outbox: mails per second delivered by ``palier worker`` to a
loopback SMTP server, against a bare smtplib loop; a water-cut notice to 125,000 tenants.

Measured in one run, on the same machine:

- **baseline**: a bare ``smtplib`` loop on one connection sending the very messages the worker
  sends (same bytes, built by the mail channel beforehand) to the same SMTP server;
- **1 worker** (SQLite, and PostgreSQL with ``--postgresql``) and **4 workers** (PostgreSQL):
  ``--mails`` messages queued at once, then ``palier worker --until-idle`` processes draining
  them. The rate is measured at the server, from its first to its last acceptance, so that
  the workers' start-up (about a second, paid once per process) is left out; it is printed too;
- **water-cut notice**: 125,000 tenants (set-based inserts: estate, households, people with an
  e-mail, leases), then ``notify_many`` for all of them in one transaction: time to queue; then
  the workers deliver for ``--sample-seconds`` and the time to deliver all of them is
  extrapolated from that rate (``--full-delivery`` delivers them all instead).

The SMTP server (aiosmtpd, :mod:`core.testing.smtp`) runs in its own process, as a relay
would. Each measure is run ``--rounds`` times, alternated with the baseline; medians are
printed.

Run from anywhere with the project's interpreter::

    .venv/bin/python bench/notifications.py                # SQLite
    .venv/bin/python bench/notifications.py --postgresql   # SQLite, then PostgreSQL

Targets (DESIGN.md §8): the notice queued in at most 30 s; at least 500 mails/s with 4
workers. The last line printed is one JSON object. Exit status: 0 targets met, 1 a target
missed, 3 the benchmark could not run.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(REPO_ROOT))

TARGET_QUEUE_SECONDS = 30.0
TARGET_FOUR_WORKERS_PER_S = 500.0
EXIT_OK, EXIT_TARGET_MISSED, EXIT_CANNOT_RUN = 0, 1, 3
PALIER = [sys.executable, "-c", "from core.cli import main; main()"]

# The SMTP server's process: answers "count" (accepted, distinct Message-IDs, first and last
# acceptance time) and "clear" on its standard input.
SERVER = """
import sys, time
sys.path.insert(0, %r)
from core.testing.smtp import SMTPServer
server = SMTPServer()
server.start()
print(server.port, flush=True)
for line in sys.stdin:
    command = line.strip()
    if command == "count":
        with server.lock:
            times = list(server.received_at)
        ids = server.count_by_message_id()
        print(len(times), len(ids), times[0] if times else 0, times[-1] if times else 0,
              time.monotonic(), flush=True)
    elif command == "clear":
        server.clear()
        print("ok", flush=True)
server.stop()
""" % str(REPO_ROOT)


class Relay:
    """The loopback SMTP server in a child process."""

    def __init__(self):
        self.process = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        self.port = int(self.process.stdout.readline())

    def count(self) -> dict:
        self.process.stdin.write("count\n")
        self.process.stdin.flush()
        accepted, distinct, first, last, now = self.process.stdout.readline().split()
        return {"accepted": int(accepted), "distinct": int(distinct), "first": float(first),
                "last": float(last), "now": float(now)}

    def clear(self) -> None:
        self.process.stdin.write("clear\n")
        self.process.stdin.flush()
        self.process.stdout.readline()

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def environment(instance: Path, database_url: str, relay: Relay) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PALIER_")}
    env.update(PALIER_INSTANCE_PATH=str(instance), PALIER_SECRET_KEY=secrets.token_hex(32),
               PALIER_ENVIRONMENT="production", PALIER_DATABASE_URL=database_url,
               PALIER_PLUGINS='["notifications"]', PALIER_PUBLIC_URL="https://palier.example",
               PALIER_MAIL_SERVER="127.0.0.1", PALIER_MAIL_PORT=str(relay.port),
               PALIER_NOTIFICATIONS_CHANNELS='["mail"]', PYTHONWARNINGS="ignore")
    return env


def make_app(env: dict):
    from core import create_app

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return create_app()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def queue_test_mails(app, count: int, tag: str) -> None:
    from core.accounts import utcnow
    from core.extensions import db
    from plugins.notifications.models import Status
    from plugins.notifications.outbox import idempotency_key, queue_rows

    now = utcnow()
    with app.app_context():
        queue_rows([{
            "idempotency_key": idempotency_key(f"{tag}:{n}", f"bench{n}", "mail"),
            "event": f"{tag}:{n}", "kind": "notifications.notice", "channel": "mail",
            "person_id": None, "address": f"locataire{n}@exemple.fr",
            "recipient_name": f"Mme Locataire {n}", "locale": "fr", "context": NOTICE,
            "urgent": False, "status": Status.QUEUED, "attempts": 0, "not_before": now,
            "created_at": now, "updated_at": now} for n in range(count)])
        db.session.commit()
        db.session.remove()


NOTICE = {"title": "Coupure d'eau jeudi 26 novembre",
          "body": "L'eau sera coupée de 9 h à 12 h pour remplacer une vanne de la colonne "
                  "montante. Pensez à faire une réserve d'eau la veille.",
          "residence": "Les Tilleuls", "link": "https://palier.example/portal/notices/42"}


def prepared_mails(app, count: int) -> list[tuple[str, bytes]]:
    """The mails the worker sends, built by the mail channel: (recipient, bytes)."""
    from plugins.notifications.channels import Outgoing, registry
    from plugins.notifications.kinds import kind_of
    from plugins.notifications.texts import render

    mails = []
    with app.app_context():
        channel = registry()["mail"]
        kind = kind_of("notifications.notice")
        for n in range(count):
            context = dict(NOTICE, recipient_name=f"Mme Locataire {n}")
            text = render(kind, "mail", "fr", context)
            outgoing = Outgoing(id=n, idempotency_key=secrets.token_hex(16), kind=kind.name,
                                channel="mail", address=f"locataire{n}@exemple.fr",
                                recipient_name=context["recipient_name"], locale="fr",
                                subject=text.subject, text=text.body, context=context)
            message = channel.build(outgoing).message()
            mails.append((outgoing.address, message.as_bytes(linesep="\r\n")))
    return mails


def bare_smtplib(relay: Relay, mails: list[tuple[str, bytes]]) -> dict:
    relay.clear()
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", relay.port) as connection:
        for address, raw in mails:
            connection.sendmail("ne-pas-repondre@palier.example", [address], raw)
    wall = time.perf_counter() - started
    return _rate(relay.count(), len(mails), wall)


def _rate(count: dict, expected: int, wall: float) -> dict:
    if count["distinct"] != expected:
        raise RuntimeError(f"{count['distinct']} distinct mails received, {expected} expected")
    span = max(count["last"] - count["first"], 1e-6)
    return {"per_s": round((count["accepted"] - 1) / span, 1), "wall_s": round(wall, 2),
            "accepted": count["accepted"]}


def run_workers(env: dict, workers: int, *, until_idle: bool = True,
                seconds: float | None = None) -> tuple[float, list[str]]:
    """Start ``workers`` worker processes; wait until they are idle, or stop them (SIGTERM:
    each finishes its current mail) after ``seconds``. Returns the wall time and outputs."""
    options = ["--until-idle"] if until_idle else []
    processes = [subprocess.Popen([*PALIER, "worker", "--name", f"bench{n}", *options],
                                  env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, start_new_session=True)
                 for n in range(workers)]
    started = time.perf_counter()
    if seconds is not None:
        time.sleep(seconds)
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
    outputs = [process.communicate(timeout=3600)[0].decode(errors="replace")
               for process in processes]
    for process, output in zip(processes, outputs, strict=True):
        if process.returncode != 0:
            raise RuntimeError(f"a worker failed (exit {process.returncode}):\n{output[-3000:]}")
    return time.perf_counter() - started, outputs


def deliver(app, env: dict, relay: Relay, workers: int, mails: int, tag: str) -> dict:
    queue_test_mails(app, mails, tag)
    relay.clear()
    wall, _ = run_workers(env, workers)
    return _rate(relay.count(), mails, wall)


def throughput(kind: str, app, env: dict, relay: Relay, options, worker_counts) -> dict:
    mails = prepared_mails(app, options.mails)
    rounds: dict[str, list[dict]] = {"baseline": []}
    for round_number in range(options.rounds):
        rounds["baseline"].append(bare_smtplib(relay, mails))
        for workers in worker_counts:
            name = f"{workers} worker{'s' if workers > 1 else ''}"
            run = deliver(app, env, relay, workers, options.mails,
                          f"{kind}{workers}r{round_number}")
            rounds.setdefault(name, []).append(run)
        line = "  ".join(f"{name} {runs[-1]['per_s']:>7.1f}/s" for name, runs in rounds.items())
        print(f"{kind:<10} round {round_number + 1}: {line}", flush=True)
    medians = {name: statistics.median(run["per_s"] for run in runs)
               for name, runs in rounds.items()}
    for name, value in medians.items():
        ratio = "" if name == "baseline" else f"  ({value / medians['baseline']:.2f} × baseline)"
        print(f"{kind:<10} median {name:<10} {value:>7.1f} mails/s{ratio}", flush=True)
    return {"rounds": rounds, "medians": medians}


def create_tenants(app, count: int) -> list[int]:
    """``count`` tenants in 250 residences, each with an e-mail and a current lease."""
    from sqlalchemy import insert, select

    from core.estate import (
        Agency,
        Building,
        Dwelling,
        Entrance,
        Household,
        Lease,
        Person,
        Residence,
    )
    from core.extensions import db

    residences = 250
    with app.app_context():
        db.session.execute(insert(Agency), [{"reference": "AG1", "name": "Agence Paris"}])
        agency = db.session.scalar(select(Agency.id))
        db.session.execute(insert(Residence), [
            {"reference": f"R{r}", "name": f"Résidence {r}", "agency_id": agency,
             "postcode": "75019", "city": "Paris"} for r in range(residences)])
        ids = db.session.scalars(select(Residence.id).order_by(Residence.id)).all()
        db.session.execute(insert(Building), [
            {"reference": f"B{r}", "residence_id": rid, "name": "Bâtiment A",
             "street": f"{r} rue de Belleville"} for r, rid in enumerate(ids)])
        ids = db.session.scalars(select(Building.id).order_by(Building.id)).all()
        db.session.execute(insert(Entrance), [
            {"reference": f"E{r}", "building_id": bid, "name": "Entrée 1"}
            for r, bid in enumerate(ids)])
        entrances = db.session.scalars(select(Entrance.id).order_by(Entrance.id)).all()
        db.session.execute(insert(Dwelling), [
            {"reference": f"D{n}", "entrance_id": entrances[n % residences], "floor": n % 10,
             "door": f"{n % 1000:03d}", "kind": "T3", "surface_m2": 64.5}
            for n in range(count)])
        dwellings = db.session.scalars(select(Dwelling.id).order_by(Dwelling.id)).all()
        db.session.execute(insert(Household), [{"reference": f"H{n}"} for n in range(count)])
        households = db.session.scalars(select(Household.id).order_by(Household.id)).all()
        db.session.execute(insert(Person), [
            {"reference": f"P{n}", "civility": "Mme", "first_name": "Camille",
             "last_name": f"Martin {n}", "email": f"camille.martin.{n}@exemple.fr",
             "household_id": households[n]} for n in range(count)])
        db.session.execute(insert(Lease), [
            {"reference": f"L{n}", "dwelling_id": dwellings[n], "household_id": households[n],
             "start_date": date(2015, 1, 1)} for n in range(count)])
        db.session.commit()
        people = db.session.scalars(select(Person.id)).all()
        db.session.remove()
    return people


def water_cut(kind: str, app, env: dict, relay: Relay, options, workers: int) -> dict:
    from sqlalchemy import delete, func, select

    from core.extensions import db
    from plugins.notifications import notify_many
    from plugins.notifications.models import Message, Status

    with app.app_context():  # the throughput runs' messages are not part of the notice
        db.session.execute(delete(Message))
        db.session.commit()
    started = time.perf_counter()
    people = create_tenants(app, options.tenants)
    setup = time.perf_counter() - started
    with app.app_context():
        started = time.perf_counter()
        queued = notify_many(people, "notifications.notice", NOTICE, event="notice:water-cut",
                             urgent=True)
        db.session.commit()
        queue_seconds = time.perf_counter() - started
        db.session.remove()
    print(f"{kind:<10} water-cut notice: {options.tenants:,} tenants created in {setup:.1f} s; "
          f"{queued:,} mails queued in {queue_seconds:.2f} s", flush=True)
    relay.clear()
    if options.full_delivery:
        wall, _ = run_workers(env, workers)
        count = relay.count()
        delivered, span, extrapolated = count["distinct"], count["last"] - count["first"], False
    else:
        wall, _ = run_workers(env, workers, until_idle=False, seconds=options.sample_seconds)
        count = relay.count()
        delivered, span, extrapolated = count["distinct"], count["last"] - count["first"], True
    rate = (delivered - 1) / max(span, 1e-6)
    deliver_seconds = queued / rate if extrapolated else span
    with app.app_context():
        sent = db.session.scalar(select(func.count(Message.id)).where(
            Message.status == Status.SENT))
        db.session.remove()
    how = (f"extrapolated from {delivered:,} delivered in {span:.1f} s" if extrapolated
           else f"all delivered, {wall:.1f} s with start-up")
    print(f"{kind:<10} water-cut notice: delivery by {workers} worker(s) {rate:.1f} mails/s, "
          f"{deliver_seconds / 60:.1f} min for {queued:,} mails ({how})", flush=True)
    return {"tenants": options.tenants, "queued": queued, "queue_s": round(queue_seconds, 2),
            "setup_s": round(setup, 1), "workers": workers, "delivered": delivered,
            "sent_in_db": sent, "per_s": round(rate, 1), "deliver_s": round(deliver_seconds, 1),
            "extrapolated": extrapolated}


def bench_database(kind: str, database_url: str, instance: Path, relay: Relay, options,
                   worker_counts: list[int], notice_workers: int) -> dict:
    from core.extensions import db
    from core.schema import upgrade_all

    env = environment(instance, database_url, relay)
    app = make_app(env)
    with app.app_context():
        upgrade_all()
        db.session.remove()
    result = {"throughput": throughput(kind, app, env, relay, options, worker_counts)}
    if options.tenants:
        result["water_cut"] = water_cut(kind, app, env, relay, options, notice_workers)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgresql", action="store_true",
                        help="also measure on a throw-away PostgreSQL server (1 and 4 workers)")
    parser.add_argument("--mails", type=int, default=3000, help="mails per throughput run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per measure")
    parser.add_argument("--tenants", type=int, default=125_000,
                        help="tenants of the water-cut notice (0: skip it)")
    parser.add_argument("--sample-seconds", type=float, default=20.0,
                        help="delivery sample of the notice, extrapolated to all")
    parser.add_argument("--full-delivery", action="store_true",
                        help="deliver the whole notice instead of a sample")
    options = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="palier-bench-notifications-"))
    relay = Relay()
    results: dict = {}
    problems: list[str] = []
    try:
        (folder / "sqlite").mkdir()
        results["sqlite"] = bench_database(
            "SQLite", f"sqlite:///{folder / 'sqlite' / 'palier.sqlite3'}", folder / "sqlite",
            relay, options, [1], 1)
        if options.postgresql:
            from core.testing.postgres import TemporaryPostgres

            with TemporaryPostgres("palier_bench") as server:
                (folder / "postgresql").mkdir()
                results["postgresql"] = bench_database(
                    "PostgreSQL", server.url, folder / "postgresql", relay, options, [1, 4], 4)
    except Exception as error:  # noqa: BLE001 - reported as "could not run"
        print(f"The benchmark could not run: {error}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    finally:
        relay.close()
        shutil.rmtree(folder, ignore_errors=True)
    for kind, result in results.items():
        notice = result.get("water_cut")
        if notice and notice["queue_s"] > TARGET_QUEUE_SECONDS:
            problems.append(f"{kind}: notice queued in {notice['queue_s']} s "
                            f"> {TARGET_QUEUE_SECONDS} s")
    four = results.get("postgresql", {}).get("throughput", {}).get("medians", {}).get(
        "4 workers")
    if four is not None and four < TARGET_FOUR_WORKERS_PER_S:
        problems.append(f"4 workers on PostgreSQL: {four} mails/s < {TARGET_FOUR_WORKERS_PER_S}")
    for problem in problems:
        print("TARGET MISSED:", problem)
    print(json.dumps({"results": results, "problems": problems, "cpus": os.cpu_count(),
                      "targets": {"queue_s": TARGET_QUEUE_SECONDS,
                                  "four_workers_per_s": TARGET_FOUR_WORKERS_PER_S},
                      "ok": not problems}, ensure_ascii=False))
    return EXIT_TARGET_MISSED if problems else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
