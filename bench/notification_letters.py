"""Benchmark of the letter channel: one letter rendered and put in the day's print batch, and
the day's batch of 1,000 letters assembled by ``palier notify print-batch``.

Measured in one run, on the same machine, in a throw-away instance (SQLite):

- **letter render**: ``plugins.notifications.letters.render_letter`` (the channel's template
  through ``core.pdf.render_pdf``, WeasyPrint worker already warm), median and p90 of
  ``--letters`` renders, interleaved with the **baseline**: WeasyPrint rendering
  ``<p>hello</p>`` in this very process;
- **letter delivered**: ``LetterChannel.deliver`` for queued messages: render, atomic write
  under the instance folder, attach to the day's batch (one commit), median;
- **batch of 1,000**: ``--batch`` letters stored for one day, then ``palier notify print-batch``
  run as its own process (app start and WeasyPrint warm-up included), against the **baseline**
  of pypdf concatenating the same stored files in this process, without cover sheet or
  database. The letters are the ``--letters`` rendered above, stored again under the other
  messages' names (``--render-all`` renders every one instead: slower, same assembly).

Run from anywhere with the project's interpreter::

    .venv/bin/python bench/notification_letters.py [--letters 50] [--batch 1000] [--render-all]

The last line printed is one JSON object. Exit status: 0 the targets are met (warm letter
median at most 100 ms, a 1,000-letter batch in at most 60 s), 1 missed, 2 bad options.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
VENV_BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO_ROOT))

TARGET_WARM_MEDIAN_MS = 100
TARGET_BATCH_SECONDS = 60
LANDLORD = "Habitat Audois"
BODY = """\
Bonjour,

Nous vous informons que l'eau sera coupée le jeudi 26 novembre de 9 h à 12 h dans votre
résidence, pour remplacer une vanne du réseau.

Pensez à faire des réserves d'eau pour la matinée. Veuillez nous excuser pour la gêne
occasionnée.

Retrouvez cet avis sur votre espace locataire.

