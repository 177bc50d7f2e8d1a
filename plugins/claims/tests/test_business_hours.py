"""The business calendar of claims' deadlines: opening hours, French public holidays, closures,
summer time, and the deadline a claim gets when it is filed or reopened.

Dates are explicit; "local" times are Paris wall-clock times, the calendar's answers naive UTC.
"""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from core.config import ConfigError
from plugins.claims.business_hours import DEFAULT_HOURS, calendar_from_config

PARIS = ZoneInfo("Europe/Paris")


def local(*parts) -> datetime:
    """A Paris wall-clock time as the naive UTC moment the calendar works with."""
    return datetime(*parts, tzinfo=PARIS).astimezone(timezone.utc).replace(tzinfo=None)


def paris(moment_utc: datetime) -> datetime:
    return moment_utc.replace(tzinfo=timezone.utc).astimezone(PARIS).replace(tzinfo=None)


def calendar(**settings):
    config = {"CLAIMS_BUSINESS_HOURS": DEFAULT_HOURS, "CLAIMS_BUSINESS_TIMEZONE": "Europe/Paris",
              "CLAIMS_HOLIDAYS_SUBDIVISION": "", "CLAIMS_CLOSURE_DAYS": [],
              "CLAIMS_CALENDAR_HOUR_PRIORITIES": ["emergency"], **settings}
    return calendar_from_config(config)


CAL = calendar()


# -- business hours ------------------------------------------------------------------------

def test_friday_evening_plus_eight_business_hours_is_monday_closing_time():
    # Half an hour on Friday (17:00–17:30), then Monday's 7.5 hours.
    due = CAL.add_business_hours(local(2026, 1, 9, 17, 0), 8)
    assert paris(due) == datetime(2026, 1, 12, 17, 30)
    assert due == datetime(2026, 1, 12, 16, 30)  # UTC, winter time


def test_a_start_outside_opening_hours_counts_from_the_next_opening():
    # Saturday morning: Monday 08:30 + 2 h.
    assert paris(CAL.add_business_hours(local(2026, 1, 10, 10, 0), 2)) == \
        datetime(2026, 1, 12, 10, 30)
    # Lunch break: the afternoon opening + 1 h.
    assert paris(CAL.add_business_hours(local(2026, 1, 12, 12, 30), 1)) == \
        datetime(2026, 1, 12, 14, 30)
    # Before opening on a weekday.
    assert paris(CAL.add_business_hours(local(2026, 1, 12, 6, 0), 3.5)) == \
        datetime(2026, 1, 12, 12, 0)
    # After closing: the next morning.
    assert paris(CAL.add_business_hours(local(2026, 1, 12, 19, 0), 0.5)) == \
        datetime(2026, 1, 13, 9, 0)


def test_14_july_is_skipped_from_its_eve():
    # Monday 13 July 2026 at 17:00: Tuesday 14 is the national holiday.
    due = CAL.add_business_hours(local(2026, 7, 13, 17, 0), 8)
    assert paris(due) == datetime(2026, 7, 15, 17, 30)
    assert CAL.is_holiday(date(2026, 7, 14)) and not CAL.is_open_day(date(2026, 7, 14))


def test_easter_monday_is_skipped_and_alsace_moselle_also_skips_good_friday():
    filed = local(2026, 4, 2, 16, 0)  # Thursday before Easter: 6 business hours into the day
    # Three working days: Friday 3, (Easter Monday 6 skipped) Tuesday 7, Wednesday 8 April.
    assert paris(CAL.add_business_days(filed, 3)) == datetime(2026, 4, 8, 16, 0)
    moselle = calendar(CLAIMS_HOLIDAYS_SUBDIVISION="57")
    assert moselle.is_holiday(date(2026, 4, 3)) and not CAL.is_holiday(date(2026, 4, 3))
    assert paris(moselle.add_business_days(filed, 3)) == datetime(2026, 4, 9, 16, 0)
    assert moselle.is_holiday(date(2026, 12, 26)) and not CAL.is_holiday(date(2026, 12, 26))


def test_the_week_summer_time_starts():
    # Friday 27 March 2026 17:00 (UTC+1) → Monday 30 March 17:30 (UTC+2), last Sunday of March
    # in between: the offices keep their wall-clock hours.
    filed = local(2026, 3, 27, 17, 0)
    due = CAL.add_business_hours(filed, 8)
    assert paris(due) == datetime(2026, 3, 30, 17, 30)
    assert (filed, due) == (datetime(2026, 3, 27, 16, 0), datetime(2026, 3, 30, 15, 30))
    assert CAL.business_hours_between(filed, due) == 8


