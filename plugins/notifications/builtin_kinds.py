"""The kinds of message the notifications plugin sends itself."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from plugins.notifications import PACKAGE_DIR
from plugins.notifications.kinds import MessageKind

MESSAGES = PACKAGE_DIR / "messages"

TEST = MessageKind(
    name="notifications.test",
    label=_l("Test message"),
    templates=str(MESSAGES / "test"),
    variables={"sent_by": _l("who asked for the test")},
    sample={"sent_by": "Claire Dubois", "link": "https://palier.example/portal"},
    channels=("mail", "sms", "voice", "letter", "fax", "phone"),
    urgent=True,
    choosable=False,
)

NOTICE = MessageKind(
    name="notifications.notice",
    label=_l("Notices about your building (works, water or power cuts)"),
    templates=str(MESSAGES / "notice"),
    variables={"title": _l("the notice's title"), "body": _l("the notice's text"),
               "residence": _l("the residence concerned")},
    sample={"title": "Coupure d'eau jeudi 26 novembre",
            "body": "L'eau sera coupée de 9 h à 12 h pour remplacer une vanne.",
            "residence": "Les Tilleuls", "link": "https://palier.example/portal"},
)

KINDS = [TEST, NOTICE]
