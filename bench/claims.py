"""Benchmark of the claims plugin: submissions per second, and the agents' queue with a million
claims, each against a bare Flask app measured in the same run; the queue's query plans.

On SQLite, then on a throw-away PostgreSQL server with ``--postgresql``, in a throw-away
instance (nothing inherited from ``PALIER_*`` variables):

1. **Seeding**: 20 agencies, 2,000 buildings (one entrance, 10 dwellings each), a household and
   a person per dwelling; ``--claims`` claims (default 1,000,000) filed over 3 years, written
   by the driver (``executemany`` in chunks on SQLite, ``COPY`` on PostgreSQL): statuses by
   age (closed for the most part once a few weeks old), the catalogue's problems, agencies of
   unequal size; then ``ANALYZE``.
2. **Plans**: ``EXPLAIN QUERY PLAN`` (SQLite) or ``EXPLAIN`` (PostgreSQL) of the query of one
   page of the queue for each filter below, for an agent of one agency and for a manager, with
   the indexes each reads. A plan that reads the whole ``claims_claim`` table is reported.
3. **Queue**: ``GET`` of the queue as the agent (wrk, a logged-in session), one measure per
   filter: the default (open claims by deadline), ``breached=1``,
   ``status=assigned&trade=plumbing``, ``building=N`` (the agency's busiest building),
   ``sort=-created``, ``page=3``. The page is the back office's (``/backoffice/claims/``,
   endpoint ``claims_backoffice.queue``) when the app has it; otherwise a stand-in route that
   this script adds to its own app only (``/bench/claims-queue``: the same filters through
   :func:`plugins.claims.queue.queue_rows` or ``queue_page``, a table in the back office's
   layout). The script says which one it measured.
4. **Submissions**: one *submission* is the confirmation a tenant sends from the summary of
   the guided entry, exactly as the browser sends it: ``POST /portal/claims/new/confirm``,
   ``multipart/form-data`` with the CSRF token, the place, equipment and problem, the
   answers, a description and a fresh confirmation token (with ``--photo``, also a 1280×960
   JPEG). Palier checks it, numbers the claim, writes it with its two events (submitted,
   acknowledged) and the acknowledgement queued in the notifications outbox (and the photo,
   re-encoded), commits, and answers ``303`` to the receipt (not fetched). Earlier steps (the
   pictograms, the questions) are plain page views. The number of claims in the database is
   checked against the number of answers wrk counted.

Both servers run side by side, served identically: gunicorn, one gthread worker, the same
thread count, loopback, no access log. Rounds are alternated with the bare Flask "hello"
(``bench/hello_app.py``) and medians of ``--rounds`` rounds (at least 3) are printed, with the
ratios to hello (req/s ratio, p99 ratio), as ``bench/portal_home.py`` does.

Run from anywhere with the project's interpreter (wrk is needed)::

    .venv/bin/python bench/claims.py                 # SQLite, a million claims
    .venv/bin/python bench/claims.py --postgresql    # then PostgreSQL
    .venv/bin/python bench/claims.py --claims 100000 --duration 3 --rounds 3

The last line printed is one JSON object. Exit status: 0 measured without errors, 3 the
benchmark could not run, 4 flagged (errors or wrong answers during the load), 5 a plan reads
the whole claims table.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import secrets
import shutil
import signal
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
sys.path.insert(0, str(BENCH_DIR))

import portal_home as ph  # noqa: E402 - the shared helpers of the benchmarks (wrk, gunicorn)
import requests  # noqa: E402

EXIT_OK, EXIT_CANNOT_RUN, EXIT_FLAGGED, EXIT_FULL_SCAN = 0, 3, 4, 5
USER_AGENT = ph.USER_AGENT
PASSWORD = "banc-d-essai-2026"
TENANT_EMAIL, AGENT_EMAIL, MANAGER_EMAIL = ("locataire@banc.example", "agent@banc.example",
                                            "responsable@banc.example")
REAL_QUEUE_ENDPOINT = "claims_backoffice.queue"
REAL_QUEUE_PATH = "/backoffice/claims/"
STAND_IN_PATH = "/bench/claims-queue"
CONFIRM_PATH = "/portal/claims/new/confirm"
QUESTIONS_PATH = "/portal/claims/new/kitchen/tap/tap.drips"
SIZE_TOLERANCE = ph.SIZE_TOLERANCE
# name → query string of the queue (building filled in at run time).
QUEUE_FILTERS = {
    "default": "",
    "breached": "breached=1",
    "assigned+plumbing": "status=assigned&trade=plumbing",
    "building": "building={building}",
    "-created": "sort=-created",
    "page 3": "page=3",
}

# -- the app the servers run -----------------------------------------------------------------


def filters_from(args):
    """The queue's GET parameters (as the back office reads them) → (QueueFilters, sort,
    page)."""
    from plugins.claims.models import Status
    from plugins.claims.queue import DEFAULT_SORT, SORTS, QueueFilters

    def number(name):
        value = args.get(name, "")
        return int(value) if value.isdigit() else None

    statuses = tuple(Status(value) for value in args.getlist("status")
                     if value in {s.value for s in Status})
    incident = {"yes": True, "no": False}.get(args.get("incident", ""))
    filters = QueueFilters(statuses=statuses, agency_id=number("agency"),
                           building_id=number("building"), trade=args.get("trade") or None,
                           responsibility=args.get("responsibility") or None,
                           min_age_days=number("age"), breached=args.get("breached") == "1",
                           in_incident=incident, reference=args.get("q", ""))
    sort = args.get("sort") if args.get("sort") in SORTS else DEFAULT_SORT
    return filters, sort, number("page") or 1


STAND_IN = """{% extends "backoffice/layout.html" %}
{% block title %}Réclamations{% endblock %}
{% block content %}
<table class="table"><caption>File des réclamations, page {{ page }}</caption>
<thead><tr><th scope="col">Référence</th><th scope="col">Statut</th><th scope="col">Échéance</th>
<th scope="col">Bâtiment</th><th scope="col">Logement</th><th scope="col">Corps de métier</th>
</tr></thead><tbody>
{% for row in rows %}<tr><th scope="row">{{ row.claim.reference }}</th>
<td>{{ row.claim.status.value }}</td><td>{{ row.claim.due_at.strftime("%d/%m/%Y %H:%M") }}</td>
<td>{{ row.building }}</td><td>{{ row.dwelling or "" }}</td><td>{{ row.claim.trade }}</td></tr>
{% endfor %}</tbody></table>{% if more %}<a href="?page={{ page + 1 }}">Suivante</a>{% endif %}
{% endblock %}"""


def add_stand_in_queue(app) -> None:
    """The queue measured through ``queue_rows`` (or ``queue_select`` with the same joins)
    when the app has no back-office page yet: a route of this benchmark's app only, never of
    the product."""
    from types import SimpleNamespace

    from flask import abort, render_template, request
    from flask_login import current_user

    from core.extensions import db
    from core.permissions import has_permission
    from plugins.claims import queue
    from plugins.claims.tests.queue_data import page_statement

    template = app.jinja_env.from_string(STAND_IN)

    def stand_in():
        if not current_user.is_authenticated or not has_permission(current_user,
                                                                   "claims.handle"):
            abort(403)
        filters, sort, page = filters_from(request.args)
        if hasattr(queue, "queue_rows"):
            rows, more = queue.queue_rows(current_user, filters, sort, page=page)
        else:
            found = db.session.execute(page_statement(current_user, filters, sort,
                                                      page)).all()
            rows = [SimpleNamespace(claim=claim, building=building, dwelling=dwelling)
                    for claim, building, dwelling in found[:queue.PAGE_SIZE]]
            more = len(found) > queue.PAGE_SIZE
        return render_template(template, rows=rows, more=more, page=page)

    app.add_url_rule(STAND_IN_PATH, "bench_claims_queue", stand_in)


def wsgi_app():
    """gunicorn's entry point (``claims:wsgi_app()``): Palier, plus the stand-in queue when the
    back office has none."""
    from core import create_app

    app = create_app()
    if REAL_QUEUE_ENDPOINT not in app.view_functions:
        add_stand_in_queue(app)
    return app


# -- the instance ----------------------------------------------------------------------------

def environment(instance: Path, database_url: str, threads: int) -> dict:
    env = ph.server_environment(instance)
    env.update(PALIER_DATABASE_URL=database_url, PALIER_PLUGINS='["notifications", "claims"]',
               PALIER_NOTIFICATIONS_CHANNELS='["mail"]', PALIER_DATABASE_POOL_SIZE=str(threads),
               PYTHONWARNINGS="ignore")
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


def seed(app, claims: int) -> dict:
    """The estate, the three accounts, ``claims`` claims; ``ANALYZE``. Returns ids."""
    from sqlalchemy import func, select

    from core.accounts import Role, User
    from core.estate import Dwelling, Entrance, Lease, Person
    from core.extensions import db
    from core.schema import upgrade_all
    from plugins.claims.models import Claim, Status
    from plugins.claims.queue import OPEN_STATUSES
    from plugins.claims.tests.queue_data import analyze, seed_claims, seed_estate

    timings = {}
    with app.app_context():
        upgrade_all()
        started = time.perf_counter()
        estate = seed_estate(agencies=20, buildings=2000, dwellings_per_building=10)
        agency, other_agency = estate.agencies[0], estate.agencies[1]
        # The tenant lives in the second agency: their submissions leave the measured queue
        # (the first agency's) unchanged.
        dwelling = db.session.scalar(
            select(Dwelling).join(Entrance)
            .where(Entrance.building_id == estate.buildings_by_agency[other_agency][0])
            .order_by(Dwelling.id))
        person = db.session.scalar(select(Person).where(
            Person.reference == "QP" + str(_dwelling_index(dwelling))))
        person.email = TENANT_EMAIL
        db.session.add(Lease(reference="QL-bench", dwelling=dwelling,
                             household_id=person.household_id, start_date=date(2015, 1, 1)))
        for email, role, fields in ((TENANT_EMAIL, Role.TENANT, {"person_id": person.id}),
                                    (AGENT_EMAIL, Role.AGENT, {"agency_id": agency}),
                                    (MANAGER_EMAIL, Role.MANAGER, {})):
            user = User(email=email, display_name=email.split("@")[0], role=role, **fields)
            user.set_password(PASSWORD)
            db.session.add(user)
        db.session.commit()
        timings["estate_s"] = round(time.perf_counter() - started, 1)

        started = time.perf_counter()
        last = [time.perf_counter()]

        def progress(written):
            if time.perf_counter() - last[0] > 15:
                last[0] = time.perf_counter()
                print(f"    {written:,} claims written ({time.perf_counter() - started:.0f} s)",
                      flush=True)

        seed_claims(estate, claims, progress=progress)
        timings["claims_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        analyze()
        timings["analyze_s"] = round(time.perf_counter() - started, 1)
        busiest = db.session.execute(
            select(Claim.building_id, func.count(Claim.id))
            .where(Claim.agency_id == agency, Claim.status.in_(OPEN_STATUSES))
            .group_by(Claim.building_id).order_by(func.count(Claim.id).desc()).limit(1)).first()
        counts = {
            "claims": db.session.scalar(select(func.count(Claim.id))),
            "open": db.session.scalar(select(func.count(Claim.id)).where(
                Claim.status.in_(OPEN_STATUSES))),
            "agency_open": db.session.scalar(select(func.count(Claim.id)).where(
                Claim.agency_id == agency, Claim.status.in_(OPEN_STATUSES))),
            "agency_assigned_plumbing": db.session.scalar(select(func.count(Claim.id)).where(
                Claim.agency_id == agency, Claim.status == Status.ASSIGNED,
                Claim.trade == "plumbing")),
            "building_open": busiest[1],
        }
        db.session.remove()
        db.engine.dispose()
    return {"agency": agency, "building": busiest[0], "timings": timings, "counts": counts}


def _dwelling_index(dwelling) -> int:
    """The position of the person of a dwelling seeded by ``seed_estate`` (one per dwelling,
    same order): ``QD<entrance>-<door>`` → entrance × 10 + door."""
    entrance, door = dwelling.reference.removeprefix("QD").split("-")
    return int(entrance) * 10 + int(door)


# -- plans -----------------------------------------------------------------------------------

def plans(app, seeded: dict) -> tuple[dict, list[str]]:
    """EXPLAIN of each filter's page query, for the agent and the manager."""
    from sqlalchemy import select
    from werkzeug.datastructures import MultiDict

    from core.accounts import User
    from core.extensions import db
    from plugins.claims.tests.queue_data import (
        claims_scans,
        explain,
        indexes_used,
        page_statement,
    )

    found: dict = {}
    full_scans: list[str] = []
    with app.app_context():
        for email in (AGENT_EMAIL, MANAGER_EMAIL):
            user = db.session.scalar(select(User).where(User.email == email))
            for name, query in QUEUE_FILTERS.items():
                args = MultiDict(_pairs(query.format(building=seeded["building"])))
                filters, sort, page = filters_from(args)
                plan = explain(page_statement(user, filters, sort, page))
                key = f"{user.role.value} {name}"
                found[key] = {"plan": plan, "indexes": indexes_used(plan)}
                if claims_scans(plan):
                    full_scans.append(key)
        db.session.remove()
        db.engine.dispose()
    return found, full_scans