def test_the_week_summer_time_ends():
    filed = local(2026, 10, 23, 17, 0)  # UTC+2
    due = CAL.add_business_hours(filed, 8)
    assert paris(due) == datetime(2026, 10, 26, 17, 30)  # UTC+1, after the last Sunday of October
    assert (filed, due) == (datetime(2026, 10, 23, 15, 0), datetime(2026, 10, 26, 16, 30))


def test_emergencies_run_in_calendar_hours_through_the_night_of_the_clock_change():
    # Sunday 29 March 2026 at 00:30 in Paris; clocks jump from 02:00 to 03:00.
    filed = local(2026, 3, 29, 0, 30)
    due = CAL.due_at(filed, 4, "emergency")
    assert due - filed == timedelta(hours=4)  # four real hours of the on-call service
    assert paris(due) == datetime(2026, 3, 29, 5, 30)  # the wall clock moved five
    # The same four hours for an "urgent" problem wait for the offices: Monday's morning and
    # half an hour after lunch.
    assert paris(CAL.due_at(filed, 4, "urgent")) == datetime(2026, 3, 30, 14, 0)
    # A landlord whose on-call service takes urgent problems too.
    on_call = calendar(CLAIMS_CALENDAR_HOUR_PRIORITIES=["emergency", "urgent"])
    assert on_call.due_at(filed, 24, "urgent") == filed + timedelta(hours=24)


def test_whole_days_are_working_days_at_the_same_point_of_the_day():
    # Filed Monday 12 January at 10:00, "within 24 hours" (urgent): Tuesday at 10:00.
    assert paris(CAL.due_at(local(2026, 1, 12, 10, 0), 24, "urgent")) == \
        datetime(2026, 1, 13, 10, 0)
    # Filed on Friday evening, one working day: the whole of Monday, due at its closing time.
    assert paris(CAL.due_at(local(2026, 1, 9, 18, 0), 24, "urgent")) == \
        datetime(2026, 1, 12, 17, 30)
    # 36 hours is not whole days: business hours (4.8 working days of 7.5 hours).
    assert CAL.business_hours_between(local(2026, 1, 12, 10, 0),
                                      CAL.due_at(local(2026, 1, 12, 10, 0), 36, "normal")) == 36


def test_ten_working_days_across_may_holidays_and_a_bridge_day():
    filed = local(2026, 5, 4, 10, 0)  # Monday; 8 May (Friday) and Ascension (14 May) are holidays
    assert paris(CAL.due_at(filed, 240, "normal")) == datetime(2026, 5, 20, 10, 0)
    bridge = calendar(CLAIMS_CLOSURE_DAYS=["2026-05-15"])  # the Friday after Ascension
    assert paris(bridge.due_at(filed, 240, "normal")) == datetime(2026, 5, 21, 10, 0)
    # Pentecost Monday 25 May is a holiday in the package's French calendar.
    assert CAL.is_holiday(date(2026, 5, 25))


def test_long_deadlines_in_business_hours_span_weeks():
    start = local(2026, 5, 4, 8, 30)
    due = CAL.add_business_hours(start, 75)  # ten full working days
    assert paris(due) == datetime(2026, 5, 19, 17, 30)
    assert CAL.business_hours_between(start, due) == 75
    assert CAL.business_hours_between(due, start) == -75


def test_adding_then_measuring_gives_the_same_hours_all_year():
    rng = random.Random(2026)
    for _ in range(300):
        start = datetime(2026, 1, 1) + timedelta(minutes=rng.randrange(365 * 24 * 60))
        hours = rng.choice([0.5, 1, 4, 7.5, 8, 13.25, 40, 100])
        due = CAL.add_business_hours(start, hours)
        assert due >= start
        assert CAL.business_hours_between(start, due) == pytest.approx(hours), (start, hours)
        local_due = paris(due)
        assert CAL.is_open_day(local_due.date()), (start, hours)
        assert any(datetime.combine(local_due.date(), a) < local_due
                   <= datetime.combine(local_due.date(), b)
                   for a, b in CAL.hours[local_due.weekday()]), (start, hours, local_due)


def test_saturday_mornings_can_be_opening_hours():
    with_saturday = calendar(CLAIMS_BUSINESS_HOURS={**DEFAULT_HOURS,
                                                    "saturday": ["09:00-12:00"]})
    assert paris(with_saturday.add_business_hours(local(2026, 1, 9, 17, 0), 2)) == \
        datetime(2026, 1, 10, 10, 30)


# -- settings --------------------------------------------------------------------------------

