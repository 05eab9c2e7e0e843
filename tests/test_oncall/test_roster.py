"""Roster arithmetic: weekly rotation, handover, DST, holidays, overrides, fallback."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from ingest.localtime import AMSTERDAM
from route.oncall.roster import on_call, rotation_week
from route.rules import load_rules
from tests.test_oncall.support import config

CALENDAR = load_rules().calendar  # weekdays 08:30-12:30, 13:00-17:00, NL holidays


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=AMSTERDAM)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "person"),
    [
        ("2026-01-05T08:20", "cas"),  # before the first handover: week -1 wraps to the last
        ("2026-01-05T20:00", "ann"),  # week 0
        ("2026-01-11T23:59", "ann"),  # Sunday night still week 0
        ("2026-01-12T08:20", "ann"),  # Monday morning before handover (and opening)
        ("2026-01-12T18:00", "bob"),  # week 1
        ("2026-01-19T18:00", "cas"),  # week 2
        ("2026-01-26T18:00", "ann"),  # week 3 wraps
        ("2026-12-26T23:00", "cas"),  # a Saturday night a year on (week 50)
    ],
)
def test_out_of_hours_rotation_by_week(at: str, person: str) -> None:
    roster = on_call(config(), CALENDAR, "web", local(at))
    assert roster.shift == "out_of_hours"
    assert roster.person == person


def test_every_week_of_two_years_hands_over_once_in_order() -> None:
    people = []
    moment = local("2026-01-10T12:00")  # Saturdays: always out of hours
    while moment.year < 2028:
        people.append(on_call(config(), CALENDAR, "web", moment).person)
        moment = (moment + timedelta(days=7)).astimezone(AMSTERDAM)
    assert all(
        people[i + 1] == {"ann": "bob", "bob": "cas", "cas": "ann"}[people[i]]
        for i in range(len(people) - 1)
    )
    counts = Counter(people)
    assert max(counts.values()) - min(counts.values()) <= 1


def test_handover_follows_local_time_across_the_autumn_dst_change() -> None:
    cfg = config()
    # 07:30 UTC is 09:30 CEST on 19 Oct (handed over) but 08:30 CET on 26 Oct (not yet).
    assert rotation_week(utc("2026-10-19T07:30"), cfg.handover, cfg.rotation_start) == 41
    assert rotation_week(utc("2026-10-26T07:30"), cfg.handover, cfg.rotation_start) == 41
    assert rotation_week(utc("2026-10-26T08:00"), cfg.handover, cfg.rotation_start) == 42


def test_sunday_night_handover_in_dst_gaps_and_repeats() -> None:
    cfg = config(handover={"weekday": 7, "time": "02:30"}, rotation_start="2026-01-04")

    def week(at: str) -> int:
        return rotation_week(utc(at), cfg.handover, cfg.rotation_start)

    # Spring: 02:30 does not exist on 29 March; the first instant after it hands over.
    assert week("2026-03-29T00:59") == week("2026-03-22T12:00")  # 01:59 CET
    assert week("2026-03-29T01:00") == week("2026-03-22T12:00") + 1  # 03:00 CEST
    # Autumn: 02:30 happens twice on 25 October; the week changes once, at the first.
    before = week("2026-10-25T00:29")  # 02:29 CEST
    assert week("2026-10-25T00:30") == before + 1  # 02:30 CEST
    assert week("2026-10-25T01:30") == before + 1  # 02:30 CET, the repeat
    assert week("2026-11-01T01:29") == before + 1  # a week of 7 days and one hour


@pytest.mark.parametrize(
    ("at", "shift"),
    [
        ("2026-12-22T10:00", "office_hours"),  # an ordinary Tuesday
        ("2026-12-25T10:00", "out_of_hours"),  # Kerstmis, a Friday
        ("2026-04-27T10:00", "out_of_hours"),  # Koningsdag, a Monday
        ("2026-12-22T12:45", "out_of_hours"),  # lunch break
        ("2026-12-22T17:00", "out_of_hours"),  # closing time is exclusive
    ],
)
def test_holidays_and_closed_hours_go_to_the_out_of_hours_rotation(at: str, shift: str) -> None:
    cfg = config()
    roster = on_call(cfg, CALENDAR, "web", local(at))
    assert roster.shift == shift
    week = rotation_week(local(at), cfg.handover, cfg.rotation_start)
    assert roster.person == ("dirk" if shift == "office_hours" else ["ann", "bob", "cas"][week % 3])


def test_escalation_chain_is_the_rest_of_the_rotation_then_the_fallback() -> None:
    roster = on_call(config(), CALENDAR, "web", local("2026-01-17T03:00"))  # week 1
    assert roster.chain == ("bob", "cas", "ann", "fb")
    assert on_call(config(), CALENDAR, "web", local("2026-01-13T10:00")).chain == ("dirk", "fb")


def test_an_empty_rotation_falls_back() -> None:
    roster = on_call(config(), CALENDAR, "empty", local("2026-01-17T03:00"))
    assert roster.chain == ("fb",)
    assert "fallback" in roster.reason


def test_overrides_swap_holidays_first_match_and_inclusive_end_date() -> None:
    cfg = config(
        overrides=[
            {
                "team": "web",
                "person": "dirk",
                "from": "2026-12-24T17:00",
                "until": "2026-12-26",
                "shift": "out_of_hours",
                "reason": "Kerst",
            },
            {"team": "web", "person": "cas", "from": "2026-12-24", "until": "2026-12-31"},
        ]
    )
    assert on_call(cfg, CALENDAR, "web", local("2026-12-24T16:00")).person == "cas"  # 2nd only
    christmas = on_call(cfg, CALENDAR, "web", local("2026-12-26T23:59"))
    assert christmas.person == "dirk" and "Kerst" in christmas.reason
    assert christmas.chain[-1] == "fb" and len(set(christmas.chain)) == len(christmas.chain)
    assert on_call(cfg, CALENDAR, "web", local("2026-12-27T00:00")).person == "cas"
    assert on_call(cfg, CALENDAR, "web", local("2027-01-01T00:00")).person != "cas"
