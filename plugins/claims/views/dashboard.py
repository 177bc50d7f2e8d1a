"""The claims dashboard (tableau de bord) of managers, administrators and agents.

Each widget is one aggregate query (``GROUP BY`` or conditional counts) over the claims the
user may see (:func:`plugins.claims.queries.claims_visible_to`): an agent of an agency sees
its figures only, a manager the whole landlord's. No claim row is loaded, so the page costs
the same with a thousand claims or a million: the open-claims widgets read the open claims
through the (status, deadline) index; the others are limited to a period of filing.

Charts are drawn here as inline SVG (no script): horizontal bars with their figures written
next to them, an accessible name (``role="img"`` labelled by the chart's title and a one
sentence summary) and the same figures in a table under each chart.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Blueprint, render_template, request
from flask_babel import format_decimal, format_percent, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import and_, case, func, select

from core.accounts import Role, User, utcnow
from core.estate import Agency, CaretakerAssignment
from core.extensions import db
from core.web.access import permission_required
from plugins.claims.models import Claim, Status
from plugins.claims.queries import claims_visible_to
from plugins.claims.wording import responsibility_label

bp = Blueprint("claims_dashboard", __name__, template_folder="../templates",
               static_folder="../static", url_prefix="/backoffice/claims/dashboard")

PERMISSION = "claims.dashboard"
# Claims still waiting for the work: a resolved claim (awaiting its closure) is done, so it
# neither ages nor breaches its deadline any more.
OPEN_STATUSES = tuple(status for status in Status if status.is_open
                      and status is not Status.RESOLVED)
SOLVED_STATUSES = (Status.RESOLVED, Status.CLOSED)
# Periods of filing the satisfaction, responsibility and remote widgets look at (days; 0: all).
PERIODS = {"30": 30, "90": 90, "365": 365, "all": 0}
DEFAULT_PERIOD = "365"
# Age buckets of open claims, in whole days since filing: (label, first day, last day or None).
AGE_BUCKETS = ((_l("0 to 2 days"), 0, 2), (_l("3 to 7 days"), 3, 7),
               (_l("8 to 30 days"), 8, 30), (_l("over 30 days"), 31, None))
# The caretakers shown: those with the most breaches first.
CARETAKERS_SHOWN = 20

# Drawing: a label column, then the bars, then the figure; one row per bar.
_WIDTH, _LABEL_WIDTH, _BAR_WIDTH, _ROW, _BAR = 680, 190, 280, 30, 18
_LABEL_CHARS = 26


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its length (``value``), the highlighted part of it (``part``:
    the breached claims of an agency) and the figure written next to it."""

    label: str
    value: int
    part: int = 0
    figure: str = ""


@dataclass
class Chart:
    """A widget's chart and the table that says the same."""

    id: str
    title: str
    summary: str
    bars: list[Bar]
    head: list[str]
    rows: list[list[str]]
    legend: list[tuple[str, str]] = field(default_factory=list)  # (css class, text)

    @property
    def height(self) -> int:
        return len(self.bars) * _ROW + 8

    def shapes(self) -> list[dict]:
        """Where each bar goes in the SVG (user units)."""
        top = max((bar.value for bar in self.bars), default=0) or 1
        shapes = []
        for index, bar in enumerate(self.bars):
            y = 4 + index * _ROW
            width = round(_BAR_WIDTH * bar.value / top, 1)
            part = round(_BAR_WIDTH * bar.part / top, 1)
            label = bar.label if len(bar.label) <= _LABEL_CHARS \
                else bar.label[:_LABEL_CHARS - 1] + "…"
            shapes.append({"y": y, "text_y": y + _BAR - 4, "label": label, "width": width,
                           "part": part, "figure": bar.figure or format_decimal(bar.value),
                           "figure_x": _LABEL_WIDTH + max(width, 1) + 8, "bar_y": y + 2})
        return shapes

    width = _WIDTH
    label_width = _LABEL_WIDTH
    bar_height = _BAR


def _share(part: int, whole: int) -> str:
    return format_percent(part / whole, "#,##0 %") if whole else "—"


# -- widgets: one query each -------------------------------------------------------------------