def _pairs(query: str) -> list[tuple[str, str]]:
    return [tuple(part.split("=", 1)) for part in query.split("&") if part]


def print_plans(kind: str, found: dict) -> None:
    print(f"{kind}: plans of the queue's page query (after ANALYZE)", flush=True)
    for name, result in found.items():
        indexes = ", ".join(dict.fromkeys(result["indexes"])) or "NO INDEX"
        print(f"  {name:<28} indexes: {indexes}")
        for line in result["plan"]:
            print(f"      {line}")


# -- load ------------------------------------------------------------------------------------

def log_in(base: str, email: str, landing: str) -> requests.Session:
    http = requests.Session()
    http.headers["User-Agent"] = USER_AGENT
    page = http.get(f"{base}/login", timeout=30)
    finder = ph._CsrfFinder()
    finder.feed(page.text)
    answer = http.post(f"{base}/login", timeout=60, data={
        "csrf_token": finder.token, "email": email, "password": PASSWORD})
    if answer.status_code != 200 or landing not in answer.url:
        raise ph.BenchError(f"logging in as {email} ended on {answer.url} "
                            f"({answer.status_code})")
    return http


def cookie_of(http: requests.Session) -> str:
    return f"{ph.SESSION_COOKIE}={http.cookies.get(ph.SESSION_COOKIE)}"


