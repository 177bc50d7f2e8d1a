"""Logins per second, against the bare cost of the password hash measured in the same run.

A login is an argon2id verification (argon2-cffi's recommended parameters, printed below) plus
the request around it. The baseline is the hash alone: as many verifications per second as the
same number of threads can do in one process on this machine. The ratio says how much of a
login's cost is the page rather than the hash; the absolute figure says how many people can log
in per second on one process.

    .venv/bin/python bench/login.py [--seconds 10] [--clients 8]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from argon2 import PasswordHasher

sys.path.insert(0, str(Path(__file__).resolve().parent))
from portal_home import (  # noqa: E402 - shared server plumbing
    TENANT_EMAIL,
    TENANT_PASSWORD,
    BenchError,
    Target,
    _CsrfFinder,
    free_port,
    prepare_instance,
    server_environment,
    start_server,
    stop_server,
    wait_until_up,
)


def hash_baseline(seconds: float, threads: int) -> float:
    """argon2id verifications per second with ``threads`` threads (argon2 releases the GIL)."""
    hasher = PasswordHasher()
    digest = hasher.hash(TENANT_PASSWORD)
    done = [0] * threads
    deadline = time.monotonic() + seconds

    def work(slot):
        while time.monotonic() < deadline:
            hasher.verify(digest, TENANT_PASSWORD)
            done[slot] += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(done) / seconds


def login_rate(base: str, seconds: float, clients: int) -> tuple[float, list[float], int]:
    """Logins per second by ``clients`` browsers logging in again and again; latencies (ms)."""
    latencies: list[float] = []
    failures = [0]
    deadline = time.monotonic() + seconds
    lock = threading.Lock()

    def browser():
        while time.monotonic() < deadline:
            with requests.Session() as http:
                finder = _CsrfFinder()
                finder.feed(http.get(f"{base}/login", timeout=30).text)
                start = time.perf_counter()
                answer = http.post(f"{base}/login", allow_redirects=False, timeout=30, data={
                    "csrf_token": finder.token, "email": TENANT_EMAIL,
                    "password": TENANT_PASSWORD})
                elapsed = (time.perf_counter() - start) * 1000
            with lock:
                if answer.status_code == 302 and answer.headers["Location"] == "/portal/":
                    latencies.append(elapsed)
                else:
                    failures[0] += 1

    with ThreadPoolExecutor(clients) as pool:
        for _ in range(clients):
            pool.submit(browser)
    return len(latencies) / seconds, latencies, failures[0]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--threads", type=int, default=8, help="gunicorn gthread threads")
    args = parser.parse_args(argv)
    hasher = PasswordHasher()
    with tempfile.TemporaryDirectory(prefix="palier-bench-login-") as tmp:
        workdir = Path(tmp)
        env = server_environment(workdir / "instance")
        # The throttles protect real accounts; here one account logs in on purpose, often.
        env.update(PALIER_LOGIN_RATE_LIMIT="1000000 per minute",
                   PALIER_LOGIN_RATE_LIMIT_PER_ACCOUNT="1000000 per minute")
        prepare_instance(env)
        palier = Target("palier", free_port(), "/login", {})
        start_server(palier, "wsgi:app", args.threads, env, workdir)
        try:
            wait_until_up(palier, "/login")
            baseline = hash_baseline(args.seconds, args.clients)
            rate, latencies, failures = login_rate(f"http://127.0.0.1:{palier.port}",
                                                   args.seconds, args.clients)
        finally:
            stop_server(palier)
    if not latencies:
        raise BenchError("no login succeeded")
    quantiles = statistics.quantiles(latencies, n=100)
    report = {
        "argon2": {"type": "argon2id", "time_cost": hasher.time_cost,
                   "memory_cost_kib": hasher.memory_cost, "parallelism": hasher.parallelism},
        "hash_verifications_per_s": round(baseline, 1),
        "logins_per_s": round(rate, 1), "ratio": round(rate / baseline, 3),
        "login_p50_ms": round(statistics.median(latencies), 1),
        "login_p99_ms": round(quantiles[98], 1), "failures": failures,
        "clients": args.clients, "gunicorn_threads": args.threads,
    }
    print(f"argon2id t={hasher.time_cost} m={hasher.memory_cost} KiB p={hasher.parallelism}")
    print(f"bare hash: {baseline:.1f} verifications/s ({args.clients} threads, one process)")
    print(f"logins:    {rate:.1f}/s  (ratio {rate / baseline:.2f})  p50 "
          f"{report['login_p50_ms']} ms  p99 {report['login_p99_ms']} ms  failures {failures}")
    print(json.dumps(report))
    return 0 if failures == 0 else 4


if __name__ == "__main__":
    sys.exit(main())
