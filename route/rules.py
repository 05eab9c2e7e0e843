"""Routing configuration: departments, topic map, ordered overrides, alert policy, office hours.

Loaded from YAML and validated once at start-up; a bad file stops the worker with a clear message.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from ingest.events import CHANNELS, INTENTS, TOPICS, URGENCIES
from luisterpost.errors import validation_problems
from route.office_hours import OfficeHours

__all__ = [
    "DEFAULT_RULES",
    "Condition",
    "Override",
    "RoutingConfig",
    "RulesError",
    "ServiceLevel",
    "load_rules",
]

DEFAULT_RULES = Path(__file__).parent / "rules" / "departments.yaml"
_DEPARTMENT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,48}$")


class RulesError(ValueError):
    """The routing file is invalid; the message says where."""


def _check_members(values: list[str], allowed: tuple[str, ...], what: str) -> list[str]:
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValueError(f"unknown {what} {unknown}; expected any of {list(allowed)}")
    return values


class Condition(BaseModel):
    """All given fields must hold; each list means 'any of'."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: list[str] = Field(default_factory=list)
    urgency: list[str] = Field(default_factory=list)
    channel: list[str] = Field(default_factory=list)
    intent: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)

    @field_validator("topic")
    @classmethod
    def _topics(cls, v: list[str]) -> list[str]:
        return _check_members(v, TOPICS, "topic")

    @field_validator("urgency")
    @classmethod
    def _urgencies(cls, v: list[str]) -> list[str]:
        return _check_members(v, URGENCIES, "urgency")

    @field_validator("channel")
    @classmethod
    def _channels(cls, v: list[str]) -> list[str]:
        return _check_members(v, CHANNELS, "channel")

    @field_validator("intent")
    @classmethod
    def _intents(cls, v: list[str]) -> list[str]:
        return _check_members(v, INTENTS, "intent")

    @model_validator(mode="after")
    def _not_empty(self) -> Condition:
        if not (self.topic or self.urgency or self.channel or self.intent or self.keywords):
            raise ValueError("a rule needs at least one condition")
        return self

    @cached_property
    def keyword_pattern(self) -> re.Pattern[str] | None:
        if not self.keywords:
            return None
        words = "|".join(re.escape(k) for k in self.keywords)
        return re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.IGNORECASE)


