"""The short summary `make run` ends with: numbers from Elasticsearch aggregations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from elasticsearch import Elasticsearch
from rich.console import Console
from rich.table import Table

__all__ = ["Summary", "fetch_summary", "render_summary"]


@dataclass
class Summary:
    total: int
    inbound: int
    replies: int
    out_of_hours: int
    alerts: int
    by_channel: dict[str, dict[str, int]] = field(default_factory=dict)
    by_department: dict[str, int] = field(default_factory=dict)
    by_urgency: dict[str, int] = field(default_factory=dict)


def _buckets(aggs: dict[str, Any], name: str) -> dict[str, int]:
    return {str(b["key"]): int(b["doc_count"]) for b in aggs[name]["buckets"]}


def fetch_summary(es: Elasticsearch, alias: str) -> Summary:
    """Counts over everything indexed under ``alias``."""
    inbound = {"term": {"direction": "inbound"}}
    response = es.search(
        index=alias,
        size=0,
        track_total_hits=True,
        aggs={
            "channel": {
                "terms": {"field": "channel", "size": 20},
                "aggs": {"direction": {"terms": {"field": "direction"}}},
            },
            "inbound": {
                "filter": inbound,
                "aggs": {
                    "department": {"terms": {"field": "routing.department", "size": 50}},
                    "urgency": {"terms": {"field": "enrichment.urgency", "size": 10}},
                    "closed": {"filter": {"term": {"routing.office_hours": False}}},
                    "alerts": {"filter": {"exists": {"field": "routing.alert.severity"}}},
                },
            },
        },
    )
    aggs = response["aggregations"]
    by_channel = {
        str(b["key"]): {str(d["key"]): int(d["doc_count"]) for d in b["direction"]["buckets"]}
        for b in aggs["channel"]["buckets"]
    }
    inbound_aggs = aggs["inbound"]
    total = int(response["hits"]["total"]["value"])
    return Summary(
        total=total,
        inbound=int(inbound_aggs["doc_count"]),
        replies=total - int(inbound_aggs["doc_count"]),
        out_of_hours=int(inbound_aggs["closed"]["doc_count"]),
        alerts=int(inbound_aggs["alerts"]["doc_count"]),
        by_channel=by_channel,
        by_department=_buckets(inbound_aggs, "department"),
        by_urgency=_buckets(inbound_aggs, "urgency"),
    )


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def render_summary(summary: Summary, console: Console) -> None:
    channels = Table(title="Messages per channel", title_justify="left")
    channels.add_column("channel")
    channels.add_column("from residents", justify="right")
    channels.add_column("our replies", justify="right")
    for channel, counts in sorted(summary.by_channel.items(), key=lambda kv: -sum(kv[1].values())):
        channels.add_row(channel, str(counts.get("inbound", 0)), str(counts.get("outbound", 0)))
    channels.add_row("[bold]total", f"[bold]{summary.inbound}", f"[bold]{summary.replies}")

    departments = Table(title="Resident messages per department", title_justify="left")
    departments.add_column("department")
    departments.add_column("messages", justify="right")
    departments.add_column("share", justify="right")
    for name, count in sorted(summary.by_department.items(), key=lambda kv: -kv[1]):
        departments.add_row(name, str(count), _share(count, summary.inbound))

    urgency = Table(title="Urgency", title_justify="left")
    urgency.add_column("urgency")
    urgency.add_column("messages", justify="right")
    for level in ("spoed", "hoog", "normaal", "laag"):
        urgency.add_row(level, str(summary.by_urgency.get(level, 0)))

    console.print(channels)
    console.print(departments)
    console.print(urgency)
    console.print(
        f"[bold]{summary.out_of_hours}[/] of {summary.inbound} resident messages "
        f"([bold]{_share(summary.out_of_hours, summary.inbound)}[/]) arrived outside office hours; "
        f"[bold]{summary.alerts}[/] raised an on-call alert."
    )
