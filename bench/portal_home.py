"""Benchmark of the tenant portal home page (``GET /portal/``) against a bare Flask app.

Both servers run side by side for the whole run, served identically (gunicorn, one gthread
worker, same thread count, access log off, loopback). Load comes from ``wrk``. Rounds are
alternated (hello, palier, hello, palier...) and medians are reported, because a shared
machine drifts during a run: alternating spreads the drift over both servers instead of
penalising whichever ran last. The figures that matter are the ratios palier / hello, which
do not depend on how fast the machine is.

Run from anywhere with the project's interpreter::

    .venv/bin/python bench/portal_home.py [--duration 5] [--rounds 3] [--threads 8]

The last line printed is one JSON object, for scripts. Exit status: 0 all good, 1 a target
missed, 2 bad command-line options, 3 the benchmark could not run, 4 the measurement is
flagged (errors or wrong responses during the load).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import requests

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
VENV_BIN = Path(sys.executable).parent

TENANT_EMAIL = "locataire@demo.palier.fr"
TENANT_PASSWORD = "demo-palier-2026"
SESSION_COOKIE = "palier_session"
PORTAL_MARKER = 'class="cards"'
# Flask-Login's default "basic" session protection hashes the client address and User-Agent
# into the session. wrk sends no User-Agent, so logging in with one and replaying the cookie
# without it would make every request mark the session non-fresh and send a new cookie back: a
# path no browser takes. One fixed User-Agent for the login and for wrk avoids that.
USER_AGENT = "palier-bench/1"

TARGET_RPS_RATIO = 0.35  # palier req/s / hello req/s must be at least this
TARGET_P99_RATIO = 3.0  # palier p99 / hello p99 must be at most this
# A correct run returns the same page every time, so bytes read per request must match the
# size of the page checked before measuring. wrk does not count 3xx answers as errors, so this
# is what catches a session that stopped working (302 to /login) during a round.
SIZE_TOLERANCE = 0.10

SETUP_TIMEOUT = 300  # seconds for `palier db upgrade` / `palier demo`
START_TIMEOUT = 60  # seconds for a server to answer after it is started
STOP_TIMEOUT = 15  # seconds for a server to stop gracefully before it is killed

# 2 is left to argparse, which exits with it on bad options.
EXIT_OK, EXIT_TARGET_MISSED, EXIT_CANNOT_RUN, EXIT_FLAGGED = 0, 1, 3, 4


class BenchError(RuntimeError):
    """The benchmark cannot run (missing tool, server that does not start, failed login)."""


@dataclass
class WrkResult:
    """What one wrk run measured."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    bytes_read: float
    non_2xx_3xx: int = 0
    socket_errors: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)

    @property
    def bytes_per_request(self) -> float:
        return self.bytes_read / self.requests if self.requests else 0.0


@dataclass
class Target:
    """One server under test: where it listens, what to request, what a good answer is."""

    name: str
    port: int
    path: str
    headers: dict
    expected_bytes: int = 0
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    results: list = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"


# --- parsing wrk's report ---------------------------------------------------------------------

_TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_SIZE_UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}


