"""Letters: the PDF laid out for a window envelope, the day's print batch with its cover sheet,
the staff page that hands it out, and the postal API extension point."""
from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from core.config import ConfigError
from core.extensions import db
from core.plugins import hookimpl
from plugins.notifications import PACKAGE_DIR, notify
from plugins.notifications.channels.letter import PostalAPI, PostalReceipt
from plugins.notifications.kinds import MessageKind
from plugins.notifications.letters import (
    AddressProblem,
    assemble,
    letter_path,
    letters_folder,
    local_today,
    postal_block,
)
from plugins.notifications.models import Message, PrintBatch, Status

from .conftest import run_worker

MM = 72 / 25.4  # PDF points per millimetre
LANDLORD = "Habitat Audois"
# The window of a DL envelope (110 × 220 mm, window 45 × 100 mm, 20 mm from its right and
# bottom edges) over an A4 sheet folded in three: what the postman sees, in mm from the
# sheet's left and top edges (with the few millimetres the sheet moves in the envelope).
WINDOW_LEFT, WINDOW_RIGHT, WINDOW_TOP, WINDOW_BOTTOM = 100, 210, 45, 95


@pytest.fixture
def letter_app(make_app, smtp_server):
    return make_app(plugins=["notifications"], MAIL_SERVER=smtp_server.host,
                    MAIL_PORT=smtp_server.port, LANDLORD_NAME=LANDLORD,
                    NOTIFICATIONS_CHANNELS=["mail", "letter"],
                    NOTIFICATIONS_LETTER_PLACE="Carcassonne")


def _person_id(app, make_tenant, **names):
    from core.accounts import User

    tenant = make_tenant(**names)
    with app.app_context():
        return db.session.get(User, tenant.id).person_id


def _queue_letter(app, person_id, event, *, title="Coupure d'eau jeudi",
                  body="L'eau sera coupée de 9 h à 12 h.", kind="notifications.notice",
                  address=None):
    from core.estate import Person

    with app.app_context():
        context = {"sent_by": "Claire Dubois"} if kind != "notifications.notice" else {
            "title": title, "body": body, "residence": "Les Tilleuls"}
        [message] = notify(db.session.get(Person, person_id), kind, context, event=event,
                           channel="letter", address=address)
        db.session.commit()
        return message.id


def positioned_text(page) -> list[tuple[str, float, float]]:
    """Each piece of text of a PDF page with where it starts: (text, mm from the left edge,
    mm from the top edge), from pypdf's text visitor (text matrix × current matrix)."""
    height = float(page.mediabox.height)
    pieces = []

    def visit(text, cm, tm, _font, _size):
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            pieces.append((text.strip(), x / MM, (height - y) / MM))

    page.extract_text(visitor_text=visit)
    return pieces


def where(pieces, text):
    found = [(x, y) for piece, x, y in pieces if piece == text]
    assert found, f"{text!r} not found in {[p for p, _, _ in pieces]}"
    return found[0]


def test_a_letter_shows_the_address_in_the_window_and_the_landlord_in_the_header(
        letter_app, make_tenant):
    person_id = _person_id(letter_app, make_tenant, first_name="Nadia", last_name="Benali")
    message_id = _queue_letter(letter_app, person_id, "notice:window")
    assert run_worker(letter_app) == 1
    with letter_app.app_context():
        message = db.session.get(Message, message_id)
        assert message.status is Status.SENT
        day = local_today()
        assert message.events[-1].detail == f"in the print batch of {day.isoformat()}"
        assert message.batch_id == db.session.scalar(
            select(PrintBatch.id).where(PrintBatch.day == day))
        path = letter_path(day, message_id)
        assert path == letters_folder() / day.isoformat() / f"{message_id}.pdf"
        assert str(path).startswith(letter_app.instance_path)
    reader = PdfReader(path)
    assert len(reader.pages) == 1
    pieces = positioned_text(reader.pages[0])
    block = ["Mme Nadia Benali", "Résidence 1, Bâtiment A, Entrée 1,", "logement 001",
             "1 rue de la Paix", "11000 CARCASSONNE"]
    positions = [where(pieces, line) for line in block]
    for line, (x, y) in zip(block, positions, strict=True):
        assert WINDOW_LEFT <= x <= WINDOW_RIGHT - 38 * 2.2, (line, x)  # 38 characters fit
        assert WINDOW_TOP <= y <= WINDOW_BOTTOM, (line, y)
    assert [y for _, y in positions] == sorted(y for _, y in positions)  # in this order
    landlord_at = [y for piece, _, y in pieces if piece == LANDLORD]
    assert min(landlord_at) < 32  # the header, in the top margin above the window
    assert max(landlord_at) > 297 - 24  # and the footer, in the bottom margin
    everything = " ".join(piece for piece, _, _ in pieces)
    assert "Coupure d'eau jeudi" in everything  # the subject line
    assert "L'eau sera coupée de 9 h à 12 h." in everything
    assert re.search(r"Carcassonne, (le )?\d{1,2} \w+ \d{4}", everything)
    # Nothing of the letter itself hides behind the window.
    for piece, x, y in pieces:
        if piece not in block:
            assert not (WINDOW_LEFT <= x and WINDOW_TOP <= y <= WINDOW_BOTTOM), piece


