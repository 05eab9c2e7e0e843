"""deploy/kibana/luisterpost.ndjson: parses, is what build.py writes, and fits the index mappings."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NDJSON = ROOT / "deploy" / "kibana" / "luisterpost.ndjson"
TEMPLATE = ROOT / "route" / "index" / "messages-template.json"
ALERTS_TEMPLATE = ROOT / "route" / "oncall" / "alerts-template.json"
MESSAGES_VIEW, ALERTS_VIEW = "luisterpost-messages", "luisterpost-alerts"
NUMERIC = {"short", "integer", "long", "float", "double", "scaled_float"}
LENS_TYPES = {"string": {"keyword"}, "number": NUMERIC, "boolean": {"boolean"}, "date": {"date"}}


def _objects() -> list[dict[str, Any]]:
    return [json.loads(line) for line in NDJSON.read_text(encoding="utf-8").splitlines()]


OBJECTS = _objects()
BY_TYPE: dict[str, list[dict[str, Any]]] = {}
for _obj in OBJECTS:
    BY_TYPE.setdefault(_obj["type"], []).append(_obj)


def mapping_fields(template: Path = TEMPLATE) -> dict[str, str]:
    """Dotted field name -> mapping type, for every leaf of the strict mapping."""
    fields: dict[str, str] = {}

    def walk(properties: dict[str, Any], prefix: str) -> None:
        for name, spec in properties.items():
            if "properties" in spec:
                walk(spec["properties"], f"{prefix}{name}.")
            elif spec.get("type", "object") != "object":
                fields[f"{prefix}{name}"] = spec["type"]

    walk(json.loads(template.read_text())["template"]["mappings"]["properties"], "")
    return fields


FIELDS = mapping_fields()
VIEW_FIELDS = {MESSAGES_VIEW: FIELDS, ALERTS_VIEW: mapping_fields(ALERTS_TEMPLATE)}
"""Data view id -> the fields of the index mapping behind it."""


def kql_fields(query: str) -> set[str]:
    """Fields a KQL query names (``field : value``, ``field < value``)."""
    return set(re.findall(r"([A-Za-z_][\w.]*)\s*(?::|<=?|>=?)", query))


def view_of(obj: dict[str, Any]) -> str:
    """The data view a Lens or saved search reads."""
    [view] = {r["id"] for r in obj["references"] if r["type"] == "index-pattern"}
    return str(view)


def lens_layers(obj: dict[str, Any]) -> dict[str, Any]:
    layers: dict[str, Any] = obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
    return layers


def column_queries(column: dict[str, Any]) -> Iterator[str]:
    """KQL inside a Lens column: a filtered metric, or the buckets of a filters column."""
    if "filter" in column:
        yield column["filter"]["query"]
    for bucket in column.get("params", {}).get("filters", []):
        yield bucket["input"]["query"]


def used_fields() -> Iterator[tuple[str, str, str, str | None]]:
    """(object id, data view, field, Lens data type or None) for every field an object uses."""
    for view in BY_TYPE["index-pattern"]:
        yield view["id"], view["id"], view["attributes"]["timeFieldName"], "date"
        for name in json.loads(view["attributes"].get("fieldFormatMap", "{}")):
            yield view["id"], view["id"], name, None
    for lens in BY_TYPE["lens"]:
        data_view = view_of(lens)
        state = lens["attributes"]["state"]
        for field in kql_fields(state["query"]["query"]):
            yield lens["id"], data_view, field, None
        for layer in lens_layers(lens).values():
            for column in layer["columns"].values():
                if column.get("sourceField", "___records___") != "___records___":
                    yield lens["id"], data_view, column["sourceField"], column["dataType"]
                for query in column_queries(column):
                    for field in kql_fields(query):
                        yield lens["id"], data_view, field, None
    for search in BY_TYPE["search"]:
        data_view = view_of(search)
        attributes = search["attributes"]
        for field in attributes["columns"]:
            yield search["id"], data_view, field, None
        for field, _direction in attributes["sort"]:
            yield search["id"], data_view, field, None
        source = json.loads(attributes["kibanaSavedObjectMeta"]["searchSourceJSON"])
        for field in kql_fields(source["query"]["query"]):
            yield search["id"], data_view, field, None


def test_the_file_is_what_build_py_writes() -> None:
    spec = importlib.util.spec_from_file_location("kibana_build", NDJSON.with_name("build.py"))
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    assert build.render() == NDJSON.read_text(encoding="utf-8"), (
        "deploy/kibana/luisterpost.ndjson is stale: run .venv/bin/python deploy/kibana/build.py"
    )


def test_the_expected_objects_are_there() -> None:
    assert len({(o["type"], o["id"]) for o in OBJECTS}) == len(OBJECTS), "duplicate ids"
    views = {v["id"]: v["attributes"] for v in BY_TYPE["index-pattern"]}
    assert set(views) == set(VIEW_FIELDS)
    assert views[MESSAGES_VIEW]["title"] == "luisterpost-messages*"
    assert views[MESSAGES_VIEW]["timeFieldName"] == "received_at"
    assert views[ALERTS_VIEW]["title"] == "luisterpost-alerts*"  # route/oncall/index.py
    kinds = {o["attributes"]["visualizationType"] for o in BY_TYPE["lens"]}
    assert kinds == {"lnsHeatmap", "lnsXY", "lnsDatatable"}
    assert len(BY_TYPE["dashboard"]) == 1 and len(BY_TYPE["search"]) == 1
    for obj in OBJECTS:
        assert obj["coreMigrationVersion"] and obj["typeMigrationVersion"], obj["id"]


def test_every_reference_resolves_to_an_object_in_the_file() -> None:
    present = {(o["type"], o["id"]) for o in OBJECTS}
    for obj in OBJECTS:
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in present, f"{obj['id']} -> {ref}"
    # ... and every place that needs a reference has one under the name Kibana looks up.
    for lens in BY_TYPE["lens"]:
        names = {r["name"] for r in lens["references"]}
        for layer in lens_layers(lens):
            assert f"indexpattern-datasource-layer-{layer}" in names, lens["id"]
    for search in BY_TYPE["search"]:
        source = json.loads(search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        assert source["indexRefName"] in {r["name"] for r in search["references"]}
    [dashboard] = BY_TYPE["dashboard"]
    refs = {r["name"]: r for r in dashboard["references"]}
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    for panel in panels:
        ref = refs[f"{panel['panelIndex']}:{panel['panelRefName']}"]
        assert ref["type"] == panel["type"]
    on_dashboard = {r["id"] for r in dashboard["references"]}
    assert on_dashboard == {o["id"] for o in BY_TYPE["lens"] + BY_TYPE["search"]}


def test_every_lens_accessor_is_a_column_of_its_layer() -> None:
    for lens in BY_TYPE["lens"]:
        [(layer_id, layer)] = lens_layers(lens).items()
        columns = set(layer["columns"])
        assert layer["columnOrder"] and set(layer["columnOrder"]) == columns, lens["id"]
        vis = lens["attributes"]["state"]["visualization"]
        if lens["attributes"]["visualizationType"] == "lnsHeatmap":
            accessors = {vis["xAccessor"], vis["yAccessor"], vis["valueAccessor"]}
            assert vis["layerId"] == layer_id
        elif lens["attributes"]["visualizationType"] == "lnsXY":
            [xy] = vis["layers"]
            accessors = {
                xy["xAccessor"],
                *xy["accessors"],
                xy.get("splitAccessor", xy["xAccessor"]),
            }
            assert xy["layerId"] == layer_id
        else:
            accessors = {c["columnId"] for c in vis["columns"]}
            assert vis["layerId"] == layer_id
        assert accessors == columns, lens["id"]
        for column in layer["columns"].values():  # terms ordered by a metric: that metric exists
            order = column.get("params", {}).get("orderBy", {})
            if order.get("type") == "column":
                assert order["columnId"] in columns, lens["id"]


@pytest.mark.parametrize(
    ("object_id", "data_view", "field", "lens_type"), sorted(set(used_fields()))
)
def test_every_field_used_exists_in_the_index_mapping(
    object_id: str, data_view: str, field: str, lens_type: str | None
) -> None:
    fields = VIEW_FIELDS[data_view]
    assert field in fields, f"{object_id} uses {field}, which the {data_view} mapping lacks"
    if lens_type is not None:
        assert fields[field] in LENS_TYPES[lens_type], (
            f"{object_id}: {field} is {fields[field]}, Lens expects {lens_type}"
        )


def test_the_dashboard_has_the_gap_report_views() -> None:
    """What the gap report shows, by the fields each view must read."""
    lens_fields = {
        o["attributes"]["title"]: {f for i, _, f, _ in used_fields() if i == o["id"]}
        for o in BY_TYPE["lens"]
    }
    needed = [
        {"local.weekday", "local.hour", "direction"},  # arrivals heatmap
        {"local.weekday", "local.hour", "response.wall_minutes"},  # wait heatmap
        {"routing.department", "channel", "response.wall_minutes"},  # response time
        {"routing.office_hours", "response.within_service_level", "response.due_at"},  # share
        {"response.answered", "routing.department", "enrichment.urgency", "deleted"},  # backlog
        {"routing.department", "received_at"},  # volumes
        {"team", "severity", "minutes_to_ack", "escalated_at"},  # on-call time to ack
    ]
    for fields in needed:
        assert any(fields <= used for used in lens_fields.values()), fields
    [search] = BY_TYPE["search"]
    assert (
        "spoed"
        in json.loads(search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"][
            "query"
        ]
    )


def _lens(object_id: str) -> dict[str, Any]:
    [lens] = [o for o in BY_TYPE["lens"] if o["id"] == object_id]
    return lens


def test_backlog_and_service_level_views_use_the_gap_reports_definitions() -> None:
    """Backlog: waiting for a reply it expects, not deleted. Share: misses include overdue."""
    backlog = _lens("luisterpost-unanswered-backlog")["attributes"]["state"]["query"]["query"]
    for clause in ("response.answered : false", "response.due_at : *", "not deleted : true"):
        assert clause in backlog
    share = _lens("luisterpost-service-level-office-hours")["attributes"]["state"]
    assert "response.due_at : *" in share["query"]["query"]  # no-reply messages left out
    [layer] = share["datasourceStates"]["formBased"]["layers"].values()
    buckets = {
        b["label"]: b["input"]["query"] for b in layer["columns"]["outcome"]["params"]["filters"]
    }
    assert buckets["within"] == "response.within_service_level : true"
    assert "response.answered : false and response.due_at < now" in buckets["missed"]
    assert "not deleted : true" in buckets["missed"]


def test_time_to_acknowledge_is_shown_by_team_and_severity() -> None:
    lens = _lens("luisterpost-alerts-time-to-ack")
    assert view_of(lens) == ALERTS_VIEW
    [layer] = lens_layers(lens).values()
    operations = {
        (c["operationType"], c.get("sourceField"), c.get("params", {}).get("percentile"))
        for c in layer["columns"].values()
    }
    assert {("median", "minutes_to_ack", None), ("percentile", "minutes_to_ack", 90)} <= operations
    assert {("terms", "team", None), ("terms", "severity", None)} <= operations
