"""The claims plugin's own hooks: its domain events (published through
``ClaimsPlugin.hookspecs``).

Each is called inside the transaction that records the event, after the claim and its event
rows are flushed (so they have their ids): an implementation may write rows of its own that
commit or roll back with the claim, and must not commit. An exception raised by an
implementation cancels the whole change: nothing of it is written.
"""
from pluggy import HookspecMarker

hookspec = HookspecMarker("palier")


@hookspec
def claim_submitted(claim):
    """A claim was filed (réclamation déposée): ``claim`` is the new
    :class:`plugins.claims.models.Claim`, status ``submitted``, with its reference, its
    catalogue snapshot and its photos stored.

    Called once per claim, before the automatic acknowledgement (which then fires
    ``claim_status_changed``). A confirmation sent twice files one claim and calls this once.
    """


@hookspec
def claim_status_changed(claim, event):
    """A claim moved from ``event.from_status`` to ``event.to_status``
    (:class:`plugins.claims.models.ClaimEvent`, with its actor, time, public message and
    internal note); ``claim.status`` is already the new status.

    Called for every change, the automatic acknowledgement and postponements included.
    """


@hookspec
def claim_postponed(claim, event):
    """An intervention was postponed (intervention reportée): ``event.planned_for`` is the
    new date and ``event.reason`` why. Called after ``claim_status_changed`` for the same
    event.
    """


@hookspec
def claims_solved_remotely():
    """Which claims were solved without anyone travelling (a remote video diagnosis ended the
    problem): return an SQLAlchemy criterion on :class:`plugins.claims.models.Claim`, or None.

    Asked by the managers' dashboard (``plugins.claims.views.dashboard``) for its "solved
    remotely" share, shown only when an enabled plugin (the video diagnosis) answers; it counts
    the resolved and closed claims that match. Not called inside a claim's transaction.
    """