@pytest.mark.parametrize("settings, message", [
    ({"CLAIMS_BUSINESS_HOURS": {"monday": ["17:30-08:30"]}}, "closes before it opens"),
    ({"CLAIMS_BUSINESS_HOURS": {"lundi": ["08:30-12:00"]}}, "'lundi' is not a weekday"),
    ({"CLAIMS_BUSINESS_HOURS": {"monday": ["8h30-12h"]}}, "is not a span of the day"),
    ({"CLAIMS_BUSINESS_HOURS": {"monday": ["13:00-17:00", "08:00-12:00"]}}, "in order"),
    ({"CLAIMS_BUSINESS_HOURS": {}}, "never open"),
    ({"CLAIMS_BUSINESS_TIMEZONE": "Paris"}, "is not a time zone"),
    ({"CLAIMS_HOLIDAYS_SUBDIVISION": "Bretagne"}, "choose one of"),
    ({"CLAIMS_CLOSURE_DAYS": ["15/05/2026"]}, "is not an ISO date"),
    ({"CLAIMS_CLOSURE_DAYS": "2026-05-15"}, "give a list of ISO dates"),
    ({"CLAIMS_CALENDAR_HOUR_PRIORITIES": ["critical"]}, "among emergency, urgent, normal"),
])
def test_wrong_settings_stop_start_up_with_what_to_fix(make_app, settings, message):
    with pytest.raises(ConfigError, match=message) as raised:
        make_app(plugins=["claims"], **settings)
    assert next(iter(settings)) in str(raised.value)


def test_settings_from_the_environment_shape_are_accepted(make_app):
    from plugins.claims.business_hours import business_calendar

    app = make_app(plugins=["claims"], CLAIMS_HOLIDAYS_SUBDIVISION="6AE",
                   CLAIMS_CLOSURE_DAYS=["2026-05-15"],
                   CLAIMS_BUSINESS_HOURS={"monday": ["09:00-12:00"], "friday": ["09:00-12:00"]})
    with app.app_context():
        cal = business_calendar()
        assert cal.is_holiday(date(2026, 4, 3))  # Good Friday in Alsace
        assert not cal.is_open_day(date(2026, 5, 15))
        assert not cal.is_open_day(date(2026, 1, 13))  # a Tuesday: closed there


# -- claims ----------------------------------------------------------------------------------

def test_filing_sets_due_at_on_the_business_calendar(claims_app, make_tenant, file, monkeypatch):
    from core.extensions import db
    from plugins.claims.models import Claim
    from plugins.claims.tests.conftest import LIFT

    monkeypatch.setattr("plugins.claims.workflow.utcnow", lambda: local(2026, 1, 9, 17, 0))
    tenant = make_tenant()
    tap = file(tenant)  # normal, 240 hours: ten working days
    lift = file(tenant, **LIFT)  # urgent, 24 hours: one working day
    gas = file(tenant, place_id="kitchen", equipment_id="gas", problem_id="gas.smell")
    with claims_app.app_context():
        claims = {claim.id: claim for claim in db.session.scalars(select_claims(Claim))}
        assert paris(claims[tap].due_at) == datetime(2026, 1, 23, 17, 0)
        assert paris(claims[lift].due_at) == datetime(2026, 1, 12, 17, 0)
        gas_claim = claims[gas]
        assert gas_claim.priority == "emergency"
        assert gas_claim.due_at == gas_claim.created_at + timedelta(hours=gas_claim.deadline_hours)


def test_a_reopened_claim_gets_a_fresh_deadline_from_the_reopening(claims_app, make_tenant,
                                                                   make_user, file, move,
                                                                   monkeypatch):
    from core.extensions import db
    from plugins.claims.models import Claim

    monkeypatch.setattr("plugins.claims.workflow.utcnow", lambda: local(2026, 1, 9, 17, 0))
    claim_id = file(make_tenant())
    agent = make_user("agent")
    for status in ("qualified", "assigned", "in_progress", "resolved"):
        move(claim_id, status, agent)
    monkeypatch.setattr("plugins.claims.workflow.utcnow", lambda: local(2026, 2, 2, 9, 0))
    move(claim_id, "reopened", agent, public_message="The tap drips again.")
    with claims_app.app_context():
        claim = db.session.get(Claim, claim_id)
        # Ten working days from Monday 2 February 09:00.
        assert paris(claim.due_at) == datetime(2026, 2, 16, 9, 0)


def test_the_deadline_in_words(claims_app):
    from flask_babel import force_locale

    from plugins.claims.business_hours import deadline_words

    with claims_app.test_request_context(), force_locale("en"):
        assert deadline_words(240, "normal") == "within 10 working days"
        assert deadline_words(24, "urgent") == "within 1 working day"
        assert deadline_words(8, "normal") == "within 8 business hours"
        assert deadline_words(4, "emergency") == "within 4 hours"


def select_claims(model):
    from sqlalchemy import select

    return select(model)