def _time_ms(text: str) -> float:
    """Convert one of wrk's durations ("812.00us", "3.41ms", "1.02s") to milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"unexpected wrk duration {text!r}")
    return float(match.group(1)) * _TIME_UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    """Read requests/s, the 50% and 99% latencies, volumes and errors from wrk's output."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    total = re.search(r"^\s+(\d+) requests in [^,]+, ([\d.]+)(B|KB|MB|GB|TB) read", output, re.M)
    if not (rps and p50 and p99 and total):
        raise ValueError("wrk output lacks Requests/sec, latency distribution or totals")
    result = WrkResult(
        rps=float(rps.group(1)),
        p50_ms=_time_ms(p50.group(1)),
        p99_ms=_time_ms(p99.group(1)),
        requests=int(total.group(1)),
        bytes_read=float(total.group(2)) * _SIZE_UNITS[total.group(3)],
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non_2xx:
        result.non_2xx_3xx = int(non_2xx.group(1))
        result.problems.append(f"{result.non_2xx_3xx} non-2xx/3xx responses")
    sock = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if sock:
        result.socket_errors = dict(zip(("connect", "read", "write", "timeout"),
                                        map(int, sock.groups()), strict=True))
        if any(result.socket_errors.values()):
            result.problems.append(f"socket errors {result.socket_errors}")
    if result.requests == 0:
        result.problems.append("no request completed")
    return result


# --- servers ------------------------------------------------------------------------------------

def free_port() -> int:
    """A port free on the loopback right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment(instance_path: Path) -> dict:
    """The environment of every child process: a throw-away Palier instance, nothing inherited.

    Inherited ``PALIER_*`` variables are dropped: a developer's PALIER_DATABASE_URL would
    otherwise have the demo loaded into a real database.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PALIER_")}
    env.update(
        PALIER_INSTANCE_PATH=str(instance_path),
        PALIER_SECRET_KEY=secrets.token_hex(32),
        PALIER_ENVIRONMENT="production",
        PALIER_MAIL_KEEP_LOCALLY="true",  # no mail relay on a benchmark machine
        # The working tree is shared with other people: leave no __pycache__ behind.
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def palier_command(*args: str) -> list[str]:
    """The ``palier`` console script of this interpreter (``core.cli`` has no ``__main__``)."""
    script = VENV_BIN / "palier"
    if not script.exists():
        raise BenchError(f"{script} not found: install the project first (make install).")
    return [str(script), *args]


def prepare_instance(env: dict) -> None:
    """Create the schema and load the demo landlord in the throw-away instance."""
    for args in (("db", "upgrade"), ("demo",)):
        cmd = palier_command(*args)
        try:
            done = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                                  timeout=SETUP_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            raise BenchError(f"`{' '.join(cmd)}` took more than {SETUP_TIMEOUT}s") from exc
        if done.returncode != 0:
            raise BenchError(f"`{' '.join(cmd)}` failed ({done.returncode}):\n"
                             f"{done.stdout}{done.stderr}")


def start_server(target: Target, app_spec: str, threads: int, env: dict, workdir: Path,
                 extra_args: tuple[str, ...] = ()) -> None:
    """Start gunicorn for one target; both targets get exactly the same options.

    gunicorn's access log is off unless asked for, so it is simply not configured. The
    server gets its own session so that it can be stopped as a group (master and worker) and
    so that a Ctrl+C in the terminal reaches only this script, which then stops it cleanly.
    """
    target.log_path = workdir / f"{target.name}-gunicorn.log"
    cmd = [
        sys.executable, "-m", "gunicorn",
        "--worker-class", "gthread", "--workers", "1", "--threads", str(threads),
        "--bind", f"127.0.0.1:{target.port}",
        "--error-logfile", str(target.log_path),
        "--graceful-timeout", "5",
        # gunicorn 27 opens a control socket at one path per user; two servers would clash.
        "--no-control-socket",
        *extra_args, app_spec,
    ]
    with open(os.devnull, "rb") as devnull:
        target.process = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdin=devnull,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                          start_new_session=True)


def wait_until_up(target: Target, probe_path: str) -> None:
    """Poll the server until it answers, failing early if it exits."""
    deadline = time.monotonic() + START_TIMEOUT
    url = f"http://127.0.0.1:{target.port}{probe_path}"
    while time.monotonic() < deadline:
        if target.process.poll() is not None:
            raise BenchError(f"{target.name} server exited with {target.process.returncode}:\n"
                             + log_tail(target))
        try:
            if requests.get(url, timeout=2, allow_redirects=False).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise BenchError(f"{target.name} server did not answer within {START_TIMEOUT}s:\n"
                     + log_tail(target))


def stop_server(target: Target) -> None:
    """Stop a server gracefully (SIGTERM to the master), then kill its group if it lingers."""
    proc = target.process
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        # Only this server's own process group: it was started with its own session.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # it finished between the timeout and the kill
        proc.wait(timeout=STOP_TIMEOUT)


def log_tail(target: Target, lines: int = 40) -> str:
    """The end of a server's log, where gunicorn and Flask write tracebacks."""
    if target.log_path is None or not target.log_path.exists():
        return "(no server log)"
    text = target.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:]) or "(empty server log)"