def test_the_recipient_block_keeps_to_six_lines_of_38_characters():
    block = postal_block("M. Jean-Christophe de La Fontaine-Martel",
                         "Résidence Les Jardins de la Cité, Bâtiment Les Hirondelles\n"
                         "12 avenue du Général Leclerc\n11000  Carcassonne")
    assert all(len(line) <= 38 for line in block)
    assert len(block) <= 6
    assert block[-1] == "11000 CARCASSONNE"
    assert postal_block("Mme Zoé", "1 rue Haute\n34000 Montpellier Cédex")[-1] == \
        "34000 MONTPELLIER CEDEX"
    with pytest.raises(AddressProblem, match="6"):
        postal_block("Mme Zoé", "\n".join(["Une ligne"] * 6 + ["11000 Carcassonne"]))
    with pytest.raises(AddressProblem, match="postcode"):
        postal_block("Mme Zoé", "1 rue Haute\nCarcassonne")
    with pytest.raises(AddressProblem, match="empty"):
        postal_block("Mme Zoé", " \n ")


def test_an_address_that_does_not_fit_the_window_is_a_dead_letter_with_its_reason(
        letter_app, make_tenant):
    person_id = _person_id(letter_app, make_tenant)
    message_id = _queue_letter(letter_app, person_id, "notice:bad-address",
                               address="1 rue Haute\nCarcassonne")
    run_worker(letter_app)
    with letter_app.app_context():
        message = db.session.get(Message, message_id)
        assert message.status is Status.FAILED
        assert "is not a postcode and a town" in message.last_error
        assert message.batch_id is None
        assert db.session.scalar(select(func.count(PrintBatch.id))) == 0


def _pages_text(pdf) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_a_print_batch_holds_a_cover_sheet_then_every_letter_of_the_day(
        letter_app, make_tenant, make_estate):
    names = [("Nadia", "Benali"), ("Louis", "Roux"), ("Inès", "Garcia")]
    building = make_estate(city="Limoux", postcode="11300")
    ids = []
    for n, (first, last) in enumerate(names):
        person_id = _person_id(letter_app, make_tenant, first_name=first, last_name=last,
                               building_id=building)
        long_body = "\n\n".join(["Les travaux de réfection de la toiture commencent lundi. "
                                 * 8] * 12) if n == 1 else "Coupure jeudi."
        ids.append(_queue_letter(letter_app, person_id, f"notice:batch:{n}", body=long_body))
    assert run_worker(letter_app) == 3
    with letter_app.app_context():
        day = local_today()
        pages = [len(PdfReader(letter_path(day, i)).pages) for i in ids]
    assert pages[0] == 1 and pages[1] >= 2 and pages[2] == 1

    result = letter_app.test_cli_runner().invoke(
        args=["notify", "print-batch", "--day", day.isoformat()])
    assert result.exit_code == 0, result.output
    total = 1 + sum(pages)
    assert f"3 letter(s), {total} page(s)" in result.output
    with letter_app.app_context():
        batch = db.session.scalar(select(PrintBatch).where(PrintBatch.day == day))
        assert (batch.letters, batch.pages) == (3, total)
        assert batch.assembled_at is not None
        pdf = (letters_folder() / batch.filename).read_bytes()
        from core.audit import AuditEvent

        assert db.session.scalar(select(func.count(AuditEvent.seq)).where(
            AuditEvent.action == "notifications.print_batch_assembled")) == 1
    texts = _pages_text(pdf)
    assert len(texts) == total
    cover = texts[0]
    assert LANDLORD in cover and day.isoformat() in cover
    ranges = ["2", f"3–{2 + pages[1]}", f"{3 + pages[1]}"]
    for n, ((first, last), pages_of) in enumerate(zip(names, ranges, strict=True), start=1):
        assert re.search(rf"{n}\s*Mme {first} {last}\s*11300 Limoux\s*{pages_of}\b", cover), \
            cover
    assert re.search(r"Lettres\s*3\b", cover) and re.search(rf"Pages\s*{total}\b", cover)
    # Each letter starts where the cover sheet says.
    assert "Mme Nadia Benali" in texts[1]
    assert "Mme Louis Roux" in texts[2]
    assert "Mme Inès Garcia" in texts[2 + pages[1]]

    # A letter delivered after the batch was put together goes to the next day's batch.
    late = _queue_letter(letter_app, _person_id(letter_app, make_tenant, first_name="Eva",
                                                last_name="Late"), "notice:late")
    run_worker(letter_app)
    with letter_app.app_context():
        message = db.session.get(Message, late)
        tomorrow = day + timedelta(days=1)
        assert message.events[-1].detail == f"in the print batch of {tomorrow.isoformat()}"
        assert db.session.get(PrintBatch, message.batch_id).day == tomorrow
        assert letter_path(tomorrow, late).is_file()
        # Putting the day together again gives the same three letters, not the late one.
        again = assemble(day)
        assert (again.letters, again.pages) == (3, total)


