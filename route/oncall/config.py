"""The on-call file (``route/rules/oncall.yaml``): people, teams, rotations, overrides, policy.

Validated once at start-up; a bad file stops the worker with a message naming the field.
Local times without an offset mean Europe/Amsterdam, like everything else a person writes.
"""

from __future__ import annotations

import re
import string
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ingest.localtime import AMSTERDAM
from luisterpost.errors import validation_problems

__all__ = [
    "DEFAULT_ONCALL",
    "TEXT_FIELDS",
    "OncallConfig",
    "OncallConfigError",
    "Override",
    "Team",
    "load_oncall",
    "parse_duration",
]

DEFAULT_ONCALL = Path(__file__).resolve().parent.parent / "rules" / "oncall.yaml"
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,48}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
TEXT_FIELDS = (
    "severity",
    "team",
    "team_name",
    "department",
    "channel",
    "excerpt",
    "location",
    "link",
    "incident_id",
    "responder",
    "received_local",
)
"""Placeholders the alert text may use."""


class OncallConfigError(ValueError):
    """The on-call file is invalid; the message says where."""


def parse_duration(value: object) -> timedelta:
    """'90s', '10m', '2h', '1d' (or a number of seconds) -> timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration like '90s', '10m', '2h' or '1d'")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"duration {value!r} must be positive")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _instant(value: datetime | date, *, end: bool) -> datetime:
    """A config time as a UTC instant; a bare date is the whole local day (inclusive)."""
    if not isinstance(value, datetime):
        day = value + timedelta(days=1) if end else value
        value = datetime.combine(day, time(0))
    if value.tzinfo is None:
        value = value.replace(tzinfo=AMSTERDAM)
    return value.astimezone(UTC)


def _parse_moment(key: str, text: str) -> date | datetime:
    try:
        return date.fromisoformat(text) if len(text.strip()) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{key}: {text!r} is not a date or date-time") from None


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    contact: str = ""
    """How Alertmanager or chat reaches them (a handle, a phone number); shown in the alert."""


class Handover(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    weekday: int = Field(ge=1, le=7)
    """ISO weekday of the weekly handover (1 = Monday)."""
    time: time


class Team(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    departments: list[str] = Field(default_factory=list)
    office_hours: list[str] = Field(default_factory=list)
    """Weekly rotation while the municipality is open (first = week 0)."""
    out_of_hours: list[str] = Field(default_factory=list)
    """Weekly rotation for evenings, nights, weekends and holidays."""


class Override(BaseModel):
    """A swap or holiday cover: ``person`` answers for ``team`` from ``from`` until ``until``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    team: str
    person: str
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="until")
    shift: Literal["any", "office_hours", "out_of_hours"] = "any"
    reason: str = ""

    @model_validator(mode="before")
    @classmethod
    def _instants(cls, data: object) -> object:
        if isinstance(data, dict):
            data = dict(data)
            for key, end in (("from", False), ("until", True)):
                value = data.get(key)
                if isinstance(value, str):
                    value = _parse_moment(key, value)
                if isinstance(value, date):
                    data[key] = _instant(value, end=end)
        return data

    @model_validator(mode="after")
    def _ordered(self) -> Override:
        if self.end <= self.start:
            raise ValueError(f"override for {self.team}: 'until' is not after 'from'")
        return self

    def covers(self, at: datetime, shift: str) -> bool:
        return self.start <= at < self.end and self.shift in ("any", shift)


class Escalation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    critical: Duration = timedelta(minutes=10)
    warning: Duration = timedelta(minutes=30)

    def after(self, severity: str) -> timedelta:
        return self.critical if severity == "critical" else self.warning


