"""The noticeboard plugin, tested as installed: through its entry point, on Palier's fixtures.

Palier's pytest plugin (``core.testing.fixtures``) provides ``make_app``, ``app``, ``client``,
``login`` and the factories; ``@pytest.mark.plugins("noticeboard")`` enables the plugin in the
``app`` of every test of this module. The interface is French by default, so the pages are
checked in French.
"""
from __future__ import annotations

from datetime import date, timedelta
from importlib import metadata, resources

import pytest

from core.testing.browser import axe_violations
from core.testing.fixtures import DEFAULT_PASSWORD, csrf_token

pytestmark = pytest.mark.plugins("noticeboard")

TODAY = date.today()
NBSP = "\u00a0"


@pytest.fixture
def residence_of(app_under_test):
    """The residence id of a building made by ``make_estate``."""
    from core.estate import Building
    from core.extensions import db

    def lookup(building_id):
        with app_under_test().app_context():
            return db.session.get(Building, building_id).residence_id

    return lookup


@pytest.fixture
def make_notice(app_under_test):
    """Post a notice straight into the database (that of the app Palier's factories write
    into); returns its id."""
    from palier_noticeboard.models import Notice

    from core.extensions import db

    def factory(residence_id, title="Coupure d'eau mardi", body="De 9 h à 12 h, bâtiment A.",
                starts_on=TODAY, ends_on=None):
        with app_under_test().app_context():
            notice = Notice(residence_id=residence_id, title=title, body=body,
                            starts_on=starts_on, ends_on=ends_on)
            db.session.add(notice)
            db.session.commit()
            return notice.id

    return factory


@pytest.fixture
def notice_titles(app_under_test):
    """The titles of every notice in the database."""
    from palier_noticeboard.models import Notice
    from sqlalchemy import select

    from core.extensions import db

    def read():
        with app_under_test().app_context():
            return sorted(db.session.scalars(select(Notice.title)))

    return read


def palier_cli(app, *args):
    """Run ``palier ARGS`` against ``app``: the console script's command group, given the test
    app instead of building one from the environment."""
    from core.cli import main

    return app.test_cli_runner().invoke(main, list(args))


# Tenant pages


def test_tenant_reads_the_current_notices_of_their_residence_only(
        client, login, make_estate, make_tenant, make_notice, residence_of):
    home = make_estate()
    elsewhere = make_estate()
    tenant = make_tenant(building_id=home)
    mine = make_notice(residence_of(home), title="Coupure d'eau mardi",
                       body="De 9 h à 12 h.\nPensez à faire des réserves.",
                       ends_on=TODAY + timedelta(days=3))
    make_notice(residence_of(home), title="Désinsectisation des caves",
                starts_on=TODAY - timedelta(days=10), ends_on=TODAY - timedelta(days=1))
    make_notice(residence_of(home), title="Ravalement de façade",
                starts_on=TODAY + timedelta(days=5))
    theirs = make_notice(residence_of(elsewhere), title="Ascenseur en panne")
    login(client, tenant)

    page = client.get("/portal/notices").get_data(as_text=True)
    assert "Panneau d’affichage" in page
    assert "Coupure d&#39;eau mardi" in page
    assert "Pensez à faire des réserves." in page
    assert "Désinsectisation des caves" not in page  # ended yesterday
    assert "Ravalement de façade" not in page  # not shown before its first day
    assert "Ascenseur en panne" not in page  # another residence

    notice = client.get(f"/portal/notices/{mine}")
    assert notice.status_code == 200
    assert "Coupure d&#39;eau mardi" in notice.get_data(as_text=True)
    assert client.get(f"/portal/notices/{theirs}").status_code == 404


def test_tenant_without_current_lease_sees_no_notice(
        client, login, make_estate, make_tenant, make_notice, residence_of):
    building = make_estate()
    tenant = make_tenant(building_id=building, lease_start=TODAY + timedelta(days=30))
    notice = make_notice(residence_of(building), title="Coupure d'eau mardi")
    login(client, tenant)

    page = client.get("/portal/notices").get_data(as_text=True)
    assert "Aucun avis dans votre résidence en ce moment." in page
    assert client.get(f"/portal/notices/{notice}").status_code == 404


def test_portal_card_and_menu_entry(client, login, make_estate, make_tenant, make_notice,
                                    residence_of):
    building = make_estate()
    tenant = make_tenant(building_id=building)
    make_notice(residence_of(building), title="Coupure d'eau mardi",
                starts_on=TODAY - timedelta(days=1))
    make_notice(residence_of(building), title="Désinsectisation des caves")
    login(client, tenant)

    home = client.get("/portal/").get_data(as_text=True)
    assert "Panneau d’affichage" in home
    assert (f"2 avis en cours{NBSP}: Désinsectisation des caves; Coupure d&#39;eau mardi"
            in home)
    assert '<a href="/portal/notices">Avis</a>' in home


