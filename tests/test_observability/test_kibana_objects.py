"""deploy/kibana/luisterpost.ndjson: parses, is what build.py writes, and fits the index mapping."""

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
NUMERIC = {"short", "integer", "long", "float", "double", "scaled_float"}
LENS_TYPES = {"string": {"keyword"}, "number": NUMERIC, "boolean": {"boolean"}, "date": {"date"}}


def _objects() -> list[dict[str, Any]]:
    return [json.loads(line) for line in NDJSON.read_text(encoding="utf-8").splitlines()]


OBJECTS = _objects()
BY_TYPE: dict[str, list[dict[str, Any]]] = {}
for _obj in OBJECTS:
    BY_TYPE.setdefault(_obj["type"], []).append(_obj)


def mapping_fields() -> dict[str, str]:
    """Dotted field name -> mapping type, for every leaf of the strict mapping."""
    fields: dict[str, str] = {}

    def walk(properties: dict[str, Any], prefix: str) -> None:
        for name, spec in properties.items():
            if "properties" in spec:
                walk(spec["properties"], f"{prefix}{name}.")
            elif spec.get("type", "object") != "object":
                fields[f"{prefix}{name}"] = spec["type"]

    walk(json.loads(TEMPLATE.read_text())["template"]["mappings"]["properties"], "")
    return fields


FIELDS = mapping_fields()


def kql_fields(query: str) -> set[str]:
    return set(re.findall(r"([A-Za-z_][\w.]*)\s*:", query))


def lens_layers(obj: dict[str, Any]) -> dict[str, Any]:
    layers: dict[str, Any] = obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
    return layers


def used_fields() -> Iterator[tuple[str, str, str | None]]:
    """(object id, field, Lens data type or None) for every field any object refers to."""
    for view in BY_TYPE["index-pattern"]:
        yield view["id"], view["attributes"]["timeFieldName"], "date"
        for name in json.loads(view["attributes"].get("fieldFormatMap", "{}")):
            yield view["id"], name, None
    for lens in BY_TYPE["lens"]:
        state = lens["attributes"]["state"]
        for field in kql_fields(state["query"]["query"]):
            yield lens["id"], field, None
        for layer in lens_layers(lens).values():
            for column in layer["columns"].values():
                if column.get("sourceField", "___records___") != "___records___":
                    yield lens["id"], column["sourceField"], column["dataType"]
    for search in BY_TYPE["search"]:
        attributes = search["attributes"]
        for field in attributes["columns"]:
            yield search["id"], field, None
        for field, _direction in attributes["sort"]:
            yield search["id"], field, None
        source = json.loads(attributes["kibanaSavedObjectMeta"]["searchSourceJSON"])
        for field in kql_fields(source["query"]["query"]):
            yield search["id"], field, None


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
    [view] = BY_TYPE["index-pattern"]
    assert view["attributes"]["title"] == "luisterpost-messages*"
    assert view["attributes"]["timeFieldName"] == "received_at"
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


@pytest.mark.parametrize(("object_id", "field", "lens_type"), sorted(set(used_fields())))
def test_every_field_used_exists_in_the_index_mapping(
    object_id: str, field: str, lens_type: str | None
) -> None:
    assert field in FIELDS, f"{object_id} uses {field}, which the strict mapping does not have"
    if lens_type is not None:
        assert FIELDS[field] in LENS_TYPES[lens_type], (
            f"{object_id}: {field} is {FIELDS[field]}, Lens expects {lens_type}"
        )


def test_the_dashboard_has_the_gap_report_views() -> None:
    """What the gap report shows, by the fields each view must read."""
    lens_fields = {
        o["attributes"]["title"]: {f for i, f, _ in used_fields() if i == o["id"]}
        for o in BY_TYPE["lens"]
    }
    needed = [
        {"local.weekday", "local.hour", "direction"},  # arrivals heatmap
        {"local.weekday", "local.hour", "response.wall_minutes"},  # wait heatmap
        {"routing.department", "channel", "response.wall_minutes"},  # response time
        {"routing.office_hours", "response.within_service_level"},  # service level
        {"response.answered", "routing.department", "enrichment.urgency"},  # backlog
        {"routing.department", "received_at"},  # volumes
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