def open_by_age(user, now: datetime) -> Chart:
    """Open claims by age since filing."""
    counts = []
    for _label, first, last in AGE_BUCKETS:
        # Whole days since filing between ``first`` and ``last``.
        condition = Claim.created_at <= now - timedelta(days=first)
        if last is not None:
            condition = and_(condition, Claim.created_at > now - timedelta(days=last + 1))
        counts.append(func.count(case((condition, 1))))
    row = db.session.execute(select(*counts).where(
        claims_visible_to(user), Claim.status.in_(OPEN_STATUSES))).one()
    total = sum(row)
    bars = [Bar(str(label), count) for (label, *_days), count in zip(AGE_BUCKETS, row, strict=True)]
    return Chart(
        "age", _("Open claims by age"),
        ngettext("%(num)d open claim, by days since it was filed.",
                 "%(num)d open claims, by days since they were filed.", total),
        bars, [_("Age"), _("Open claims"), _("Share")],
        [[bar.label, format_decimal(bar.value), _share(bar.value, total)] for bar in bars])


def breaches_by_agency(user, now: datetime) -> Chart:
    """Open claims and those past their deadline, per agency."""
    breached = func.count(case((Claim.due_at < now, 1)))
    rows = db.session.execute(
        select(Agency.name, func.count(Claim.id), breached)
        .join(Agency, Agency.id == Claim.agency_id)
        .where(claims_visible_to(user), Claim.status.in_(OPEN_STATUSES))
        .group_by(Agency.id, Agency.name).order_by(Agency.name)).all()
    return _breach_chart(
        "agencies", _("Deadline breaches by agency"), _("Agency"), rows,
        _("Open claims per agency; the red part is past its deadline."))


def breaches_by_caretaker(user, now: datetime) -> Chart:
    """Open claims of each caretaker's buildings and those past their deadline (a building
    with two caretakers counts for both)."""
    breached = func.count(case((Claim.due_at < now, 1)))
    rows = db.session.execute(
        select(User.display_name, func.count(Claim.id), breached)
        .join(CaretakerAssignment, CaretakerAssignment.building_id == Claim.building_id)
        .join(User, User.id == CaretakerAssignment.user_id)
        .where(claims_visible_to(user), Claim.status.in_(OPEN_STATUSES))
        .group_by(User.id, User.display_name)
        .order_by(breached.desc(), User.display_name).limit(CARETAKERS_SHOWN)).all()
    return _breach_chart(
        "caretakers", _("Deadline breaches in each caretaker's buildings"), _("Caretaker"),
        rows, _("Open claims of the buildings of each caretaker (the %(num)d with the most "
                "breaches); the red part is past its deadline.", num=CARETAKERS_SHOWN))


def _breach_chart(chart_id, title, who, rows, summary) -> Chart:
    bars = [Bar(name, total, late, _("%(late)s late of %(total)s (%(share)s)",
                                    late=format_decimal(late), total=format_decimal(total),
                                    share=_share(late, total)))
            for name, total, late in rows]
    return Chart(chart_id, title, summary, bars,
                 [who, _("Open claims"), _("Past their deadline"), _("Share past deadline")],
                 [[bar.label, format_decimal(bar.value), format_decimal(bar.part),
                   _share(bar.part, bar.value)] for bar in bars],
                 legend=[("chart-key--open", _("open, within deadline")),
                         ("chart-key--late", _("open, past deadline"))])


def satisfaction(user, since: datetime | None) -> tuple[Chart, dict]:
    """Tenants' ratings of resolved claims (1 to 5), with their count and mean."""
    query = select(Claim.rating, func.count()).where(
        claims_visible_to(user), Claim.rating.is_not(None)).group_by(Claim.rating)
    if since is not None:
        query = query.where(Claim.rated_at >= since)
    counts = dict(db.session.execute(query).all())
    total = sum(counts.values())
    mean = sum(rating * count for rating, count in counts.items()) / total if total else None
    bars = [Bar(ngettext("%(num)d star", "%(num)d stars", rating), counts.get(rating, 0))
            for rating in range(1, 6)]
    summary = {"total": total, "count": format_decimal(total),
               "mean": format_decimal(mean, "0.0") if mean is not None else None}
    chart = Chart(
        "satisfaction", _("Tenants' satisfaction"),
        _("Ratings given by tenants after resolution: %(count)s ratings, mean %(mean)s out "
          "of 5.", count=summary["count"], mean=summary["mean"] or "—"),
        bars, [_("Rating"), _("Ratings"), _("Share")],
        [[bar.label, format_decimal(bar.value), _share(bar.value, total)] for bar in bars])
    return chart, summary


