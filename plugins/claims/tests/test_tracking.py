"""The tenant following a claim: adding information or photos, cancelling, rating, and the
claim's page (stepper, public history, photos, forms), through the functions and the pages.

Every refusal is checked for what a user would notice (the message, the answer's status) and
for what must not happen (no row, no file written).
"""
from __future__ import annotations

import io
import re
from contextlib import contextmanager

import pytest
from flask_babel import force_locale
from PIL import Image
from sqlalchemy import func, select

from core.accounts import User
from core.attachments import Attachment
from core.audit import AuditEvent
from core.extensions import db
from core.testing.fixtures import csrf_token
from plugins.claims.models import PHOTO_OWNER_TYPE, Claim, ClaimEvent, EventKind, Status
from plugins.claims.tracking import (
    ClaimForbidden,
    ClaimInvalid,
    ClaimNotFound,
    IllegalTransition,
    add_information,
    cancel,
    progress,
    public_timeline,
    rate,
)

TO_RESOLVED = ("qualified", "assigned", "in_progress", "resolved")


def jpeg(colour=(30, 90, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
    return buffer.getvalue()


NOT_AN_IMAGE = b"%PDF-1.4 this is an invoice, not a photo"


@pytest.fixture
def tenant(claims_app, make_tenant):
    return make_tenant(locale="en")


@pytest.fixture
def neighbour(claims_app, make_tenant):
    return make_tenant(first_name="Paul", last_name="Roux", locale="en")


@pytest.fixture
def agent(claims_app, make_user):
    return make_user("agent")


@pytest.fixture
def client(claims_app, tenant, login):
    client = claims_app.test_client()
    login(client, tenant)
    return client


@pytest.fixture
def resolve(move, agent):
    def do_resolve(claim_id, steps=TO_RESOLVED):
        for status in steps:
            move(claim_id, status, agent)

    return do_resolve


@contextmanager
def english(app):
    """An app context whose messages are in English (French is the default)."""
    with app.app_context(), force_locale("en"):
        yield


def user(detached) -> User:
    return db.session.get(User, detached.id)


def written(claim_id: int) -> dict:
    """What the tenant's actions write about a claim (inside an app context)."""
    claim = db.session.get(Claim, claim_id)
    db.session.refresh(claim)
    return {
        "events": db.session.scalar(select(func.count(ClaimEvent.id))
                                    .where(ClaimEvent.claim_id == claim_id)),
        "photos": db.session.scalar(select(func.count(Attachment.id)).where(
            Attachment.owner_type == PHOTO_OWNER_TYPE, Attachment.owner_id == claim_id)),
        "status": claim.status,
        "rating": claim.rating,
        "audit": db.session.scalar(select(func.count(AuditEvent.seq))),
    }


def stored_files(app) -> set:
    from core.attachments import storage_root

    with app.app_context():
        root = storage_root()
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


# -- adding information ----------------------------------------------------------------------

def test_the_tenant_adds_a_text_recorded_in_the_history(claims_app, tenant, file):
    claim_id = file(tenant)
    with english(claims_app):
        event = add_information(claim_id, user(tenant), "  The drip got worse tonight.  ")
        event_id = event.id
    with english(claims_app):
        event = db.session.get(ClaimEvent, event_id)
        claim = db.session.get(Claim, claim_id)
        assert event.kind is EventKind.INFORMATION
        assert event.from_status is event.to_status is Status.ACKNOWLEDGED
        assert claim.status is Status.ACKNOWLEDGED
        assert event.public_message == "The drip got worse tonight."
        assert event.actor_id == tenant.id
        record = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "claims.information_added"))
        assert record.object_id == str(claim_id)
        assert record.detail == {"event": event_id, "photos": 0, "text": True}
        assert "drip" not in str(record.detail)


def test_photos_join_the_claim_up_to_five_in_all(claims_app, tenant, file):
    claim_id = file(tenant, photos=[jpeg(), jpeg()])
    with english(claims_app):
        add_information(claim_id, user(tenant), "", [jpeg(), jpeg()])
        assert written(claim_id)["photos"] == 4
        before = written(claim_id)
    files = stored_files(claims_app)
    with english(claims_app), pytest.raises(ClaimInvalid) as refused:
        add_information(claim_id, user(tenant), "Two more views", [jpeg(), jpeg()])
    assert "5 photos at most per claim: this one has 4 already." in \
        refused.value.errors["photos"]
    with english(claims_app):
        assert written(claim_id) == before  # not the text either: one transaction
    assert stored_files(claims_app) == files
    with english(claims_app):
        add_information(claim_id, user(tenant), "", [jpeg()])
        assert written(claim_id)["photos"] == 5