def test_a_long_cover_sheet_counts_its_own_pages_in_the_ranges(letter_app):
    from plugins.notifications.letters import COVER_PART_ROWS, _cover

    count = COVER_PART_ROWS + 50  # rendered in two parts, joined
    letters = [(n, f"Mme Camille Martin-{n:03d}", "11000 Carcassonne", 1 + n % 2)
               for n in range(count)]
    with letter_app.app_context():
        pdf, cover_pages, listed = _cover(date(2026, 3, 3), letters, None)
    texts = _pages_text(pdf)
    total = cover_pages + sum(1 + n % 2 for n in range(count))
    assert cover_pages == len(texts) > 2
    assert listed[0].first_page == cover_pages + 1
    assert listed[-1].last_page == total
    assert re.search(rf"1\s*Mme Camille Martin-000\s*11000 Carcassonne\s*{cover_pages + 1}\b",
                     texts[0])
    assert f"{listed[-1].first_page}–{total}" in texts[-1]
    # Every recipient listed once, in order, across the parts; pages numbered throughout.
    numbers = [int(n) for text in texts for n in re.findall(r"^(\d+) ?Mme", text, re.M)]
    assert numbers == list(range(1, count + 1))
    for page, text in enumerate(texts, start=1):
        assert f"Page {page} / {total}" in text
    assert texts[0].count("Habitat Audois") >= 2 and "Lettres" in texts[0]
    assert "Lettres" not in texts[-1]  # the summary is on the first page only


def test_a_letter_delivered_again_after_a_crash_is_printed_once(letter_app, make_tenant):
    from plugins.notifications.channels import registry
    from plugins.notifications.worker import Worker

    person_id = _person_id(letter_app, make_tenant)
    message_id = _queue_letter(letter_app, person_id, "notice:twice")
    with letter_app.app_context():
        worker = Worker(letter_app, name="w")
        outgoing = worker.outgoing(db.session.get(Message, message_id))
        first = registry()["letter"].deliver(outgoing)
        second = registry()["letter"].deliver(outgoing)  # the worker died before recording
        assert first.detail == second.detail
        assert db.session.scalar(select(func.count(Message.id)).where(
            Message.batch_id.is_not(None))) == 1
        assert sorted(p.name for p in letter_path(local_today(), message_id).parent.iterdir()) \
            == [f"{message_id}.pdf"]  # no temporary file left behind


def test_no_batch_for_a_day_without_letters(letter_app):
    result = letter_app.test_cli_runner().invoke(
        args=["notify", "print-batch", "--day", "2026-03-03"])
    assert result.exit_code == 0
    assert "No letter for 2026-03-03" in result.output


# -- the staff page --------------------------------------------------------------------------

@pytest.fixture
def assembled(letter_app, make_tenant):
    person_id = _person_id(letter_app, make_tenant, first_name="Nadia", last_name="Benali")
    _queue_letter(letter_app, person_id, "notice:staff")
    run_worker(letter_app)
    with letter_app.app_context():
        batch = assemble(local_today())
        return batch.id, batch.day, (letters_folder() / batch.filename).read_bytes()


