"""The demo landlord's messages: a notice to the demo tenant, delivered by the worker that
``make run`` starts, so the tenant's history and the staff's delivery log are not empty."""
from __future__ import annotations

from datetime import date

from core.accounts import User
from core.demo import DEMO_DOMAIN
from core.estate import current_lease
from plugins.notifications.outbox import notify


def load_demo_messages(today: date) -> None:
    tenant = User.by_email(f"locataire@{DEMO_DOMAIN}")
    if tenant is None or tenant.person is None:
        return
    lease = current_lease(tenant.person, today)
    # The event names the demo's notice: queued once, however often the demo is loaded.
    notify(tenant.person, "notifications.notice", {
        "title": "Coupure d'eau chaude jeudi matin",
        "body": ("L'eau chaude sera coupée jeudi de 9 h à 12 h pour l'entretien de la "
                 "chaufferie. Merci de votre compréhension."),
        "residence": lease.dwelling.entrance.building.residence.name if lease else "",
        "link": "",
    }, event="demo:hot-water-cut")
