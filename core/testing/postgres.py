"""A throw-away PostgreSQL server for the test suite.

:class:`TemporaryPostgres` runs ``initdb`` into a fresh temporary directory, starts the server on
a free port of 127.0.0.1 (plus a unix socket inside that directory) and removes everything on
exit. Durability is switched off (``fsync``, ``synchronous_commit``, ``full_page_writes``) and
the directory goes to ``/dev/shm`` when there is room: the data is thrown away anyway, and it
makes the suite several times faster.

PostgreSQL refuses to run as root, so when the tests run as root the server runs as the
``postgres`` system user and the temporary directory is handed over to it.

A small watchdog process is started next to the server: if the test process dies without
cleaning up (SIGKILL, ``os._exit``, a CI timeout), the watchdog stops the server and deletes the
directory, so that no orphan server keeps a port and shared memory.

Usage::

    with TemporaryPostgres() as pg:
        url = pg.url                          # postgresql://postgres@127.0.0.1:PORT/palier_test
        other = pg.create_database("t_1234")  # URL of a fresh, empty database
        ...
        pg.drop_database("t_1234")

Only the standard library is needed to start and stop the server; :meth:`create_database` and
:meth:`drop_database` use psycopg (imported when first called).
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOST = "127.0.0.1"
DEFAULT_DBNAME = "palier_test"

# Unix socket paths are limited to 107 bytes on Linux (103 on macOS); the socket is named
# ".s.PGSQL.<port>" inside the temporary directory.
_MAX_SOCKET_PATH = 100
_INITDB_TIMEOUT = 120.0
_STOP_TIMEOUT = 30.0
_PORT_ATTEMPTS = 5
_LOG_TAIL_LINES = 40
_REQUIRED_BINARIES = ("initdb", "pg_ctl", "postgres")
_MIN_SHM_FREE = 1 << 30

# Client and server variables of the caller must not leak into the tools we run (PGDATA,
# PGPORT, PGOPTIONS...), and messages must be in English so that the log can be inspected.
_ENV_DROP_PREFIX = "PG"


class PostgresError(RuntimeError):
    """The temporary PostgreSQL server could not be created, started or stopped."""


def _has_binaries(directory: Path) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in _REQUIRED_BINARIES)


def _version_key(directory: Path) -> tuple[int, ...]:
    # Debian names the folders "9.6", "10", "15"...: compare them as numbers, not strings.
    return tuple(int(part) for part in re.findall(r"\d+", directory.parent.name)) or (0,)


def find_pg_bin() -> Path | None:
    """Return the directory holding ``initdb``, ``pg_ctl`` and ``postgres``, or None.

    The newest version under ``/usr/lib/postgresql/*/bin`` (Debian and Ubuntu keep the server
    binaries off the PATH there) wins; otherwise the directory of ``initdb`` found on the PATH,
    following a symbolic link if the binaries only sit together at its target (Homebrew).
    """
    candidates = [path for path in Path("/usr/lib/postgresql").glob("*/bin") if _has_binaries(path)]
    if candidates:
        return max(candidates, key=_version_key)
    initdb = shutil.which("initdb")
    if initdb is None:
        return None
    for directory in (Path(initdb).parent, Path(initdb).resolve().parent):
        if _has_binaries(directory):
            return directory
    return None


def _free_port() -> int:
    # The port is released before the server binds it; a race with another process is handled
    # by retrying the start with another port.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _traversable_by_others(path: Path) -> bool:
    for part in (path, *path.parents):
        try:
            if not part.stat().st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


def _usable_base(path: Path, run_as_other_user: bool) -> bool:
    too_long = len(str(path)) + len("/palier-pg-xxxxxxxx/.s.PGSQL.65535") > _MAX_SOCKET_PATH
    # A TMPDIR such as /root/tmp is fine for us but unreachable for the postgres user.
    return (path.is_dir() and os.access(path, os.W_OK | os.X_OK) and not too_long
            and (not run_as_other_user or _traversable_by_others(path)))


def _base_dir(run_as_other_user: bool) -> str:
    # Even with fsync off, a disk file system makes initdb about three times and CREATE DATABASE
    # about ten times slower than memory. /dev/shm is only used when it has room: Docker gives
    # containers 64 MB there by default, and a cluster takes about 40 MB plus 8 MB a database.
    shm = Path("/dev/shm")
    try:
        vfs = os.statvfs(shm)
        if vfs.f_bavail * vfs.f_frsize >= _MIN_SHM_FREE and _usable_base(shm, run_as_other_user):
            return str(shm)
    except OSError:
        pass
    base = Path(tempfile.gettempdir())
    return str(base) if _usable_base(base, run_as_other_user) else "/tmp"


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no server log: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(server log is empty)"


