"""`luisterpost ingest import` on a CSV export: counts, reasons, raw topic and dead letters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_pipeline.support import cli, read_topic

pytestmark = pytest.mark.integration

CSV = """channel,id,conversation_id,in_reply_to,author_id,text,created_at,attachments
facebook,fb-1,,,u1,"Container bij de Kerkstraat puilt uit, kan iemand kijken?",2026-11-02T09:15:00+01:00,
facebook,fb-2,fb-1,fb-1,104000000000001,"Dank je, we geven het door aan Afval. Groet, Sanne",2026-11-02T09:40:00+01:00,
instagram,ig-1,,,u2,,2026-11-03T22:05:00+01:00,image
facebook,fb-1,,,u1,"Container bij de Kerkstraat puilt uit, kan iemand kijken?",2026-11-02T09:15:00+01:00,
twitter,,,,u3,geen id,2026-11-03T10:00:00+01:00,
webform,wf-1,,,u4,"Lamp kapot",gisteren,
"""


def test_csv_import_counts_and_keeps_what_it_rejects(
    pipeline_env: dict[str, str], tmp_path: Path
) -> None:
    env = pipeline_env
    prefix = env["LUISTERPOST_TOPIC_PREFIX"]
    file = tmp_path / "export.csv"
    file.write_text(CSV, encoding="utf-8")

    result = cli(env, "ingest", "import", str(file))

    counts = [line for line in result.stdout.splitlines() if line.strip().startswith("│")][-1]
    assert [cell.strip() for cell in counts.strip("│ ").split("│")] == ["3", "1", "2"]
    assert "line 6: field 'id' is missing" in result.stderr
    assert "line 7: created_at 'gisteren' is not an ISO 8601 timestamp" in result.stderr

    raw = [json.loads(r.value) for r in read_topic(env["KAFKA_BOOTSTRAP_SERVERS"], f"{prefix}.raw")]
    assert [r["source"] for r in raw] == ["export-csv/v1"] * 3
    assert {json.loads(r["body"])["id"] for r in raw} == {"fb-1", "fb-2", "ig-1"}
    dead = [
        json.loads(r.value)
        for r in read_topic(env["KAFKA_BOOTSTRAP_SERVERS"], f"{prefix}.deadletter")
    ]
    assert sorted(d["key"] for d in dead) == ["export.csv:6", "export.csv:7"]
    assert all(d["stage"] == "import" and d["reason"] for d in dead)