class Policy(BaseModel):
    """What an alert says and when a conversation's incident is new."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = "[{severity}] {team_name} → {responder}: {excerpt} ({channel}, {location}) {link}"
    excerpt_chars: int = Field(default=200, ge=20, le=2000)
    conversation_url: str = "https://luisterpost.example/conversations/{conversation_id}"
    reopen_after: Duration = timedelta(hours=2)
    """A conversation quiet this long after its incident was acknowledged starts a new one."""
    max_age: Duration = timedelta(hours=24)
    """Older messages (a replay, a long outage) are indexed as stale, not paged out."""
    resolve_after: Duration = timedelta(hours=24)
    """How long an unacknowledged alert fires after its last message or notice (Alertmanager's
    ``endsAt``); then the incident expires and a later message opens a new one."""

    @field_validator("text")
    @classmethod
    def _placeholders(cls, v: str) -> str:
        try:
            names = {field for _, field, _, _ in string.Formatter().parse(v) if field is not None}
        except ValueError as exc:
            raise ValueError(f"text is not a valid template: {exc}") from None
        unknown = sorted(names - set(TEXT_FIELDS))
        if unknown:
            raise ValueError(f"unknown placeholder(s) {unknown}; use any of {list(TEXT_FIELDS)}")
        return v

    @field_validator("conversation_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("https://", "http://")) or "{conversation_id}" not in v:
            raise ValueError("must be an http(s) URL containing {conversation_id}")
        return v


class OncallConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    handover: Handover
    rotation_start: date
    """A handover day: the first person of every rotation is on call from then for a week."""
    people: dict[str, Person]
    fallback: str
    """Person called when a rotation is empty and after everyone in it was tried."""
    default_team: str
    teams: dict[str, Team]
    overrides: list[Override] = Field(default_factory=list)
    escalation: Escalation = Field(default_factory=Escalation)
    policy: Policy = Field(default_factory=Policy)

    @model_validator(mode="after")
    def _consistent(self) -> OncallConfig:
        if self.version != 1:
            raise ValueError(f"unsupported on-call file version {self.version}")
        if self.rotation_start.isoweekday() != self.handover.weekday:
            raise ValueError(
                f"rotation_start {self.rotation_start} is not a handover day "
                f"(ISO weekday {self.handover.weekday})"
            )
        for ident in [*self.people, *self.teams]:
            if not _ID.match(ident):
                raise ValueError(f"id {ident!r}: use lowercase letters, digits and '-'")
        refs = {"fallback": [self.fallback]}
        for tid, team in self.teams.items():
            refs[f"teams.{tid}.office_hours"] = team.office_hours
            refs[f"teams.{tid}.out_of_hours"] = team.out_of_hours
        for i, override in enumerate(self.overrides):
            refs[f"overrides.{i}.person"] = [override.person]
            if override.team not in self.teams:
                raise ValueError(f"overrides.{i}.team: team {override.team!r} is not declared")
        for where, people in refs.items():
            for person in people:
                if person not in self.people:
                    raise ValueError(f"{where}: person {person!r} is not declared under people")
        if self.default_team not in self.teams:
            raise ValueError(f"default_team: team {self.default_team!r} is not declared")
        owner: dict[str, str] = {}
        for tid, team in self.teams.items():
            for dept in team.departments:
                if dept in owner:
                    raise ValueError(
                        f"teams.{tid}.departments: {dept!r} is already covered by {owner[dept]!r}"
                    )
                owner[dept] = tid
        return self

    def team_for(self, department: str) -> str:
        for tid, team in self.teams.items():
            if department in team.departments:
                return tid
        return self.default_team

    def check_departments(self, departments: set[str]) -> None:
        """Every department named here must exist in the routing rules.

        :raises OncallConfigError: naming the team and the unknown department.
        """
        for tid, team in self.teams.items():
            unknown = sorted(set(team.departments) - departments)
            if unknown:
                raise OncallConfigError(
                    f"teams.{tid}.departments: {unknown} not in the routing rules' departments"
                )


def load_oncall(path: Path | None = None) -> OncallConfig:
    """Read and validate the on-call file.

    :raises OncallConfigError: unreadable YAML or an invalid entry, naming the field.
    """
    path = path or DEFAULT_ONCALL
    try:
        return OncallConfig.model_validate(yaml.safe_load(path.read_text()))
    except (OSError, yaml.YAMLError) as exc:
        raise OncallConfigError(f"{path}: cannot read the on-call file: {exc}") from None
    except ValidationError as exc:
        problems = validation_problems(exc)
        raise OncallConfigError(f"{path}: invalid on-call file: {problems}") from None
