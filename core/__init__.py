"""Palier: the relation platform between a social-housing landlord and its tenants.

Plugins write ``from core import hookimpl`` and decorate their hook implementations with it.
"""
from core.plugins import Plugin, hookimpl

__all__ = ["Plugin", "hookimpl", "create_app"]


def create_app(test_config=None, extra_plugins=None):
    """Build the Palier application (see :func:`core.app.create_app`)."""
    from core.app import create_app as _create_app

    return _create_app(test_config=test_config, extra_plugins=extra_plugins)
