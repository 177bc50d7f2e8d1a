"""The application factory."""
from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path

from flask import Flask, has_request_context, request, session, url_for
from flask_babel import Babel, format_decimal, get_locale
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

from core import config as cfg
from core.db import configure_sqlite, engine_options
from core.extensions import csrf, db, login_manager, migrate
from core.mail import init_mail
from core.permissions import build_permissions, has_permission
from core.plugins import PluginRegistry, available_plugins, build_plugin_manager, flatten
from core.realtime import init_realtime
from core.themes import jinja_loader

log = logging.getLogger("palier")
CORE_DIR = Path(__file__).resolve().parent

# Content security policy: everything from our own origin, nothing inline, no framing.
CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": ["'self'", "data:", "blob:"],
    "media-src": ["'self'", "blob:"],
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def create_app(test_config: dict | None = None, extra_plugins: dict | None = None) -> Flask:
    """Build a Palier application.

    ``test_config`` overrides every other configuration layer. ``extra_plugins`` maps names to
    plugin objects offered by the caller (tests, embedding applications); like installed
    plugins, they are registered only when ``PLUGINS`` names them.
    """
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get(
        "PALIER_INSTANCE_PATH")
    app = Flask("core", instance_path=instance_path or None, instance_relative_config=True,
                static_folder=None)
    os.makedirs(app.instance_path, exist_ok=True)

    user_keys = _load_configuration(app, test_config)
    if app.config["PROXY_COUNT"]:
        # Behind nginx: the client's address and scheme come from the proxy's headers, for
        # the rate limits and the audit log alike.
        proxies = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0)
    registry = _build_plugins(app, extra_plugins)
    _apply_plugin_settings(app, registry, user_keys)
    cfg.check_secret_key(app.config)

    _init_database(app, registry)
    app.extensions["palier.permissions"] = build_permissions(registry, app.config["PERMISSIONS"])
    from core.audit import build_action_labels

    app.extensions["palier.audit_actions"] = build_action_labels(registry)
    _init_security(app)
    init_mail(app)
    _init_i18n(app, registry)
    _init_web(app, registry)
    init_realtime(app, flatten(registry.hook.register_socketio_namespaces()))
    _init_cli(app, registry)
    return app


def _init_cli(app: Flask, registry: PluginRegistry) -> None:
    from core.commands import (
        audit_cli,
        demo_command,
        estate_cli,
        plugins_command,
        serve_command,
        users_command,
    )
    from core.schema import db_cli

    for command in (db_cli, plugins_command, demo_command, serve_command, users_command,
                    audit_cli, estate_cli):
        app.cli.add_command(command)
    registry.hook.register_cli_commands(cli=app.cli)


def _load_configuration(app: Flask, test_config: dict | None) -> set[str]:
    """Apply the configuration layers; return the keys an operator or a test set."""
    app.config.from_object(cfg.Defaults)
    user_keys: set[str] = set()
    instance_file = Path(app.instance_path) / "config.py"
    if instance_file.is_file():
        before = dict(app.config)
        app.config.from_pyfile(str(instance_file))
        user_keys |= {k for k, v in app.config.items() if k not in before or before[k] is not v}
    env = cfg.environment_overrides()
    env.pop("INSTANCE_PATH", None)
    app.config.update(env)
    user_keys |= set(env)
    if test_config:
        app.config.update({k: v for k, v in test_config.items() if k != "INSTANCE_PATH"})
        user_keys |= set(test_config) - {"INSTANCE_PATH"}
    cfg.normalise(app.config)
    app.debug = app.config["ENVIRONMENT"] == "development"
    app.testing = app.config["ENVIRONMENT"] == "testing"
    return user_keys


def _build_plugins(app: Flask, extra_plugins: dict | None) -> PluginRegistry:
    available = available_plugins(extra_plugins)
    pm = build_plugin_manager(
        list(app.config["PLUGINS"]), available,
        check_pending=app.config["ENVIRONMENT"] in ("development", "testing"),
    )
    registry = PluginRegistry(pm, available)
    app.extensions["palier"] = registry
    return registry


def _apply_plugin_settings(app: Flask, registry: PluginRegistry, user_keys: set[str]) -> None:
    declared = cfg.default_keys() | set(Flask.default_config)
    for plugin_name, settings in registry.call_each("register_settings"):
        prefix = plugin_name.upper() + "_"
        for setting in settings:
            if plugin_name != "core" and not setting.name.startswith(prefix):
                raise cfg.ConfigError(
                    f"Plugin {plugin_name!r} declares setting {setting.name!r}, "
                    f"which must start with {prefix!r}."
                )
            app.config.setdefault(setting.name, setting.default)
            declared.add(setting.name)
    for key in cfg.unknown_keys(app.config, declared, user_keys):
        log.warning("Unknown configuration key %s: no enabled plugin uses it (misspelt?)", key)


def _init_database(app: Flask, registry: PluginRegistry) -> None:
    uri = cfg.database_uri(app.config, app.instance_path)
    app.config["SQLALCHEMY_DATABASE_URI"] = uri
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS",
                          engine_options(uri, int(app.config["DATABASE_POOL_SIZE"])))
    # Core models register on import.
    import core.accounts  # noqa: F401
    import core.attachments  # noqa: F401
    import core.audit  # noqa: F401 - also records every flush's changes
    import core.estate  # noqa: F401
    import core.import_jobs  # noqa: F401

    for plugin_name, models in registry.call_each("register_models"):
        for model in models:
            table = model.__table__.name
            if not table.startswith(plugin_name + "_"):
                raise RuntimeError(
                    f"Plugin {plugin_name!r}: table {table!r} must start with {plugin_name}_."
                )
    db.init_app(app)
    if uri.startswith("sqlite"):
        with app.app_context():
            configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(CORE_DIR / "migrations"), render_as_batch=True)