def confirm_fields(base: str, http: requests.Session) -> dict:
    """The tenant's draft made ready (questions answered), and the confirmation form's fields
    as the summary page gives them."""
    page = http.get(f"{base}{QUESTIONS_PATH}", timeout=30)
    finder = ph._CsrfFinder()
    finder.feed(page.text)
    answer = http.post(f"{base}{QUESTIONS_PATH}", timeout=30, data={
        "csrf_token": finder.token, "since": "this_week", "urgency": "within_days",
        "access": "present", "availability": "Le matin avant 10 h"})
    if not answer.url.endswith("/new/summary"):
        raise ph.BenchError(f"the questions step ended on {answer.url}")
    html = answer.text
    form = html[html.index('id="confirm-form"'):]
    form = form[:form.index("</form>")]
    fields = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and 'type="hidden"' in tag:
            fields[name.group(1)] = value.group(1) if value else ""
    fields.pop("token", None)  # a fresh one per submission
    fields["description"] = "Fuite sous l’évier de la cuisine, goutte à goutte, nuit et jour."
    return fields


SUBMIT_LUA = """
local boundary = "----palierbench7d1f0e"
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
local fields = %s
local tag, photo, counter = "r", nil, 0
local made = 0

function setup(thread)
  made = made + 1
  thread:set("tid", made)
end

function init(args)
  tag = args[1]
  if args[2] and args[2] ~= "" then
    local file = io.open(args[2], "rb")
    photo = file:read("*a")
    file:close()
  end
end

function request()
  counter = counter + 1
  local parts = {}
  for _, pair in ipairs(fields) do
    parts[#parts + 1] = "--" .. boundary .. "\\r\\nContent-Disposition: form-data; name=\\""
      .. pair[1] .. "\\"\\r\\n\\r\\n" .. pair[2] .. "\\r\\n"
  end
  parts[#parts + 1] = "--" .. boundary .. "\\r\\nContent-Disposition: form-data; name=\\"token\\""
    .. "\\r\\n\\r\\n" .. string.format("%%s%%02dx%%010d", tag, tid, counter) .. "\\r\\n"
  if photo then
    parts[#parts + 1] = "--" .. boundary .. "\\r\\nContent-Disposition: form-data; "
      .. "name=\\"photos\\"; filename=\\"fuite.jpg\\"\\r\\nContent-Type: image/jpeg\\r\\n\\r\\n"
      .. photo .. "\\r\\n"
  end
  parts[#parts + 1] = "--" .. boundary .. "--\\r\\n"
  return wrk.format(nil, nil, nil, table.concat(parts))
end
"""