def test_staff_download_the_batch_and_who_did_is_recorded(letter_app, assembled, make_user,
                                                          login):
    from core.audit import AuditEvent

    batch_id, day, pdf = assembled
    agent = make_user("agent", display_name="Claire Dubois", locale="en")
    client = letter_app.test_client()
    login(client, agent)
    page = client.get("/backoffice/notifications/letters")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "not yet" in html
    assert f"/backoffice/notifications/letters/{batch_id}/download" in html

    response = client.get(f"/backoffice/notifications/letters/{batch_id}/download")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert f"courrier-{day.isoformat()}.pdf" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.get_data() == pdf
    response.close()
    with letter_app.app_context():
        batch = db.session.get(PrintBatch, batch_id)
        assert batch.downloaded_by_id == agent.id and batch.downloaded_at is not None
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "notifications.print_batch_downloaded"))
        assert event.actor_id == agent.id
        assert event.object_type == "notifications_print_batch"
        assert event.object_id == str(batch_id)
        assert event.detail["day"] == day.isoformat()
    html = client.get("/backoffice/notifications/letters").get_data(as_text=True)
    assert "by Claire Dubois" in html


@pytest.mark.parametrize("role", ["tenant", "caretaker", "technician"])
def test_the_batches_are_refused_to_those_who_do_not_post_letters(letter_app, assembled,
                                                                  make_user, login, role):
    batch_id, _, _ = assembled
    client = letter_app.test_client()
    login(client, make_user(role))
    assert client.get("/backoffice/notifications/letters").status_code == 403
    assert client.get(f"/backoffice/notifications/letters/{batch_id}/download") \
        .status_code == 403
    with letter_app.app_context():
        assert db.session.get(PrintBatch, batch_id).downloaded_at is None


def test_an_open_or_unknown_batch_cannot_be_downloaded(letter_app, make_tenant, make_user,
                                                       login):
    person_id = _person_id(letter_app, make_tenant)
    _queue_letter(letter_app, person_id, "notice:open")
    run_worker(letter_app)
    with letter_app.app_context():
        batch_id = db.session.scalar(select(PrintBatch.id))
    client = letter_app.test_client()
    login(client, make_user("manager", locale="en"))
    html = client.get("/backoffice/notifications/letters").get_data(as_text=True)
    assert "open: letters are still coming in" in html
    assert client.get(f"/backoffice/notifications/letters/{batch_id}/download") \
        .status_code == 404
    assert client.get("/backoffice/notifications/letters/999999/download").status_code == 404


