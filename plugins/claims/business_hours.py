"""The landlord's business calendar (heures ouvrées): when claims' deadlines run.

A claim filed on Friday at 17:00 for a repair "within 3 days" is not late on Monday morning:
the landlord's offices and contractors work on opening hours, on working days, outside public
holidays (jours fériés) and the landlord's own closures (a bridge day, "pont"). Emergencies are
the exception: the on-call service (astreinte) answers day and night, so their deadlines run
in calendar hours.

What the catalogue's ``deadline_hours`` means here (see docs/claims.md, "Deadlines"):

- priorities listed in ``CLAIMS_CALENDAR_HOUR_PRIORITIES`` (emergencies): calendar hours;
- whole days (a multiple of 24 hours: 24, 72, 240): that many business days (jours ouvrés),
  "3 days" being three working days, at the same point of the working day;
- any other number of hours: business hours (8 hours: one working day and a bit).

Opening hours are wall-clock times in the landlord's time zone, so a deadline keeps to the
offices' hours across the changes to and from summer time. Every moment given to or returned
by this module is naive UTC, like the database's columns.
"""
from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app

from core.config import ConfigError, Setting

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Lundi–vendredi, 8 h 30–12 h et 13 h 30–17 h 30: a common agency's opening hours.
DEFAULT_HOURS = {day: ["08:30-12:00", "13:30-17:30"] for day in WEEKDAYS[:5]}
EXTENSION = "palier.claims.business_calendar"
PRIORITIES = ("emergency", "urgent", "normal")  # the catalogue's priority values
# Past this many days without a single business hour, the calendar is broken (every day
# closed): failing beats looping for ever.
_SEARCH_DAYS = 3 * 366
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