def lua_string(text: str) -> str:
    return '"' + "".join(c if c.isalnum() or c in " -_.,:/" else
                         "".join(f"\\{byte:03d}" for byte in c.encode()) for c in text) + '"'


def write_submit_script(workdir: Path, fields: dict) -> Path:
    table = "{" + ", ".join(f"{{{lua_string(k)}, {lua_string(v)}}}"
                            for k, v in fields.items()) + "}"
    path = workdir / "submit.lua"
    path.write_text(SUBMIT_LUA % table, encoding="utf-8")
    return path


def run_wrk(target: ph.Target, duration: int, connections: int, wrk_threads: int,
            script: tuple[Path, list[str]] | None = None) -> ph.WrkResult:
    """portal_home's wrk run, with an optional Lua script and its arguments."""
    cmd = ["wrk", "--latency", f"-t{wrk_threads}", f"-c{connections}", f"-d{duration}s",
           "--timeout", "30s"]
    for name, value in target.headers.items():
        cmd += ["-H", f"{name}: {value}"]
    if script:
        cmd += ["-s", str(script[0])]
    cmd.append(target.url)
    if script:
        cmd += ["--", *script[1]]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    if done.returncode != 0:
        raise ph.BenchError(f"wrk on {target.name} failed ({done.returncode}): {done.stderr}")
    try:
        result = ph.parse_wrk(done.stdout)
    except ValueError as exc:
        raise ph.BenchError(f"wrk on {target.name}: {exc}:\n{done.stdout}") from exc
    if target.expected_bytes and result.requests:
        drift = abs(result.bytes_per_request / target.expected_bytes - 1)
        if drift > SIZE_TOLERANCE:
            result.problems.append(f"{result.bytes_per_request:.0f} bytes/request instead of "
                                   f"about {target.expected_bytes}")
    if target.process.poll() is not None:
        result.problems.append(f"server exited with {target.process.returncode}")
    return result


