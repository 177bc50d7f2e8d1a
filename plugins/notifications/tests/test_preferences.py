"""What tenants see of their messages: the preferences page (channels per kind, accessibility
needs, proof by letter), their history, and the messages listed on the page of the object they
concern."""
from __future__ import annotations

import re

import pytest
from flask import Blueprint, render_template_string
from sqlalchemy import func, select

from core.accounts import User
from core.audit import AuditEvent
from core.estate import Person
from core.extensions import db
from core.plugins import hookimpl
from core.testing.fixtures import csrf_token
from core.web.access import public
from plugins.notifications import PACKAGE_DIR, notify
from plugins.notifications.channels import Accepted, Channel
from plugins.notifications.kinds import MessageKind
from plugins.notifications.models import Message, Preference, Profile, Status

from .conftest import run_worker

PAGE = "/portal/contact/preferences"
NOTICE_FIELD = "kind_notifications_notice"
FORMAL_FIELD = "kind_tests_formal_notice"
NOTICE = {"title": "Coupure d'eau jeudi", "body": "L'eau sera coupée de 9 h à 12 h.",
          "residence": "Les Tilleuls"}

FORMAL_NOTICE = MessageKind(
    name="tests.formal_notice", label="Formal notices about your lease",
    templates=str(PACKAGE_DIR / "messages" / "notice"), needs_proof=True)


class LetterStandIn(Channel):
    """Stands for the letter channel while the plugin ships none: the pages only need a
    switched-on channel named "letter" that uses the postal address (nothing is posted)."""

    name = "letter"
    label = "letter"
    address_kind = "postal"

    def deliver(self, outgoing):
        return Accepted(detail="printed")


def _ships_a_letter_channel() -> bool:
    from plugins.notifications.channels.registry_defaults import builtin_channels

    return any(cls.name == "letter" for cls in builtin_channels())


class PagesPlugin:
    """A formal notice kind (needs proof), a page showing the messages about a person, and a
    letter channel when the plugin has none."""

    name = "pages"

    @hookimpl
    def register_notification_kinds(self):
        return [FORMAL_NOTICE]

    @hookimpl
    def register_notification_channels(self):
        return [] if _ships_a_letter_channel() else [LetterStandIn]

    @hookimpl
    def register_blueprints(self, app):
        bp = Blueprint("pages", __name__)

        @bp.route("/tests/people/<int:person_id>/messages")
        @public
        def person_messages(person_id):
            return render_template_string(
                '{% from "notifications/macros/object_messages.html" import object_messages %}'
                '{{ object_messages("person", person_id) }}', person_id=person_id)

        return [bp]


@pytest.fixture
def prefs_app(make_app, smtp_server):
    return make_app(plugins=["notifications", "pages"], extra_plugins={"pages": PagesPlugin()},
                    MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port,
                    NOTIFICATIONS_CHANNELS=["mail", "phone", "letter"],
                    NOTIFICATIONS_QUIET_HOURS=["00:00", "00:00"])


def tenant(app, make_tenant, phone="06 12 34 56 78", **kwargs):
    user = make_tenant(locale="en", **kwargs)
    with app.app_context():
        person = db.session.get(Person, db.session.get(User, user.id).person_id)
        person.phone = phone
        db.session.commit()
        return user, person.id


def logged_in(app, user, login):
    client = app.test_client()
    login(client, user)
    return client


def fieldset(page: str, legend: str) -> str:
    match = re.search(r"<fieldset[^>]*>\s*<legend><h2[^>]*>" + re.escape(legend)
                      + r"</h2></legend>(.*?)</fieldset>", page, re.S)
    assert match, f"no fieldset {legend!r}"
    return match.group(1)


def radios(html: str) -> dict[str, bool]:
    """Each radio button's label text → whether it is checked."""
    found = {}
    for match in re.finditer(r'<input type="radio" id="([^"]+)"[^>]*?( checked)?>\s*'
                             r'<label for="\1">(.*?)</label>', html, re.S):
        label = re.sub(r"<[^>]+>", "", match.group(3)).strip()
        found[label] = bool(match.group(2))
    return found


def save(client, data, token=True):
    form = {"csrf_token": csrf_token(client, PAGE)} if token else {}
    form.update(data)
    return client.post(PAGE, data=form)