def test_a_file_that_is_not_an_image_writes_nothing(claims_app, tenant, file):
    claim_id = file(tenant)
    with english(claims_app):
        before = written(claim_id)
    files = stored_files(claims_app)
    with english(claims_app), pytest.raises(ClaimInvalid) as refused:
        add_information(claim_id, user(tenant), "Here is the bill", [jpeg(), NOT_AN_IMAGE])
    assert "This file type is not accepted" in refused.value.errors["photos"]
    with english(claims_app):
        assert written(claim_id) == before
    assert stored_files(claims_app) == files  # the first, good photo's file is gone too


@pytest.mark.parametrize("text, message", [
    ("", "Please write something or add a photo."),
    ("   \n ", "Please write something or add a photo."),
    ("x" * 2001, "2000 characters at most"),
    ("nul\x00byte", "cannot be recorded"),
    (42, "must be text"),
])
def test_empty_or_bad_information_is_refused(claims_app, tenant, file, text, message):
    claim_id = file(tenant)
    with english(claims_app):
        before = written(claim_id)
        with pytest.raises(ClaimInvalid) as refused:
            add_information(claim_id, user(tenant), text)
        assert message in refused.value.errors["text"]
        assert written(claim_id) == before


@pytest.mark.parametrize("status", ["cancelled", "rejected", "closed"])
def test_no_information_on_a_finished_claim(claims_app, tenant, agent, file, move, resolve,
                                            status):
    claim_id = file(tenant)
    if status == "cancelled":
        move(claim_id, "cancelled", tenant)
    elif status == "rejected":
        move(claim_id, "rejected", agent, reason="Tenant's own repair")
    else:
        resolve(claim_id, (*TO_RESOLVED, "closed"))
    with english(claims_app):
        before = written(claim_id)
        with pytest.raises(IllegalTransition, match="information can no longer be added"):
            add_information(claim_id, user(tenant), "Still dripping", [jpeg()])
        assert written(claim_id) == before


def test_another_households_claim_is_not_found_by_any_function(claims_app, tenant, neighbour,
                                                               file, resolve):
    claim_id = file(neighbour)
    resolved_id = file(neighbour)
    resolve(resolved_id)
    with english(claims_app):
        before = written(claim_id), written(resolved_id)
        with pytest.raises(ClaimNotFound):
            add_information(claim_id, user(tenant), "Hello", [jpeg()])
        with pytest.raises(ClaimNotFound):
            cancel(claim_id, user(tenant), "Not mine")
        with pytest.raises(ClaimNotFound):
            rate(resolved_id, user(tenant), 1, "Spite")
        assert (written(claim_id), written(resolved_id)) == before


def test_staff_do_not_write_as_the_tenant(claims_app, tenant, agent, file):
    claim_id = file(tenant)
    with english(claims_app):
        with pytest.raises(ClaimForbidden):
            add_information(claim_id, user(agent), "Written for them")
        with pytest.raises(ClaimForbidden):
            cancel(claim_id, user(agent))


# -- cancelling ------------------------------------------------------------------------------

def test_the_tenant_cancels_once_with_a_reason(claims_app, tenant, file):
    claim_id = file(tenant)
    with english(claims_app):
        event = cancel(claim_id, user(tenant), "The tap was only loose.")
        assert (event.from_status, event.to_status) == (Status.ACKNOWLEDGED, Status.CANCELLED)
        assert event.reason == "The tap was only loose."
        after = written(claim_id)
        assert after["status"] is Status.CANCELLED
        # Replayed (a double tap): told so, nothing more written.
        with pytest.raises(IllegalTransition, match="already cancelled"):
            cancel(claim_id, user(tenant), "The tap was only loose.")
        assert written(claim_id) == after


def test_no_cancelling_once_the_work_has_started(claims_app, tenant, file, resolve):
    claim_id = file(tenant)
    resolve(claim_id, TO_RESOLVED[:3])
    with english(claims_app):
        with pytest.raises(IllegalTransition, match="the work has started"):
            cancel(claim_id, user(tenant))
        assert written(claim_id)["status"] is Status.IN_PROGRESS