def test_card_limit_setting_bounds_the_quoted_titles(
        app, make_app, login, make_estate, make_tenant, make_notice, residence_of, caplog):
    building = make_estate()
    tenant = make_tenant(building_id=building)
    for title in ("Coupure d'eau mardi", "Désinsectisation des caves", "Ravalement"):
        make_notice(residence_of(building), title=title)
    assert app.config["NOTICEBOARD_CARD_LIMIT"] == 3
    # The same database, served by an app whose operator set the plugin's setting.
    limited = make_app(plugins=["noticeboard"], DATABASE_URL=app.config["DATABASE_URL"],
                       NOTICEBOARD_CARD_LIMIT=1)
    assert "NOTICEBOARD_CARD_LIMIT" not in caplog.text  # declared: not warned as unknown
    client = limited.test_client()
    login(client, tenant)

    home = client.get("/portal/").get_data(as_text=True)
    assert f"3 avis en cours{NBSP}: Ravalement…" in home


def test_pages_follow_the_language_the_tenant_chose(client, login, make_estate, make_tenant,
                                                   make_notice, residence_of):
    building = make_estate()
    make_notice(residence_of(building), title="Coupure d'eau mardi", starts_on=date(2026, 3, 10),
                ends_on=TODAY + timedelta(days=1))
    login(client, make_tenant(building_id=building))
    assert "mardi 10 mars 2026" in client.get("/portal/notices").get_data(as_text=True)

    client.post("/language", data={"csrf_token": csrf_token(client, "/portal/notices"),
                                   "lang": "en"})
    page = client.get("/portal/notices").get_data(as_text=True)
    assert "<h1>Residence noticeboard</h1>" in page
    assert "Tuesday, March 10, 2026" in page
    assert "1 current notice: Coupure d&#39;eau mardi" in client.get("/portal/").get_data(
        as_text=True)


def test_a_wrong_card_limit_stops_start_up(make_app):
    from core.config import ConfigError

    with pytest.raises(ConfigError, match="NOTICEBOARD_CARD_LIMIT='three'"):
        make_app(plugins=["noticeboard"], NOTICEBOARD_CARD_LIMIT="three")


# Staff page


def test_staff_posts_a_notice_that_the_residence_then_reads(
        client, app, login, make_user, make_estate, make_tenant, residence_of):
    building = make_estate()
    tenant = make_tenant(building_id=building)
    agent = make_user("agent")
    login(client, agent)

    form = client.get("/backoffice/notices").get_data(as_text=True)
    assert "Publier un avis" in form
    assert '<label for="title">Titre</label>' in form
    response = client.post("/backoffice/notices", data={
        "csrf_token": csrf_token(client, "/backoffice/notices"),
        "residence": str(residence_of(building)),
        "title": "  Coupure d'eau mardi  ",
        "body": "De 9 h à 12 h.",
        "starts_on": TODAY.isoformat(),
        "ends_on": (TODAY + timedelta(days=2)).strftime("%d/%m/%Y"),
    })
    assert response.status_code == 302
    listing = client.get(response.location).get_data(as_text=True)
    assert f"Avis «{NBSP}Coupure d&#39;eau mardi{NBSP}» publié pour Résidence 1." in listing
    assert '<span class="badge badge--on">Affiché</span>' in listing

    tenant_client = app.test_client()
    login(tenant_client, tenant)
    assert "Coupure d&#39;eau mardi" in tenant_client.get("/portal/notices").get_data(
        as_text=True)


def test_invalid_notice_is_refused_in_french_and_writes_nothing(
        client, login, make_user, make_estate, residence_of, notice_titles):
    building = make_estate()
    login(client, make_user("caretaker"))

    response = client.post("/backoffice/notices", data={
        "csrf_token": csrf_token(client, "/backoffice/notices"),
        "residence": str(residence_of(building)),
        "title": "   ",
        "body": "De 9 h à 12 h.",
        "starts_on": "14/03/2026",
        "ends_on": "13/03/2026",
    })
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "L’avis n’a pas été publié." in page
    assert '<a href="#title">Saisissez un titre' in page
    assert "Le dernier jour d’affichage ne peut pas précéder le premier." in page
    assert 'aria-invalid="true"' in page
    assert notice_titles() == []

    response = client.post("/backoffice/notices", data={
        "csrf_token": csrf_token(client, "/backoffice/notices"),
        "residence": "",
        "title": "Coupure d'eau",
        "body": "De 9 h à 12 h.",
        "starts_on": "mardi",
    })
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Choisissez la résidence dont les locataires verront l’avis." in page
    assert "Saisissez une date valide, par exemple 14/03/2026." in page
    assert notice_titles() == []


