"""Who is on call at an instant: pure arithmetic over the on-call file and office hours.

A rotation week runs from one handover (ISO weekday + local time, Europe/Amsterdam) to the
next, so daylight-saving changes never shift it: weeks are counted on local calendar dates.
During office hours the office rotation answers, otherwise (evenings, weekends, holidays and
closing days from the routing rules' calendar) the out-of-hours rotation. Overrides (swaps,
holiday cover) win over the rotation, top to bottom. The escalation chain is the responder,
then the rest of that rotation in order, then the fallback contact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from ingest.localtime import AMSTERDAM, to_utc
from route.office_hours import OfficeHours
from route.oncall.config import Handover, OncallConfig

__all__ = ["OnCall", "Shift", "handover_date", "on_call", "rotation_week", "shift_at"]

Shift = Literal["office_hours", "out_of_hours"]


@dataclass(frozen=True)
class OnCall:
    team: str
    shift: Shift
    week: int
    """Rotation weeks since ``rotation_start`` (negative before it)."""
    chain: tuple[str, ...]
    """Responder first, then who an unacknowledged alert escalates to, ending with the fallback."""
    reason: str

    @property
    def person(self) -> str:
        return self.chain[0]


def shift_at(calendar: OfficeHours, at: datetime) -> Shift:
    return "office_hours" if calendar.is_open(at) else "out_of_hours"


def handover_date(at: datetime, handover: Handover) -> date:
    """Local date of the last handover at or before ``at`` (naive means UTC)."""
    local = to_utc(at).astimezone(AMSTERDAM)
    day = local.date() - timedelta(days=(local.isoweekday() - handover.weekday) % 7)
    if day == local.date() and local.time().replace(tzinfo=None) < handover.time:
        day -= timedelta(days=7)
    return day


def rotation_week(at: datetime, handover: Handover, rotation_start: date) -> int:
    return (handover_date(at, handover) - rotation_start).days // 7


def _unique(people: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(people))


def on_call(config: OncallConfig, calendar: OfficeHours, team: str, at: datetime) -> OnCall:
    """The responder of ``team`` at ``at`` and the escalation chain behind them.

    :raises KeyError: if the team is not declared.
    """
    rotations = config.teams[team]
    shift = shift_at(calendar, at)
    week = rotation_week(at, config.handover, config.rotation_start)
    rotation = rotations.office_hours if shift == "office_hours" else rotations.out_of_hours
    if rotation:
        first = week % len(rotation)
        ordered = rotation[first:] + rotation[:first]
        reason = f"{shift.replace('_', ' ')} rotation, week {week % len(rotation) + 1} of {len(rotation)}"
    else:
        ordered = []
        reason = f"no {shift.replace('_', ' ')} rotation: fallback"
    instant = to_utc(at)
    for override in config.overrides:
        if override.team == team and override.covers(instant, shift):
            ordered = [override.person, *ordered]
            reason = f"override until {override.end.astimezone(AMSTERDAM):%Y-%m-%d %H:%M}" + (
                f": {override.reason}" if override.reason else ""
            )
            break
    return OnCall(team, shift, week, _unique([*ordered, config.fallback]), reason)
