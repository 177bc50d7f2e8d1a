"""Permissions: what a role may do, declared by the core and the plugins.

Each plugin declares its permissions through the ``register_permissions`` hook, with the roles
that hold them by default; a landlord changes who holds what with the ``PERMISSIONS`` setting
(``{"claims.qualify": ["agent", "manager"]}``). Views use :func:`permission_required`, which is
also their declared policy in the authorization table.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from core.accounts import Role
from core.config import ConfigError


@dataclass(frozen=True)
class Permission:
    """Something a role may do: ``name`` is ``<plugin>.<action>``; ``roles`` hold it by
    default (roles or their names)."""

    name: str
    description: str
    roles: frozenset[Role]

    def __post_init__(self):
        object.__setattr__(self, "roles", frozenset(Role(role) for role in self.roles))


class PermissionSetupError(ConfigError):
    """A permission set-up that cannot work; raised at start-up."""


def build_permissions(registry, overrides: dict) -> dict[str, Permission]:
    """Collect every enabled plugin's permissions, then apply the landlord's overrides."""
    permissions: dict[str, Permission] = {}
    for plugin_name, declared in registry.call_each("register_permissions"):
        for permission in declared:
            if not permission.name.startswith(plugin_name + "."):
                raise PermissionSetupError(
                    f"Plugin {plugin_name!r} declares permission {permission.name!r}, which "
                    f"must start with '{plugin_name}.'.")
            if permission.name in permissions:
                raise PermissionSetupError(f"Permission {permission.name!r} is declared twice.")
            permissions[permission.name] = permission
    for name, roles in (overrides or {}).items():
        if name not in permissions:
            raise PermissionSetupError(
                f"PALIER_PERMISSIONS names {name!r}, which no enabled plugin declares "
                f"(known: {', '.join(sorted(permissions)) or 'none'}).")
        try:
            permissions[name] = Permission(name, permissions[name].description, roles)
        except ValueError as error:
            raise PermissionSetupError(f"PALIER_PERMISSIONS[{name!r}]: {error}") from error
    return permissions


def permissions_of(app=None) -> dict[str, Permission]:
    return (app or current_app).extensions["palier.permissions"]


def has_permission(user, name: str) -> bool:
    """Whether ``user`` (logged in) holds the permission ``name``."""
    permission = permissions_of().get(name)
    if permission is None:
        raise KeyError(f"Unknown permission {name!r}: no enabled plugin declares it.")
    return bool(user.is_authenticated) and user.role in permission.roles