def test_only_staff_open_the_staff_page_and_only_tenants_the_portal(
        client, login, make_user, make_tenant):
    login(client, make_tenant())
    assert client.get("/backoffice/notices").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/portal/")})
    login(client, make_user("technician"))
    assert client.get("/portal/notices").status_code == 403
    assert client.get("/backoffice/notices").status_code == 200


def test_backoffice_widget_and_menu_entry(client, login, make_user, make_estate, make_notice,
                                          residence_of):
    building = make_estate()
    make_notice(residence_of(building))
    make_notice(residence_of(building), ends_on=TODAY - timedelta(days=1))
    login(client, make_user("agent"))

    home = client.get("/backoffice/").get_data(as_text=True)
    assert "Panneaux d’affichage des résidences" in home
    assert '<p class="widget__figure">1</p>' in home
    assert '<a href="/backoffice/notices">Avis</a>' in home


# Timeline


def test_timeline_shows_the_notices_published_for_the_residence(
        client, login, make_estate, make_tenant, make_notice, residence_of):
    home = make_estate()
    elsewhere = make_estate()
    tenant = make_tenant(building_id=home)
    make_notice(residence_of(home), title="Coupure d'eau mardi",
                starts_on=TODAY - timedelta(days=20), ends_on=TODAY - timedelta(days=19))
    make_notice(residence_of(home), title="Vieille affiche",
                starts_on=TODAY - timedelta(days=200))
    make_notice(residence_of(home), title="Ravalement de façade",
                starts_on=TODAY + timedelta(days=5))
    make_notice(residence_of(elsewhere), title="Ascenseur en panne")
    login(client, tenant)

    recent = client.get("/portal/timeline?period=90").get_data(as_text=True)
    assert f"Avis de la résidence{NBSP}: Coupure d&#39;eau mardi" in recent
    assert "Vieille affiche" not in recent  # published before the period
    assert "Ravalement de façade" not in recent  # not published yet
    assert "Ascenseur en panne" not in recent
    assert "Vieille affiche" in client.get("/portal/timeline?period=all").get_data(
        as_text=True)


# Switching the plugin off


def test_card_menu_and_pages_go_away_when_the_plugin_is_not_enabled(
        app, make_app, login, make_estate, make_tenant, make_user, make_notice,
        residence_of):
    building = make_estate()
    tenant = make_tenant(building_id=building)
    agent = make_user("agent")
    notice = make_notice(residence_of(building))
    # The same database, served once the operator took noticeboard out of PALIER_PLUGINS.
    disabled = make_app(plugins=[], DATABASE_URL=app.config["DATABASE_URL"])

    enabled_client, disabled_client = app.test_client(), disabled.test_client()
    login(enabled_client, tenant)
    login(disabled_client, tenant)
    assert "Panneau d’affichage" in enabled_client.get("/portal/").get_data(as_text=True)
    home = disabled_client.get("/portal/").get_data(as_text=True)
    assert "Panneau d’affichage" not in home
    assert "/portal/notices" not in home
    assert disabled_client.get("/portal/notices").status_code == 404
    assert disabled_client.get(f"/portal/notices/{notice}").status_code == 404
    assert disabled_client.get("/noticeboard/static/noticeboard.css").status_code == 404

    staff_client = disabled.test_client()
    login(staff_client, agent)
    assert "/backoffice/notices" not in staff_client.get("/backoffice/").get_data(as_text=True)
    assert staff_client.get("/backoffice/notices").status_code == 404


def test_a_database_without_the_plugin_has_no_table_of_it(make_app):
    from core.extensions import db

    app = make_app(plugins=[])
    with app.app_context():
        assert "noticeboard_notice" not in db.inspect(db.engine).get_table_names()


def test_a_landlord_theme_restyles_the_tenant_page_but_not_the_staff_page(
        app, make_app, copy_tree, tmp_path, login, make_user, make_tenant):
    from core.config import Defaults

    copy_tree(f"{Defaults.THEMES_DIR}/default", "themes/default")
    for page in ("portal", "backoffice"):
        override = tmp_path / f"themes/landlord/templates/noticeboard/{page}/notices.html"
        override.parent.mkdir(parents=True)
        override.write_text("Affichage à la façon du bailleur", encoding="utf-8")
    themed = make_app(plugins=["noticeboard"], DATABASE_URL=app.config["DATABASE_URL"],
                      THEMES_DIR=str(tmp_path / "themes"), THEME="landlord")
    tenant_client, staff_client = themed.test_client(), themed.test_client()
    login(tenant_client, make_tenant())
    login(staff_client, make_user("manager"))

    assert tenant_client.get("/portal/notices").get_data(as_text=True) == (
        "Affichage à la façon du bailleur")
    assert "Publier un avis" in staff_client.get("/backoffice/notices").get_data(as_text=True)


