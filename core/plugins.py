"""Finding, enabling and calling plugins.

A plugin is an object (usually a :class:`Plugin` subclass instance) whose methods marked with
``@hookimpl`` implement hooks of :mod:`core.hookspecs`. Built-in plugins are listed in
:data:`BUILTIN_PLUGINS`; installed packages offer theirs through the ``palier.plugins``
entry-point group. Installed is not enabled: only the names in the ``PLUGINS`` setting are
registered on the app's plugin manager, which lives in ``app.extensions["palier"]``.
"""
from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pluggy
from flask import current_app

from core import hookspecs

PROJECT = "palier"
ENTRY_POINT_GROUP = "palier.plugins"
hookimpl = pluggy.HookimplMarker(PROJECT)

# Built-in plugins, by name: "module:attribute". Listed explicitly, never discovered, so that
# what a landlord runs is what this file says.
BUILTIN_PLUGINS: dict[str, str] = {
    "notifications": "plugins.notifications:NotificationsPlugin",
    "claims": "plugins.claims:ClaimsPlugin",
}

# The core's own contributions, registered through the same hooks (marked trylast).
CORE_PLUGINS: dict[str, str] = {"core": "core.defaults:CorePlugin"}


class PluginError(RuntimeError):
    """A plugin set-up that cannot work; raised at start-up with what to fix."""


class Plugin:
    """Base class of plugins. The class docstring is the plugin's description.

    Attributes a plugin may set:

    ``name``
        unique name, also the prefix of its tables, settings and templates;
    ``requires``
        names of the plugins it needs;
    ``hookspecs``
        a module or class holding the plugin's own hookspecs (its domain events);
    ``version``
        defaults to the version of the distribution that ships the plugin.
    """

    name: str = ""
    requires: tuple[str, ...] = ()
    hookspecs: object | None = None
    version: str | None = None

    @property
    def description(self) -> str:
        return inspect.cleandoc(type(self).__doc__ or "")


@dataclass
class PluginInfo:
    """What the platform knows of one available plugin."""

    name: str
    obj: object
    source: str  # "core", "built-in", "entry point" or "application"
    distribution: str | None = None
    enabled: bool = False
    blueprints: list[str] = field(default_factory=list)

    @property
    def version(self) -> str:
        explicit = getattr(self.obj, "version", None)
        if explicit:
            return explicit
        if self.distribution:
            return metadata.version(self.distribution)
        return metadata.version("palier")

    @property
    def requires(self) -> tuple[str, ...]:
        return tuple(getattr(self.obj, "requires", ()) or ())

    @property
    def description(self) -> str:
        """The first paragraph of the plugin's docstring, on one line."""
        text = getattr(self.obj, "description", None) or inspect.getdoc(self.obj) or ""
        return " ".join(text.strip().split("\n\n")[0].split())

    def migrations_folder(self) -> Path | None:
        """The plugin's revision folder, asked even when the plugin is disabled."""
        hook_impl = getattr(self.obj, "register_migrations", None)
        if hook_impl is None or getattr(hook_impl, f"{PROJECT}_impl", None) is None:
            return None
        folder = hook_impl()
        return Path(folder) if folder and Path(folder).is_dir() else None

    @property
    def hooks(self) -> list[str]:
        return sorted(
            name for name in dir(self.obj)
            if getattr(getattr(self.obj, name, None), f"{PROJECT}_impl", None) is not None
        )


def _load(spec: str) -> object:
    module_name, _, attribute = spec.partition(":")
    obj = getattr(importlib.import_module(module_name), attribute)
    return obj() if inspect.isclass(obj) else obj


