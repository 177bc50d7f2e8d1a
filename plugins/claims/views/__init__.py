"""The plugin's pages, one blueprint per area (each module owns its routes and templates)."""
from __future__ import annotations


def blueprints() -> list:
    from plugins.claims.views import caretaker, catalogue_admin, incidents, portal

    return [portal.bp, caretaker.bp, incidents.bp, incidents.portal_bp, catalogue_admin.bp]
