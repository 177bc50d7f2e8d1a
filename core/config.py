"""Configuration in layers.

Order, each layer overriding the previous one:

1. the commented defaults of :class:`Defaults` below;
2. ``instance/config.py`` (a Python file of UPPERCASE assignments, not versioned);
3. environment variables ``PALIER_<KEY>`` (``PALIER_SECRET_KEY``, ``PALIER_DATABASE_URL``,
   ``PALIER_PLUGINS``, ``PALIER_THEME``, ``PALIER_PUBLIC_URL``...); values are read as JSON
   when they parse, as plain strings otherwise; ``PALIER_PLUGINS`` also accepts a
   comma-separated list;
4. the mapping given to ``create_app(test_config)``.

Plugins declare their own keys through the ``register_settings`` hook; their keys carry the
plugin's name as a prefix (``NOTIFICATIONS_SMTP_HOST``). Keys that nobody declared are warned
about at start-up, since a misspelt key silently keeps its default otherwise.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

ENV_PREFIX = "PALIER_"
ENVIRONMENTS = ("production", "development", "testing")
# Records of who viewed a tenant's file are kept from six to twelve months (in days).
AUDIT_VIEW_RETENTION_RANGE = (183, 366)

log = logging.getLogger(__name__)


class ConfigError(RuntimeError):
    """A configuration an operator must fix before Palier can start."""


@dataclass(frozen=True)
class Setting:
    """A configuration key declared by a plugin (``register_settings`` hook)."""

    name: str
    default: object
    doc: str


class Defaults:
    """Commented defaults. Each key is documented where it is defined."""

    # "production", "development" or "testing". Outside development a secret key is mandatory,
    # and development/testing check that every hook implementation matches a specification.
    ENVIRONMENT = "production"
    # Signs session cookies and tokens. Only from the environment or instance/config.py.
    SECRET_KEY = None
    # SQLAlchemy URL. Empty: an SQLite file in the instance folder. "postgresql://..." URLs use
    # psycopg 3.
    DATABASE_URL = ""
    # Database connections kept open per process (one per server thread serving requests).
    DATABASE_POOL_SIZE = 10
    # Built-in or installed plugins to enable, by name. Installed is not enabled.
    PLUGINS: list[str] = []
    # Who holds which permission, when the landlord's practice differs from the plugins'
    # defaults: {"claims.qualify": ["agent", "manager"]}. `palier plugins` lists them.
    PERMISSIONS: dict[str, list[str]] = {}
    # Landlord theme (a folder under THEMES_DIR); "default" is the base look.
    THEME = "default"
    # Folder holding the themes.
    THEMES_DIR = str(Path(__file__).resolve().parent.parent / "themes")
    # The landlord's name, shown in the header, mails and letters.
    LANDLORD_NAME = "Palier"
    # Address people use to reach this instance: links in mails, SMS and letters are built from
    # it, never from the Host header of a request.
    PUBLIC_URL = "http://127.0.0.1:5000"
    # Languages offered; the first one is the default.
    LANGUAGES = ["fr", "en"]
    # Realtime: "threading" (default, one thread per open socket) or "eventlet" (thousands of
    # sockets, started by `palier serve`).
    SOCKETIO_ASYNC_MODE = "threading"
    # Redis URL used as Socket.IO message queue when several processes serve Palier.
    REDIS_URL = ""
    # Reverse proxies in front of Palier (nginx: 1). Their X-Forwarded-For and
    # X-Forwarded-Proto headers then give the client's address and scheme; 0 trusts none.
    PROXY_COUNT = 0
    # Largest request body accepted, in bytes (uploads included): 413 beyond it.
    MAX_CONTENT_LENGTH = 25 * 1024 * 1024
    # Attachments: folder of the stored files (empty: "attachments" in the instance folder;
    # several servers need a shared one), largest photo accepted in bytes, most pixels a photo
    # may declare before it is decoded, and longest side of a stored photo (larger ones are
    # scaled down).
    ATTACHMENTS_DIR = ""
    ATTACHMENTS_MAX_BYTES = 10 * 1024 * 1024
    ATTACHMENTS_MAX_PIXELS = 40_000_000
    ATTACHMENTS_MAX_DIMENSION = 2560
    # Largest estate file accepted by the back-office import page, in bytes (an export of
    # 125,000 dwellings and their occupants weighs about 80 MB).
    ESTATE_IMPORT_MAX_BYTES = 200 * 1024 * 1024
    # Rate limits storage ("memory://" for one process, a redis:// URL for several).
    RATELIMIT_STORAGE_URI = "memory://"
    # Login attempts evaluated per address (also for account activation and reset requests).
    LOGIN_RATE_LIMIT = "20 per minute"
    # Login attempts evaluated per account, whatever the address: slows password guessing
    # without ever locking the owner out for good.
    LOGIN_RATE_LIMIT_PER_ACCOUNT = "100 per hour"
    # Account activation attempts evaluated per lease reference, whatever the address.
    ACTIVATION_RATE_LIMIT_PER_LEASE = "10 per hour"
    # Session lifetime of a remembered login, in days (at most 30).
    REMEMBER_DAYS = 30
    # Without a mail relay (MAIL_SERVER), keep mail in the instance's mailbox, read by
    # administrators: for development and demonstrations only. In production without a relay
    # and without this, Palier refuses to start.
    MAIL_KEEP_LOCALLY = False
    # Server bind address and port for `palier serve`.
    SERVE_HOST = "127.0.0.1"
    SERVE_PORT = 5000
    # Threads of the gthread worker (one per open socket in threading mode).
    SERVE_THREADS = 32
    # Open sockets accepted by one eventlet process (eventlet's own default is 1,024).
    SERVE_EVENTLET_MAX_CONNECTIONS = 10000
    # Days the audit log keeps who viewed which tenant's file, before `palier audit purge`
    # blanks the record: between 183 (six months) and 366 (twelve months).
    AUDIT_VIEW_RETENTION_DAYS = 365
    # Longest a PDF may take to render, in seconds; its WeasyPrint process is killed beyond.
    PDF_TIMEOUT_SECONDS = 20
    # WeasyPrint processes one Palier process keeps warm (PDFs rendered at the same time).
    PDF_WORKERS = 2


# Keys set by Flask, its extensions or the platform itself rather than by an operator; they are
# never warned about.
_KNOWN_PREFIXES = (
    "SQLALCHEMY_", "BABEL_", "RATELIMIT_", "WTF_", "SESSION_", "REMEMBER_COOKIE_", "MAIL_",
    "PERMANENT_SESSION_", "TEMPLATES_", "EXPLAIN_", "SEND_FILE_", "TRAP_", "PREFERRED_",
    "JSON", "USE_X_SENDFILE", "APPLICATION_ROOT", "SERVER_NAME", "MAX_FORM_", "MAX_COOKIE_",
    "PROVIDE_AUTOMATIC_OPTIONS", "TRUSTED_HOSTS", "SECRET_KEY_FALLBACKS",
)


def default_keys() -> set[str]:
    return {k for k in vars(Defaults) if k.isupper()}


def _parse_env_value(raw: str) -> object:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def environment_overrides(environ: os._Environ | dict | None = None) -> dict:
    """Settings read from ``PALIER_*`` environment variables."""
    environ = os.environ if environ is None else environ
    values = {}
    for name, raw in environ.items():
        if name.startswith(ENV_PREFIX) and name != ENV_PREFIX:
            values[name[len(ENV_PREFIX):]] = _parse_env_value(raw)
    return values


def normalise(config) -> None:
    """Bring operator-friendly forms to the types the code uses; fail on nonsense."""
    plugins = config.get("PLUGINS")
    if isinstance(plugins, str):
        config["PLUGINS"] = [p.strip() for p in plugins.split(",") if p.strip()]
    if config["ENVIRONMENT"] not in ENVIRONMENTS:
        raise ConfigError(
            f"PALIER_ENVIRONMENT={config['ENVIRONMENT']!r} is not one of {', '.join(ENVIRONMENTS)}."
        )
    if config["SOCKETIO_ASYNC_MODE"] not in ("threading", "eventlet"):
        raise ConfigError(
            f"PALIER_SOCKETIO_ASYNC_MODE={config['SOCKETIO_ASYNC_MODE']!r}: "
            "choose 'threading' or 'eventlet'."
        )
    if int(config["REMEMBER_DAYS"]) > 30:
        raise ConfigError("PALIER_REMEMBER_DAYS may not exceed 30 days.")
    retention = config["AUDIT_VIEW_RETENTION_DAYS"]
    low, high = AUDIT_VIEW_RETENTION_RANGE
    if isinstance(retention, bool) or not isinstance(retention, int) or not (
            low <= retention <= high):
        raise ConfigError(
            f"PALIER_AUDIT_VIEW_RETENTION_DAYS={retention!r}: records of who viewed a tenant's "
            f"file are kept from six to twelve months, so choose a number of days from {low} "
            f"to {high}."
        )
    if not float(config["PDF_TIMEOUT_SECONDS"]) > 0:
        raise ConfigError("PALIER_PDF_TIMEOUT_SECONDS must be a positive number of seconds.")
    if int(config["PDF_WORKERS"]) < 1:
        raise ConfigError("PALIER_PDF_WORKERS must be at least 1.")


def database_uri(config, instance_path: str) -> str:
    """The SQLAlchemy URL: the configured one, with psycopg 3 for PostgreSQL."""
    url = config.get("DATABASE_URL") or ""
    if not url:
        return "sqlite:///" + os.path.join(instance_path, "palier.sqlite3")
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def check_secret_key(config) -> None:
    """Stop start-up outside development when no secret key was given."""
    if config.get("SECRET_KEY"):
        return
    if config["ENVIRONMENT"] == "production":
        raise ConfigError(
            "No secret key: set PALIER_SECRET_KEY in the environment or SECRET_KEY in "
            "instance/config.py (`palier init` writes one). Palier refuses to start in "
            "production without it, since anyone could forge sessions."
        )
    # Development and tests: a random key per process is enough.
    config["SECRET_KEY"] = os.urandom(32).hex()


def unknown_keys(config, declared: set[str], user_keys: set[str]) -> list[str]:
    """Keys an operator set that neither the platform nor an enabled plugin declared."""
    return sorted(
        key for key in user_keys
        if key not in declared and not key.startswith(_KNOWN_PREFIXES)
    )
