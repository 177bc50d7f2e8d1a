"""WeasyPrint processes kept warm by the application process, and killed when too slow.

A render runs in a separate process (:mod:`core.pdf.worker`) so that a hostile or broken
document can neither read the web process's memory nor hold it forever: the caller waits at
most the time limit, then the worker is killed (``SIGKILL``), reaped, and
:class:`PdfTimeout` is raised. The next render starts a fresh worker.

Workers hold no application state (each job carries its HTML and theme folders), so one pool
serves every app of the process. It is created on first use, grows up to the number of
workers the caller allows, and is closed when the process exits.
"""
from __future__ import annotations

import atexit
import os
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

# Seconds a new worker may take to import WeasyPrint and warm up, on a loaded machine. Not
# part of a render's time limit: a cold start is the platform's cost, not the document's.
START_TIMEOUT_SECONDS = 60
# Seconds a worker asked to stop may take before it is killed.
STOP_TIMEOUT_SECONDS = 5
# Environment variables a worker inherits: what Python, fontconfig and locales need. Nothing
# else, so that secrets given to Palier through the environment (PALIER_SECRET_KEY, database
# URLs) never sit in a process that reads documents.
INHERITED_ENVIRONMENT = ("PATH", "HOME", "LANG", "LANGUAGE", "TMPDIR")
INHERITED_PREFIXES = ("LC_", "XDG_", "FONTCONFIG_")
# The folder holding the ``core`` package, so workers import the same code whatever the
# current directory.
CODE_ROOT = str(Path(__file__).resolve().parent.parent.parent)


class PdfError(RuntimeError):
    """A PDF could not be rendered (the message says why)."""


class PdfTimeout(PdfError):
    """A render took longer than its time limit; its worker was killed."""


class Worker:
    """One WeasyPrint process and the two pipes to talk to it."""

    def __init__(self):
        job_read, job_write = os.pipe()
        result_read, result_write = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "core.pdf.worker", str(job_read), str(result_write)],
                pass_fds=(job_read, result_write), stdin=subprocess.DEVNULL,
                env=_worker_environment(),
            )
        except OSError:
            for fd in (job_read, job_write, result_read, result_write):
                os.close(fd)
            raise
        os.close(job_read)
        os.close(result_write)
        self.jobs = Connection(job_write, readable=False)
        self.results = Connection(result_read, writable=False)
        try:
            if self._receive(START_TIMEOUT_SECONDS, "start-up") is None:
                raise PdfError(f"the PDF worker did not start within {START_TIMEOUT_SECONDS} s")
        except BaseException:
            self.kill()
            raise

    def render(self, job: dict, timeout: float) -> tuple:
        """Send a job and wait for its answer at most ``timeout`` seconds."""
        try:
            self.jobs.send(job)
        except OSError as error:
            raise PdfError(f"the PDF worker is gone ({error})") from None
        answer = self._receive(timeout, "the render")
        if answer is None:
            raise PdfTimeout(f"the render took longer than {timeout:g} s and was stopped "
                             "(PDF_TIMEOUT_SECONDS)")
        return answer

    def _receive(self, timeout: float, during: str) -> tuple | None:
        """The worker's next answer, or None if it gives none within ``timeout`` seconds."""
        try:
            if not self.results.poll(timeout):
                return None
            return self.results.recv()
        except (EOFError, OSError):
            code = self.process.wait()
            raise PdfError(f"the PDF worker stopped during {during} (exit status {code}); "
                           "its messages are in the error log") from None

    def stop(self) -> None:
        """Ask the worker to finish, kill it if it does not, and reap it."""
        try:
            self.jobs.send(None)
            self.process.wait(STOP_TIMEOUT_SECONDS)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()

    def kill(self) -> None:
        """Kill the process (if still running), reap it and close the pipes."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.jobs.close()
        self.results.close()


def _worker_environment() -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if name in INHERITED_ENVIRONMENT or name.startswith(INHERITED_PREFIXES)}
    env["PYTHONPATH"] = CODE_ROOT
    # A fixed hash seed: nothing in a document's bytes may depend on the process rendering it.
    env["PYTHONHASHSEED"] = "0"
    return env


class WorkerPool:
    """Idle workers ready for the next render, and how many are busy."""

    def __init__(self):
        self._idle: list[Worker] = []
        self._busy = 0
        self._changed = threading.Condition()

    def render(self, job: dict, timeout: float, max_workers: int) -> tuple:
        """Render ``job`` on a free worker, waiting at most ``timeout`` for one to be free and
        ``timeout`` for the render itself."""
        worker = self._acquire(timeout, max_workers)
        try:
            answer = worker.render(job, timeout)
        except BaseException:
            # Timed out, worker died, or the caller was interrupted mid-render: whatever the
            # worker is doing, it must not serve anyone else.
            worker.kill()
            self._release(None, max_workers)
            raise
        self._release(worker, max_workers)
        return answer

    def warm_up(self, max_workers: int) -> None:
        """Start a worker now (if none is idle), so the next render does not wait for it."""
        self._release(self._acquire(START_TIMEOUT_SECONDS, max_workers), max_workers)

    def _acquire(self, timeout: float, max_workers: int) -> Worker:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not self._idle and self._busy >= max_workers:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PdfTimeout(f"all {max_workers} PDF workers stayed busy for "
                                     f"{timeout:g} s (PDF_WORKERS, PDF_TIMEOUT_SECONDS)")
                self._changed.wait(remaining)
            self._busy += 1
            if self._idle:
                return self._idle.pop()
        try:
            return Worker()
        except BaseException:
            self._release(None, max_workers)
            raise

    def _release(self, worker: Worker | None, max_workers: int) -> None:
        with self._changed:
            self._busy -= 1
            keep = worker is not None and len(self._idle) + self._busy < max_workers
            if keep:
                self._idle.append(worker)
            self._changed.notify()
        if worker is not None and not keep:
            worker.stop()

    def close(self) -> None:
        """Stop every idle worker; the pool starts new ones when asked again."""
        with self._changed:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()


pool = WorkerPool()
atexit.register(pool.close)