SETTINGS = [
    Setting("CLAIMS_BUSINESS_HOURS", DEFAULT_HOURS,
            'Opening hours per weekday, in the landlord\'s time zone, e.g. {"monday": '
            '["08:30-12:00", "13:30-17:30"], ...}; a day left out is closed. Claims\' '
            "deadlines run during these hours."),
    Setting("CLAIMS_BUSINESS_TIMEZONE", "Europe/Paris",
            "Time zone of the opening hours (Europe/Paris, Indian/Reunion...)."),
    Setting("CLAIMS_HOLIDAYS_SUBDIVISION", "",
            'Public holidays of a part of France besides the national ones: "57" (Moselle) '
            'or "6AE" (Alsace: Bas-Rhin, Haut-Rhin) add Good Friday and 26 December; "971", '
            '"972", "973", "974", "976" the overseas departments\' own days. Empty: national '
            "holidays only."),
    Setting("CLAIMS_CLOSURE_DAYS", [],
            'Extra days the landlord is closed, as ISO dates: ["2026-05-15"] (a bridge day).'),
    Setting("CLAIMS_CALENDAR_HOUR_PRIORITIES", ["emergency"],
            "Priorities whose deadlines run day and night (calendar hours, the on-call "
            "service): any of emergency, urgent, normal."),
]


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening hours per weekday (0 = Monday: a tuple of (opens, closes) local times), the
    time zone, the public holidays of France (and of ``subdivision``), extra closures, and the
    priorities that count in calendar hours."""

    hours: tuple[tuple[tuple[time, time], ...], ...]
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Paris"))
    subdivision: str | None = None
    closures: frozenset[date] = frozenset()
    calendar_priorities: frozenset[str] = frozenset({"emergency"})

    # -- days -----------------------------------------------------------------------------

    def is_holiday(self, day: date) -> bool:
        return day in _french_holidays(self.subdivision, day.year)

    def is_open_day(self, day: date) -> bool:
        return bool(self.hours[day.weekday()]) and day not in self.closures \
            and not self.is_holiday(day)

    def intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The opening spans of a local day, as naive UTC moments (none on closed days)."""
        if not self.is_open_day(day):
            return []
        spans = []
        for opens, closes in self.hours[day.weekday()]:
            start = self._utc(datetime.combine(day, opens))
            end = self._utc(datetime.combine(day, closes))
            if end > start:
                spans.append((start, end))
        return spans

    def _utc(self, local: datetime) -> datetime:
        return local.replace(tzinfo=self.zone).astimezone(timezone.utc).replace(tzinfo=None)

    def local_date(self, moment_utc: datetime) -> date:
        return _naive_utc(moment_utc).replace(tzinfo=timezone.utc).astimezone(self.zone).date()

    def _days_from(self, moment_utc: datetime) -> Iterable[tuple[date, list]]:
        day = self.local_date(moment_utc)
        for offset in range(_SEARCH_DAYS):
            current = day + timedelta(days=offset)
            yield current, self.intervals(current)
        raise ValueError("The business calendar has no opening hour in three years: check "
                         "CLAIMS_BUSINESS_HOURS and CLAIMS_CLOSURE_DAYS.")

    # -- arithmetic -------------------------------------------------------------------------

    def add_business_hours(self, start_utc: datetime, hours: float) -> datetime:
        """The moment ``hours`` opening hours after ``start_utc`` (naive UTC).

        A start outside opening hours counts from the next opening. A deadline that ends
        exactly at a closing time is due at that closing time, not at the next opening.
        """
        start = _naive_utc(start_utc)
        remaining = timedelta(hours=hours)
        if remaining <= timedelta(0):
            return start
        for _day, spans in self._days_from(start):
            for opens, closes in spans:
                if closes <= start:
                    continue
                begin = max(opens, start)
                available = closes - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        raise AssertionError("unreachable")  # _days_from raises first

    def add_business_days(self, start_utc: datetime, days: int) -> datetime:
        """The moment ``days`` working days after ``start_utc``, at the same point of the
        working day (filed at 10:00 on Monday, one day: Tuesday at 10:00).

        A start outside opening hours counts from the next opening, and a deadline that falls
        on an opening is due at the previous working day's closing (filed on Friday evening,
        one day: Monday at closing time).
        """
        start = _naive_utc(start_utc)
        if days <= 0:
            return start
        open_days: list[list[tuple[datetime, datetime]]] = []
        elapsed = None
        for _day, spans in self._days_from(start):
            if not spans:
                continue
            if elapsed is None:
                if spans[-1][1] <= start:
                    continue  # closed already: the count starts on the next working day
                elapsed = sum((min(end, start) - begin for begin, end in spans if begin < start),
                              timedelta(0))
            open_days.append(spans)
            if len(open_days) > days:
                break
        if elapsed == timedelta(0):
            return open_days[days - 1][-1][1]
        target = open_days[days]
        due = self.add_business_hours(target[0][0], elapsed.total_seconds() / 3600)
        return min(due, target[-1][1])

    def business_hours_between(self, a_utc: datetime, b_utc: datetime) -> float:
        """Opening hours from ``a_utc`` to ``b_utc`` (negative when ``b`` comes first)."""
        a, b = _naive_utc(a_utc), _naive_utc(b_utc)
        if b < a:
            return -self.business_hours_between(b, a)
        total = timedelta(0)
        day, last = self.local_date(a), self.local_date(b)
        while day <= last:
            for opens, closes in self.intervals(day):
                overlap = min(closes, b) - max(opens, a)
                if overlap > timedelta(0):
                    total += overlap
            day += timedelta(days=1)
        return total.total_seconds() / 3600

    def due_at(self, start_utc: datetime, deadline_hours: float, priority: str) -> datetime:
        """When a claim of ``priority`` with the catalogue's ``deadline_hours``, filed (or
        reopened) at ``start_utc``, is due: calendar hours for on-call priorities, working
        days for whole days, business hours otherwise."""
        start = _naive_utc(start_utc)
        if str(priority) in self.calendar_priorities:
            return start + timedelta(hours=deadline_hours)
        days = _whole_days(deadline_hours)
        if days is not None:
            return self.add_business_days(start, days)
        return self.add_business_hours(start, deadline_hours)


