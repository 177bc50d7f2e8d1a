"""Who may open which area: one check, used by every view of the core and the plugins."""
from __future__ import annotations

import functools

from flask import abort
from flask_login import current_user, login_required

from core.accounts import Role


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

        return wrapper

    return decorator


STAFF_ROLES = tuple(role for role in Role if role.is_staff)
tenant_required = roles_required(Role.TENANT)
staff_required = roles_required(*STAFF_ROLES)
admin_required = roles_required(Role.ADMIN)