def test_a_cancellation_reason_too_long_or_a_stale_page_writes_nothing(claims_app, tenant,
                                                                      agent, file, move):
    from plugins.claims.workflow import ClaimConflict

    claim_id = file(tenant)
    with english(claims_app):
        before = written(claim_id)
        with pytest.raises(ClaimInvalid) as refused:
            cancel(claim_id, user(tenant), "x" * 501)
        assert "500 characters at most" in refused.value.errors["reason"]
        assert written(claim_id) == before
    move(claim_id, "qualified", agent)
    with english(claims_app):
        with pytest.raises(ClaimConflict, match="changed meanwhile"):
            cancel(claim_id, user(tenant), expected_status="acknowledged")
        assert written(claim_id)["status"] is Status.QUALIFIED


# -- rating ----------------------------------------------------------------------------------

def test_no_rating_before_the_repair_is_done(claims_app, tenant, file, resolve):
    claim_id = file(tenant)
    resolve(claim_id, TO_RESOLVED[:3])
    with english(claims_app):
        before = written(claim_id)
        with pytest.raises(IllegalTransition, match="once it is done"):
            rate(claim_id, user(tenant), 5)
        assert written(claim_id) == before


@pytest.mark.parametrize("last", ["resolved", "closed"])
def test_the_tenant_rates_once(claims_app, tenant, file, resolve, last):
    claim_id = file(tenant)
    resolve(claim_id, TO_RESOLVED if last == "resolved" else (*TO_RESOLVED, "closed"))
    with english(claims_app):
        event = rate(claim_id, user(tenant), "4", " Quick and clean. ")
        assert event.kind is EventKind.RATING and event.from_status is event.to_status
        claim = db.session.get(Claim, claim_id)
        assert (claim.rating, claim.rating_comment) == (4, "Quick and clean.")
        assert claim.rated_at is not None
        after = written(claim_id)
        with pytest.raises(IllegalTransition, match="already rated"):
            rate(claim_id, user(tenant), 1, "Changed my mind")
        assert written(claim_id) == after
        db.session.refresh(claim)
        assert (claim.rating, claim.rating_comment) == (4, "Quick and clean.")


@pytest.mark.parametrize("score, comment, field", [
    (0, "", "score"), (6, "", "score"), ("five", "", "score"), (None, "", "score"),
    (True, "", "score"), ("44", "", "score"), (3.0, "", "score"),
    (3, "x" * 2001, "comment"),
])
def test_a_bad_rating_is_refused(claims_app, tenant, file, resolve, score, comment, field):
    claim_id = file(tenant)
    resolve(claim_id)
    with english(claims_app):
        before = written(claim_id)
        with pytest.raises(ClaimInvalid) as refused:
            rate(claim_id, user(tenant), score, comment)
        assert list(refused.value.errors) == [field]
        assert written(claim_id) == before