def _postmaster_pid(data_dir: Path) -> int | None:
    try:
        first_line = (data_dir / "postmaster.pid").read_text().splitlines()[0]
        return int(first_line.strip())
    except (OSError, IndexError, ValueError):
        return None


def _is_postgres(pid: int) -> bool:
    """Whether ``pid`` is a live PostgreSQL process.

    We may signal as root: a stale pid file must not make us kill a recycled pid. A zombie does
    not count either: when init is slow to reap the postmaster (some containers), the process
    table keeps it a while after it exited.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        # No /proc (macOS): the signal test above is all we have.
        return not Path("/proc/self").exists()
    except OSError:
        return False
    # "pid (comm) state ...": comm may itself hold spaces and parentheses.
    comm = stat_line[stat_line.find("(") + 1:stat_line.rfind(")")]
    state = stat_line[stat_line.rfind(")") + 2:][:1]
    return comm in ("postgres", "postmaster") and state not in ("Z", "X")


def _kill_postmaster(data_dir: Path, timeout: float = 10.0) -> None:
    """Stop the postmaster of ``data_dir`` with signals, when pg_ctl could not.

    SIGQUIT is PostgreSQL's immediate shutdown (children are told to quit, nothing is written);
    SIGKILL follows if it did not work. Backends notice their postmaster's death on their own.
    """
    pid = _postmaster_pid(data_dir)
    if pid is None or not _is_postgres(pid):
        return
    for sig, wait in ((signal.SIGQUIT, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _is_postgres(pid):
                return
            time.sleep(0.05)


def _watchdog(base_dir: str) -> None:
    """Body of the watchdog process (see the module docstring).

    It reads its stdin until the parent closes it. The parent writes ``done`` once it has
    cleaned up; end of file without it means the parent died, so the watchdog cleans up.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    received = sys.stdin.buffer.read()
    if received.endswith(b"done"):
        return
    _kill_postmaster(Path(base_dir) / "data")
    shutil.rmtree(base_dir, ignore_errors=True)


