"""Who may open which page: one declaration per view, used by the core and every plugin.

Every view declares its policy with one of these decorators; the declaration is both the check
and the data of the authorization table test (``tests/test_authorization.py``), which walks the
app's URL map and fails on any route without a declared policy:

- ``@public``: anyone, logged in or not (login page, language switch, health check);
- ``@login_only``: any logged-in account, whatever its role (logout);
- ``@roles_required(Role.AGENT, ...)``, ``@tenant_required``, ``@staff_required``,
  ``@admin_required``: logged-in accounts of these roles; others get 403, anonymous visitors go
  to the login page;
- ``@permission_required("claims.qualify")``: holders of a permission a plugin declared (its
  roles may be changed by the landlord, see :mod:`core.permissions`).

A role check says who may open a page; which objects the page shows is the query's business
(a tenant's claims, a caretaker's buildings): objects of others are not found (404).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from flask import abort
from flask_login import current_user, login_required

from core.accounts import Role
from core.permissions import has_permission, permissions_of


@dataclass(frozen=True)
class Policy:
    """Who may call a view: ``roles`` (None means every logged-in account), anyone, or the
    holders of a ``permission`` (whose roles the app knows once built)."""

    public: bool = False
    roles: frozenset[Role] | None = None
    permission: str | None = None

    def allows(self, role: Role | None) -> bool:
        if self.public:
            return True
        if role is None:
            return False
        return self.roles is None or role in self.roles


def policy_of(view) -> Policy | None:
    """The policy a view declared (looking through the decorators that wrap it)."""
    while view is not None:
        declared = getattr(view, "palier_policy", None)
        if declared is not None:
            return declared
        view = getattr(view, "__wrapped__", None)
    return None


def endpoint_policy(app, endpoint: str) -> Policy | None:
    """The policy of a route: its view's declaration; static files (Flask's own view for an
    app's or a blueprint's ``static`` folder) are public."""
    view = app.view_functions[endpoint]
    if endpoint == "static" or (endpoint.endswith(".static")
                                and getattr(view, "__name__", "") == "send_static_file"):
        return Policy(public=True)
    policy = policy_of(view)
    if policy is not None and policy.permission:
        return Policy(roles=permissions_of(app)[policy.permission].roles)
    return policy


def public(view):
    """Anyone may open this view."""
    view.palier_policy = Policy(public=True)
    return view


def login_only(view):
    """Any logged-in account may open this view."""
    wrapper = login_required(view)
    wrapper.palier_policy = Policy(roles=None)
    return wrapper


def roles_required(*roles: Role):
    """Allow a view only to logged-in users holding one of ``roles`` (403 otherwise)."""
    allowed = frozenset(roles)

    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        wrapper.palier_policy = Policy(roles=allowed)
        return wrapper

    return decorator


def permission_required(name: str):
    """Allow a view only to holders of the permission ``name`` (403 otherwise)."""

    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not has_permission(current_user, name):
                abort(403)
            return view(*args, **kwargs)

        wrapper.palier_policy = Policy(permission=name)
        return wrapper

    return decorator


STAFF_ROLES = tuple(role for role in Role if role.is_staff)
tenant_required = roles_required(Role.TENANT)
staff_required = roles_required(*STAFF_ROLES)
admin_required = roles_required(Role.ADMIN)
