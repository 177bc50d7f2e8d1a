"""The back office (staff): home composed from plugin widgets, and the plugins admin page."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from core.plugins import flatten, hook, registry
from core.web.access import admin_required, staff_required

bp = Blueprint("backoffice", __name__, url_prefix="/backoffice")


@bp.route("/")
@staff_required
def home():
    widgets = flatten(hook().backoffice_widgets(user=current_user))
    widgets.sort(key=lambda widget: (widget.order, widget.title))
    return render_template("backoffice/home.html", widgets=widgets)


def plugin_routes(app, info) -> list[str]:
    """The URL rules served by a plugin's blueprints."""
    prefixes = tuple(name + "." for name in info.blueprints)
    return sorted(rule.rule for rule in app.url_map.iter_rules()
                  if rule.endpoint.startswith(prefixes))


@bp.route("/admin/plugins")
@admin_required
def plugins():
    reg = registry()
    rows = [(info, plugin_routes(current_app, info))
            for info in sorted(reg.plugins.values(), key=lambda i: (i.source != "core", i.name))]
    return render_template("backoffice/admin/plugins.html", rows=rows,
                           namespaces=current_app.extensions.get("palier.namespaces", []))