class TemporaryPostgres:
    """A PostgreSQL server living in a temporary directory, for the duration of a test session.

    Use it as a context manager, or call :meth:`start` and :meth:`stop` (a pytest session
    fixture would). The server and its directory are removed on exit, errors included.

    :param dbname: database created at start; :attr:`url` points at it.
    :param user: database superuser (authentication is ``trust``, no password).
    :param bin_dir: directory of the server binaries; :func:`find_pg_bin` by default.
    :param os_user: system user running the server when this process is root.
    :param settings: extra ``postgresql.conf`` settings, e.g. ``{"log_statement": "all"}``.
    :param start_timeout: seconds to wait for the server to accept connections.
    :param parent_dir: where the temporary directory is made; by default ``/dev/shm`` when it
        has at least 1 GiB free, the system temporary directory otherwise.
    """

    def __init__(
        self,
        dbname: str = DEFAULT_DBNAME,
        *,
        user: str = "postgres",
        bin_dir: str | os.PathLike | None = None,
        os_user: str = "postgres",
        settings: dict[str, object] | None = None,
        start_timeout: float = 60.0,
        parent_dir: str | os.PathLike | None = None,
    ) -> None:
        self.dbname = dbname
        self.user = user
        self.host = HOST
        self.os_user = os_user
        self.settings = dict(settings or {})
        self.start_timeout = start_timeout
        self.parent_dir = Path(parent_dir) if parent_dir is not None else None
        self.port: int | None = None
        self.locale: str | None = None
        self.base_dir: Path | None = None
        self._bin_dir = Path(bin_dir) if bin_dir is not None else None
        self._runner: list[str] = []
        self._owner: tuple[int, int] | None = None
        self._watchdog: subprocess.Popen | None = None
        self._running = False

    # -- paths and URLs -------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        return self._require_base() / "data"

    @property
    def socket_dir(self) -> Path:
        """The directory of the unix socket (the temporary directory itself)."""
        return self._require_base()

    @property
    def log_path(self) -> Path:
        """The server log file."""
        return self._require_base() / "server.log"

    @property
    def url(self) -> str:
        """URL of the database created at start: ``postgresql://USER@127.0.0.1:PORT/DBNAME``."""
        return self.url_for(self.dbname)

    def url_for(self, dbname: str) -> str:
        """URL of another database on this server."""
        if self.port is None:
            raise PostgresError("the temporary PostgreSQL server is not started")
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def _require_base(self) -> Path:
        if self.base_dir is None:
            raise PostgresError("the temporary PostgreSQL server is not started")
        return self.base_dir

    # -- life cycle -----------------------------------------------------------------------

    def __enter__(self) -> TemporaryPostgres:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        """Create the cluster, start the server and create :attr:`dbname`.

        Raises :class:`PostgresError` with the tool output and the server log tail on failure;
        nothing is left behind in that case.
        """
        if self.base_dir is not None:
            raise PostgresError("the temporary PostgreSQL server is already started")
        bin_dir = self._bin_dir or find_pg_bin()
        if bin_dir is None:
            raise PostgresError(
                "PostgreSQL server binaries not found (initdb, pg_ctl, postgres): install the "
                "server package (Debian: apt-get install postgresql) or pass bin_dir"
            )
        self._bin_dir = Path(bin_dir)
        if not _has_binaries(self._bin_dir):
            raise PostgresError(f"{self._bin_dir} does not hold executable "
                                f"{', '.join(_REQUIRED_BINARIES)}")
        self._runner = self._runner_prefix()
        try:
            parent = self.parent_dir or _base_dir(self._owner is not None)
            self.base_dir = Path(tempfile.mkdtemp(prefix="palier-pg-", dir=parent))
            if self._owner is not None:
                os.chown(self.base_dir, *self._owner)
            self._start_watchdog()
            self._initdb()
            self._configure()
            self._start_server()
            self.create_database(self.dbname)
        except BaseException:
            # KeyboardInterrupt included: a half-started server must not outlive us.
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server and delete the temporary directory. Safe to call more than once."""
        base = self.base_dir
        if base is None:
            return
        try:
            if self._running or (base / "data" / "postmaster.pid").exists():
                self._stop_server()
        finally:
            # A server that survived everything keeps its directory: deleting the files under
            # it would only make it harder to find and stop.
            if not self._server_alive(base):
                shutil.rmtree(base, ignore_errors=True)
            self._release_watchdog(cleaned=not base.exists())
            self.base_dir = None
            self.port = None
            self._running = False

    # -- databases ------------------------------------------------------------------------

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database ``name`` (a copy of ``template`` if given) and return its URL.

        A template must have no open connection while it is copied: PostgreSQL refuses
        otherwise. Cloning a migrated template is much faster than migrating each database.
        """
        from psycopg import sql

        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            query = sql.SQL("{} TEMPLATE {}").format(query, sql.Identifier(template))
        with self._admin_connection() as conn:
            conn.execute(query)
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, closing the connections still open on it.

        Tests often leave pooled connections behind; they are terminated rather than making
        the drop fail.
        """
        from psycopg import sql

        ident = sql.Identifier(name)
        with self._admin_connection() as conn:
            if conn.info.server_version >= 130000:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
                return
            # Before PostgreSQL 13 there is no FORCE: refuse new connections, end the others.
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if exists.fetchone() is None:
                return
            conn.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(ident))
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(ident))

    def _admin_connection(self):
        import psycopg

        if self.port is None:
            raise PostgresError("the temporary PostgreSQL server is not started")
        # CREATE/DROP DATABASE cannot run inside a transaction block.
        return psycopg.connect(host=self.host, port=self.port, user=self.user,
                               dbname="postgres", autocommit=True, connect_timeout=10)

    # -- internals ------------------------------------------------------------------------

    def _runner_prefix(self) -> list[str]:
        if os.geteuid() != 0:
            self._owner = None
            return []
        import pwd

        try:
            entry = pwd.getpwnam(self.os_user)
        except KeyError:
            raise PostgresError(
                f"running as root, and PostgreSQL refuses to run as root; the system user "
                f"{self.os_user!r} that should run it does not exist (create it, run the tests "
                f"as another user, or pass os_user)"
            ) from None
        self._owner = (entry.pw_uid, entry.pw_gid)
        # setpriv keeps the environment we pass and skips PAM; runuser is the fallback.
        setpriv = shutil.which("setpriv")
        if setpriv:
            return [setpriv, f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}",
                    "--init-groups", "--"]
        runuser = shutil.which("runuser")
        if runuser:
            return [runuser, "-u", self.os_user, "--"]
        raise PostgresError("running as root, but neither setpriv nor runuser is available to "
                            f"run PostgreSQL as {self.os_user!r}")

    def _env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(_ENV_DROP_PREFIX)}
        env["LC_ALL"] = "C"
        env.pop("LANGUAGE", None)
        if self._owner is not None:
            # root's HOME is not readable by the postgres user.
            env["HOME"] = str(self.base_dir)
        return env

    def _run(self, tool: str, *args: str, timeout: float) -> subprocess.CompletedProcess:
        command = [*self._runner, str(self._bin_dir / tool), *args]
        try:
            # The working directory must be readable by the server's user (not /root).
            return subprocess.run(command, cwd=self.base_dir, env=self._env(),
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  errors="replace", timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise PostgresError(f"{tool} did not finish within {timeout:.0f} s: "
                                f"{' '.join(command)}\n{self._log_report()}") from exc

    def _log_report(self) -> str:
        if self.base_dir is None:
            return ""
        return f"--- server log tail ({self.log_path}) ---\n{_tail(self.log_path)}"

    def _initdb(self) -> None:
        # C.UTF-8 gives upper()/lower() on accented letters; plain C is the fallback for C
        # libraries without it. Both sort bytewise, so results do not depend on the host.
        failures = []
        for locale in ("C.UTF-8", "C"):
            result = self._run("initdb", "-D", str(self.data_dir), "-U", self.user,
                               "--auth=trust", "--encoding=UTF8", f"--locale={locale}",
                               "--no-sync", timeout=_INITDB_TIMEOUT)
            if result.returncode == 0:
                self.locale = locale
                return
            failures.append(f"locale {locale}: exit {result.returncode}\n"
                            f"{result.stdout}{result.stderr}".rstrip())
            shutil.rmtree(self.data_dir, ignore_errors=True)
        raise PostgresError("initdb failed:\n" + "\n\n".join(failures))

    def _configure(self) -> None:
        settings: dict[str, object] = {
            "listen_addresses": HOST,
            "unix_socket_directories": str(self.socket_dir),
            "max_connections": 200,
            # Durability is pointless for a cluster deleted at exit.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "wal_level": "minimal",
            "max_wal_senders": 0,
            "max_wal_size": "1GB",
            "logging_collector": "off",
            "timezone": "UTC",
        }
        settings.update(self.settings)
        lines = ["", "# Added by core.testing.postgres for a throw-away test server."]
        for key, value in settings.items():
            if isinstance(value, bool):
                value = "on" if value else "off"
            if isinstance(value, (int, float)):
                lines.append(f"{key} = {value}")
            else:
                escaped = str(value).replace("\\", "\\\\").replace("'", "''")
                lines.append(f"{key} = '{escaped}'")
        # Written by us (root or not); the file keeps its owner, so the server can read it.
        with open(self.data_dir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\n".join(lines) + "\n")

    def _start_server(self) -> None:
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            self.port = _free_port()
            log_size = self.log_path.stat().st_size if self.log_path.exists() else 0
            # The port is given on the command line so that a retry does not edit the config.
            result = self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_path),
                               "-o", f"-p {self.port}", "-w", "-t", str(int(self.start_timeout)),
                               "start", timeout=self.start_timeout + 30)
            if result.returncode == 0:
                self._running = True
                return
            new_log = self._read_log_from(log_size)
            port_taken = "could not bind" in new_log or "Address already in use" in new_log
            # pg_ctl may give up while the postmaster is still starting: never leave it behind.
            if (self.data_dir / "postmaster.pid").exists():
                self._stop_server()
            if not port_taken or attempt == _PORT_ATTEMPTS:
                raise PostgresError(
                    f"PostgreSQL did not start on {self.host}:{self.port} "
                    f"(pg_ctl exit {result.returncode}):\n"
                    f"{(result.stdout + result.stderr).strip()}\n{self._log_report()}"
                )

    def _read_log_from(self, offset: int) -> str:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(offset)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def _stop_server(self) -> None:
        # Immediate mode: no shutdown checkpoint, the data is about to be deleted anyway.
        try:
            result = self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w",
                               "-t", str(int(_STOP_TIMEOUT)), "stop", timeout=_STOP_TIMEOUT + 15)
            stopped = result.returncode == 0
        except PostgresError:
            stopped = False
        if not stopped or self._server_alive(self.base_dir):
            _kill_postmaster(self.data_dir)
        self._running = False
        if self._server_alive(self.base_dir):
            raise PostgresError(f"could not stop the PostgreSQL server of {self.data_dir}")

    @staticmethod
    def _server_alive(base: Path) -> bool:
        pid = _postmaster_pid(base / "data")
        return pid is not None and _is_postgres(pid)

    def _start_watchdog(self) -> None:
        # -I: the folder of this file must not shadow standard modules in the watchdog.
        self._watchdog = subprocess.Popen(
            [sys.executable, "-I", str(Path(__file__).resolve()), "--watchdog",
             str(self.base_dir)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd="/",
            # Its own session: the Ctrl-C meant for the tests must not kill it first.
            start_new_session=True,
        )

    def _release_watchdog(self, cleaned: bool) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is None:
            return
        try:
            if cleaned:
                watchdog.stdin.write(b"done")
            watchdog.stdin.close()
        except OSError:
            pass
        try:
            # Without "done" it cleans up what we could not; give it the time to do so.
            watchdog.wait(timeout=5 if cleaned else 60)
        except subprocess.TimeoutExpired:
            pass


if __name__ == "__main__" and sys.argv[1:2] == ["--watchdog"]:
    _watchdog(sys.argv[2])