def medians(results: list[ph.WrkResult]) -> dict:
    return {"rps": round(statistics.median(r.rps for r in results), 1),
            "p50_ms": round(statistics.median(r.p50_ms for r in results), 2),
            "p99_ms": round(statistics.median(r.p99_ms for r in results), 2),
            "rounds": [{"rps": r.rps, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms,
                        "requests": r.requests, "problems": r.problems} for r in results]}


def measure(kind: str, names: list[str], run_one, rounds: int) -> dict:
    """Alternated rounds: hello, then each measure; medians and ratios to hello."""
    results: dict[str, list] = {"hello": [], **{name: [] for name in names}}
    for index in range(rounds):
        for name in results:
            result = run_one(name, index)
            results[name].append(result)
            print(f"  {kind} round {index + 1} {name:<18} {result.rps:9.1f} req/s  "
                  f"p50 {result.p50_ms:8.2f} ms  p99 {result.p99_ms:8.2f} ms"
                  + (f"  [{'; '.join(result.problems)}]" if result.problems else ""),
                  flush=True)
    summary = {name: medians(runs) for name, runs in results.items()}
    hello = summary["hello"]
    for name in names:
        summary[name]["rps_ratio"] = round(summary[name]["rps"] / hello["rps"], 4)
        summary[name]["p99_ratio"] = round(summary[name]["p99_ms"] / hello["p99_ms"], 3)
    return summary


def print_summary(title: str, summary: dict, unit: str) -> None:
    print(title)
    print(f"  {'':<20} {unit:>12} {'p50 ms':>9} {'p99 ms':>9} {'× hello req/s':>14} "
          f"{'× hello p99':>12}")
    for name, s in summary.items():
        ratios = ("" if name == "hello" else
                  f"{s['rps_ratio']:>14.4f} {s['p99_ratio']:>12.2f}")
        print(f"  {name:<20} {s['rps']:>12.1f} {s['p50_ms']:>9.2f} {s['p99_ms']:>9.2f} {ratios}")
    print(flush=True)


def tenant_claims(app) -> int:
    from sqlalchemy import func, select

    from core.accounts import User
    from core.extensions import db
    from plugins.claims.models import Claim

    with app.app_context():
        tenant = db.session.scalar(select(User).where(User.email == TENANT_EMAIL))
        count = db.session.scalar(select(func.count(Claim.id)).where(
            Claim.filed_by_id == tenant.id))
        db.session.remove()
        db.engine.dispose()
    return count


