"""Retention: monthly message indices older than the configured number of months are dropped.

Indices are named by the month of their messages (``<prefix>-messages-YYYY.MM``), so retention
is a decision on names alone (pure, below) plus deletes. noida-db has no ILM, so
``luisterpost retention`` deletes directly; on a real cluster ``--ilm`` installs the policy in
deploy/elasticsearch/ilm-policy.json and attaches it to every monthly index instead.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from luisterpost.deploy_files import deploy_file
from luisterpost.errors import ConfigError, ServiceError
from route.index.names import IndexNames

__all__ = [
    "ILM_POLICY_FILE",
    "RetentionPlan",
    "apply_retention",
    "attach_ilm",
    "ilm_policy",
    "index_month",
    "plan_retention",
]

ILM_POLICY_FILE = deploy_file("elasticsearch", "ilm-policy.json")
DAYS_PER_MONTH = 31
"""ILM counts days, not months: 31 per month deletes at most a week after the monthly cut."""


@dataclass(frozen=True)
class RetentionPlan:
    keep: list[str]
    delete: list[str]
    oldest_kept_month: date


def index_month(name: str, names: IndexNames) -> date | None:
    """The first day of the month a messages index holds, or None for any other index."""
    match = re.fullmatch(re.escape(names.prefix) + r"-messages-(\d{4})\.(\d{2})", name)
    if match is None or not 1 <= int(match.group(2)) <= 12:
        return None
    return date(int(match.group(1)), int(match.group(2)), 1)


def _months_back(today: date, months: int) -> date:
    """First day of the month ``months`` before today's month (0 = this month)."""
    index = today.year * 12 + today.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def plan_retention(
    indices: Iterable[str], names: IndexNames, today: date, months: int
) -> RetentionPlan:
    """Keep the current month and the ``months - 1`` before it; delete older monthly indices.

    Indices that are not this prefix's monthly indices are never touched.
    """
    if months < 1:
        raise ValueError(f"retention must be at least 1 month, not {months}")
    oldest = _months_back(today, months - 1)
    keep: list[str] = []
    delete: list[str] = []
    for name in sorted(indices):
        month = index_month(name, names)
        if month is None:
            continue
        (keep if month >= oldest else delete).append(name)
    return RetentionPlan(keep, delete, oldest)


def ilm_policy(months: int, template: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ILM policy body (``PUT _ilm/policy/<name>``) with the delete phase after ``months``."""
    if months < 1:
        raise ValueError(f"retention must be at least 1 month, not {months}")
    if template is None:
        try:
            template = json.loads(ILM_POLICY_FILE.read_text())
        except OSError as exc:
            raise ConfigError(
                f"cannot read the ILM policy {ILM_POLICY_FILE}: {exc.strerror}"
            ) from None
    body = copy.deepcopy(template)
    body.pop("_comment", None)
    body["policy"]["phases"]["delete"]["min_age"] = f"{months * DAYS_PER_MONTH}d"
    return body


def _error(action: str, exc: Exception) -> ServiceError:
    return ServiceError(f"cannot {action}: {exc}")


def _monthly_indices(es: Elasticsearch, names: IndexNames) -> list[str]:
    try:
        return list(es.indices.get(index=names.messages_pattern, allow_no_indices=True))
    except (ApiError, TransportError) as exc:
        raise _error("list the message indices", exc) from None


def apply_retention(
    es: Elasticsearch, names: IndexNames, months: int, today: date, dry_run: bool = False
) -> RetentionPlan:
    """Delete the monthly indices older than the retention (nothing when ``dry_run``)."""
    plan = plan_retention(_monthly_indices(es, names), names, today, months)
    if not dry_run:
        for name in plan.delete:
            try:
                es.indices.delete(index=name)
            except (ApiError, TransportError) as exc:
                raise _error(f"delete {name}", exc) from None
    return plan


def attach_ilm(es: Elasticsearch, names: IndexNames, months: int) -> list[str]:
    """Install the ILM policy and attach it to every monthly index; returns those indices.

    ``index.lifecycle.origination_date`` is set to the first day of the index's month, so the
    delete phase counts from the messages' month, not from when the index was created (a
    backfill of an old month is then dropped on time). Indices created later get the policy at
    the next run: run it daily.
    """
    policy = f"{names.prefix}-messages-retention"
    try:
        es.ilm.put_lifecycle(name=policy, **ilm_policy(months))
    except (ApiError, TransportError) as exc:
        raise _error(
            f"install the ILM policy {policy} (does this cluster have ILM?)", exc
        ) from None
    attached = []
    for name in sorted(_monthly_indices(es, names)):
        month = index_month(name, names)
        if month is None:
            continue
        origin = int(datetime(month.year, month.month, 1, tzinfo=UTC).timestamp() * 1000)
        settings = {"index.lifecycle.name": policy, "index.lifecycle.origination_date": origin}
        try:
            es.indices.put_settings(index=name, settings=settings)
        except (ApiError, TransportError) as exc:
            raise _error(f"attach {policy} to {name}", exc) from None
        attached.append(name)
    return attached