# --- logging in ---------------------------------------------------------------------------------

class _CsrfFinder(HTMLParser):
    """Find the value of the ``csrf_token`` input of a page, whatever its attribute order."""

    def __init__(self):
        super().__init__()
        self.token: str | None = None

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "input" and values.get("name") == "csrf_token" and self.token is None:
            self.token = values.get("value")


def response_size(response: requests.Response) -> int:
    """Bytes of a response on the wire (status line, headers, body), as wrk counts them."""
    head = f"HTTP/1.1 {response.status_code} {response.reason}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in response.headers.items()) + "\r\n"
    return len(head.encode("latin-1", errors="replace")) + len(response.content)


def log_in(palier: Target) -> str:
    """Log in as the demo tenant; return the Cookie header value wrk must send."""
    base = f"http://127.0.0.1:{palier.port}"
    with requests.Session() as http:
        http.headers["User-Agent"] = USER_AGENT
        page = http.get(f"{base}/login", timeout=10)
        if page.status_code != 200:
            raise BenchError(f"GET /login answered {page.status_code}:\n" + log_tail(palier))
        finder = _CsrfFinder()
        finder.feed(page.text)
        if not finder.token:
            raise BenchError("GET /login: no csrf_token input in the page")
        answer = http.post(f"{base}/login", timeout=30, data={
            "csrf_token": finder.token, "email": TENANT_EMAIL, "password": TENANT_PASSWORD})
        if answer.status_code != 200 or not answer.url.endswith("/portal/"):
            raise BenchError(f"POST /login ended on {answer.url} with {answer.status_code}:\n"
                             + log_tail(palier))
        cookie = http.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise BenchError(f"logged in but no {SESSION_COOKIE} cookie was set")
    return f"{SESSION_COOKIE}={cookie}"


def check_page(target: Target, marker: str | None) -> int:
    """Request the page exactly as wrk will (same headers, no cookie jar); return its size."""
    answer = requests.get(target.url, headers=target.headers, timeout=10, allow_redirects=False)
    if answer.status_code != 200:
        raise BenchError(f"{target.name}: GET {target.path} answered {answer.status_code} "
                         f"(Location: {answer.headers.get('Location')}):\n" + log_tail(target))
    if marker and marker not in answer.text:
        raise BenchError(f"{target.name}: GET {target.path} is not the portal home "
                         f"({marker} missing)")
    return response_size(answer)


# --- load ---------------------------------------------------------------------------------------

def run_wrk(target: Target, duration: int, connections: int, wrk_threads: int) -> WrkResult:
    """Load one target for ``duration`` seconds and parse wrk's report."""
    cmd = ["wrk", "--latency", f"-t{wrk_threads}", f"-c{connections}", f"-d{duration}s"]
    for name, value in target.headers.items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(target.url)
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"wrk on {target.name} did not finish in {duration + 30}s") from exc
    if done.returncode != 0:
        raise BenchError(f"wrk on {target.name} failed ({done.returncode}): {done.stderr}")
    try:
        result = parse_wrk(done.stdout)
    except ValueError as exc:
        raise BenchError(f"wrk on {target.name}: {exc}:\n{done.stdout}") from exc
    if target.expected_bytes and result.requests:
        drift = abs(result.bytes_per_request / target.expected_bytes - 1)
        if drift > SIZE_TOLERANCE:
            result.problems.append(
                f"{result.bytes_per_request:.0f} bytes/request instead of about "
                f"{target.expected_bytes} (wrong responses, e.g. redirects to /login?)")
    if target.process.poll() is not None:
        result.problems.append(f"server exited with {target.process.returncode}")
    return result