def photo_file(workdir: Path) -> Path:
    from PIL import Image

    image = Image.effect_noise((1280, 960), 30).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    path = workdir / "fuite.jpg"
    path.write_bytes(buffer.getvalue())
    return path


def bench_database(kind: str, database_url: str, folder: Path, args) -> dict:
    instance = folder / "instance"
    instance.mkdir(parents=True)
    env = environment(instance, database_url, args.threads)
    app = make_app(env)
    print(f"{kind}: seeding {args.claims:,} claims...", flush=True)
    seeded = seed(app, args.claims)
    print(f"{kind}: seeded in {seeded['timings']} — {seeded['counts']}", flush=True)
    found, full_scans = plans(app, seeded)
    print_plans(kind, found)
    real = REAL_QUEUE_ENDPOINT in app.view_functions
    queue_path = REAL_QUEUE_PATH if real else STAND_IN_PATH
    print(f"{kind}: measuring {'the back office page' if real else 'the stand-in route'} "
          f"{queue_path}", flush=True)

    hello = ph.Target("hello", ph.free_port(), "/", {"User-Agent": USER_AGENT})
    palier = ph.Target("palier", ph.free_port(), "/login", {"User-Agent": USER_AGENT})
    result: dict = {"seeding": seeded, "plans": found, "full_scans": full_scans,
                    "queue_page": queue_path}
    try:
        ph.start_server(hello, "hello_app:app", args.threads, env, folder,
                        ("--pythonpath", str(BENCH_DIR)))
        ph.start_server(palier, "claims:wsgi_app()", args.threads, env, folder,
                        ("--pythonpath", str(BENCH_DIR)))
        ph.wait_until_up(hello, "/")
        ph.wait_until_up(palier, "/login")
        base = f"http://127.0.0.1:{palier.port}"
        hello.expected_bytes = ph.check_page(hello, None)

        # -- the queue --
        agent = log_in(base, AGENT_EMAIL, "/backoffice")
        targets = {}
        for name, query in QUEUE_FILTERS.items():
            query = query.format(building=seeded["building"])
            target = ph.Target(name, palier.port, queue_path + (f"?{query}" if query else ""),
                               {"User-Agent": USER_AGENT, "Cookie": cookie_of(agent)},
                               process=palier.process)
            target.expected_bytes = ph.check_page(target, None)
            targets[name] = target
        all_targets = {"hello": hello, **targets}
        for target in all_targets.values():  # warm-up
            run_wrk(target, args.warmup, args.connections, args.wrk_threads)
        result["queue"] = measure(
            f"{kind} queue", list(targets),
            lambda name, _i: run_wrk(all_targets[name], args.queue_duration, args.connections,
                                     args.wrk_threads), args.rounds)
        print_summary(f"{kind}: GET of the queue as an agent ({seeded['counts']['claims']:,} "
                      f"claims), medians of {args.rounds} rounds", result["queue"], "req/s")

        # -- submissions --
        tenant = log_in(base, TENANT_EMAIL, "/portal/")
        fields = confirm_fields(base, tenant)
        script = write_submit_script(folder, fields)
        variants = {"submission": ""}
        if args.photo:
            variants["with a photo"] = str(photo_file(folder))
        submit = {name: ph.Target(name, palier.port, CONFIRM_PATH,
                                  {"User-Agent": USER_AGENT, "Cookie": cookie_of(tenant)},
                                  process=palier.process) for name in variants}
        run_tag = secrets.token_hex(3)
        before = tenant_claims(app)
        counted = [0]

        def run_submit(name, index):
            if name == "hello":
                return run_wrk(hello, args.duration, args.connections, args.wrk_threads)
            tag = f"b{run_tag}{list(variants).index(name)}{index}"
            outcome = run_wrk(submit[name], args.duration, args.connections, args.wrk_threads,
                              (script, [tag, variants[name]]))
            counted[0] += outcome.requests
            return outcome

        # A warm-up submission checks the answer: 303 to a receipt.
        for name, target in submit.items():
            run_wrk(target, 1, 1, 1, (script, [f"w{run_tag}{list(variants).index(name)}",
                                               variants[name]]))
        warm = tenant_claims(app)
        result["submissions"] = measure(f"{kind} submit", list(variants), run_submit,
                                        args.rounds)
        time.sleep(1)
        after = tenant_claims(app)
        filed = after - warm
        result["claims_filed"] = {"answers_counted_by_wrk": counted[0], "claims_written": filed,
                                  "warm_up": warm - before}
        print_summary(f"{kind}: claim submissions (POST {CONFIRM_PATH}, 303 to the receipt), "
                      f"medians of {args.rounds} rounds", result["submissions"], "subm./s")
        print(f"{kind}: {counted[0]:,} submissions answered, {filed:,} claims written "
              f"(the difference is submissions still in flight when wrk stopped)", flush=True)
        # wrk stops with up to one request in flight per connection, which Palier still files.
        if not 0 <= filed - counted[0] <= args.connections * args.rounds * len(variants):
            result.setdefault("problems", []).append(
                f"{filed} claims written for {counted[0]} answers")
    finally:
        try:
            ph.stop_server(palier)
        finally:
            ph.stop_server(hello)
        with app.app_context():
            from core.extensions import db

            db.session.remove()
            db.engine.dispose()
    return result


