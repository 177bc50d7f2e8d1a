"""The notifications pages in a real browser: a tenant changes a preference with the keyboard
only; axe finds no serious or critical violation on the preferences page, the call list and the
delivery log."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.accounts import User
from core.estate import Person
from core.extensions import db
from core.testing.browser import assert_accessible, log_in
from core.testing.smtp import free_port
from plugins.notifications import notify
from plugins.notifications.models import Message, Preference

from .conftest import run_worker

pytestmark = pytest.mark.browser

NOTICE = {"title": "Coupure d'eau jeudi", "body": "L'eau sera coupée de 9 h à 12 h.",
          "residence": "Les Tilleuls", "link": "https://palier.example/portal/notices/7"}


@pytest.fixture
def live_app(make_app, smtp_server):
    port = free_port()
    return make_app(plugins=["notifications"], PUBLIC_URL=f"http://127.0.0.1:{port}",
                    MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port,
                    NOTIFICATIONS_CHANNELS=["mail", "phone"],
                    NOTIFICATIONS_QUIET_HOURS=["00:00", "00:00"])


def tenant_with_phone(app, make_tenant, **kwargs):
    user = make_tenant(locale="en", **kwargs)
    with app.app_context():
        person = db.session.get(Person, db.session.get(User, user.id).person_id)
        person.phone = "06 12 34 56 78"
        db.session.commit()
        return user, person.id


def focused(page) -> dict:
    return page.evaluate("() => ({tag: document.activeElement.tagName, "
                         "name: document.activeElement.name || '', "
                         "value: document.activeElement.value || '', "
                         "text: document.activeElement.textContent.trim()})")


def tab_to(page, wanted, limit=60):
    """Press Tab until the focused element matches ``wanted`` (a predicate)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if wanted(focused(page)):
            return
    raise AssertionError("never reached with the Tab key")


def test_a_tenant_changes_a_preference_with_the_keyboard_only(page, live_server, live_app,
                                                              make_tenant):
    user, person_id = tenant_with_phone(live_app, make_tenant, first_name="Josiane",
                                        last_name="Fabre")
    log_in(page, user.email)
    page.wait_for_url("**/portal/")
    # From the home page to the preferences page, by the keyboard.
    tab_to(page, lambda el: el["tag"] == "A" and "How we contact you" in el["text"])
    page.keyboard.press("Enter")
    page.wait_for_url("**/portal/contact/preferences")
    assert_accessible(page)
    field = "kind_notifications_notice"
    # Tab reaches the group on its checked radio ("no preference"); the arrows move the choice.
    tab_to(page, lambda el: el["name"] == field)
    assert focused(page)["value"] == ""
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert focused(page)["value"] == "phone"
    tab_to(page, lambda el: el["tag"] == "BUTTON" and el["text"] == "Save my choices")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text() == "Your contact preferences are saved."
    assert page.get_by_label("Phone call — number ending in 78").is_checked()
    assert_accessible(page)
    with live_app.app_context():
        assert db.session.execute(select(Preference.kind, Preference.channel).where(
            Preference.person_id == person_id)).all() == [("notifications.notice", "phone")]


def test_a_refused_choice_is_explained_accessibly(page, live_server, live_app, make_tenant):
    user, _ = tenant_with_phone(live_app, make_tenant)
    log_in(page, user.email)
    page.wait_for_url("**/portal/")
    page.goto("/portal/contact/preferences")
    # A channel switched off after the page was shown: what a stale page would send.
    page.locator("#kind_notifications_notice-phone").evaluate("el => el.value = 'fax'")
    page.locator("#kind_notifications_notice-phone").check()
    page.get_by_role("button", name="Save my choices").click()
    page.wait_for_load_state()
    summary = page.get_by_role("alert")
    assert "cannot be chosen" in summary.inner_text()
    summary.get_by_role("link").click()
    assert focused(page)["name"] == "kind_notifications_notice"
    assert_accessible(page)


def test_the_call_list_and_the_message_log_are_accessible(page, live_server, live_app,
                                                          make_tenant, make_user):
    _, person_id = tenant_with_phone(live_app, make_tenant, first_name="Nadia",
                                     last_name="Benali")
    with live_app.app_context():
        person = db.session.get(Person, person_id)
        notify(person, "notifications.notice", NOTICE, event="notice:1", channel="phone")
        notify(person, "notifications.notice", NOTICE, event="notice:2", channel="phone",
               urgent=True)
        notify(person, "notifications.notice", NOTICE, event="notice:3")
        db.session.commit()
    run_worker(live_app)
    agent = make_user("agent", display_name="Sophie Lambert", locale="en")
    log_in(page, agent.email)
    page.wait_for_url("**/backoffice/")
    page.get_by_role("link", name="Calls to make").click()
    page.wait_for_url("**/backoffice/notifications/calls")
    assert page.locator("article.call").count() == 2
    assert_accessible(page)
    first = page.locator("article.call").first
    first.get_by_label("No answer: try again later").check()
    first.get_by_role("button", name="Record the call").click()
    page.wait_for_load_state()
    assert "Recorded: no answer from Mme Nadia Benali" in page.get_by_role("status").inner_text()
    assert page.locator("article.call").count() == 1
    assert_accessible(page)

    page.get_by_role("link", name="Messages").click()
    page.wait_for_url("**/backoffice/notifications")
    assert_accessible(page)
    with live_app.app_context():
        mail_id = db.session.scalar(select(Message.id).where(Message.channel == "mail"))
    page.goto(f"/backoffice/notifications/{mail_id}")
    assert page.get_by_role("heading", name="Text sent").is_visible()
    assert_accessible(page)