def by_responsibility(user, since: datetime | None) -> Chart:
    """Claims filed in the period by who pays."""
    query = select(Claim.responsibility, func.count()).where(
        claims_visible_to(user)).group_by(Claim.responsibility).order_by(Claim.responsibility)
    if since is not None:
        query = query.where(Claim.created_at >= since)
    rows = db.session.execute(query).all()
    total = sum(count for _r, count in rows)
    bars = [Bar(responsibility_label(name), count) for name, count in rows]
    return Chart(
        "responsibility", _("Claims by responsibility"),
        ngettext("%(num)d claim filed in the period, by who pays for the repair.",
                 "%(num)d claims filed in the period, by who pays for the repair.", total),
        bars, [_("Who pays"), _("Claims"), _("Share")],
        [[bar.label, format_decimal(bar.value), _share(bar.value, total)] for bar in bars])


def solved_remotely(user, since: datetime | None) -> Chart | None:
    """The share of resolved claims solved by a remote video diagnosis, when the video
    diagnosis plugin is enabled and says which ones; None otherwise (no made-up zero)."""
    from core.plugins import flatten, hook

    criteria = [c for c in flatten([hook().claims_solved_remotely()]) if c is not None]
    if not criteria:
        return None
    remote = func.count(case((criteria[0], 1)))
    query = select(func.count(), remote).where(
        claims_visible_to(user), Claim.status.in_(SOLVED_STATUSES))
    if since is not None:
        query = query.where(Claim.created_at >= since)
    total, solved = db.session.execute(query).one()
    bars = [Bar(_("Solved remotely"), solved, figure=_share(solved, total)),
            Bar(_("With a visit"), total - solved, figure=_share(total - solved, total))]
    return Chart(
        "remote", _("Claims solved remotely"),
        _("%(share)s of the %(total)s resolved claims were solved by a video diagnosis, "
          "without a visit.", share=_share(solved, total), total=format_decimal(total)),
        bars, [_("How"), _("Resolved claims"), _("Share")],
        [[bar.label, format_decimal(bar.value), bar.figure] for bar in bars])


# -- the page ----------------------------------------------------------------------------------

@bp.route("")
@permission_required(PERMISSION)
def index():
    period = request.args.get("period", DEFAULT_PERIOD)
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    now = utcnow()
    since = now - timedelta(days=PERIODS[period]) if PERIODS[period] else None
    user = current_user
    rating_chart, rating = satisfaction(user, since)
    return render_template(
        "claims/dashboard/index.html", period=period,
        periods=[("30", _("the last 30 days")), ("90", _("the last 90 days")),
                 ("365", _("the last 12 months")), ("all", _("all time"))],
        age=open_by_age(user, now), agencies=breaches_by_agency(user, now),
        caretakers=breaches_by_caretaker(user, now), rating_chart=rating_chart, rating=rating,
        responsibility=by_responsibility(user, since), remote=solved_remotely(user, since),
        agency=db.session.get(Agency, user.agency_id)
        if user.role is Role.AGENT and user.agency_id is not None else None)


def breached_count(user, now: datetime | None = None) -> int:
    """Open claims past their deadline that ``user`` may see (the home page's figure)."""
    return db.session.scalar(select(func.count(Claim.id)).where(
        claims_visible_to(user), Claim.status.in_(OPEN_STATUSES),
        Claim.due_at < (now or utcnow()))) or 0


def navigation(user) -> list:
    """The back-office menu entry, for those who may open the dashboard."""
    from flask import url_for

    from core.contributions import NavItem
    from core.permissions import has_permission

    if not has_permission(user, PERMISSION):
        return []
    return [NavItem(_("Claims dashboard"), url_for("claims_dashboard.index"),
                    "claims_dashboard.index", order=31)]


def widgets(user) -> list:
    """The back-office home's block for managers and administrators: open claims past their
    deadline, leading to the dashboard."""
    from flask import url_for

    from core.contributions import Widget
    from core.permissions import has_permission

    if user.role not in (Role.MANAGER, Role.ADMIN) or not has_permission(user, PERMISSION):
        return []
    return [Widget(_("Claims past their deadline"),
                   _("Open claims whose deadline has passed, on the business calendar. See "
                     "the claims dashboard for ages, agencies, caretakers and satisfaction."),
                   figure=format_decimal(breached_count(user)),
                   url=url_for("claims_dashboard.index"), order=31)]
