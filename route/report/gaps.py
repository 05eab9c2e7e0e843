"""The out-of-hours gap report: numbers from Elasticsearch aggregations on precomputed fields.

Everything is aggregated on keyword and number fields computed at ingest or by conversation
tracking (``local.hour_of_week``, ``routing.office_hours``, ``response.*``), so the numbers
match what Kibana shows on the same fields. Medians are exact: they come from the counts of
each distinct response time (a ``terms`` aggregation), which works on every backend we run;
if a bucket ever holds more distinct values than asked for, the report says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch

__all__ = [
    "Filters",
    "GapReport",
    "GroupStats",
    "build_query",
    "collect",
    "median_of_counts",
    "report_from_aggregations",
]

DISTINCT_VALUES = 10_000
"""Distinct response times fetched per bucket for an exact median."""


@dataclass(frozen=True)
class Filters:
    start: datetime | None = None
    end: datetime | None = None
    department: str | None = None
    channel: str | None = None

    def describe(self) -> str:
        parts = [
            f"from {self.start:%Y-%m-%d %H:%M}" if self.start else "",
            f"to {self.end:%Y-%m-%d %H:%M}" if self.end else "",
            f"department {self.department}" if self.department else "",
            f"channel {self.channel}" if self.channel else "",
        ]
        return ", ".join(p for p in parts if p) or "all messages"


@dataclass
class GroupStats:
    """Response figures of one group of inbound messages (a department, a channel, ...)."""

    name: str
    messages: int
    answered: int
    expected: int
    """Messages that expect a reply (a service level applies, not deleted unanswered)."""
    expected_answered: int
    within: int
    overdue: int
    median_wall: float | None
    median_business: float | None
    exact: bool = True

    @property
    def unanswered(self) -> int:
        """Still waiting for a reply they expect."""
        return self.expected - self.expected_answered

    @property
    def within_share(self) -> float | None:
        """Answered within the service level, of the messages whose outcome is known.

        Known means answered, or unanswered past the due time (a miss); messages still inside
        their service level are left out (they can still make it), and so are messages that
        expect no reply or were deleted unanswered. Kibana's service-level view uses the same
        definition.
        """
        decided = self.expected_answered + self.overdue
        return self.within / decided if decided else None


@dataclass
class GapReport:
    filters: Filters
    generated_at: datetime
    total: GroupStats
    out_of_hours: GroupStats
    in_hours: GroupStats
    received: list[list[int]]
    """[weekday 0=Monday][hour] messages received, in Amsterdam time."""
    median_wait: list[list[float | None]]
    """[weekday][hour] median wall-clock minutes to the first reply."""
    departments: list[GroupStats]
    channels: list[GroupStats]
    backlog: list[tuple[str, str, int, int]]
    """(department, urgency, unanswered, of which overdue), largest first."""
    oldest_unanswered: list[dict[str, Any]] = field(default_factory=list)


def build_query(filters: Filters) -> dict[str, Any]:
    """Inbound messages within the filters."""
    clauses: list[dict[str, Any]] = [{"term": {"direction": "inbound"}}]
    period = {}
    if filters.start:
        period["gte"] = filters.start.isoformat()
    if filters.end:
        period["lt"] = filters.end.isoformat()
    if period:
        clauses.append({"range": {"received_at": period}})
    if filters.department:
        clauses.append({"term": {"routing.department": filters.department}})
    if filters.channel:
        clauses.append({"term": {"channel": filters.channel}})
    return {"bool": {"filter": clauses}}


_DELETED = {"term": {"deleted": True}}
_UNANSWERED = {"term": {"response.answered": False}}
_WITHDRAWN = {"bool": {"filter": [_DELETED, _UNANSWERED]}}
"""Deleted by the resident before any reply: it no longer waits for one."""


def _expected() -> dict[str, Any]:
    """Messages that expect a reply: a service level with a due time, not withdrawn."""
    return {
        "bool": {
            "filter": [{"exists": {"field": "response.due_at"}}],
            "must_not": [_WITHDRAWN],
        }
    }


def _waiting() -> dict[str, Any]:
    """Unanswered messages that expect a reply (the backlog); Kibana's backlog view agrees."""
    return {
        "bool": {
            "filter": [_UNANSWERED, {"exists": {"field": "response.due_at"}}],
            "must_not": [_DELETED],
        }
    }


def _overdue(now: datetime) -> dict[str, Any]:
    """Waiting past the due time: a miss, whatever happens later."""
    return {
        "bool": {
            "filter": [_UNANSWERED, {"range": {"response.due_at": {"lt": now.isoformat()}}}],
            "must_not": [_DELETED],
        }
    }


def _response_aggs(now: datetime) -> dict[str, Any]:
    def values(name: str) -> dict[str, Any]:
        return {"terms": {"field": f"response.{name}", "size": DISTINCT_VALUES}}

    return {
        "answered": {
            "filter": {"term": {"response.answered": True}},
            "aggs": {"wall": values("wall_minutes"), "business": values("business_minutes")},
        },
        "expected": {
            "filter": _expected(),
            "aggs": {"answered": {"filter": {"term": {"response.answered": True}}}},
        },
        "within": {"filter": {"term": {"response.within_service_level": True}}},
        "overdue": {"filter": _overdue(now)},
    }