# --- report -------------------------------------------------------------------------------------

def summarise(target: Target) -> dict:
    """Medians over the rounds of one target, plus every round for the record."""
    results = target.results
    return {
        "rps": round(statistics.median(r.rps for r in results), 1),
        "p50_ms": round(statistics.median(r.p50_ms for r in results), 3),
        "p99_ms": round(statistics.median(r.p99_ms for r in results), 3),
        "bytes_per_request": round(statistics.median(r.bytes_per_request for r in results)),
        "rounds": [{**{k: v for k, v in asdict(r).items() if k != "socket_errors"},
                    "socket_errors": sum(r.socket_errors.values())} for r in results],
    }


def print_report(args, hello: Target, palier: Target) -> int:
    """Print the table and the JSON line; return the exit status."""
    rows = []
    for index in range(args.rounds):
        for target in (hello, palier):
            r = target.results[index]
            rows.append((str(index + 1), target.name, f"{r.rps:.1f}", f"{r.p50_ms:.2f}",
                         f"{r.p99_ms:.2f}", f"{r.bytes_per_request:.0f}",
                         "; ".join(r.problems) or "-"))
    summary = {t.name: summarise(t) for t in (hello, palier)}
    for name, s in summary.items():
        rows.append(("median", name, f"{s['rps']:.1f}", f"{s['p50_ms']:.2f}",
                     f"{s['p99_ms']:.2f}", str(s["bytes_per_request"]), ""))
    header = ("round", "server", "req/s", "p50 ms", "p99 ms", "bytes/req", "problems")
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(len(header))]
    print()
    print(f"GET /portal/ (tenant) vs GET / (bare Flask): gunicorn gthread, 1 worker, "
          f"{args.threads} threads; wrk -t{args.wrk_threads} -c{args.connections} "
          f"-d{args.duration}s, {args.rounds} alternated rounds each")
    for row in [header] + rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())

    rps_ratio = summary["palier"]["rps"] / summary["hello"]["rps"]
    p99_ratio = summary["palier"]["p99_ms"] / summary["hello"]["p99_ms"]
    rps_ok, p99_ok = rps_ratio >= TARGET_RPS_RATIO, p99_ratio <= TARGET_P99_RATIO
    problems = [f"round {i + 1} {t.name}: {p}" for t in (hello, palier)
                for i, r in enumerate(t.results) for p in r.problems]
    print()
    print(f"palier/hello req/s: {rps_ratio:.3f}  (target >= {TARGET_RPS_RATIO}: "
          f"{'PASS' if rps_ok else 'FAIL'})")
    print(f"palier/hello p99:   {p99_ratio:.3f}  (target <= {TARGET_P99_RATIO}: "
          f"{'PASS' if p99_ok else 'FAIL'})")
    if problems:
        print(f"FLAGGED: {len(problems)} round(s) with errors; the figures are not reliable.")
    else:
        print("No errors: every response was a 2xx of the expected size.")

    status = EXIT_FLAGGED if problems else (EXIT_OK if rps_ok and p99_ok else EXIT_TARGET_MISSED)
    print(json.dumps({
        "benchmark": "portal_home",
        "config": {"duration_s": args.duration, "rounds": args.rounds, "warmup_s": args.warmup,
                   "gunicorn_threads": args.threads, "wrk_threads": args.wrk_threads,
                   "connections": args.connections},
        "hello": summary["hello"],
        "palier": summary["palier"],
        "ratios": {"rps": round(rps_ratio, 4), "p99": round(p99_ratio, 4)},
        "targets": {"rps_min": TARGET_RPS_RATIO, "rps_ok": rps_ok,
                    "p99_max": TARGET_P99_RATIO, "p99_ok": p99_ok},
        "flagged": bool(problems),
        "problems": problems,
        "ok": status == EXIT_OK,
    }, separators=(",", ":")))
    return status