@pytest.mark.browser
def test_the_batches_page_in_a_browser(page, live_server, live_app, make_user):
    from core.testing.browser import axe_violations
    from core.testing.fixtures import DEFAULT_PASSWORD

    with live_app.app_context():
        db.session.add(PrintBatch(day=date(2026, 3, 3)))
        db.session.commit()
    agent = make_user("agent")
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(agent.email)
    page.get_by_label("Mot de passe", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/backoffice/")
    page.goto("/backoffice/notifications/letters")
    assert "2026" in page.locator("main").inner_text()
    assert axe_violations(page) == []


# -- postal API ------------------------------------------------------------------------------

class RecordingPostal(PostalAPI):
    """An integrator's adapter as they would write it, answering from memory: what a postal
    service does with a letter is the integrator's side of the interface."""

    sent: list = []
    give_tracking = True

    def send(self, letter):
        RecordingPostal.sent.append(letter)
        if letter.registered and RecordingPostal.give_tracking:
            return PostalReceipt(reference=f"S-{len(self.sent)}", tracking_number="1A00000001")
        return PostalReceipt(reference=f"S-{len(self.sent)}")


class NotAnAdapter:
    pass


FORMAL = MessageKind(name="test.formal_notice", label="formal notice",
                     templates=str(PACKAGE_DIR / "messages" / "test"), channels=("letter",),
                     variables={"sent_by": "who"}, needs_proof=True, choosable=False)


class FormalKinds:
    name = "formal"

    @hookimpl
    def register_notification_kinds(self):
        return [FORMAL]


@pytest.fixture
def postal_app(make_app):
    RecordingPostal.sent, RecordingPostal.give_tracking = [], True
    return make_app(plugins=["notifications", "formal"], extra_plugins={"formal": FormalKinds()},
                    NOTIFICATIONS_CHANNELS=["letter"],
                    NOTIFICATIONS_LETTER_POSTAL_API=f"{__name__}:RecordingPostal")


def test_a_postal_api_posts_letters_and_a_registered_one_keeps_its_tracking_number(
        postal_app, make_tenant):
    person_id = _person_id(postal_app, make_tenant, first_name="Nadia", last_name="Benali")
    ordinary = _queue_letter(postal_app, person_id, "notice:post")
    registered = _queue_letter(postal_app, person_id, "formal:1", kind="test.formal_notice")
    assert run_worker(postal_app) == 2
    by_key = {letter.registered: letter for letter in RecordingPostal.sent}
    assert set(by_key) == {False, True}
    assert by_key[True].recipient_lines[0] == "Mme Nadia Benali"
    assert by_key[True].recipient_lines[-1] == "11000 CARCASSONNE"
    assert by_key[True].pdf.startswith(b"%PDF") and by_key[True].pages == 1
    with postal_app.app_context():
        sent = db.session.get(Message, registered)
        assert sent.status is Status.SENT and sent.provider_ref == "1A00000001"
        assert by_key[True].idempotency_key == sent.idempotency_key
        plain = db.session.get(Message, ordinary)
        assert plain.status is Status.SENT and plain.provider_ref.startswith("S-")
        assert plain.batch_id is None and sent.batch_id is None  # not printed in house
        assert db.session.scalar(select(func.count(PrintBatch.id))) == 0


def test_a_registered_letter_without_tracking_number_is_not_taken_for_sent(postal_app,
                                                                           make_tenant):
    RecordingPostal.give_tracking = False
    person_id = _person_id(postal_app, make_tenant)
    message_id = _queue_letter(postal_app, person_id, "formal:2", kind="test.formal_notice")
    run_worker(postal_app)
    with postal_app.app_context():
        message = db.session.get(Message, message_id)
        assert message.status is Status.FAILED
        assert "no tracking number" in message.last_error
    assert len(RecordingPostal.sent) == 1  # never posted twice


@pytest.mark.parametrize("value, words", [
    ("nothing.here:Adapter", "cannot be loaded"),
    ("plugins.notifications.letters", "package.module:ClassName"),
    (f"{__name__}:NotAnAdapter", "not a subclass"),
])
def test_a_bad_postal_api_setting_is_refused_at_start_up(make_app, value, words):
    with pytest.raises(ConfigError, match=words):
        make_app(plugins=["notifications"], NOTIFICATIONS_CHANNELS=["letter"],
                 NOTIFICATIONS_LETTER_POSTAL_API=value)


def test_letters_are_on_by_default_and_need_no_provider(make_app):
    from plugins.notifications.channels import registry

    app = make_app(plugins=["notifications"])
    with app.app_context():
        assert "letter" in registry() and "mail" in registry()
        assert registry()["letter"].postal_api is None



def test_erasing_a_person_removes_their_letters_and_the_batch_that_holds_them(
        letter_app, make_tenant, make_user, login):
    from core.testing.fixtures import csrf_token

    gone = _person_id(letter_app, make_tenant, first_name="Zoé", last_name="Effacée")
    kept = _person_id(letter_app, make_tenant, first_name="Paul", last_name="Reste")
    erased_letter = _queue_letter(letter_app, gone, "notice:erase:1")
    kept_letter = _queue_letter(letter_app, kept, "notice:erase:2")
    run_worker(letter_app)
    with letter_app.app_context():
        day = local_today()
        batch = assemble(day)
        batch_file = letters_folder() / batch.filename
    assert letter_path(day, erased_letter, letter_app).is_file() and batch_file.is_file()

    admin = letter_app.test_client()
    login(admin, make_user("admin"))
    url = f"/backoffice/people/{gone}/erase"
    response = admin.post(url, data={"csrf_token": csrf_token(admin, url),
                                     "confirm": "Zoé Effacée"})
    assert response.status_code == 302
    assert not letter_path(day, erased_letter, letter_app).exists()
    assert not batch_file.exists()  # it held the erased letter: rebuilt without it
    assert letter_path(day, kept_letter, letter_app).is_file()
    with letter_app.app_context():
        rebuilt = assemble(day)
        assert rebuilt.letters == 1
        assert "Effacée" not in "".join(_pages_text((letters_folder() / rebuilt.filename)
                                                    .read_bytes()))