def available_plugins(extra: dict[str, object] | None = None) -> dict[str, PluginInfo]:
    """Every plugin that could be enabled: core, built-in, installed, and given by the caller."""
    found: dict[str, PluginInfo] = {}
    for name, spec in CORE_PLUGINS.items():
        found[name] = PluginInfo(name, _load(spec), "core")
    for name, spec in BUILTIN_PLUGINS.items():
        found[name] = PluginInfo(name, _load(spec), "built-in")
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in found:
            raise PluginError(
                f"The installed package {ep.dist.name!r} offers a plugin named {ep.name!r}, "
                "a name already taken by a built-in plugin: rename it."
            )
        obj = ep.load()
        found[ep.name] = PluginInfo(ep.name, obj() if inspect.isclass(obj) else obj,
                                    "entry point", distribution=ep.dist.name)
    for name, obj in (extra or {}).items():
        if name in found:
            raise PluginError(f"Plugin name {name!r} is already taken.")
        found[name] = PluginInfo(name, obj, "application")
    for name, info in found.items():
        declared = getattr(info.obj, "name", None)
        if declared and declared != name:
            raise PluginError(
                f"Plugin {name!r} calls itself {declared!r}: its class attribute `name` and "
                "its entry point must agree (the name prefixes its tables and settings)."
            )
    return found


def build_plugin_manager(enabled: list[str], available: dict[str, PluginInfo],
                         check_pending: bool) -> pluggy.PluginManager:
    """Register the enabled plugins (and the core's defaults) on a fresh plugin manager."""
    unknown = [name for name in enabled if name not in available or name in CORE_PLUGINS]
    if unknown:
        choices = ", ".join(sorted(n for n in available if n not in CORE_PLUGINS)) or "none"
        raise PluginError(
            f"Unknown plugin(s) in PALIER_PLUGINS: {', '.join(unknown)}. "
            f"Available plugins: {choices}."
        )
    for name in enabled:
        missing = [req for req in available[name].requires if req not in enabled]
        if missing:
            raise PluginError(
                f"Plugin {name!r} requires {', '.join(repr(m) for m in missing)}, which "
                f"{'is' if len(missing) == 1 else 'are'} not enabled: add "
                f"{', '.join(missing)} to PALIER_PLUGINS or disable {name!r}."
            )

    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    names = list(CORE_PLUGINS) + list(enabled)
    # Domain events of every enabled plugin are known before any implementation is checked.
    for name in names:
        specs = getattr(available[name].obj, "hookspecs", None)
        if specs is not None:
            pm.add_hookspecs(specs)
    for name in names:
        info = available[name]
        pm.register(info.obj, name=name)
        info.enabled = True
    if check_pending:
        try:
            pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"A plugin implements a hook that does not exist: {exc}") from exc
    return pm


class PluginRegistry:
    """The app's plugin manager and what is known of each available plugin."""

    def __init__(self, pm: pluggy.PluginManager, plugins: dict[str, PluginInfo]):
        self.pm = pm
        self.plugins = plugins

    @property
    def hook(self):
        return self.pm.hook

    def enabled(self) -> list[PluginInfo]:
        return [info for info in self.plugins.values() if info.enabled]

    def call_each(self, hook_name: str, **kwargs) -> list[tuple[str, object]]:
        """Call a ``register_*`` hook plugin by plugin, keeping who returned what."""
        caller = getattr(self.pm.hook, hook_name)
        results = []
        for impl in reversed(caller.get_hookimpls()):  # pluggy's call order
            value = impl.function(*[kwargs[arg] for arg in impl.argnames])
            if value is not None:
                results.append((impl.plugin_name, value))
        return results

    def plugin_paths(self, hook_name: str) -> list[Path]:
        """Folders returned by a path hook of the enabled plugins, existing ones only."""
        return [Path(path) for _, path in self.call_each(hook_name) if Path(path).is_dir()]


def registry(app=None) -> PluginRegistry:
    """The plugin registry of ``app`` (by default the current app)."""
    return (app or current_app).extensions["palier"]


def hook(app=None):
    """Shortcut to call hooks: ``hook().portal_cards(user=user)``."""
    return registry(app).pm.hook


def flatten(results) -> list:
    """Hooks return one list per plugin: make a single list of them."""
    return [item for result in results if result for item in result]
