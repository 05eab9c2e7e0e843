"""Department calendars from the routing file: a 24/7 department ignores holidays and closing days."""

from datetime import date, datetime
from pathlib import Path

import yaml

from ingest.localtime import AMSTERDAM
from route.rules import DEFAULT_RULES, load_rules

RULES = load_rules()
ORDE = RULES.calendar_for("openbare-orde")


def at(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=AMSTERDAM)


def test_round_the_clock_department_is_open_on_kings_day_and_christmas() -> None:
    assert ORDE.is_open(at(2026, 4, 27, 3))  # King's Day, 03:00
    assert ORDE.is_open(at(2026, 12, 25, 10))  # Christmas Day, 10:00
    # ... while webcare is closed then.
    assert not RULES.calendar.is_open(at(2026, 4, 27, 10))
    assert not RULES.calendar.is_open(at(2026, 12, 25, 10))


def test_minutes_across_christmas_count_fully_for_a_round_the_clock_department() -> None:
    start, end = at(2026, 12, 24, 12), at(2026, 12, 27, 12)  # Christmas Eve to Sunday
    assert ORDE.business_minutes(start, end) == 3 * 24 * 60
    assert RULES.calendar.business_minutes(start, end) == 270  # Thu 12:00-12:30, 13:00-17:00
    assert ORDE.add_business_minutes(start, 24 * 60) == at(2026, 12, 25, 12)


def test_general_closing_days_close_departments_unless_open_on_holidays(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT_RULES.read_text())
    data["office_hours"]["closed_days"] = [date(2026, 12, 28)]
    data["office_hours"]["departments"]["stadswerken"] = {
        "weekly": {d: ["07:00-16:00"] for d in range(1, 6)}
    }
    data["office_hours"]["departments"]["openbare-orde"]["closed_days"] = [date(2026, 12, 29)]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data))
    rules = load_rules(path)
    assert not rules.calendar_for("stadswerken").is_open(at(2026, 12, 28, 10))
    assert not rules.calendar_for("stadswerken").is_open(at(2026, 12, 25, 10))  # inherits holidays
    assert rules.calendar_for("openbare-orde").is_open(at(2026, 12, 28, 10))
    # Its own closing days still close it.
    assert not rules.calendar_for("openbare-orde").is_open(at(2026, 12, 29, 10))
