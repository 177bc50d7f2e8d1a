"""What claims say to people: status names, who pays, what happens next (in their language)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from plugins.claims.catalogue import Responsibility
from plugins.claims.models import FilingChannel, Status

# Capitalised: status names, quoted in sentences ("This claim is “Qualified”").
STATUS_LABELS = {
    Status.SUBMITTED: _l("Submitted"),
    Status.ACKNOWLEDGED: _l("Acknowledged"),
    Status.QUALIFIED: _l("Qualified"),
    Status.ASSIGNED: _l("Assigned"),
    Status.APPOINTMENT_PLANNED: _l("Appointment planned"),
    Status.POSTPONED: _l("Postponed"),
    Status.IN_PROGRESS: _l("Work in progress"),
    Status.RESOLVED: _l("Resolved"),
    Status.CLOSED: _l("Closed"),
    Status.REJECTED: _l("Rejected"),
    Status.CANCELLED: _l("Cancelled"),
    Status.REOPENED: _l("Reopened"),
}

# Who pays, as the tenant reads it before confirming, and on the acknowledgement.
RESPONSIBILITY_LABELS = {
    Responsibility.TENANT: _l("Charged to the tenant"),
    Responsibility.LANDLORD: _l("Charged to the landlord"),
    Responsibility.MAINTENANCE_CONTRACT: _l(
        "Covered by a maintenance contract (paid through the service charges)"),
    Responsibility.TO_BE_ASSESSED: _l("To be assessed: who pays depends on the cause"),
}

CHANNEL_LABELS = {
    FilingChannel.PORTAL: _l("on the tenant portal"),
    FilingChannel.CARETAKER: _l("by the caretaker"),
    FilingChannel.PHONE: _l("by phone"),
    FilingChannel.AGENT: _l("by a customer agent"),
}


def status_label(status: Status | str) -> str:
    return str(STATUS_LABELS[Status(status)])


def responsibility_label(responsibility: Responsibility | str) -> str:
    return str(RESPONSIBILITY_LABELS[Responsibility(responsibility)])


def next_steps(responsibility: Responsibility | str) -> list[str]:
    """What happens after the acknowledgement, step by step, for the tenant."""
    steps = [str(_l("A customer agent checks your claim and confirms who pays for the "
                     "repair."))]
    if Responsibility(responsibility) is Responsibility.TENANT:
        steps.append(str(_l("This repair is usually yours to do or to pay for: if the "
                            "landlord's contractor does it, you may be charged for it.")))
    steps.append(str(_l("The claim is handed to the right trade, and you are told when an "
                        "appointment is planned.")))
    steps.append(str(_l("Each step reaches you on the channel you chose, and you can follow "
                        "the claim on your tenant portal.")))
    return steps
