"""Fax: the letter's PDF through a mail-to-fax gateway (a real SMTP server on loopback) and
through HylaFAX's sendfax (a script that behaves like it: spools the file, prints the job)."""
from __future__ import annotations

import io
import stat
import sys
import textwrap

import pytest
from pypdf import PdfReader

from core.config import ConfigError
from core.extensions import db
from plugins.notifications import notify
from plugins.notifications.channels import PermanentFailure
from plugins.notifications.channels.fax import fax_number
from plugins.notifications.models import Message, Status

from .conftest import run_worker

LANDLORD = "Habitat Audois"


def _queue_fax(app, number, event="fax:1"):
    with app.app_context():
        [message] = notify(None, "notifications.test",
                           {"sent_by": "Claire Dubois", "recipient_name": "Plomberie Audoise"},
                           event=event, channel="fax", address=number, locale="fr")
        db.session.commit()
        return message.id


def _message(app, message_id) -> Message:
    with app.app_context():
        message = db.session.get(Message, message_id)
        assert message.events  # loaded now: read after the context is gone
        db.session.expunge(message)
        return message


def test_numbers_are_read_in_french_and_international_forms():
    assert fax_number("04 68 00 00 00").international == "+33468000000"
    assert fax_number("+33 4.68.00.00.00").international == "+33468000000"
    assert fax_number("0033 4 68 00 00 00").national == "0468000000"
    assert fax_number("+44 20 7946 0000").national == "00442079460000"
    for wrong in ("", "fax", "12", "04 68 00 00", "+33 4 68 00 00 00 00 00 00 00", "+0468000000"):
        with pytest.raises(PermanentFailure):
            fax_number(wrong)


# -- mail-to-fax -------------------------------------------------------------------------------

@pytest.fixture
def mail_fax_app(make_app, smtp_server):
    return make_app(plugins=["notifications"], MAIL_SERVER=smtp_server.host,
                    MAIL_PORT=smtp_server.port, LANDLORD_NAME=LANDLORD,
                    NOTIFICATIONS_CHANNELS=["mail", "fax"], NOTIFICATIONS_FAX_GATEWAY="mail",
                    NOTIFICATIONS_FAX_MAIL_ADDRESS="{number}@fax.example.net")


