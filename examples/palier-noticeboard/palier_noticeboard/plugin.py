"""The plugin class: its metadata and its hook implementations, nothing else.

Palier loads this class through the ``palier.plugins`` entry point of ``setup.py``. Each method
marked ``@hookimpl`` implements the hook of the same name in ``core/hookspecs.py``, and may
take any subset of that hook's arguments.
"""
from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

from flask import current_app, has_request_context, request, url_for
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _

from core import Plugin, hookimpl
from core.config import ConfigError, Setting
from core.contributions import Card, NavItem, TimelineEntry, Widget

PACKAGE_DIR = Path(__file__).resolve().parent

# The plugin's own modules are imported inside the hooks: Palier loads this module for every
# installed plugin, enabled or not, and importing the model would add its table to the shared
# metadata of an app that does not use it.


class NoticeboardPlugin(Plugin):
    """Residence noticeboard (panneau d'affichage): staff post notices, tenants read them.

    A notice belongs to one residence and is shown from its first day to its last day; the
    tenants living in that residence read the current ones on their portal.
    """

    name = "noticeboard"

    @hookimpl
    def register_settings(self):
        return [Setting(
            "NOTICEBOARD_CARD_LIMIT", 3,
            "How many titles of current notices the tenant portal's card quotes, newest "
            "first (0: only their number).")]

    @hookimpl
    def register_models(self):
        from palier_noticeboard.models import Notice

        return [Notice]

    @hookimpl
    def register_migrations(self):
        return str(PACKAGE_DIR / "migrations" / "versions")

    @hookimpl
    def register_translations(self):
        return str(PACKAGE_DIR / "translations")

    @hookimpl
    def register_blueprints(self, app):
        from palier_noticeboard.views import bp

        # The first hook that sees the configuration: a wrong setting stops start-up here
        # rather than breaking the tenants' home page later.
        _check_card_limit(app.config["NOTICEBOARD_CARD_LIMIT"])
        return [bp]

    @hookimpl
    def register_cli_commands(self, cli):
        from palier_noticeboard.cli import noticeboard_cli

        cli.add_command(noticeboard_cli)

    @hookimpl
    def extra_css_urls(self):
        # Only the plugin's own pages need its stylesheet.
        if has_request_context() and request.blueprint == "noticeboard":
            return [url_for("noticeboard.static", filename="noticeboard.css")]
        return None

    @hookimpl
    def portal_cards(self, user):
        from palier_noticeboard.queries import count_and_titles

        limit = current_app.config["NOTICEBOARD_CARD_LIMIT"]
        count, titles = count_and_titles(user.person, date.today(), limit)
        if not count:
            text = _("No notice in your residence at the moment.")
        elif titles:
            quoted = "; ".join(titles) + ("…" if count > len(titles) else "")
            text = ngettext("%(num)d current notice: %(titles)s",
                            "%(num)d current notices: %(titles)s", count, titles=quoted)
        else:
            text = ngettext("%(num)d current notice", "%(num)d current notices", count)
        return [Card(_("Residence noticeboard"), text, url_for("noticeboard.portal_notices"),
                     icon="board", order=50)]

    @hookimpl
    def backoffice_widgets(self):
        from palier_noticeboard.queries import count_shown

        shown = count_shown(date.today())
        return [Widget(_("Residence noticeboards"),
                       _("Notices shown to tenants today, all residences."),
                       figure=format_decimal(shown), url=url_for("noticeboard.backoffice_notices"),
                       order=50)]

    @hookimpl
    def navigation_items(self, area):
        if area == "portal":
            return [NavItem(_("Notices"), url_for("noticeboard.portal_notices"),
                            "noticeboard.portal_notices", order=50)]
        if area == "backoffice":
            return [NavItem(_("Notices"), url_for("noticeboard.backoffice_notices"),
                            "noticeboard.backoffice_notices", order=50)]
        return None

    @hookimpl
    def timeline_entries(self, person, since):
        from palier_noticeboard.queries import published_since

        today = date.today()
        return [
            TimelineEntry(
                datetime.combine(notice.starts_on, time.min),
                _("Residence notice: %(title)s", title=notice.title),
                notice.body,
                channel="portal",
                url=(url_for("noticeboard.portal_notice", notice_id=notice.id)
                     if notice.state_on(today) == "current" else None))
            for notice in published_since(person, since, today)]


def _check_card_limit(value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(
            f"NOTICEBOARD_CARD_LIMIT={value!r}: give a whole number, 0 or more "
            "(PALIER_NOTICEBOARD_CARD_LIMIT=3).")
