from datetime import UTC, datetime, timedelta, timezone

from ingest.localtime import local_time


def test_winter_time_is_utc_plus_one() -> None:
    lt = local_time(datetime(2026, 1, 5, 7, 45, tzinfo=UTC))  # a Monday
    assert (lt.date, lt.hour, lt.minute, lt.weekday, lt.weekday_name) == (
        "2026-01-05",
        8,
        45,
        1,
        "maandag",
    )
    assert lt.utc_offset_minutes == 60
    assert lt.hour_of_week == 8
    assert not lt.is_weekend


def test_summer_time_is_utc_plus_two() -> None:
    lt = local_time(datetime(2026, 7, 4, 22, 30, tzinfo=UTC))  # Saturday night in Amsterdam
    assert (lt.date, lt.hour, lt.weekday, lt.utc_offset_minutes) == ("2026-07-05", 0, 7, 120)
    assert lt.is_weekend
    assert lt.hour_of_week == 6 * 24


def test_spring_forward_skips_two_oclock() -> None:
    # 2026-03-29: clocks jump from 02:00 to 03:00 local.
    before = local_time(datetime(2026, 3, 29, 0, 59, tzinfo=UTC))
    after = local_time(datetime(2026, 3, 29, 1, 0, tzinfo=UTC))
    assert (before.hour, before.minute, before.utc_offset_minutes) == (1, 59, 60)
    assert (after.hour, after.minute, after.utc_offset_minutes) == (3, 0, 120)


def test_fall_back_repeats_two_oclock_with_different_offsets() -> None:
    # 2026-10-25: 02:00-03:00 local happens twice.
    first = local_time(datetime(2026, 10, 25, 0, 30, tzinfo=UTC))
    second = local_time(datetime(2026, 10, 25, 1, 30, tzinfo=UTC))
    assert (first.hour, second.hour) == (2, 2)
    assert (first.utc_offset_minutes, second.utc_offset_minutes) == (120, 60)
    assert first.timestamp != second.timestamp


def test_offsets_other_than_utc_are_converted() -> None:
    moment = datetime(2026, 5, 1, 9, 0, tzinfo=timezone(timedelta(hours=-4)))
    assert local_time(moment).hour == 15


def test_naive_datetimes_are_taken_as_utc() -> None:
    assert local_time(datetime(2026, 1, 1, 12, 0)).hour == 13


def test_iso_week_at_year_boundary() -> None:
    assert local_time(datetime(2027, 1, 1, 12, 0, tzinfo=UTC)).iso_week == "2026-W53"