Habitat Audois"""


def environment(instance: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PALIER_")}
    env.update(PALIER_INSTANCE_PATH=str(instance), PALIER_SECRET_KEY=secrets.token_hex(32),
               PALIER_ENVIRONMENT="production", PALIER_MAIL_KEEP_LOCALLY="true",
               PALIER_PLUGINS="notifications", PALIER_LANDLORD_NAME=LANDLORD,
               PALIER_NOTIFICATIONS_LETTER_PLACE="Carcassonne")
    return env


def run(args: list[str], env: dict) -> str:
    done = subprocess.run(args, env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def timed(function, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return (time.perf_counter() - started) * 1000, result


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def address(n: int) -> str:
    return (f"Résidence Les Tilleuls, bâtiment {'ABC'[n % 3]}, logement {n % 300:03d}\n"
            f"{n % 90 + 1} rue des Tilleuls\n11000 Carcassonne")


def queue_messages(count: int, day) -> list[int]:
    """Rows as the outbox holds them when the worker hands letters to the channel."""
    from sqlalchemy import insert, select

    from core.extensions import db
    from plugins.notifications.models import Message, Status

    db.session.execute(insert(Message), [
        {"idempotency_key": f"bench-{n:06d}", "event": f"bench:{n}",
         "kind": "notifications.notice", "channel": "letter", "address": address(n),
         "recipient_name": f"Mme Camille Martin-{n:04d}", "locale": "fr", "context": {},
         "status": Status.SENDING}
        for n in range(count)])
    db.session.commit()
    return list(db.session.scalars(select(Message.id).order_by(Message.id)))


def outgoing(message_id: int, n: int):
    from plugins.notifications.channels import Outgoing

    return Outgoing(id=message_id, idempotency_key=f"bench-{n:06d}",
                    kind="notifications.notice", channel="letter", address=address(n),
                    recipient_name=f"Mme Camille Martin-{n:04d}", locale="fr",
                    subject="Coupure d'eau jeudi 26 novembre", text=BODY)


def measure(app, options, env) -> dict:
    from sqlalchemy import update
    from weasyprint import HTML

    from core.extensions import db
    from core.pdf import warm_up
    from plugins.notifications.channels import registry
    from plugins.notifications.letters import (
        letter_path,
        letters_folder,
        local_today,
        open_batch_day,
        postal_block,
        render_letter,
        write_atomically,
    )
    from plugins.notifications.models import Message, PrintBatch

    day = local_today()
    ids = queue_messages(options.batch, day)
    warm_up()
    first = outgoing(ids[0], 0)
    lines = postal_block(first.recipient_name, first.address)

    def letter(n):
        return render_letter(recipient_lines=postal_block(f"Mme Camille Martin-{n:04d}",
                                                          address(n)),
                             subject=first.subject, text=BODY, day=day, locale="fr",
                             reference=str(n))

    def hello():
        HTML(string="<p>hello</p>").write_pdf()

    cold_ms, _ = timed(render_letter, recipient_lines=lines, subject=first.subject, text=BODY,
                       day=day, locale="fr")
    hello()
    renders, bare = [], []
    for n in range(options.letters):
        bare.append(timed(hello)[0])
        renders.append(timed(letter, n)[0])

    channel = registry()["letter"]
    delivered_ms, sizes = [], []
    rendered = ids if options.render_all else ids[:options.letters]
    started = time.perf_counter()
    for n, message_id in enumerate(rendered):
        ms, accepted = timed(channel.deliver, outgoing(message_id, n))
        delivered_ms.append(ms)
        sizes.append(letter_path(day, message_id).stat().st_size)
    render_all_s = time.perf_counter() - started
    assert accepted.detail == f"in the print batch of {day.isoformat()}", accepted.detail
    if not options.render_all:  # the other messages get copies of the rendered letters
        day = open_batch_day(day)
        batch_id = db.session.query(PrintBatch.id).filter(PrintBatch.day == day).scalar()
        sources = [letter_path(day, i).read_bytes() for i in rendered]
        for n, message_id in enumerate(ids[len(rendered):]):
            write_atomically(letter_path(day, message_id), sources[n % len(sources)])
        db.session.execute(update(Message).where(Message.id.in_(ids)).values(batch_id=batch_id))
        db.session.commit()

    # Baseline: pypdf concatenating the stored files, nothing else.
    from pypdf import PdfReader, PdfWriter

    started = time.perf_counter()
    writer = PdfWriter()
    for message_id in ids:
        writer.append(PdfReader(letter_path(day, message_id)))
    writer.write(io.BytesIO())
    concat_s = time.perf_counter() - started

    started = time.perf_counter()
    output = run([str(VENV_BIN / "palier"), "notify", "print-batch", "--day", day.isoformat()],
                 env)
    batch_s = time.perf_counter() - started
    db.session.expire_all()
    batch = db.session.query(PrintBatch).filter(PrintBatch.day == day).one()
    path = letters_folder() / batch.filename
    pages = len(PdfReader(path).pages)
    if batch.letters != options.batch or pages != batch.pages:
        raise RuntimeError(f"wrong batch: {batch.letters} letters, {batch.pages} pages recorded, "
                           f"{pages} in the file\n{output}")
    warm_median = statistics.median(renders)
    hello_median = statistics.median(bare)
    return {
        "cold_first_letter_ms": round(cold_ms, 1),
        "letter_render_median_ms": round(warm_median, 1),
        "letter_render_p90_ms": round(p90(renders), 1),
        "hello_in_process_median_ms": round(hello_median, 1),
        "render_to_hello_ratio": round(warm_median / hello_median, 2),
        "letter_delivered_median_ms": round(statistics.median(delivered_ms), 1),
        "letters_rendered": len(rendered),
        "rendering_s": round(render_all_s, 2),
        "letter_bytes_median": int(statistics.median(sizes)),
        "batch_letters": batch.letters,
        "batch_pages": batch.pages,
        "batch_cover_pages": batch.pages - sum(
            len(PdfReader(letter_path(day, i)).pages) for i in ids),
        "batch_mb": round(path.stat().st_size / 1e6, 1),
        "batch_command_s": round(batch_s, 2),
        "concat_baseline_s": round(concat_s, 2),
        "batch_to_concat_ratio": round(batch_s / concat_s, 2),
        "target_warm_median_ms": TARGET_WARM_MEDIAN_MS,
        "target_batch_s": TARGET_BATCH_SECONDS,
    }


def report(results: dict) -> bool:
    lines = [
        ("cold first letter (starts a worker)", f"{results['cold_first_letter_ms']} ms"),
        ("letter render, median / p90", f"{results['letter_render_median_ms']} / "
                                        f"{results['letter_render_p90_ms']} ms"),
        ("baseline: WeasyPrint hello in this process, median",
         f"{results['hello_in_process_median_ms']} ms"),
        ("letter render / hello", f"{results['render_to_hello_ratio']}"),
        ("letter delivered (render, store, batch), median",
         f"{results['letter_delivered_median_ms']} ms"),
        (f"{results['letters_rendered']} letters delivered one after the other",
         f"{results['rendering_s']} s"),
        ("letter size, median", f"{results['letter_bytes_median']} bytes"),
        (f"print batch of {results['batch_letters']} letters (palier notify print-batch)",
         f"{results['batch_command_s']} s, {results['batch_pages']} pages "
         f"({results['batch_cover_pages']} of cover sheet), {results['batch_mb']} MB"),
        ("baseline: pypdf concatenating the same files in this process",
         f"{results['concat_baseline_s']} s"),
        ("print batch / concatenation", f"{results['batch_to_concat_ratio']}"),
    ]
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        print(f"{label:<{width}}  {value}")
    render_ok = results["letter_render_median_ms"] <= TARGET_WARM_MEDIAN_MS
    batch_ok = results["batch_command_s"] <= TARGET_BATCH_SECONDS
    print(f"target: warm letter median <= {TARGET_WARM_MEDIAN_MS} ms: "
          f"{'met' if render_ok else 'MISSED'}")
    print(f"target: print batch of {results['batch_letters']} letters <= "
          f"{TARGET_BATCH_SECONDS} s: {'met' if batch_ok else 'MISSED'}")
    print(json.dumps(results))
    return render_ok and batch_ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--letters", type=int, default=50, help="letters rendered and timed")
    parser.add_argument("--batch", type=int, default=1000, help="letters in the print batch")
    parser.add_argument("--render-all", action="store_true",
                        help="render every letter of the batch instead of copies")
    options = parser.parse_args(argv)
    if options.letters < 10 or options.batch < options.letters:
        parser.error("--letters must be at least 10 and --batch at least --letters")

    from core import create_app
    from core.pdf.workers import pool

    folder = Path(tempfile.mkdtemp(prefix="palier-bench-letters-"))
    try:
        instance = folder / "instance"
        env = environment(instance)
        run([str(VENV_BIN / "palier"), "db", "upgrade"], env)
        app = create_app({
            "ENVIRONMENT": "production", "SECRET_KEY": env["PALIER_SECRET_KEY"],
            "INSTANCE_PATH": str(instance), "PLUGINS": ["notifications"],
            "LANDLORD_NAME": LANDLORD, "MAIL_KEEP_LOCALLY": True,
            "NOTIFICATIONS_LETTER_PLACE": "Carcassonne",
        })
        with app.app_context():
            results = measure(app, options, env)
        pool.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0 if report(results) else 1


if __name__ == "__main__":
    sys.exit(main())
