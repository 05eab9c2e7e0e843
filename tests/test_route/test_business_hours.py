"""Business-hours arithmetic: minutes inside opening periods, and due times."""

from datetime import UTC, date, datetime, timedelta

import pytest

from ingest.localtime import AMSTERDAM
from route.office_hours import OfficeHours

SPLIT = {d: ["08:30-12:30", "13:00-17:00"] for d in range(1, 6)}
ROUND_THE_CLOCK = {d: ["00:00-24:00"] for d in range(1, 8)}


def at(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=AMSTERDAM)


@pytest.fixture
def webcare() -> OfficeHours:
    return OfficeHours.from_config(SPLIT, "NL", [date(2026, 12, 24)])


@pytest.fixture
def always_open() -> OfficeHours:
    return OfficeHours.from_config(ROUND_THE_CLOCK, None, [])


@pytest.mark.parametrize(
    ("start", "end", "minutes"),
    [
        # Split shift: 08:30-12:30 (240) + 13:00-14:00 (60); the lunch break does not count.
        (at(2026, 11, 23, 8, 0), at(2026, 11, 23, 14, 0), 300),
        (at(2026, 11, 23, 12, 40), at(2026, 11, 23, 12, 55), 0),
        # Friday evening to Monday morning: 16:00-17:00 + 08:30-09:00.
        (at(2026, 11, 20, 16, 0), at(2026, 11, 23, 9, 0), 90),
        # Posted on Saturday, answered on Sunday: the weekend is closed.
        (at(2026, 11, 21, 23, 0), at(2026, 11, 22, 15, 0), 0),
        # King's Day (Mon 27 April 2026) is closed: Sat -> Tue counts only Tuesday 08:30-09:00.
        (at(2026, 4, 25, 10, 0), at(2026, 4, 28, 9, 0), 30),
        # Lustrum Liberation Day (Mon 5 May 2025) is closed; in 2026 (not a lustrum) it is open.
        (at(2025, 5, 5, 9, 0), at(2025, 5, 5, 11, 0), 0),
        (at(2026, 5, 5, 9, 0), at(2026, 5, 5, 11, 0), 120),
        # Several closed periods: 24 Dec (extra closing day), Christmas, the weekend.
        (at(2026, 12, 23, 16, 30), at(2026, 12, 28, 10, 0), 30 + 90),
        # A reply before the message (clock skew) counts nothing.
        (at(2026, 11, 23, 10, 0), at(2026, 11, 23, 9, 0), 0),
    ],
)
def test_business_minutes(
    webcare: OfficeHours, start: datetime, end: datetime, minutes: float
) -> None:
    assert webcare.business_minutes(start, end) == pytest.approx(minutes)


def test_business_minutes_over_a_month(webcare: OfficeHours) -> None:
    # November 2026: 21 working days of 8 hours, no public holidays.
    assert webcare.business_minutes(at(2026, 11, 1, 0), at(2026, 12, 1, 0)) == 21 * 8 * 60


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        (at(2026, 3, 28, 12), at(2026, 3, 30, 12), 47),  # clocks go forward on 29 March
        (at(2026, 10, 24, 12), at(2026, 10, 26, 12), 49),  # clocks go back on 25 October
    ],
)
def test_round_the_clock_hours_follow_dst(
    always_open: OfficeHours, start: datetime, end: datetime, hours: int
) -> None:
    assert always_open.business_minutes(start, end) == hours * 60
    # (Subtracting two datetimes of one zone gives wall-clock time in Python; compare in UTC.)
    elapsed = end.astimezone(UTC) - start.astimezone(UTC)
    assert always_open.business_minutes(start, end) == elapsed.total_seconds() / 60


def test_office_periods_keep_their_wall_clock_times_across_dst(webcare: OfficeHours) -> None:
    # The Monday after each change still opens 08:30-17:00 local time.
    for monday in (at(2026, 3, 30, 0), at(2026, 10, 26, 0)):
        assert webcare.business_minutes(monday, monday + timedelta(days=1)) == 8 * 60


@pytest.mark.parametrize(
    ("start", "minutes", "due"),
    [
        (at(2026, 11, 23, 12, 0), 60, at(2026, 11, 23, 13, 30)),  # over the lunch break
        (at(2026, 11, 20, 16, 30), 120, at(2026, 11, 23, 10, 0)),  # over the weekend
        (at(2026, 11, 21, 23, 0), 30, at(2026, 11, 23, 9, 0)),  # posted when closed
        (at(2026, 4, 24, 16, 0), 120, at(2026, 4, 28, 9, 30)),  # weekend then King's Day
        (at(2026, 11, 23, 8, 30), 480, at(2026, 11, 23, 17, 0)),  # exactly one working day
    ],
)
def test_due_time(webcare: OfficeHours, start: datetime, minutes: int, due: datetime) -> None:
    assert webcare.add_business_minutes(start, minutes) == due


@pytest.mark.parametrize("minutes", [1, 29, 30, 240, 481, 2000, 10000])
@pytest.mark.parametrize(
    "start", [at(2026, 12, 23, 16, 45), at(2026, 3, 27, 16, 59), at(2026, 10, 24, 3, 0)]
)
def test_due_time_and_minutes_agree(webcare: OfficeHours, start: datetime, minutes: int) -> None:
    due = webcare.add_business_minutes(start, minutes)
    assert webcare.business_minutes(start, due) == pytest.approx(minutes)
    assert webcare.is_open(due - timedelta(seconds=1))


@pytest.mark.parametrize(
    ("weekly", "reason"),
    [
        ({1: ["09:00-13:00", "12:00-17:00"]}, "overlap"),
        ({1: []}, "no opening period"),
        ({1: ["24:00-10:00"]}, "cannot start at 24:00"),
        ({1: ["9-17"]}, "HH:MM-HH:MM"),
    ],
)
def test_bad_calendars_are_refused(weekly: dict[int, list[str]], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        OfficeHours.from_config(weekly, "NL", [])
