"""Office hours: weekly periods (split shifts), Dutch public holidays, extra closing days."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache

import holidays

from ingest.localtime import AMSTERDAM, to_utc

__all__ = ["OfficeHours", "parse_period"]


@lru_cache(maxsize=64)
def _holidays(country: str, year: int) -> holidays.HolidayBase:
    # Building a year's calendar is costly; the router asks for every message.
    return holidays.country_holidays(country, years=year)


def parse_period(text: str) -> tuple[time, time]:
    """'08:30-12:30' -> (08:30, 12:30); the end is exclusive."""
    try:
        start_text, end_text = text.split("-")
        start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
    except ValueError:
        raise ValueError(f"office-hours period {text!r} is not 'HH:MM-HH:MM'") from None
    if end <= start:
        raise ValueError(f"office-hours period {text!r} ends before it starts")
    return start, end


@dataclass(frozen=True)
class OfficeHours:
    """When the municipality is at work, in Europe/Amsterdam time."""

    weekly: Mapping[int, tuple[tuple[time, time], ...]]
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
        return cls(parsed, public_holidays, frozenset(closed_days))

    def is_closed_day(self, day: date) -> bool:
        if day in self.closed_days:
            return True
        if not self.public_holidays:
            return False
        return day in _holidays(self.public_holidays, day.year)

    def is_open(self, moment: datetime) -> bool:
        """Whether the instant falls inside an opening period (naive means UTC)."""
        local = to_utc(moment).astimezone(AMSTERDAM)
        if self.is_closed_day(local.date()):
            return False
        now = local.time().replace(tzinfo=None)
        return any(start <= now < end for start, end in self.weekly.get(local.isoweekday(), ()))