def _init_security(app: Flask) -> None:
    secure = app.config["PUBLIC_URL"].startswith("https://")
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_NAME="palier_session",
        REMEMBER_COOKIE_DURATION=timedelta(days=int(app.config["REMEMBER_DAYS"])),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=secure,
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    # The limiter comes first: throttled requests are refused before any other work.
    limiter = Limiter(key_func=get_remote_address, storage_uri=app.config["RATELIMIT_STORAGE_URI"])
    limiter.init_app(app)
    app.extensions["palier.limiter"] = limiter
    csrf.init_app(app)
    Talisman(
        app,
        force_https=secure,
        strict_transport_security=secure,
        session_cookie_secure=secure,
        content_security_policy=CSP,
        referrer_policy="same-origin",
        frame_options="DENY",
        permissions_policy={"camera": "(self)", "microphone": "(self)", "geolocation": "()"},
    )


def _select_locale() -> str:
    from flask import current_app
    from flask_login import current_user

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # command line, workers: the landlord's language
        return languages[0]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return languages[0]


def _init_i18n(app: Flask, registry: PluginRegistry) -> None:
    folders = [CORE_DIR / "translations"] + registry.plugin_paths("register_translations")
    app.config["BABEL_DEFAULT_LOCALE"] = app.config["LANGUAGES"][0]
    app.config["BABEL_DEFAULT_TIMEZONE"] = "Europe/Paris"
    Babel().init_app(
        app,
        locale_selector=_select_locale,
        default_translation_directories=";".join(str(f) for f in folders),
    )


def _init_web(app: Flask, registry: PluginRegistry) -> None:
    from core.themes import theme_static
    from core.web import (
        account,
        attachments,
        audit_log,
        auth,
        backoffice,
        errors,
        estate_import,
        portal,
        public,
        tenant_files,
    )

    app.jinja_loader = jinja_loader(app.config["THEMES_DIR"], app.config["THEME"])
    # Templates (a landlord theme's too) see what a page shows, never the configuration and
    # its secrets (secret key, mail password, database URL).
    del app.jinja_env.globals["config"]
    app.jinja_env.filters["number"] = format_decimal  # 64,5 in French, 64.5 in English
    # Logging in, activating an account and asking for a reset link are throttled per address
    # and per account, before the CSRF check or any other work.
    # Logging out is never throttled: a session must always be able to end.
    limiter = app.extensions["palier.limiter"]
    for blueprint in (auth.bp, account.bp):
        limiter.limit(lambda: app.config["LOGIN_RATE_LIMIT"], methods=["POST"],
                      exempt_when=lambda: request.endpoint == "auth.logout")(blueprint)
    limiter.limit(lambda: app.config["LOGIN_RATE_LIMIT_PER_ACCOUNT"], methods=["POST"],
                  key_func=_attempted_account,
                  exempt_when=lambda: request.endpoint != "auth.login")(auth.bp)
    limiter.limit(lambda: app.config["ACTIVATION_RATE_LIMIT_PER_LEASE"], methods=["POST"],
                  key_func=_attempted_lease,
                  exempt_when=lambda: request.endpoint != "account.activate")(account.bp)
    for blueprint in (theme_static, auth.bp, account.bp, public.bp, portal.bp, backoffice.bp,
                      attachments.bp, tenant_files.bp, audit_log.bp, estate_import.bp):
        app.register_blueprint(blueprint)
    errors.register(app)

    for plugin_name, blueprints in registry.call_each("register_blueprints", app=app):
        for blueprint in blueprints:
            app.register_blueprint(blueprint)
            registry.plugins[plugin_name].blueprints.append(blueprint.name)

    asset_urls: dict = {}

    @app.context_processor
    def _palier_context():
        from flask_login import current_user

        extra = {}
        for values in registry.hook.extra_template_context(user=current_user):
            extra.update(values or {})
        return {"palier": PageHelpers(registry, asset_urls), "get_locale": get_locale,
                "has_permission": has_permission,
                "landlord_name": app.config["LANDLORD_NAME"], **extra}


def _attempted_account() -> str:
    """The account a login attempt is for (counted whoever sends it, from wherever)."""
    from core.accounts import normalise_email

    return "account:" + normalise_email(request.form.get("email", ""))


def _attempted_lease() -> str:
    """The lease an activation attempt names (guessing addresses for one lease is slowed)."""
    return "lease:" + request.form.get("lease_reference", "").strip().upper()


class PageHelpers:
    """What the base layouts ask the plugins for, in one object (``palier`` in templates)."""

    def __init__(self, registry: PluginRegistry, asset_urls: dict):
        self._registry = registry
        self._asset_urls = asset_urls

    def asset(self, filename: str) -> str:
        """URL of a theme file (built once per file: the layout asks on every page)."""
        key = (request.script_root, filename)
        url = self._asset_urls.get(key)
        if url is None:
            url = self._asset_urls[key] = url_for("theme.static", filename=filename)
        return url

    def navigation(self, user, area: str):
        items = flatten(self._registry.hook.navigation_items(user=user, area=area))
        return sorted(items, key=lambda item: (item.order, item.label))

    def css_urls(self, area: str) -> list[str]:
        return flatten(self._registry.hook.extra_css_urls(area=area))

    def js_urls(self, area: str) -> list[str]:
        return flatten(self._registry.hook.extra_js_urls(area=area))