def test_the_plugin_branch_downgrades_and_upgrades_alone(app):
    from core.extensions import db

    def tables():
        with app.app_context():
            return db.inspect(db.engine).get_table_names()

    result = palier_cli(app, "db", "downgrade", "noticeboard@base")
    assert result.exit_code == 0, result.output
    assert "noticeboard_notice" not in tables()
    assert "residence" in tables()  # the core's branch is untouched

    result = palier_cli(app, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "noticeboard_notice" in tables()


# Command line, packaging


def test_purge_deletes_the_notices_ended_before_a_date(app, make_estate, make_notice,
                                                       residence_of, notice_titles):
    residence = residence_of(make_estate())
    make_notice(residence, title="Fini en décembre", starts_on=date(2025, 12, 1),
                ends_on=date(2025, 12, 31))
    make_notice(residence, title="Fini le premier janvier", starts_on=date(2025, 12, 1),
                ends_on=date(2026, 1, 1))
    make_notice(residence, title="Sans fin", starts_on=date(2025, 1, 1))

    result = palier_cli(app, "noticeboard", "purge", "--before", "2026-01-01")
    assert result.exit_code == 0, result.output
    assert result.output == "Deleted 1 notice ended before 2026-01-01.\n"
    assert notice_titles() == ["Fini le premier janvier", "Sans fin"]

    refused = palier_cli(app, "noticeboard", "purge", "--before", "01/01/2026")
    assert refused.exit_code == 2
    assert notice_titles() == ["Fini le premier janvier", "Sans fin"]


def test_palier_plugins_lists_the_plugin(app):
    result = palier_cli(app, "plugins")
    assert result.exit_code == 0, result.output
    assert "noticeboard 1.0.0 [enabled] (entry point)" in result.output
    assert ("  Residence noticeboard (panneau d'affichage): staff post notices, tenants read "
            "them.\n") in result.output
    listing = result.output.split("noticeboard 1.0.0", 1)[1]
    assert "portal_cards" in listing and "timeline_entries" in listing
    assert "/backoffice/notices" in listing and "/portal/notices" in listing


def test_the_installed_distribution_offers_the_plugin_through_its_entry_point():
    (entry_point,) = [ep for ep in metadata.entry_points(group="palier.plugins")
                      if ep.name == "noticeboard"]
    assert entry_point.value == "palier_noticeboard.plugin:NoticeboardPlugin"
    assert entry_point.dist.name == "palier-noticeboard"
    assert entry_point.dist.version == "1.0.0"
    # What is not Python must have been shipped too (package_data in setup.py).
    package = resources.files("palier_noticeboard")
    for data in ("translations/fr/LC_MESSAGES/messages.mo",
                 "templates/noticeboard/backoffice/notices.html",
                 "templates/noticeboard/portal/notices.html",
                 "static/noticeboard.css",
                 "migrations/versions/7864abafefe3_noticeboard_notices.py"):
        assert package.joinpath(data).is_file(), data


# In a real browser (Debian's Chromium, phone-sized window, French)


@pytest.mark.browser
def test_staff_posts_and_a_tenant_reads_in_a_real_browser(
        page, live_server, make_estate, make_user, make_tenant, residence_of):
    refused_by_csp = []
    page.on("console", lambda message: refused_by_csp.append(message.text)
            if "Content Security Policy" in message.text else None)
    building = make_estate()
    agent, tenant = make_user("agent"), make_tenant(building_id=building)

    browser_login(page, agent.email)
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Avis").click()
    page.get_by_role("button", name="Publier l’avis").click()
    assert "Saisissez un titre" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Titre").get_attribute("aria-invalid") == "true"
    assert_accessible(page)

    page.get_by_label("Résidence").select_option(str(residence_of(building)))
    page.get_by_label("Titre").fill("Désinsectisation des caves")
    page.get_by_label("Texte de l’avis").fill("Jeudi matin : laissez l’accès aux caves libre.")
    page.get_by_label("Affiché jusqu’au (facultatif)").fill(
        (TODAY + timedelta(days=3)).isoformat())
    page.get_by_role("button", name="Publier l’avis").click()
    assert "publié pour Résidence 1" in page.get_by_role("status").inner_text()
    assert_accessible(page)

    page.context.clear_cookies()
    browser_login(page, tenant.email)
    page.get_by_role("link", name="Panneau d’affichage").click()
    page.wait_for_url("**/portal/notices")
    notice = page.locator(".notice")
    assert "Désinsectisation des caves" in notice.inner_text()
    # The plugin's stylesheet reached the page (a file: the CSP forbids inline styles).
    assert notice.evaluate("node => getComputedStyle(node).borderLeftWidth") == "6px"
    assert_accessible(page)
    assert refused_by_csp == []


def browser_login(page, email):
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()


def assert_accessible(page):
    violations = axe_violations(page)
    assert violations == [], "\n".join(
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in violations)
