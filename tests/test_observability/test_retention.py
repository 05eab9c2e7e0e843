"""Retention: which monthly indices go (pure), and `luisterpost retention` on noida-db."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from route.index.elasticsearch import ensure_templates
from route.index.names import IndexNames
from route.index.retention import ilm_policy, index_month, plan_retention
from tests.test_pipeline.support import cli

NAMES = IndexNames("luisterpost")


def month_index(names: IndexNames, today: date, back: int) -> str:
    n = today.year * 12 + today.month - 1 - back
    return f"{names.prefix}-messages-{n // 12:04d}.{n % 12 + 1:02d}"


def test_keeps_the_current_month_and_the_months_before_it_up_to_the_retention() -> None:
    indices = [
        "luisterpost-messages-2026.11",
        "luisterpost-messages-2025.11",  # 12 months back: the 13th month kept
        "luisterpost-messages-2025.10",
        "luisterpost-messages-2024.02",
        "luisterpost-messages-2027.01",  # a clock-skewed future month is kept, never deleted
        "luisterpost-messages-archive",  # not a monthly index
        "luisterpost-messages-2020.13",  # no such month
        "other-messages-2001.01",  # another prefix
        "luisterpost-messages-2001.01-restored",
    ]
    plan = plan_retention(indices, NAMES, date(2026, 11, 25), 13)
    assert plan.delete == ["luisterpost-messages-2024.02", "luisterpost-messages-2025.10"]
    assert plan.keep == [
        "luisterpost-messages-2025.11",
        "luisterpost-messages-2026.11",
        "luisterpost-messages-2027.01",
    ]
    assert plan.oldest_kept_month == date(2025, 11, 1)


def test_month_arithmetic_crosses_years_and_one_month_keeps_only_the_current() -> None:
    plan = plan_retention(
        ["luisterpost-messages-2025.12", "luisterpost-messages-2026.01"],
        NAMES,
        date(2026, 1, 1),
        1,
    )
    assert plan.delete == ["luisterpost-messages-2025.12"]
    assert plan_retention([], NAMES, date(2026, 3, 31), 3).oldest_kept_month == date(2026, 1, 1)
    with pytest.raises(ValueError, match="at least 1 month"):
        plan_retention([], NAMES, date(2026, 1, 1), 0)
    assert index_month("luisterpost-messages-2026.02", NAMES) == date(2026, 2, 1)
    assert index_month("luisterpost-messagesX2026.02", NAMES) is None


def test_the_ilm_policy_deletes_after_the_retention_in_days() -> None:
    body = ilm_policy(13)
    assert "_comment" not in body
    assert body["policy"]["phases"]["delete"] == {"min_age": "403d", "actions": {"delete": {}}}
    assert ilm_policy(1)["policy"]["phases"]["delete"]["min_age"] == "31d"


@pytest.mark.integration
def test_retention_deletes_only_old_monthly_indices_and_the_alias_still_reads(
    pipeline_env: dict[str, str], tmp_path: Path
) -> None:
    env = pipeline_env
    names = IndexNames(env["LUISTERPOST_INDEX_PREFIX"])
    es = Elasticsearch(env["ELASTICSEARCH_URL"])
    ensure_templates(es, names)
    today = datetime.now(UTC).date()
    current, kept, old = (month_index(names, today, back) for back in (0, 2, 3))
    unrelated = f"{names.prefix}-other-2001.01"
    for index in (current, kept, old):
        es.index(index=index, id=index, document={"message_id": index, "channel": "app"})
    es.indices.create(index=unrelated)
    es.indices.refresh(index=names.messages_alias)
    assert es.count(index=names.messages_alias)["count"] == 3

    dry = cli(env, "retention", "--months", "3", "--dry-run")
    assert f"would delete {old}" in dry.stdout
    assert es.indices.exists(index=old)

    env = {**env, "LUISTERPOST_RETENTION_MONTHS": "3"}
    result = cli(env, "retention")
    assert f"deleted {old}" in result.stdout
    assert "keeping 2 monthly indices" in result.stdout
    remaining = set(es.indices.get(index=f"{names.prefix}-*"))
    assert remaining == {current, kept, unrelated}
    hits = es.search(index=names.messages_alias, query={"match_all": {}})["hits"]["hits"]
    assert {h["_id"] for h in hits} == {current, kept}

    again = cli(env, "retention")  # idempotent
    assert "deleted 0" in again.stdout


@pytest.mark.integration
def test_ilm_on_a_cluster_without_ilm_is_a_clear_error(pipeline_env: dict[str, str]) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "luisterpost", "retention", "--ilm"],
        env=pipeline_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "cannot install the ILM policy" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
