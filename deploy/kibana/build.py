"""Writes deploy/kibana/luisterpost.ndjson: the Kibana 8 saved objects for Luisterpost.

The NDJSON is generated so that Lens' verbose state stays consistent (every accessor a column,
every layer a data-view reference). Edit the views here, then run
``.venv/bin/python deploy/kibana/build.py``; tests/test_observability/test_kibana_objects.py
checks that the file is up to date, that every reference resolves and that every field exists
in the mapping of its data view (route/index/messages-template.json for messages,
route/oncall/alerts-template.json for on-call incidents).

The backlog and service-level views use the gap report's definitions (route/report/gaps.py):
the backlog is unanswered messages with a due time that were not deleted; the share within the
service level is within / (answered + unanswered past due), leaving out what can still make it.

Import with ``luisterpost kibana import`` (Kibana's saved-objects import API).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("luisterpost.ndjson")
DATA_VIEW = "luisterpost-messages"
ALERTS_VIEW = "luisterpost-alerts"
CORE_VERSION = "8.8.0"
# The versions a Kibana 8.9+ export writes; Kibana migrates them forward on import.
TYPE_VERSION = {"index-pattern": "8.0.0", "search": "8.0.0", "lens": "8.9.0", "dashboard": "8.9.0"}
LAYER = "layer1"
INBOUND = "direction : inbound"
EXPECTS_REPLY = f"{INBOUND} and response.due_at : *"
WITHIN = "response.within_service_level : true"
MISSED = (
    "(response.answered : true and response.within_service_level : false)"
    " or (response.answered : false and response.due_at < now and not deleted : true)"
)
"""A miss, as the report counts it: answered late, or still waiting past the due time."""
BACKLOG = f"{EXPECTS_REPLY} and response.answered : false and not deleted : true"

Column = dict[str, Any]


def saved_object(
    kind: str, object_id: str, attributes: dict[str, Any], references: list[dict[str, str]]
) -> dict[str, Any]:
    return {
        "attributes": attributes,
        "coreMigrationVersion": CORE_VERSION,
        "id": object_id,
        "managed": False,
        "references": references,
        "type": kind,
        "typeMigrationVersion": TYPE_VERSION[kind],
    }


def index_pattern(
    object_id: str, title: str, name: str, time_field: str, decimals: list[str]
) -> dict[str, Any]:
    """A data view; ``decimals`` are number fields shown with one decimal."""
    number = {"id": "number", "params": {"pattern": "0,0.0"}}
    attributes = {
        "title": title,
        "name": name,
        "timeFieldName": time_field,
        "fields": "[]",
        "fieldFormatMap": json.dumps({field: number for field in decimals}),
        "allowNoIndex": True,
    }
    return saved_object("index-pattern", object_id, attributes, [])


def alerts_data_view() -> dict[str, Any]:
    """On-call incidents, one document each (route/oncall/index.py), by when they were raised."""
    title, name = "luisterpost-alerts*", "Luisterpost on-call alerts"
    return index_pattern(ALERTS_VIEW, title, name, "raised_at", ["minutes_to_ack"])


def data_view() -> dict[str, Any]:
    title, name = "luisterpost-messages*", "Luisterpost messages"
    minutes = ["response.wall_minutes", "response.business_minutes"]
    return index_pattern(DATA_VIEW, title, name, "received_at", minutes)


# Lens columns ----------------------------------------------------------------------------


def terms(
    field: str, label: str, size: int, data_type: str = "string", by_key: bool = False
) -> Column:
    """Top values of a field; ``by_key`` orders 1..n (hours, weekdays) instead of by count."""
    order = (
        {"type": "alphabetical", "fallback": False}
        if by_key
        else {"type": "column", "columnId": "count"}
    )
    return {
        "label": label,
        "customLabel": True,
        "dataType": data_type,
        "operationType": "terms",
        "scale": "ordinal",
        "sourceField": field,
        "isBucketed": True,
        "params": {
            "size": size,
            "orderBy": order,
            "orderDirection": "asc" if by_key else "desc",
            "otherBucket": not by_key,
            "missingBucket": False,
            "parentFormat": {"id": "terms"},
            "include": [],
            "exclude": [],
            "includeIsRegex": False,
            "excludeIsRegex": False,
        },
    }


def count(label: str = "Messages", where: str | None = None) -> Column:
    """Documents in the bucket; ``where`` (KQL) counts only those that match it."""
    column: Column = {
        "label": label,
        "customLabel": True,
        "dataType": "number",
        "operationType": "count",
        "isBucketed": False,
        "scale": "ratio",
        "sourceField": "___records___",
        "params": {"emptyAsNull": where is None},  # 0 escalated shows as 0
    }
    if where is not None:
        column["filter"] = {"query": where, "language": "kuery"}
    return column


def filters(label: str, buckets: dict[str, str]) -> Column:
    """One bucket per KQL query (label -> query); documents matching none are left out."""
    return {
        "label": label,
        "customLabel": True,
        "dataType": "string",
        "operationType": "filters",
        "scale": "ordinal",
        "isBucketed": True,
        "params": {
            "filters": [
                {"label": name, "input": {"query": query, "language": "kuery"}}
                for name, query in buckets.items()
            ]
        },
    }


def metric(operation: str, field: str, label: str, **params: Any) -> Column:
    return {
        "label": label,
        "customLabel": True,
        "dataType": "number",
        "operationType": operation,
        "isBucketed": False,
        "scale": "ratio",
        "sourceField": field,
        "params": {"emptyAsNull": True, **params} if operation != "percentile" else params,
    }


def date_histogram(field: str, label: str, interval: str) -> Column:
    return {
        "label": label,
        "customLabel": True,
        "dataType": "date",
        "operationType": "date_histogram",
        "sourceField": field,
        "isBucketed": True,
        "scale": "interval",
        "params": {"interval": interval, "includeEmptyRows": True, "dropPartials": False},
    }


# Lens visualizations ---------------------------------------------------------------------


def lens(
    object_id: str,
    title: str,
    description: str,
    visualization_type: str,
    columns: dict[str, Column],
    visualization: dict[str, Any],
    query: str,
    data_view_id: str = DATA_VIEW,
) -> dict[str, Any]:
    state = {
        "datasourceStates": {
            "formBased": {
                "layers": {
                    LAYER: {
                        "columnOrder": list(columns),
                        "columns": columns,
                        "incompleteColumns": {},
                        "sampling": 1,
                    }
                }
            },
            "indexpattern": {"layers": {}},
            "textBased": {"layers": {}},
        },
        "filters": [],
        "query": {"language": "kuery", "query": query},
        "visualization": visualization,
        "internalReferences": [],
        "adHocDataViews": {},
    }
    attributes = {
        "title": title,
        "description": description,
        "visualizationType": visualization_type,
        "state": state,
    }
    reference = {
        "id": data_view_id,
        "name": f"indexpattern-datasource-layer-{LAYER}",
        "type": "index-pattern",
    }
    return saved_object("lens", object_id, attributes, [reference])


def heatmap(x: str, y: str, value: str) -> dict[str, Any]:
    return {
        "shape": "heatmap",
        "layerId": LAYER,
        "layerType": "data",
        "xAccessor": x,
        "yAccessor": y,
        "valueAccessor": value,
        "legend": {"isVisible": True, "position": "right", "type": "heatmap_legend"},
        "gridConfig": {
            "type": "heatmap_grid",
            "isCellLabelVisible": False,
            "isXAxisLabelVisible": True,
            "isYAxisLabelVisible": True,
            "isXAxisTitleVisible": True,
            "isYAxisTitleVisible": True,
        },
    }


def bars(
    series_type: str, x: str, accessors: list[str], split: str | None = None
) -> dict[str, Any]:
    layer: dict[str, Any] = {
        "layerId": LAYER,
        "layerType": "data",
        "seriesType": series_type,
        "xAccessor": x,
        "accessors": accessors,
    }
    if split is not None:
        layer["splitAccessor"] = split
    return {
        "legend": {"isVisible": True, "position": "right"},
        "valueLabels": "hide",
        "fittingFunction": "None",
        "preferredSeriesType": series_type,
        "layers": [layer],
    }


def datatable(columns: list[str]) -> dict[str, Any]:
    return {
        "layerId": LAYER,
        "layerType": "data",
        "columns": [{"columnId": c, "isTransposed": False} for c in columns],
    }


WEEKDAY = terms("local.weekday", "Weekday (1 = Monday, local time)", 7, "number", by_key=True)
HOUR = terms("local.hour", "Hour (local time)", 24, "number", by_key=True)


def views() -> list[dict[str, Any]]:
    arrivals = lens(
        "luisterpost-arrivals-hour-of-week",
        "Messages received by hour of week",
        "Inbound messages per local weekday and hour (Europe/Amsterdam, precomputed at ingest).",
        "lnsHeatmap",
        {"hour": HOUR, "weekday": WEEKDAY, "count": count()},
        heatmap("hour", "weekday", "count"),
        INBOUND,
    )
    wait = lens(
        "luisterpost-wait-hour-of-week",
        "Median wait by hour of week (minutes)",
        "Median wall-clock minutes to the first reply, by the local hour the message came in.",
        "lnsHeatmap",
        {
            "hour": HOUR,
            "weekday": WEEKDAY,
            "median": metric("median", "response.wall_minutes", "Median wait (min)"),
        },
        heatmap("hour", "weekday", "median"),
        f"{INBOUND} and response.answered : true",
    )
    response_time = lens(
        "luisterpost-response-time-department-channel",
        "Response time by department and channel",
        "Answered inbound messages: median and 90th percentile of wall-clock and office minutes.",
        "lnsDatatable",
        {
            "department": terms("routing.department", "Department", 20),
            "channel": terms("channel", "Channel", 10),
            "count": count("Answered"),
            "median_wall": metric("median", "response.wall_minutes", "Median wait (min)"),
            "p90_wall": metric(
                "percentile", "response.wall_minutes", "90th pct wait (min)", percentile=90
            ),
            "median_business": metric(
                "median", "response.business_minutes", "Median office minutes"
            ),
        },
        datatable(["department", "channel", "count", "median_wall", "p90_wall", "median_business"]),
        f"{INBOUND} and response.answered : true",
    )
    service_level = lens(
        "luisterpost-service-level-office-hours",
        "Answered within the service level, in and out of office hours",
        "Of the messages whose outcome is known (answered, or unanswered past the due time), "
        "the share answered within their service level; as in the gap report.",
        "lnsXY",
        {
            "office_hours": terms("routing.office_hours", "In office hours", 2, "boolean"),
            "outcome": filters("Service level", {"within": WITHIN, "missed": MISSED}),
            "count": count(),
        },
        bars("bar_percentage_stacked", "office_hours", ["count"], split="outcome"),
        EXPECTS_REPLY,
    )
    backlog = lens(
        "luisterpost-unanswered-backlog",
        "Unanswered backlog by department and urgency",
        "Inbound messages waiting for a reply they expect (not deleted); as in the gap report.",
        "lnsXY",
        {
            "department": terms("routing.department", "Department", 20),
            "urgency": terms("enrichment.urgency", "Urgency", 5),
            "count": count("Unanswered"),
        },
        bars("bar_stacked", "department", ["count"], split="urgency"),
        BACKLOG,
    )
    volumes = lens(
        "luisterpost-department-volumes",
        "Messages per department",
        "Inbound messages per day, by the department they were routed to.",
        "lnsXY",
        {
            "day": date_histogram("received_at", "Received", "1d"),
            "department": terms("routing.department", "Department", 20),
            "count": count(),
        },
        bars("bar_stacked", "day", ["count"], split="department"),
        INBOUND,
    )
    return [arrivals, wait, response_time, service_level, backlog, volumes]


def alert_views() -> list[dict[str, Any]]:
    """How fast urgent messages were picked up: time to acknowledge, escalations."""
    acknowledge = lens(
        "luisterpost-alerts-time-to-ack",
        "On-call: time to acknowledge by team and severity",
        "Incidents raised, median and 90th percentile of minutes from raising to the "
        "acknowledgement, and how many were escalated to the next person.",
        "lnsDatatable",
        {
            "team": terms("team", "Team", 20),
            "severity": terms("severity", "Severity", 5),
            "count": count("Incidents"),
            "median_ack": metric("median", "minutes_to_ack", "Median to ack (min)"),
            "p90_ack": metric(
                "percentile", "minutes_to_ack", "90th pct to ack (min)", percentile=90
            ),
            "escalated": count("Escalated", where="escalated_at : *"),
        },
        datatable(["team", "severity", "count", "median_ack", "p90_ack", "escalated"]),
        "",
        ALERTS_VIEW,
    )
    escalated = lens(
        "luisterpost-alerts-escalated",
        "On-call: escalated incidents per day",
        "Incidents not acknowledged in time, which went to the next person of the rotation.",
        "lnsXY",
        {
            "day": date_histogram("raised_at", "Raised", "1d"),
            "team": terms("team", "Team", 20),
            "count": count("Escalated"),
        },
        bars("bar_stacked", "day", ["count"], split="team"),
        "escalated_at : *",
        ALERTS_VIEW,
    )
    return [acknowledge, escalated]


def urgent_search() -> dict[str, Any]:
    source = {
        "query": {
            "language": "kuery",
            "query": f"{INBOUND} and enrichment.urgency : (spoed or hoog)",
        },
        "filter": [],
        "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index",
    }
    attributes = {
        "title": "Luisterpost: urgent messages",
        "description": "Inbound spoed and hoog messages, newest first, with their routing and reply.",
        "columns": [
            "channel",
            "enrichment.urgency",
            "routing.department",
            "enrichment.topic",
            "text",
            "routing.alert.reason",
            "response.answered",
            "response.due_at",
            "response.wall_minutes",
        ],
        "sort": [["received_at", "desc"]],
        "grid": {},
        "hideChart": False,
        "isTextBasedQuery": False,
        "timeRestore": False,
        "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(source)},
    }
    reference = {
        "id": DATA_VIEW,
        "name": "kibanaSavedObjectMeta.searchSourceJSON.index",
        "type": "index-pattern",
    }
    return saved_object("search", "luisterpost-urgent-messages", attributes, [reference])


def dashboard(panels: list[dict[str, Any]]) -> dict[str, Any]:
    """Two panels per row (24 of 48 columns each), in the order given."""
    entries, references = [], []
    for n, panel in enumerate(panels):
        index = f"p{n + 1}"
        wide = panel["type"] == "search"
        entries.append(
            {
                "type": panel["type"],
                "gridData": {
                    "x": 0 if wide else 24 * (n % 2),
                    "y": 15 * (n // 2),
                    "w": 48 if wide else 24,
                    "h": 15,
                    "i": index,
                },
                "panelIndex": index,
                "embeddableConfig": {"enhancements": {}},
                "panelRefName": f"panel_{index}",
            }
        )
        references.append(
            {"id": panel["id"], "name": f"{index}:panel_{index}", "type": panel["type"]}
        )
    attributes = {
        "title": "Luisterpost: response times and gaps",
        "description": "The gap report's views: when residents write, how long they wait, "
        "service levels in and out of office hours, the backlog, how fast on-call picked up "
        "urgent messages, and the urgent messages themselves.",
        "panelsJSON": json.dumps(entries),
        "optionsJSON": json.dumps(
            {
                "useMargins": True,
                "syncColors": False,
                "syncCursor": True,
                "syncTooltips": False,
                "hidePanelTitles": False,
            }
        ),
        "timeRestore": True,
        "timeFrom": "now-30d",
        "timeTo": "now",
        "refreshInterval": {"pause": True, "value": 60000},
        "kibanaSavedObjectMeta": {
            "searchSourceJSON": json.dumps(
                {"query": {"query": "", "language": "kuery"}, "filter": []}
            )
        },
        "version": 1,
    }
    return saved_object("dashboard", "luisterpost-overview", attributes, references)


def saved_objects() -> list[dict[str, Any]]:
    """Every object, referenced objects before the objects that reference them."""
    lenses = views()
    alerts = alert_views()
    search = urgent_search()
    return [
        data_view(),
        alerts_data_view(),
        *lenses,
        *alerts,
        search,
        dashboard([*lenses, *alerts, search]),
    ]


def render() -> str:
    return "".join(
        json.dumps(o, ensure_ascii=False, sort_keys=True) + "\n" for o in saved_objects()
    )


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT} ({len(saved_objects())} objects)")