def test_the_page_offers_each_kind_the_channels_that_reach_the_tenant(prefs_app, make_tenant,
                                                                      login):
    user, _ = tenant(prefs_app, make_tenant)
    client = logged_in(prefs_app, user, login)
    home = client.get("/portal/").get_data(as_text=True)
    assert 'href="/portal/contact/preferences"' in home.split("</nav>")[0]  # menu
    assert "How we contact you" in home.split("</nav>")[1]  # and a card
    page = client.get(PAGE).get_data(as_text=True)
    email = "t•••@example.org"
    assert radios(fieldset(page, "Notices about your building (works, water or power cuts)")) == {
        "No preference (today: e-mail)": True,
        f"E-mail — {email}": False,
        "Letter — Résidence 1, Bâtiment A, Entrée 1, logement 001, 1 rue de la Paix, "
        "11000 Carcassonne": False,
        "Phone call — number ending in 78": False,
    }
    assert "Test message" not in page  # not a choosable kind
    assert "always also go by letter to your home" in page
    formal = fieldset(page, "Formal notices about your lease")
    assert "Always also sent by letter, as proof." in formal
    assert 'id="kind_tests_formal_notice-proof"' in formal
    assert "I have no smartphone" in page and "I am visually impaired" in page
    assert "Messages come by letter, with no link to follow." in page  # no voice channel on


def test_a_tenant_without_a_phone_number_is_told_how_to_get_calls(prefs_app, make_tenant,
                                                                  login):
    user, _ = tenant(prefs_app, make_tenant, phone=None)
    page = logged_in(prefs_app, user, login).get(PAGE).get_data(as_text=True)
    assert "Phone call" not in page
    assert "We have no phone number for you" in page


def test_saving_a_choice_changes_where_the_next_message_goes(prefs_app, make_tenant, login):
    user, person_id = tenant(prefs_app, make_tenant)
    client = logged_in(prefs_app, user, login)
    response = save(client, {NOTICE_FIELD: "phone", FORMAL_FIELD: ""})
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Your contact preferences are saved." in page
    assert radios(fieldset(page, "Notices about your building (works, water or power cuts)"))[
        "Phone call — number ending in 78"]
    with prefs_app.app_context():
        assert db.session.execute(select(Preference.kind, Preference.channel)).all() == [
            ("notifications.notice", "phone")]
        audit = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "notifications.preferences"))
        assert audit.person_id == person_id
        assert audit.detail == {"notifications.notice": {"before": None, "after": "phone"}}
        [message] = notify(db.session.get(Person, person_id), "notifications.notice", NOTICE,
                           event="notice:1")
        assert message.channel == "phone" and message.address == "06 12 34 56 78"
        db.session.rollback()
    # Back to no preference: the row goes, the kind's own order (e-mail first) applies again.
    save(client, {NOTICE_FIELD: ""})
    with prefs_app.app_context():
        assert db.session.scalar(select(func.count(Preference.id))) == 0


def test_needs_steer_the_kinds_without_preference_and_proof_adds_a_letter(prefs_app,
                                                                         make_tenant, login):
    user, person_id = tenant(prefs_app, make_tenant)
    client = logged_in(prefs_app, user, login)
    save(client, {"no_smartphone": "y", NOTICE_FIELD: "", FORMAL_FIELD: "mail"})
    page = client.get(PAGE).get_data(as_text=True)
    assert 'id="no_smartphone" name="no_smartphone" value="y" checked' in page
    assert radios(fieldset(page, "Notices about your building (works, water or power cuts)"))[
        "No preference (today: letter)"]
    with prefs_app.app_context():
        profile = db.session.get(Profile, person_id)
        assert profile.no_smartphone and not profile.visual_impairment
        person = db.session.get(Person, person_id)
        notice = notify(person, "notifications.notice", NOTICE, event="notice:2")
        formal = notify(person, "tests.formal_notice", NOTICE, event="formal:1")
        assert [m.channel for m in notice] == ["letter"]  # no smartphone: by letter
        assert [m.channel for m in formal] == ["mail", "letter"]  # chosen, and proof
        db.session.rollback()