@pytest.mark.parametrize("action", ["rate", "cancel"])
def test_the_same_request_sent_at_once_from_two_threads_is_applied_once(
        claims_app, tenant, file, resolve, action):
    import threading

    claim_id = file(tenant)
    if action == "rate":
        resolve(claim_id)
    start = threading.Barrier(2)
    done, refused = [], []

    def send(score):
        with english(claims_app):
            me = user(tenant)
            db.session.commit()
            start.wait()
            try:
                if action == "rate":
                    rate(claim_id, me, score, f"Score {score}")
                else:
                    cancel(claim_id, me, f"Thread {score}")
                done.append(score)
            except IllegalTransition as error:
                refused.append(str(error))

    threads = [threading.Thread(target=send, args=(score,)) for score in (2, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(done) == 1 and len(refused) == 1
    assert "already" in refused[0]
    with english(claims_app):
        claim = db.session.get(Claim, claim_id)
        kind = EventKind.RATING if action == "rate" else EventKind.STATUS
        events = db.session.scalars(select(ClaimEvent).where(
            ClaimEvent.claim_id == claim_id, ClaimEvent.kind == kind,
            ClaimEvent.to_status == claim.status)).all()
        assert len(events) == 1
        if action == "rate":
            assert (claim.rating, claim.rating_comment) == (done[0], f"Score {done[0]}")
        else:
            assert events[0].reason == f"Thread {done[0]}"


# -- the stepper and the public history ------------------------------------------------------

def states(claim) -> list[tuple[str, str]]:
    return [(step.status.value, step.state) for step in progress(claim)]


def test_the_stepper_marks_where_the_claim_stands(claims_app, tenant, agent, file, move):
    from datetime import datetime, timedelta

    claim_id = file(tenant)
    with english(claims_app):
        found = states(db.session.get(Claim, claim_id))
    assert found[:3] == [("submitted", "done"), ("acknowledged", "current"),
                         ("qualified", "todo")]
    assert len(found) == 8 and found[-1] == ("closed", "todo")

    later = datetime.now() + timedelta(days=3)
    for status, fields in (("qualified", {}), ("assigned", {}),
                           ("appointment_planned", {"planned_for": later}),
                           ("postponed", {"planned_for": later, "reason": "Part ordered"})):
        move(claim_id, status, agent, **fields)
    with english(claims_app):
        found = states(db.session.get(Claim, claim_id))
    # Postponed: after the appointment, then the rest still to come.
    assert found[4:7] == [("appointment_planned", "done"), ("postponed", "current"),
                          ("in_progress", "todo")]
    assert [state for _, state in found].count("current") == 1

    # No appointment needed: the work starts right after the assignment.
    direct_id = file(tenant)
    for status in ("qualified", "assigned", "in_progress"):
        move(direct_id, status, agent)
    with english(claims_app):
        found = states(db.session.get(Claim, direct_id))
    assert found[3:6] == [("assigned", "done"), ("appointment_planned", "skipped"),
                          ("in_progress", "current")]

    cancelled_id = file(tenant)
    move(cancelled_id, "cancelled", tenant)
    with english(claims_app):
        assert states(db.session.get(Claim, cancelled_id)) == [
            ("submitted", "done"), ("acknowledged", "done"), ("cancelled", "current")]


def test_a_reopened_claim_starts_again_from_the_check(claims_app, tenant, agent, file, move,
                                                      resolve):
    claim_id = file(tenant)
    resolve(claim_id)
    move(claim_id, "reopened", agent, public_message="The leak is back, we come again.")
    with english(claims_app):
        found = states(db.session.get(Claim, claim_id))
    assert found[:4] == [("submitted", "done"), ("acknowledged", "done"),
                         ("reopened", "current"), ("assigned", "todo")]
    assert ("qualified", "todo") not in found and len(found) == 8


def test_the_history_shows_public_words_only(claims_app, tenant, agent, file, move):
    claim_id = file(tenant)
    move(claim_id, "qualified", agent, public_message="A plumber will call you.",
         internal_note="Check the seal first, tenant is difficult.")
    with english(claims_app):
        add_information(claim_id, user(tenant), "I am away on Monday.")
        claim = db.session.get(Claim, claim_id)
        db.session.add_all([
            ClaimEvent(claim=claim, kind=EventKind.NOTE, from_status=claim.status,
                       to_status=claim.status, internal_note="Staff only: call the caretaker"),
            ClaimEvent(claim=claim, kind=EventKind.RESPONSIBILITY, from_status=claim.status,
                       to_status=claim.status, reason="The seal was cut, not worn out.",
                       internal_note="Staff only: photo shows damage"),
            ClaimEvent(claim=claim, kind=EventKind.MESSAGE, from_status=claim.status,
                       to_status=claim.status, public_message="Please leave the keys."),
        ])
        db.session.commit()
        entries = public_timeline(db.session.get(Claim, claim_id))
    shown = repr([vars(entry) for entry in entries])
    assert "Staff only" not in shown and "tenant is difficult" not in shown
    assert [(entry.kind, entry.text, entry.reason) for entry in entries[:4]] == [
        ("message", "Please leave the keys.", ""),
        ("message", "", "The seal was cut, not worn out."),  # who pays reviewed: the reason
        ("information", "I am away on Monday.", ""),
        ("status", "A plumber will call you.", "")]
    assert entries[-1].title == "The problem was reported."


# -- the pages -------------------------------------------------------------------------------

def page_of(client, claim_id) -> str:
    response = client.get(f"/portal/claims/{claim_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def post_information(client, claim_id, text="", photos=(), token=None):
    url = f"/portal/claims/{claim_id}"
    data = {"csrf_token": token or csrf_token(client, url), "text": text,
            "photos": [(io.BytesIO(content), name) for name, content in photos]}
    return client.post(f"{url}/information", data=data, content_type="multipart/form-data")


def test_the_claim_page_shows_the_stepper_history_and_forms(claims_app, client, tenant, agent,
                                                            file, move):
    claim_id = file(tenant, photos=[jpeg()])
    move(claim_id, "qualified", agent, public_message="A plumber will call you.",
         internal_note="Seal, probably.")
    html = page_of(client, claim_id)
    current = re.findall(r'<li class="stepper__step[^"]*"[^>]*aria-current="step"[^>]*>(.*?)</li>',
                         html, re.S)
    assert len(current) == 1 and "Checked" in current[0] and "current step" in current[0]
    assert "A plumber will call you." in html and "Seal, probably" not in html
    assert "Your claim was received and registered." in html
    # The photo, served by the core's attachment view, as a thumbnail linking to itself.
    with english(claims_app):
        storage = db.session.scalar(select(Attachment.storage_name).where(
            Attachment.owner_id == claim_id))
    assert f'<img src="/attachments/{storage}"' in html
    served = client.get(f"/attachments/{storage}")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    served.close()
    # The forms: add (text, camera), cancel (a confirmation step), no rating yet.
    assert 'accept="image/*"' in html and 'capture="environment"' in html
    assert f'href="/portal/claims/{claim_id}/cancel"' in html
    assert "Rate the repair" not in html


def test_the_list_shows_each_claims_status_and_last_change(claims_app, client, tenant, agent,
                                                           file, move):
    claim_id = file(tenant)
    move(claim_id, "qualified", agent)
    html = client.get("/portal/claims/").get_data(as_text=True)
    with english(claims_app):
        claim = db.session.get(Claim, claim_id)
        changed = claim.updated_at.isoformat()
    assert "Qualified" in html and "Last change:" in html
    assert f'<time datetime="{changed}Z">' in html


def test_adding_information_and_a_photo_through_the_page(claims_app, client, tenant, file):
    claim_id = file(tenant)
    response = post_information(client, claim_id, "The cupboard below is wet.",
                                [("wet.jpg", jpeg())])
    assert response.status_code == 303
    assert response.location.endswith(f"/portal/claims/{claim_id}#history-title")
    html = page_of(client, claim_id)
    assert "Information added" in html and "The cupboard below is wet." in html
    assert html.count('<img src="/attachments/') == 1
    assert "Thank you: your information was added to the claim." in html
    # Photos alone are fine too.
    assert post_information(client, claim_id, "", [("more.jpg", jpeg())]).status_code == 303
    assert "Photos added" in page_of(client, claim_id)


@pytest.mark.parametrize("text, photos, message", [
    ("", [], "Please write something or add a photo."),
    ("Here is the bill", [("bill.jpg", NOT_AN_IMAGE)], "This file type is not accepted"),
    ("Too many", [(f"p{n}.jpg", jpeg()) for n in range(6)], "5 photos at most per claim"),
    ("x" * 2001, [], "2000 characters at most"),
])
def test_bad_information_is_shown_next_to_its_field_and_writes_nothing(
        claims_app, client, tenant, file, text, photos, message):
    claim_id = file(tenant)
    with english(claims_app):
        before = written(claim_id)
    response = post_information(client, claim_id, text, photos)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(r'<p class="field__error" id="(text|photos)-error">[^<]*' +
                     re.escape(message), html)
    assert 'class="error-summary"' in html
    with english(claims_app):
        assert written(claim_id) == before


def test_a_sixth_photo_is_refused_on_the_page(claims_app, client, tenant, file):
    claim_id = file(tenant, photos=[jpeg() for _ in range(5)])
    html = page_of(client, claim_id)
    assert "already has 5 photos" in html and 'type="file"' not in html
    response = post_information(client, claim_id, "", [("sixth.jpg", jpeg())])
    assert response.status_code == 400
    assert "5 photos at most per claim: this one has 5 already." in response.get_data(
        as_text=True)
    with english(claims_app):
        assert written(claim_id)["photos"] == 5


def test_a_form_without_its_csrf_token_writes_nothing(claims_app, client, tenant, file):
    claim_id = file(tenant)
    with english(claims_app):
        before = written(claim_id)
    response = post_information(client, claim_id, "Hello", token="stale")
    assert response.status_code == 400
    for url, data in ((f"/portal/claims/{claim_id}/cancel", {"reason": "x"}),
                      (f"/portal/claims/{claim_id}/rating", {"score": "5"})):
        assert client.post(url, data={**data, "csrf_token": "stale"}).status_code == 400
    with english(claims_app):
        assert written(claim_id) == before


def test_another_households_claim_answers_404_everywhere(claims_app, client, neighbour, file,
                                                         resolve):
    claim_id = file(neighbour, photos=[jpeg()])
    resolve(claim_id)
    token = csrf_token(client, "/portal/claims/new")
    with english(claims_app):
        before = written(claim_id)
        storage = db.session.scalar(select(Attachment.storage_name).where(
            Attachment.owner_id == claim_id))
    base = f"/portal/claims/{claim_id}"
    assert client.get(base).status_code == 404
    assert client.get(f"{base}/cancel").status_code == 404
    assert client.get(f"/attachments/{storage}").status_code == 404
    assert post_information(client, claim_id, "Hi", token=token).status_code == 404
    assert client.post(f"{base}/cancel", data={"csrf_token": token}).status_code == 404
    assert client.post(f"{base}/rating", data={"csrf_token": token,
                                               "score": "1"}).status_code == 404
    with english(claims_app):
        assert written(claim_id) == before


def test_cancelling_through_the_confirmation_page_and_replaying_it(claims_app, client, tenant,
                                                                   file):
    claim_id = file(tenant)
    url = f"/portal/claims/{claim_id}/cancel"
    confirmation = client.get(url).get_data(as_text=True)
    assert "Are you sure?" in confirmation and 'name="seen"' in confirmation
    data = {"csrf_token": csrf_token(client, url), "seen": "acknowledged",
            "reason": "It was only the valve."}
    response = client.post(url, data=data)
    assert response.status_code == 303
    html = page_of(client, claim_id)
    assert "Your claim is cancelled." in html
    assert re.search(r'aria-current="step"[^>]*>.*?Cancelled', html, re.S)
    assert "It was only the valve." in html
    assert "Add information or photos" not in html and f'href="{url}"' not in html
    with english(claims_app):
        after = written(claim_id)
    again = client.post(url, data=data)
    assert again.status_code == 409
    assert "This claim is already cancelled." in again.get_data(as_text=True)
    assert client.get(url).status_code == 409
    with english(claims_app):
        assert written(claim_id) == after


def test_no_cancel_once_the_work_started_nor_after_the_claim_moved(claims_app, client, tenant,
                                                                   agent, file, move, resolve):
    claim_id = file(tenant)
    url = f"/portal/claims/{claim_id}/cancel"
    token = csrf_token(client, url)
    move(claim_id, "qualified", agent)
    stale = client.post(url, data={"csrf_token": token, "seen": "acknowledged"})
    assert stale.status_code == 409 and "changed meanwhile" in stale.get_data(as_text=True)
    resolve(claim_id, TO_RESOLVED[1:3])
    assert f'href="{url}"' not in page_of(client, claim_id)
    refused = client.post(url, data={"csrf_token": token, "seen": "in_progress"})
    assert refused.status_code == 409
    assert "the work has started" in refused.get_data(as_text=True)
    with english(claims_app):
        assert written(claim_id)["status"] is Status.IN_PROGRESS


def test_rating_through_the_page_once_the_repair_is_done(claims_app, client, tenant, file,
                                                         resolve):
    claim_id = file(tenant)
    url = f"/portal/claims/{claim_id}/rating"
    token = csrf_token(client, f"/portal/claims/{claim_id}")
    early = client.post(url, data={"csrf_token": token, "score": "5"})
    assert early.status_code == 409 and "once it is done" in early.get_data(as_text=True)
    resolve(claim_id)
    html = page_of(client, claim_id)
    form = html[html.index('id="rating-form"'):]
    form = form[:form.index("</form>")]
    assert "<fieldset" in form and "<legend" in form
    assert len(re.findall(r'<input type="radio"[^>]*name="score"', form)) == 5

    bad = client.post(url, data={"csrf_token": token, "score": "9", "comment": "Fine"})
    assert bad.status_code == 400
    assert re.search(r'id="score-error">Choose a score from 1 to 5.', bad.get_data(as_text=True))
    with english(claims_app):
        assert written(claim_id)["rating"] is None

    good = client.post(url, data={"csrf_token": token, "score": "5", "comment": "Very quick."})
    assert good.status_code == 303
    html = page_of(client, claim_id)
    assert "5 out of 5" in html and "Very quick." in html and 'id="rating-form"' not in html
    assert "The repair was rated 5 out of 5." in html
    twice = client.post(url, data={"csrf_token": token, "score": "1"})
    assert twice.status_code == 409
    assert "already rated" in twice.get_data(as_text=True)
    with english(claims_app):
        assert written(claim_id)["rating"] == 5


def test_the_claim_page_in_french(claims_app, make_tenant, login, file):
    tenant = make_tenant(locale="fr")
    client = claims_app.test_client()
    login(client, tenant)
    claim_id = file(tenant)
    html = page_of(client, claim_id)
    assert 'aria-current="step"' in html and 'lang="fr"' in html
