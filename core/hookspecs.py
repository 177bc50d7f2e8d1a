"""Every hook of the platform, one docstring each.

A hook implementation may accept any subset of a hook's arguments, so adding an argument never
breaks an existing plugin. ``register_*`` hooks return things to register, ``extra_*`` hooks add
to a page, and past-tense names are events (plugins publish their own events with their own
hookspecs, see ``Plugin.hookspecs``). ``docs/plugin-hooks.md`` documents each hook with its
exact signature; a test keeps the two in step.
"""
from pluggy import HookspecMarker

hookspec = HookspecMarker("palier")


@hookspec
def register_settings():
    """Declare the plugin's configuration keys.

    Called once while the app is built, before the configuration is checked. Return a list of
    :class:`core.config.Setting`; each name must start with the plugin's name in capitals
    (``NOTIFICATIONS_SMTP_HOST``). Defaults fill the keys an operator left unset, and declared
    keys are not reported as unknown.
    """


@hookspec
def register_models():
    """Import and return the plugin's SQLAlchemy models.

    Called once while the app is built. Return a list of model classes. Every table must carry
    the plugin's prefix (``claims_claim``); a table without it stops start-up.
    """


@hookspec
def register_migrations():
    """Return the folder of the plugin's Alembic revisions (its own branch).

    Called by ``palier db`` commands. The plugin's first revision carries its name as branch
    label and depends on the core revision it needs; ``palier db upgrade`` upgrades every
    enabled plugin's branch.
    """


@hookspec
def register_translations():
    """Return the folder holding the plugin's message catalogues (``fr/LC_MESSAGES/...``).

    Called once while the app is built; the catalogues are merged with the core's.
    """


@hookspec
def register_permissions():
    """Declare what the plugin lets roles do.

    Called once while the app is built. Return a list of :class:`core.permissions.Permission`
    (``Permission("claims.qualify", "Qualify a claim", {Role.AGENT, Role.MANAGER})``); names
    start with the plugin's name and a dot. The roles are defaults: a landlord changes them
    with the ``PERMISSIONS`` setting. Views check them with
    :func:`core.web.access.permission_required`.
    """


@hookspec
def register_audit_actions():
    """Name the plugin's own audit actions for the audit log's readers.

    Called once while the app is built. Return a dict: action (as given to
    :func:`core.audit.record`, starting with the plugin's name and a dot) → its label, lazily
    translated (``{"claims.note": _l("Internal note added")}``). The audit page shows the
    label and offers it in its action filter; an action without one shows as it is.
    """


@hookspec
def register_blueprints(app):
    """Return the Flask blueprints of the plugin.

    Called once while the app is built, with the app. Return a list of blueprints; their routes
    exist only while the plugin is enabled. Templates live under ``templates/<plugin>/``.
    """


@hookspec
def register_cli_commands(cli):
    """Add the plugin's commands to the ``palier`` command line.

    Called when the command line starts, with the root click group; add commands or groups to
    it (``cli.add_command(...)``). Return nothing.
    """


@hookspec
def register_socketio_namespaces():
    """Return the plugin's Socket.IO namespaces.

    Called once while the app is built. Return a list of
    :class:`core.realtime.AuthenticatedNamespace` instances, one namespace per plugin
    (``/video``); connections without a valid session are refused before any handler runs.
    """


@hookspec
def portal_cards(user):
    """Return the cards shown on the tenant portal's home page for ``user``.

    Called on each portal home request with the logged-in tenant (a :class:`core.accounts.User`).
    Return a list of :class:`core.contributions.Card`; cards are shown by ``order``, then title.
    """


@hookspec
def backoffice_widgets(user):
    """Return the widgets shown on the back-office home page for ``user``.

    Called on each back-office home request with the logged-in staff member. Return a list of
    :class:`core.contributions.Widget`, shown by ``order``. Return nothing for a role that should
    not see them.
    """


@hookspec
def navigation_items(user, area):
    """Return the menu entries of ``area`` (``"portal"`` or ``"backoffice"``) for ``user``.

    Called on every page of that area. Return a list of :class:`core.contributions.NavItem`,
    shown by ``order``.
    """


@hookspec
def timeline_entries(person, since):
    """Return the contacts and events of one person, for their timeline.

    Called by the timeline page with a :class:`core.estate.Person` and a ``datetime`` (naive,
    UTC): return the :class:`core.contributions.TimelineEntry` items at or after ``since``. The
    page merges all plugins' entries, newest first.
    """


@hookspec
def extra_template_context(user):
    """Return a dict of extra variables for every rendered template.

    Called once per rendered template with the current user (anonymous included). Keys must be
    prefixed with the plugin's name to avoid collisions.
    """


@hookspec
def extra_css_urls(area):
    """Return stylesheet URLs to add to the pages of ``area`` (``"portal"``, ``"backoffice"``,
    ``"public"``). Only same-origin URLs are allowed by the content security policy."""


@hookspec
def extra_js_urls(area):
    """Return script URLs to add to the pages of ``area`` (``"portal"``, ``"backoffice"``,
    ``"public"``). Scripts must be files: inline scripts are refused by the content security
    policy."""


@hookspec
def attachments_visible_to(user):
    """Say which attachments (pièces jointes) ``user`` may see, as a query filter.

    Called each time an attachment is served or listed, with the logged-in
    :class:`core.accounts.User`. Return an SQLAlchemy criterion on
    :class:`core.attachments.Attachment` (``Attachment.owner_type == "claim"`` combined with the
    claims this user may handle), or nothing when the plugin has no opinion. The user sees the
    union of every plugin's criteria, so a plugin speaks only of its own ``owner_type``. The core
    lets tenants see the attachments about their own person and administrators see all;
    attachments nobody allows are not found (404).
    """


@hookspec
def personal_data(person):
    """Return what the plugin keeps about ``person``, for the person's data download (RGPD).

    Called when a tenant downloads their data, with a :class:`core.estate.Person`. Return a
    dict of sections (``{"claims": [...]}``), JSON-able (dates allowed), each named after the
    plugin; the download merges every plugin's sections into one ``donnees.json``. Files stored
    through :mod:`core.attachments` with the person's id are added by the core.
    """


@hookspec
def erase_personal_data(person):
    """Delete, or pseudonymise when the law requires keeping it, what the plugin keeps about
    ``person``.

    Called when an administrator erases a person, before the core pseudonymises the person and
    blanks the audit events about them, inside the same transaction (do not commit). Files the
    plugin stored through :mod:`core.attachments` must be deleted with
    :func:`core.attachments.delete_attachment`. Return nothing.
    """


@hookspec
def load_demo_data(today):
    """Add the plugin's own data to the demo landlord ("Habitat Démo", ``palier demo``).

    Called after the core's estate, tenants and accounts exist, inside the demo's transaction
    (do not commit), with the demo's ``today`` (a :class:`datetime.date`). The demo is loaded
    again on every ``make run``: make the data idempotent (look it up before adding it).
    """