def flagged(result: dict) -> list[str]:
    problems = list(result.get("problems", []))
    for part in ("queue", "submissions"):
        for name, summary in result.get(part, {}).items():
            for index, run in enumerate(summary["rounds"]):
                problems += [f"{part} {name} round {index + 1}: {p}" for p in run["problems"]]
    return problems


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgresql", action="store_true",
                        help="also measure on a throw-away PostgreSQL server")
    parser.add_argument("--claims", type=int, default=1_000_000,
                        help="claims in the database (default 1,000,000)")
    parser.add_argument("--duration", type=int, default=5,
                        help="seconds of each measured submission round (default 5)")
    parser.add_argument("--queue-duration", type=int, default=3,
                        help="seconds of each measured queue round, per filter (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, at least 3 (default 3)")
    parser.add_argument("--warmup", type=int, default=2,
                        help="seconds of discarded load per queue target (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads (default 8)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--photo", action="store_true",
                        help="also measure submissions carrying a 1280×960 photo")
    args = parser.parse_args(argv)
    if args.rounds < 3:
        parser.error("--rounds must be at least 3")
    if args.claims < 1000:
        parser.error("--claims must be at least 1000")
    return args


def _exit_on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def main(argv=None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: `sudo apt-get install -y wrk`, then run again.",
              file=sys.stderr)
        return EXIT_CANNOT_RUN
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    folder = Path(tempfile.mkdtemp(prefix="palier-bench-claims-"))
    results: dict = {}
    try:
        (folder / "sqlite").mkdir()
        results["sqlite"] = bench_database(
            "SQLite", f"sqlite:///{folder / 'sqlite' / 'palier.sqlite3'}", folder / "sqlite",
            args)
        if args.postgresql:
            from core.testing.postgres import TemporaryPostgres

            with TemporaryPostgres("palier_bench") as server:
                (folder / "postgresql").mkdir()
                results["postgresql"] = bench_database("PostgreSQL", server.url,
                                                       folder / "postgresql", args)
    except ph.BenchError as error:
        print(f"The benchmark could not run: {error}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    problems = [f"{kind}: {p}" for kind, result in results.items() for p in flagged(result)]
    scans = [f"{kind}: {name}" for kind, result in results.items()
             for name in result["full_scans"]]
    for problem in problems:
        print("FLAGGED:", problem)
    for scan in scans:
        print("FULL SCAN of claims_claim:", scan)
    summary = {kind: {"queue": {name: {k: s[k] for k in s if k != "rounds"}
                                for name, s in result["queue"].items()},
                      "submissions": {name: {k: s[k] for k in s if k != "rounds"}
                                      for name, s in result["submissions"].items()},
                      "claims_filed": result["claims_filed"],
                      "seeding": result["seeding"], "queue_page": result["queue_page"],
                      "indexes": {name: sorted(set(p["indexes"]))
                                  for name, p in result["plans"].items()}}
               for kind, result in results.items()}
    print(json.dumps({"benchmark": "claims", "claims": args.claims, "cpus": os.cpu_count(),
                      "results": summary, "flagged": problems, "full_scans": scans,
                      "ok": not problems and not scans}, ensure_ascii=False))
    if problems:
        return EXIT_FLAGGED
    return EXIT_FULL_SCAN if scans else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