class Override(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    when: Condition
    department: str
    active: bool = True


class Department(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str


class AlertPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    always: list[str] = Field(default_factory=lambda: ["spoed"])
    outside_office_hours: list[str] = Field(default_factory=lambda: ["hoog"])
    min_score: dict[str, float] = Field(default_factory=dict)
    """Per urgency, the classifier score below which it is not paged out of hours: the
    classifier flags hoog generously so the queue sorts it first, but a night page needs more."""

    @field_validator("always", "outside_office_hours")
    @classmethod
    def _urgencies(cls, v: list[str]) -> list[str]:
        return _check_members(v, URGENCIES, "urgency")

    def severity(
        self, urgency: str, score: float, office_hours: bool
    ) -> Literal["critical", "warning"] | None:
        """How urgently a message with this urgency and classifier score pages someone:
        ``critical`` always for ``always``, ``warning`` out of office hours for
        ``outside_office_hours`` at ``min_score`` or above, else None (the queue only)."""
        if urgency in self.always:
            return "critical"
        if (
            urgency in self.outside_office_hours
            and not office_hours
            and score >= self.min_score.get(urgency, 0.0)
        ):
            return "warning"
        return None

    @field_validator("min_score")
    @classmethod
    def _scores(cls, v: dict[str, float]) -> dict[str, float]:
        _check_members(list(v), URGENCIES, "urgency")
        for urgency, score in v.items():
            if not 0.0 <= score <= 1.0:
                raise ValueError(f"min_score for {urgency} must be between 0 and 1, not {score}")
        return v


class DepartmentHours(BaseModel):
    """A department's own opening hours; what it leaves out comes from the general calendar."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weekly: dict[int, list[str]] | None = None
    closed_days: list[date] = Field(default_factory=list)
    """Closing days on top of the general ones."""
    open_on_holidays: StrictBool = False
    """True for a department staffed around the clock: public holidays and the general
    closing days do not close it (its own ``closed_days`` still do). Needs its own ``weekly``,
    since the general hours are those of an office that does close."""

    @model_validator(mode="after")
    def _own_hours(self) -> DepartmentHours:
        if self.open_on_holidays and self.weekly is None:
            raise ValueError("open_on_holidays needs the department's own weekly hours")
        return self


class OfficeHoursConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "Europe/Amsterdam"
    weekly: dict[int, list[str]]
    public_holidays: str | None = "NL"
    closed_days: list[date] = Field(default_factory=list)
    departments: dict[str, DepartmentHours] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _amsterdam(cls, v: str) -> str:
        if v != "Europe/Amsterdam":
            raise ValueError("only Europe/Amsterdam is supported: local fields are computed in it")
        return v


class ServiceLevel(BaseModel):
    """How soon an inbound message must be answered, for the messages its condition picks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    when: Condition | None = None
    """None: the catch-all, which must come last."""
    minutes: int | None = Field(gt=0)
    """None: no reply is expected (thanks, chit-chat); such messages are never overdue."""
    clock: Literal["wall", "business"] = "business"
    """'business' counts only the department's office hours; 'wall' counts every minute."""


def _default_service_levels() -> list[ServiceLevel]:
    return [ServiceLevel(name="default", minutes=8 * 60, clock="business")]


class RoutingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    default_department: str
    departments: dict[str, Department]
    topics: dict[str, str]
    overrides: list[Override] = Field(default_factory=list)
    alerts: AlertPolicy = Field(default_factory=AlertPolicy)
    office_hours: OfficeHoursConfig
    service_levels: list[ServiceLevel] = Field(default_factory=_default_service_levels)

    @model_validator(mode="after")
    def _consistent(self) -> RoutingConfig:
        if self.version != 1:
            raise ValueError(f"unsupported routing file version {self.version}")
        for dept in self.departments:
            if not _DEPARTMENT_ID.match(dept):
                raise ValueError(f"department id {dept!r}: use lowercase letters, digits and '-'")
        named = {"default_department": [self.default_department]}
        named |= {f"topics.{t}": [d] for t, d in self.topics.items()}
        named |= {f"overrides.{o.name}": [o.department] for o in self.overrides}
        named |= {f"office_hours.departments.{d}": [d] for d in self.office_hours.departments}
        for where, depts in named.items():
            for dept in depts:
                if dept not in self.departments:
                    raise ValueError(
                        f"{where}: department {dept!r} is not declared under departments"
                    )
        _check_members(list(self.topics), TOPICS, "topic")
        names = [o.name for o in self.overrides]
        if len(names) != len(set(names)):
            raise ValueError("override names must be unique")
        levels = self.service_levels
        if not levels or levels[-1].when is not None:
            raise ValueError("service_levels: the last rule must have no 'when' (the catch-all)")
        if any(level.when is None for level in levels[:-1]):
            raise ValueError("service_levels: only the last rule may leave out 'when'")
        level_names = [level.name for level in levels]
        if len(level_names) != len(set(level_names)):
            raise ValueError("service level names must be unique")
        return self

    @cached_property
    def calendar(self) -> OfficeHours:
        """The general (webcare) office hours."""
        oh = self.office_hours
        return OfficeHours.from_config(oh.weekly, oh.public_holidays, oh.closed_days)

    @cached_property
    def _department_calendars(self) -> dict[str, OfficeHours]:
        oh = self.office_hours
        return {
            dept: OfficeHours.from_config(
                own.weekly if own.weekly is not None else oh.weekly,
                None if own.open_on_holidays else oh.public_holidays,
                own.closed_days if own.open_on_holidays else [*oh.closed_days, *own.closed_days],
            )
            for dept, own in oh.departments.items()
        }

    def calendar_for(self, department: str) -> OfficeHours:
        """A department's office hours: its own where configured, else the general ones."""
        return self._department_calendars.get(department, self.calendar)


def load_rules(path: Path | None = None) -> RoutingConfig:
    """Read and validate the routing file.

    :raises RulesError: unreadable YAML or an invalid rule, naming the field.
    """
    path = path or DEFAULT_RULES
    try:
        data = yaml.safe_load(path.read_text())
        config = RoutingConfig.model_validate(data)
        # Parse the office hours now, not on the first message.
        _ = config.calendar, config._department_calendars
        return config
    except (OSError, yaml.YAMLError) as exc:
        raise RulesError(f"{path}: cannot read routing rules: {exc}") from None
    except ValidationError as exc:
        problems = validation_problems(exc)
        raise RulesError(f"{path}: invalid routing rules: {problems}") from None
    except ValueError as exc:
        raise RulesError(f"{path}: invalid routing rules: {exc}") from None