def test_a_fax_by_mail_carries_the_letter_pdf_to_the_gateway_address(mail_fax_app,
                                                                     smtp_server):
    message_id = _queue_fax(mail_fax_app, "04 68 11 22 33")
    assert run_worker(mail_fax_app) == 1
    message = _message(mail_fax_app, message_id)
    assert message.status is Status.SENT, message.last_error
    assert len(smtp_server.messages) == 1
    _, recipients = smtp_server.envelopes[0]
    assert recipients == ["33468112233@fax.example.net"]
    received = smtp_server.messages[0]
    assert received["Message-ID"] == message.provider_ref == \
        f"<{message.idempotency_key}@localhost>"
    [attachment] = list(received.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"fax-{message_id}.pdf"
    pdf = attachment.get_content()
    assert pdf.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Plomberie Audoise" in text and "Fax +33468112233" in text
    assert LANDLORD in text
    assert "Claire Dubois" in text  # the message's body, as in a letter
    assert "fax.example.net" in message.events[-1].detail


def test_a_fax_to_a_number_that_is_not_one_is_a_dead_letter_at_once(mail_fax_app,
                                                                    smtp_server):
    message_id = _queue_fax(mail_fax_app, "04 68 11", event="fax:bad")
    run_worker(mail_fax_app)
    message = _message(mail_fax_app, message_id)
    assert message.status is Status.FAILED and message.attempts == 1
    assert "is not a fax number" in message.last_error
    assert smtp_server.messages == []


def test_people_have_no_fax_number_so_fax_is_never_chosen_for_them(mail_fax_app, make_tenant):
    from core.accounts import User
    from core.estate import Person
    from plugins.notifications.channels import registry
    from plugins.notifications.outbox import contacts_of

    tenant = make_tenant()
    with mail_fax_app.app_context():
        person = db.session.get(Person, db.session.get(User, tenant.id).person_id)
        assert registry()["fax"].address_of(person, {**contacts_of(person),
                                                      "fax": "0468112233"}) is None


# -- HylaFAX's sendfax -------------------------------------------------------------------------

SENDFAX = """\
#!{python}
# Behaves like HylaFAX's sendfax for the options Palier uses: -n (no cover page), -d number,
# then the document, which it hands to the server (here: copies into the spool folder) and
# reports as SendFaxClient::notifyNewJob does.
import shutil, sys, time
from pathlib import Path

spool = Path({spool!r})
args = sys.argv[1:]
(spool / "calls").open("a").write(" ".join(args) + "\\n")
if (spool / "down").exists():
    print("localhost: Can not reach service hylafax at port 4559.", file=sys.stderr)
    sys.exit(1)
if (spool / "slow").exists():
    time.sleep(30)
assert args[0] == "-n" and args[1] == "-d", args
number, document = args[2], Path(args[3])
jobs = sorted(spool.glob("doc*.pdf"))
job = 14 + len(jobs)
shutil.copyfile(document, spool / f"doc{{job}}.pdf")
print(f"request id is {{job}} (group id {{job}}) for host localhost (1 file)")
"""


@pytest.fixture
def spool(tmp_path):
    folder = tmp_path / "spool"
    folder.mkdir()
    return folder


@pytest.fixture
def sendfax(tmp_path, spool):
    script = tmp_path / "bin" / "sendfax"
    script.parent.mkdir()
    script.write_text(textwrap.dedent(SENDFAX.format(python=sys.executable, spool=str(spool))))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.fixture
def hylafax_app(make_app, sendfax):
    return make_app(plugins=["notifications"], LANDLORD_NAME=LANDLORD, MAIL_KEEP_LOCALLY=True,
                    NOTIFICATIONS_CHANNELS=["fax"], NOTIFICATIONS_FAX_GATEWAY="hylafax",
                    NOTIFICATIONS_FAX_SENDFAX=str(sendfax),
                    NOTIFICATIONS_FAX_TIMEOUT_SECONDS=3)


def test_sendfax_spools_the_letter_and_its_job_id_is_kept(hylafax_app, spool):
    message_id = _queue_fax(hylafax_app, "+33 4 68 11 22 33")
    assert run_worker(hylafax_app) == 1
    message = _message(hylafax_app, message_id)
    assert message.status is Status.SENT, message.last_error
    assert message.provider_ref == "14"
    assert message.events[-1].detail == "HylaFAX job 14 (group 14) on localhost"
    [call] = (spool / "calls").read_text().splitlines()
    assert call.startswith("-n -d +33468112233 ")
    spooled = PdfReader(spool / "doc14.pdf")
    assert "Plomberie Audoise" in spooled.pages[0].extract_text()
    # The temporary copy handed to sendfax is gone.
    assert not (spool.parent / call.split()[-1]).exists()


def test_sendfax_failing_is_retried_later(hylafax_app, spool):
    (spool / "down").touch()
    message_id = _queue_fax(hylafax_app, "04 68 11 22 33")
    run_worker(hylafax_app)
    message = _message(hylafax_app, message_id)
    assert message.status is Status.QUEUED and message.attempts == 1
    assert message.last_error == ("sendfax exited with status 1: localhost: Can not reach "
                                  "service hylafax at port 4559.")


def test_sendfax_hanging_is_stopped_and_retried_later(hylafax_app, spool):
    (spool / "slow").touch()
    message_id = _queue_fax(hylafax_app, "04 68 11 22 33")
    run_worker(hylafax_app)
    message = _message(hylafax_app, message_id)
    assert message.status is Status.QUEUED
    assert message.last_error == "sendfax did not answer within 3 s"


def test_an_unknown_number_never_reaches_sendfax(hylafax_app, spool):
    message_id = _queue_fax(hylafax_app, "+33 4 68")
    run_worker(hylafax_app)
    assert _message(hylafax_app, message_id).status is Status.FAILED
    assert not (spool / "calls").exists()


# -- configuration checked at start-up -------------------------------------------------------

@pytest.mark.parametrize("settings, words", [
    ({"NOTIFICATIONS_FAX_GATEWAY": "pigeon"}, "choose 'mail'"),
    ({"NOTIFICATIONS_FAX_GATEWAY": "mail", "NOTIFICATIONS_FAX_MAIL_ADDRESS": ""},
     "NOTIFICATIONS_FAX_MAIL_ADDRESS"),
    ({"NOTIFICATIONS_FAX_GATEWAY": "mail", "NOTIFICATIONS_FAX_MAIL_ADDRESS": "fax@example.net"},
     "with the number in it"),
    ({"NOTIFICATIONS_FAX_GATEWAY": "mail", "NOTIFICATIONS_FAX_MAIL_ADDRESS": "{numero}@x.net"},
     "with the number in it"),
    ({"NOTIFICATIONS_FAX_GATEWAY": "mail",
      "NOTIFICATIONS_FAX_MAIL_ADDRESS": "{number}@fax.example.net", "MAIL_SERVER": ""},
     "needs a mail relay"),
    ({"NOTIFICATIONS_FAX_GATEWAY": "hylafax",
      "NOTIFICATIONS_FAX_SENDFAX": "/nowhere/sendfax"}, "no such executable"),
])
def test_a_fax_set_up_that_cannot_work_is_refused_at_start_up(make_app, smtp_server, settings,
                                                              words):
    config = {"MAIL_SERVER": smtp_server.host, "MAIL_PORT": smtp_server.port,
              "MAIL_KEEP_LOCALLY": True, **settings}
    with pytest.raises(ConfigError, match=words):
        make_app(plugins=["notifications"], NOTIFICATIONS_CHANNELS=["fax"], **config)


def test_sendfax_needs_a_positive_timeout(make_app, sendfax):
    with pytest.raises(ConfigError, match="positive number of seconds"):
        make_app(plugins=["notifications"], NOTIFICATIONS_CHANNELS=["fax"],
                 NOTIFICATIONS_FAX_GATEWAY="hylafax", NOTIFICATIONS_FAX_SENDFAX=str(sendfax),
                 NOTIFICATIONS_FAX_TIMEOUT_SECONDS=0)


def test_a_switched_off_fax_is_not_checked(make_app):
    from plugins.notifications.channels import registry

    app = make_app(plugins=["notifications"], NOTIFICATIONS_FAX_GATEWAY="pigeon")
    with app.app_context():
        assert "fax" not in registry() and "letter" in registry()
