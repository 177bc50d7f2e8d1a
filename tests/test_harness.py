"""The test harness itself: its checks must be able to fail."""
import smtplib
from email.message import EmailMessage

import pytest

from core.testing.browser import axe_violations


@pytest.mark.browser
def test_axe_reports_what_a_screen_reader_user_would_miss(browser):
    page = browser.new_page()
    try:
        page.set_content('<html><body><img src="plan.png"><button></button>'
                         '<input type="text"></body></html>')
        rules = {v["id"] for v in axe_violations(page, impacts=("serious", "critical"))}
    finally:
        page.close()
    assert {"image-alt", "button-name", "label", "html-has-lang"} <= rules


def test_the_loopback_smtp_server_keeps_what_it_receives(smtp_server):
    message = EmailMessage()
    message["From"] = "palier@example.org"
    message["To"] = "locataire@example.org"
    message["Subject"] = "Votre demande RC-2026-000123"
    message.set_content("Bonjour, votre demande est enregistrée.")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as smtp:
        smtp.send_message(message)
    assert len(smtp_server.messages) == 1
    received = smtp_server.messages[0]
    assert received["Subject"] == "Votre demande RC-2026-000123"
    assert "enregistrée" in received.get_content()
    assert smtp_server.envelopes == [("palier@example.org", ["locataire@example.org"])]