def _aggregations(now: datetime) -> dict[str, Any]:
    per_group = _response_aggs(now)
    return {
        **per_group,
        "office": {"terms": {"field": "routing.office_hours", "size": 2}, "aggs": per_group},
        "departments": {"terms": {"field": "routing.department", "size": 200}, "aggs": per_group},
        "channels": {"terms": {"field": "channel", "size": 20}, "aggs": per_group},
        "hour_of_week": {
            "terms": {"field": "local.hour_of_week", "size": 168},
            "aggs": {
                "wall": {"terms": {"field": "response.wall_minutes", "size": DISTINCT_VALUES}}
            },
        },
        "backlog": {
            "filter": _waiting(),
            "aggs": {
                "departments": {
                    "terms": {"field": "routing.department", "size": 200},
                    "aggs": {
                        "urgency": {
                            "terms": {"field": "enrichment.urgency", "size": 10},
                            "aggs": {"overdue": per_group["overdue"]},
                        }
                    },
                }
            },
        },
    }


def median_of_counts(buckets: Sequence[Mapping[str, Any]]) -> float | None:
    """Exact median from ``terms`` buckets (value -> count); None when there are none."""
    pairs = sorted((float(b["key"]), int(b["doc_count"])) for b in buckets)
    total = sum(count for _, count in pairs)
    if total == 0:
        return None
    # The median of n values: the middle one, or the mean of the two middle ones.
    wanted = [(total - 1) // 2, total // 2]
    found: list[float] = []
    seen = 0
    for value, count in pairs:
        while wanted and wanted[0] < seen + count:
            found.append(value)
            wanted.pop(0)
        seen += count
    return sum(found) / len(found)


def _exact(agg: Mapping[str, Any]) -> bool:
    return int(agg.get("sum_other_doc_count", 0)) == 0


def _group(name: str, bucket: Mapping[str, Any]) -> GroupStats:
    answered = bucket["answered"]
    return GroupStats(
        name=name,
        messages=int(bucket["doc_count"]),
        answered=int(answered["doc_count"]),
        expected=int(bucket["expected"]["doc_count"]),
        expected_answered=int(bucket["expected"]["answered"]["doc_count"]),
        within=int(bucket["within"]["doc_count"]),
        overdue=int(bucket["overdue"]["doc_count"]),
        median_wall=median_of_counts(answered["wall"]["buckets"]),
        median_business=median_of_counts(answered["business"]["buckets"]),
        exact=_exact(answered["wall"]) and _exact(answered["business"]),
    )


def _empty_group(name: str) -> GroupStats:
    return GroupStats(name, 0, 0, 0, 0, 0, 0, None, None)


def report_from_aggregations(
    aggs: Mapping[str, Any], filters: Filters, generated_at: datetime
) -> GapReport:
    """Pure: shape one aggregation response into the report."""
    office = {str(b["key"]).lower(): b for b in aggs["office"]["buckets"]}
    office_key = {"true": "true", "1": "true", "false": "false", "0": "false"}
    office = {office_key.get(k, k): b for k, b in office.items()}
    received = [[0] * 24 for _ in range(7)]
    median_wait: list[list[float | None]] = [[None] * 24 for _ in range(7)]
    for bucket in aggs["hour_of_week"]["buckets"]:
        hour_of_week = int(bucket["key"])
        day, hour = divmod(hour_of_week, 24)
        received[day][hour] = int(bucket["doc_count"])
        median_wait[day][hour] = median_of_counts(bucket["wall"]["buckets"])
    backlog = [
        (str(dept["key"]), str(urg["key"]), int(urg["doc_count"]), int(urg["overdue"]["doc_count"]))
        for dept in aggs["backlog"]["departments"]["buckets"]
        for urg in dept["urgency"]["buckets"]
    ]
    backlog.sort(key=lambda row: (-row[3], -row[2], row[0], row[1]))
    return GapReport(
        filters=filters,
        generated_at=generated_at,
        total=_group("total", {"doc_count": aggs["doc_count"], **aggs}),
        in_hours=_group("in office hours", office["true"])
        if "true" in office
        else _empty_group("in office hours"),
        out_of_hours=_group("out of office hours", office["false"])
        if "false" in office
        else _empty_group("out of office hours"),
        received=received,
        median_wait=median_wait,
        departments=[_group(str(b["key"]), b) for b in aggs["departments"]["buckets"]],
        channels=[_group(str(b["key"]), b) for b in aggs["channels"]["buckets"]],
        backlog=backlog,
    )


def collect(
    es: Elasticsearch, alias: str, filters: Filters, now: datetime, oldest: int = 10
) -> GapReport:
    """Run the report's aggregations (one request) and fetch the longest-waiting messages."""
    query = build_query(filters)
    response = es.search(
        index=alias, query=query, size=0, aggs=_aggregations(now), track_total_hits=True
    )
    aggs = dict(response["aggregations"])
    aggs["doc_count"] = response["hits"]["total"]["value"]
    report = report_from_aggregations(aggs, filters, now)
    waiting = es.search(
        index=alias,
        query={"bool": {"filter": [query, _waiting()]}},
        sort=[{"received_at": "asc"}],
        size=oldest,
        source_includes=[
            "message_id",
            "channel",
            "received_at",
            "local.timestamp",
            "routing.department",
            "enrichment.urgency",
            "enrichment.topic",
            "response.due_at",
        ],
    )
    report.oldest_unanswered = [hit["_source"] for hit in waiting["hits"]["hits"]]
    return report
