"""The plugin's pages, one blueprint per area (each module owns its routes and templates)."""
from __future__ import annotations


def blueprints() -> list:
    from plugins.claims.views import (
        backoffice,
        caretaker,
        catalogue_admin,
        dashboard,
        incidents,
        portal,
    )

    return [portal.bp, caretaker.bp, dashboard.bp, incidents.bp, incidents.portal_bp,
            backoffice.bp, catalogue_admin.bp]
