"""Office hours: weekly periods (split shifts), Dutch public holidays, extra closing days.

Also the business-hours arithmetic behind response times: how many opening minutes lie between
two instants, and when a number of opening minutes after an instant runs out (a due time).
All calendar reasoning happens in Europe/Amsterdam local time; instants are compared in UTC,
so days of 23 or 25 hours (DST changes) count what the clock on the office wall shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise

import holidays

from ingest.localtime import AMSTERDAM, to_utc

__all__ = ["OfficeHours", "parse_period"]

# A due time further away than this means the calendar is (nearly) never open: a config error.
_MAX_SEARCH_DAYS = 366 * 2


@lru_cache(maxsize=64)
def _holidays(country: str, year: int) -> holidays.HolidayBase:
    # Building a year's calendar is costly; the router asks for every message.
    return holidays.country_holidays(country, years=year)


def _clock(text: str) -> time | None:
    """'08:30' -> 08:30; '24:00' -> None (the end of the day)."""
    text = text.strip()
    if text == "24:00":
        return None
    return time.fromisoformat(text)


def parse_period(text: str) -> tuple[time, time | None]:
    """'08:30-12:30' -> (08:30, 12:30); the end is exclusive; '24:00' as end means midnight."""
    try:
        start_text, end_text = text.split("-")
        start, end = _clock(start_text), _clock(end_text)
    except ValueError:
        raise ValueError(f"office-hours period {text!r} is not 'HH:MM-HH:MM'") from None
    if start is None:
        raise ValueError(f"office-hours period {text!r} cannot start at 24:00")
    if end is not None and end <= start:
        raise ValueError(f"office-hours period {text!r} ends before it starts")
    return start, end


@dataclass(frozen=True)
class OfficeHours:
    """When the municipality is at work, in Europe/Amsterdam time."""

    weekly: Mapping[int, tuple[tuple[time, time | None], ...]]
    public_holidays: str | None = "NL"
    closed_days: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def from_config(
        cls,
        weekly: Mapping[int, Iterable[str]],
        public_holidays: str | None,
        closed_days: Iterable[date],
    ) -> OfficeHours:
        parsed = {
            int(day): tuple(sorted(parse_period(p) for p in periods))
            for day, periods in weekly.items()
        }
        bad = [d for d in parsed if not 1 <= d <= 7]
        if bad:
            raise ValueError(f"office-hours weekday {bad[0]} is not 1 (Monday) .. 7 (Sunday)")
        if not any(parsed.values()):
            raise ValueError("office hours have no opening period on any weekday")
        for day, periods in parsed.items():
            for (_, end), (next_start, _) in pairwise(periods):
                if end is None or next_start < end:
                    raise ValueError(f"office-hours periods on weekday {day} overlap")
        return cls(parsed, public_holidays, frozenset(closed_days))

    def is_closed_day(self, day: date) -> bool:
        if day in self.closed_days:
            return True
        if not self.public_holidays:
            return False
        return day in _holidays(self.public_holidays, day.year)

    def is_open(self, moment: datetime) -> bool:
        """Whether the instant falls inside an opening period (naive means UTC)."""
        moment = to_utc(moment)
        local_day = moment.astimezone(AMSTERDAM).date()
        return any(start <= moment < end for start, end in self._periods_on(local_day))

    def _periods_on(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """The day's opening periods as UTC instants (none on closed days)."""
        if self.is_closed_day(day):
            return
        for start, end in self.weekly.get(day.isoweekday(), ()):
            opens = datetime.combine(day, start, tzinfo=AMSTERDAM)
            closes = (
                datetime.combine(day + timedelta(days=1), time(0), tzinfo=AMSTERDAM)
                if end is None
                else datetime.combine(day, end, tzinfo=AMSTERDAM)
            )
            yield to_utc(opens), to_utc(closes)

    def business_minutes(self, start: datetime, end: datetime) -> float:
        """Opening minutes between two instants (0 when ``end`` is not after ``start``)."""
        start, end = to_utc(start), to_utc(end)
        if end <= start:
            return 0.0
        day = start.astimezone(AMSTERDAM).date()
        last = end.astimezone(AMSTERDAM).date()
        seconds = 0.0
        while day <= last:
            for opens, closes in self._periods_on(day):
                overlap = min(closes, end) - max(opens, start)
                seconds += max(overlap.total_seconds(), 0.0)
            day += timedelta(days=1)
        return seconds / 60

    def add_business_minutes(self, start: datetime, minutes: float) -> datetime:
        """The instant at which ``minutes`` opening minutes after ``start`` have passed.

        :raises ValueError: when the calendar does not open within two years.
        """
        start = to_utc(start)
        remaining = timedelta(minutes=minutes)
        day = start.astimezone(AMSTERDAM).date()
        for _ in range(_MAX_SEARCH_DAYS):
            for opens, closes in self._periods_on(day):
                begin = max(opens, start)
                if begin >= closes:
                    continue
                if begin + remaining <= closes:
                    return begin + remaining
                remaining -= closes - begin
            day += timedelta(days=1)
        raise ValueError("office hours do not open within two years of the start")