def test_a_channel_not_offered_is_refused_and_nothing_is_written(prefs_app, make_tenant,
                                                                 login):
    user, _ = tenant(prefs_app, make_tenant)
    client = logged_in(prefs_app, user, login)
    response = save(client, {NOTICE_FIELD: "sms", FORMAL_FIELD: "phone",
                             "visual_impairment": "y"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Please correct the following:" in page
    assert (f'<a href="#{NOTICE_FIELD}">This way of contacting you cannot be chosen for '
            "“Notices about your building (works, water or power cuts)”: choose one of those "
            "shown.</a>") in page
    notice = fieldset(page, "Notices about your building (works, water or power cuts)")
    assert f'id="{NOTICE_FIELD}-error"' in notice
    with prefs_app.app_context():
        assert db.session.scalar(select(func.count(Preference.id))) == 0
        assert db.session.scalar(select(func.count()).select_from(Profile)) == 0
        assert db.session.scalar(select(func.count(AuditEvent.seq)).where(
            AuditEvent.action == "notifications.preferences")) == 0


def test_a_form_without_its_csrf_token_writes_nothing(prefs_app, make_tenant, login):
    user, _ = tenant(prefs_app, make_tenant)
    client = logged_in(prefs_app, user, login)
    response = save(client, {NOTICE_FIELD: "phone"}, token=False)
    assert response.status_code == 400
    assert "Your form has expired. Please go back, reload the page and try again." in \
        response.get_data(as_text=True)
    with prefs_app.app_context():
        assert db.session.scalar(select(func.count(Preference.id))) == 0


def test_the_page_is_for_tenants(prefs_app, make_user, login):
    agent = make_user("agent")
    assert logged_in(prefs_app, agent, login).get(PAGE).status_code == 403
    assert prefs_app.test_client().get(PAGE).status_code == 302  # to the login page


def test_the_history_says_what_became_of_each_message(prefs_app, make_tenant, login):
    user, person_id = tenant(prefs_app, make_tenant)
    with prefs_app.app_context():
        person = db.session.get(Person, person_id)
        notify(person, "notifications.notice", NOTICE, event="notice:3")
        notify(person, "notifications.notice", NOTICE, event="notice:4", channel="phone")
        db.session.commit()
    run_worker(prefs_app)
    page = logged_in(prefs_app, user, login).get("/portal/timeline").get_data(as_text=True)
    entries = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", entry)).strip()
               for entry in re.findall(r'<li class="timeline__entry[^"]*">(.*?)</li>', page,
                                       re.S)]
    mail = next(e for e in entries if "e-mail" in e and "Coupure" in e)
    assert "Message sent. Address used: t•••@example.org." in mail
    call = next(e for e in entries if "phone call" in e)
    assert "Notices about your building" in call
    assert "An adviser will call you. Address used: number ending in 78." in call


def test_the_page_of_an_object_lists_the_messages_about_it(prefs_app, make_tenant):
    _, person_id = tenant(prefs_app, make_tenant)
    _, other_id = tenant(prefs_app, make_tenant, first_name="Lucien")
    with prefs_app.app_context():
        person = db.session.get(Person, person_id)
        notify(person, "notifications.notice", NOTICE, event="notice:5", obj=person)
        notify(person, "notifications.notice", NOTICE, event="notice:6", channel="phone",
               obj=person)
        other = db.session.get(Person, other_id)
        notify(other, "notifications.notice", NOTICE, event="notice:5", obj=other)
        db.session.commit()
    run_worker(prefs_app)
    client = prefs_app.test_client()
    client.post("/language", data={"csrf_token": csrf_token(client, "/login"), "lang": "en"})
    page = client.get(f"/tests/people/{person_id}/messages").get_data(as_text=True)
    rows = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for row in re.findall(r"<tr>(.*?)</tr>", page, re.S)][1:]
    assert len(rows) == 2
    assert rows[0].endswith("Notices about your building (works, water or power cuts) "
                            "e-mail sent")
    assert rows[1].endswith("phone call sent")
    empty = client.get("/tests/people/999999/messages").get_data(as_text=True)
    assert "No message sent about it yet." in empty
    with prefs_app.app_context():
        from plugins.notifications.history import messages_about

        assert [m.channel for m in messages_about("person", person_id, person_id)] == [
            "mail", "phone"]
        assert messages_about("person", person_id, other_id) == []
        assert db.session.scalar(select(Message.status).where(
            Message.person_id == other_id)) is Status.SENT


def test_the_channel_rules_put_the_tenants_choice_first(prefs_app, make_tenant):
    from plugins.notifications.kinds import kind_of
    from plugins.notifications.outbox import choose_channels, contacts_of

    _, person_id = tenant(prefs_app, make_tenant)
    with prefs_app.app_context():
        person = db.session.get(Person, person_id)
        contacts, notice = contacts_of(person), kind_of("notifications.notice")
        seeing, no_phone = Profile(visual_impairment=True), Profile(no_smartphone=True)
        assert choose_channels(notice, person, contacts) == ["mail"]  # the kind's order
        assert choose_channels(notice, person, contacts, None, seeing) == ["letter"]  # no voice
        assert choose_channels(notice, person, contacts, None, no_phone) == ["letter"]
        assert choose_channels(notice, person, contacts, "phone", no_phone) == ["phone"]
        assert choose_channels(notice, person, contacts, "sms", None) == ["mail"]  # sms is off
        formal = kind_of("tests.formal_notice")
        assert choose_channels(formal, person, contacts, "letter", None) == ["letter"]
        assert choose_channels(formal, person, contacts, "phone", None) == ["phone", "letter"]