def _whole_days(deadline_hours: float) -> int | None:
    """24, 72, 240 hours are 1, 3, 10 days (counted as working days); 4 or 36 are hours."""
    if deadline_hours >= 24 and float(deadline_hours) % 24 == 0:
        return int(deadline_hours // 24)
    return None


@functools.lru_cache(maxsize=64)
def _french_holidays(subdivision: str | None, year: int) -> frozenset[date]:
    import holidays

    return frozenset(holidays.France(years=year, subdiv=subdivision or None))


# -- configuration -----------------------------------------------------------------------------

def _parse_hours(value) -> tuple:
    if not isinstance(value, dict):
        raise ConfigError(f"CLAIMS_BUSINESS_HOURS={value!r}: give the opening hours per weekday, "
                          '{"monday": ["08:30-12:00", "13:30-17:30"], ...}.')
    unknown = sorted(set(value) - set(WEEKDAYS))
    if unknown:
        raise ConfigError(f"CLAIMS_BUSINESS_HOURS: {', '.join(map(repr, unknown))} is not a "
                          f"weekday; use {', '.join(WEEKDAYS)}.")
    week = []
    for name in WEEKDAYS:
        spans = value.get(name) or []
        if isinstance(spans, str) or not isinstance(spans, list):
            raise ConfigError(f"CLAIMS_BUSINESS_HOURS[{name!r}]={spans!r}: give a list of "
                              'spans, ["08:30-12:00", "13:30-17:30"].')
        parsed = []
        for span in spans:
            match = _SPAN.match(span) if isinstance(span, str) else None
            try:
                if match is None:
                    raise ValueError
                h1, m1, h2, m2 = (int(part) for part in match.groups())
                opens, closes = time(h1, m1), time(h2, m2)
            except ValueError:
                raise ConfigError(f"CLAIMS_BUSINESS_HOURS[{name!r}]: {span!r} is not a span "
                                  'of the day such as "08:30-12:00".') from None
            if closes <= opens:
                raise ConfigError(f"CLAIMS_BUSINESS_HOURS[{name!r}]: {span!r} closes before it "
                                  "opens.")
            if parsed and opens < parsed[-1][1]:
                raise ConfigError(f"CLAIMS_BUSINESS_HOURS[{name!r}]: give the spans in order, "
                                  "without overlap.")
            parsed.append((opens, closes))
        week.append(tuple(parsed))
    if not any(week):
        raise ConfigError("CLAIMS_BUSINESS_HOURS: the offices are never open; deadlines could "
                          "never run out. Give at least one opening span.")
    return tuple(week)


def calendar_from_config(config) -> BusinessCalendar:
    """The calendar the settings describe; :class:`ConfigError` says what to fix."""
    hours = _parse_hours(config["CLAIMS_BUSINESS_HOURS"])
    name = config["CLAIMS_BUSINESS_TIMEZONE"]
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ConfigError(f"CLAIMS_BUSINESS_TIMEZONE={name!r} is not a time zone "
                          "(Europe/Paris, Indian/Reunion...).") from None
    subdivision = config["CLAIMS_HOLIDAYS_SUBDIVISION"] or None
    if subdivision is not None:
        import holidays

        known = set(holidays.France.subdivisions) | set(holidays.France.subdivisions_aliases)
        if subdivision not in known:
            raise ConfigError(f"CLAIMS_HOLIDAYS_SUBDIVISION={subdivision!r}: choose one of "
                              f"{', '.join(holidays.France.subdivisions)}, or leave it empty.")
    closures = config["CLAIMS_CLOSURE_DAYS"]
    if isinstance(closures, str) or not isinstance(closures, list | tuple):
        raise ConfigError(f"CLAIMS_CLOSURE_DAYS={closures!r}: give a list of ISO dates, "
                          '["2026-05-15"].')
    days = set()
    for value in closures:
        try:
            days.add(date.fromisoformat(value))
        except (TypeError, ValueError):
            raise ConfigError(f"CLAIMS_CLOSURE_DAYS: {value!r} is not an ISO date such as "
                              '"2026-05-15".') from None
    priorities = config["CLAIMS_CALENDAR_HOUR_PRIORITIES"]
    if isinstance(priorities, str) or not isinstance(priorities, list | tuple) or \
            not set(priorities) <= set(PRIORITIES):
        raise ConfigError(f"CLAIMS_CALENDAR_HOUR_PRIORITIES={priorities!r}: give a list of "
                          f"priorities among {', '.join(PRIORITIES)}.")
    return BusinessCalendar(hours, zone, subdivision, frozenset(days), frozenset(priorities))


def business_calendar() -> BusinessCalendar:
    """The current app's calendar (built and checked at start-up)."""
    return current_app.extensions[EXTENSION]


def claim_due_at(start_utc: datetime, deadline_hours: float, priority: str) -> datetime:
    """When a claim filed or reopened at ``start_utc`` is due, on the app's calendar."""
    return business_calendar().due_at(start_utc, deadline_hours, priority)


def deadline_words(deadline_hours: float, priority: str) -> str:
    """A deadline as the tenant reads it: "within 3 working days", "within 8 business
    hours", "within 4 hours" (on-call priorities, day and night)."""
    from flask_babel import gettext as _
    from flask_babel import ngettext

    if str(priority) not in business_calendar().calendar_priorities:
        days = _whole_days(deadline_hours)
        if days is not None:
            return ngettext("within %(num)d working day", "within %(num)d working days", days)
        return ngettext("within %(hours)s business hour", "within %(hours)s business hours",
                        math.ceil(deadline_hours), hours=f"{deadline_hours:g}")
    return _("within %(hours)s hours", hours=f"{deadline_hours:g}")


__all__ = ["SETTINGS", "BusinessCalendar", "business_calendar", "calendar_from_config",
           "claim_due_at", "deadline_words"]
