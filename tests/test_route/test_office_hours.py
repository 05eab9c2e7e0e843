from datetime import UTC, date, datetime

import pytest

from ingest.localtime import AMSTERDAM
from route.office_hours import OfficeHours, parse_period

SPLIT = {d: ["08:30-12:30", "13:00-17:00"] for d in range(1, 6)}


def at(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=AMSTERDAM)


@pytest.fixture
def hours() -> OfficeHours:
    return OfficeHours.from_config(SPLIT, "NL", [date(2026, 12, 24)])


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (at(2026, 11, 25, 8, 29), False),
        (at(2026, 11, 25, 8, 30), True),
        (at(2026, 11, 25, 12, 29), True),
        (at(2026, 11, 25, 12, 30), False),  # lunch break of the split shift
        (at(2026, 11, 25, 13, 0), True),
        (at(2026, 11, 25, 17, 0), False),
        (at(2026, 11, 28, 10, 0), False),  # Saturday
        (at(2026, 4, 27, 10, 0), False),  # King's Day (Monday)
        (at(2026, 12, 25, 10, 0), False),  # Christmas
        (at(2026, 12, 24, 10, 0), False),  # extra closing day from config
        (at(2026, 12, 23, 10, 0), True),
    ],
)
def test_open_or_closed(hours: OfficeHours, moment: datetime, open_: bool) -> None:
    assert hours.is_open(moment) is open_


def test_utc_input_is_judged_in_amsterdam_time(hours: OfficeHours) -> None:
    # 07:45 UTC in summer is 09:45 in Amsterdam: open. In winter 07:45 UTC is 08:45: open too,
    # but 07:15 UTC in winter is 08:15 local: closed.
    assert hours.is_open(datetime(2026, 6, 3, 7, 45, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 12, 2, 7, 15, tzinfo=UTC))


def test_dst_change_day_uses_local_clock(hours: OfficeHours) -> None:
    # Monday 2026-10-26, day after the change: 07:45 UTC = 08:45 CET (open);
    # the Friday before, 06:45 UTC = 08:45 CEST (open) and 06:15 UTC = 08:15 (closed).
    assert hours.is_open(datetime(2026, 10, 26, 7, 45, tzinfo=UTC))
    assert hours.is_open(datetime(2026, 10, 23, 6, 45, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 10, 23, 6, 15, tzinfo=UTC))


@pytest.mark.parametrize("bad", ["8-12", "12:00-08:00", "08:00"])
def test_bad_periods_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_period(bad)