# --- main ---------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5,
                        help="seconds of each measured wrk round (default 5)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="measured rounds per server, alternated (default 3, at least 3)")
    parser.add_argument("--warmup", type=int, default=3,
                        help="seconds of discarded load per server before measuring (default 3)")
    parser.add_argument("--threads", type=int, default=8,
                        help="threads of the gunicorn gthread worker, both servers (default 8)")
    parser.add_argument("--connections", type=int, default=16,
                        help="wrk open connections (default 16)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (default 2)")
    args = parser.parse_args(argv)
    # Bounds keep the run time bounded and the medians meaningful.
    if not 1 <= args.duration <= 120:
        parser.error("--duration must be between 1 and 120 seconds")
    if not 3 <= args.rounds <= 20:
        parser.error("--rounds must be between 3 and 20")
    if not 0 <= args.warmup <= 60:
        parser.error("--warmup must be between 0 and 60 seconds")
    if args.threads < 1 or args.connections < 1 or args.wrk_threads < 1:
        parser.error("--threads, --connections and --wrk-threads must be positive")
    if args.connections < args.wrk_threads:
        parser.error("wrk needs at least one connection per thread")
    return args


def _exit_on_signal(signum, _frame):
    """Turn SIGTERM/SIGHUP into SystemExit so that the ``finally`` blocks stop the servers."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: the benchmark needs it as load generator.\n"
              "Install it with `sudo apt-get install -y wrk` (Debian/Ubuntu), then run again.",
              file=sys.stderr)
        return EXIT_CANNOT_RUN
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)

    workdir = Path(tempfile.mkdtemp(prefix="palier-bench-"))
    hello = Target("hello", 0, "/", {"User-Agent": USER_AGENT})
    palier = Target("palier", 0, "/portal/", {"User-Agent": USER_AGENT})
    try:
        hello.port, palier.port = free_port(), free_port()
        instance = workdir / "instance"
        instance.mkdir()
        env = server_environment(instance)
        print(f"Preparing a throw-away Palier instance in {instance} (db upgrade, demo)...",
              flush=True)
        prepare_instance(env)

        start_server(hello, "hello_app:app", args.threads, env, workdir,
                     ("--pythonpath", str(BENCH_DIR)))
        start_server(palier, "wsgi:app", args.threads, env, workdir)
        wait_until_up(hello, "/")
        wait_until_up(palier, "/login")

        palier.headers["Cookie"] = log_in(palier)
        hello.expected_bytes = check_page(hello, None)
        palier.expected_bytes = check_page(palier, PORTAL_MARKER)
        print(f"Logged in as {TENANT_EMAIL}; /portal/ is the portal home "
              f"({palier.expected_bytes} bytes). hello on :{hello.port}, "
              f"palier on :{palier.port}.", flush=True)

        if args.warmup:
            print(f"Warming up ({args.warmup}s each)...", flush=True)
            for target in (hello, palier):
                run_wrk(target, args.warmup, args.connections, args.wrk_threads)
        for index in range(args.rounds):
            for target in (hello, palier):
                result = run_wrk(target, args.duration, args.connections, args.wrk_threads)
                target.results.append(result)
                print(f"  round {index + 1} {target.name:<6} {result.rps:9.1f} req/s  "
                      f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms"
                      + (f"  [{'; '.join(result.problems)}]" if result.problems else ""),
                      flush=True)
        # The session must still be valid once the load is over: a last check as wrk sends it.
        check_page(palier, PORTAL_MARKER)
        return print_report(args, hello, palier)
    except BenchError as exc:
        print(f"Benchmark could not run: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    finally:
        # Each server is stopped even if stopping the other one failed.
        try:
            stop_server(palier)
        finally:
            try:
                stop_server(hello)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
