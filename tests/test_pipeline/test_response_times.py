"""Response times end to end: messages and replies through Kafka, then index and gap report.

The expected numbers were worked out by hand from the webcare hours in
route/rules/departments.yaml (Mon-Fri 08:30-12:30 and 13:00-17:00, Europe/Amsterdam) and the
service levels there (chat channels: 2 office hours; web forms: 8 office hours).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from elasticsearch import Elasticsearch

from route.report.gaps import Filters, collect
from route.rules import DEFAULT_RULES
from tests.test_pipeline.support import (
    Workers,
    cli,
    indexed,
    wait_until_flagged_overdue,
    write_jsonl,
)

pytestmark = pytest.mark.integration

MUNICIPALITY = {"whatsapp": "31850000001", "webform": "webcare"}


def said(
    pid: str, conversation: str, text: str, at: str, channel: str = "whatsapp"
) -> dict[str, Any]:
    return {
        "channel": channel,
        "id": pid,
        "conversation_id": conversation,
        "author_id": f"resident-{conversation}",
        "text": text,
        "created_at": at,
    }


def answered(pid: str, conversation: str, at: str, channel: str = "whatsapp") -> dict[str, Any]:
    return {
        "channel": channel,
        "id": pid,
        "conversation_id": conversation,
        "in_reply_to": conversation,
        "author_id": MUNICIPALITY[channel],
        "text": "Dank voor je bericht, we zoeken het uit en komen erop terug.",
        "created_at": at,
    }


RECORDS = [
    # c1: answered in 30 minutes on a Monday morning.
    said(
        "c1",
        "c1",
        "Hoi, tot hoe laat is de milieustraat open op zaterdag?",
        "2026-11-16T10:00:00+01:00",
    ),
    answered("c1-r", "c1", "2026-11-16T10:30:00+01:00"),
    # c2: two messages late on Friday, answered Monday 09:00.
    said(
        "c2",
        "c2",
        "Goedemiddag, waar kan ik een nieuwe afvalpas aanvragen?",
        "2026-11-20T16:30:00+01:00",
    ),
    said("c2-b", "c2", "Of kan dat ook gewoon online?", "2026-11-20T16:40:00+01:00"),
    answered("c2-r", "c2", "2026-11-23T09:00:00+01:00"),
    # c3: Saturday 23:00, answered Monday 11:00 (the reply comes first in the file).
    answered("c3-r", "c3", "2026-11-23T11:00:00+01:00"),
    said(
        "c3",
        "c3",
        "Vraagje: wanneer is de volgende inspraakavond over het park?",
        "2026-11-21T23:00:00+01:00",
    ),
    # c4: asked just before the lunch break, answered after it.
    said("c4", "c4", "Kan ik mijn rijbewijs ook op zaterdag ophalen?", "2026-11-18T12:00:00+01:00"),
    answered("c4-r", "c4", "2026-11-18T14:00:00+01:00"),
    # c5: never answered.
    said(
        "c5",
        "c5",
        "Hoe vraag ik een parkeervergunning aan voor bezoek?",
        "2026-11-17T09:00:00+01:00",
    ),
    # c6: a web form answered two days later.
    said(
        "c6",
        "c6",
        "Geachte heer/mevrouw, graag ontvang ik informatie over de subsidie voor groene daken.",
        "2026-11-16T15:00:00+01:00",
        "webform",
    ),
    answered("c6-r", "c6", "2026-11-18T15:00:00+01:00", "webform"),
]
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
# Service levels by channel only, so the expected numbers do not depend on the classifier.
SERVICE_LEVELS = [
    {"name": "chat", "when": {"channel": ["whatsapp"]}, "minutes": 120, "clock": "business"},
    {"name": "werkdag", "minutes": 480, "clock": "business"},
]


@pytest.fixture
def env(pipeline_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    rules = yaml.safe_load(DEFAULT_RULES.read_text())
    rules["service_levels"] = SERVICE_LEVELS
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    return {**pipeline_env, "LUISTERPOST_ROUTING_RULES": str(path)}


# platform id -> (answered, wall minutes, office minutes, within service level, office hours)
EXPECTED = {
    "c1": (True, 30, 30, True, True),
    "c2": (True, 3870, 60, True, True),  # Fri 16:30-17:00 + Mon 08:30-09:00
    "c2-b": (True, 3860, 50, True, True),
    "c3": (True, 2160, 150, False, False),  # Mon 08:30-11:00 > 120
    "c4": (True, 120, 90, True, True),  # lunch 12:30-13:00 does not count
    "c5": (False, None, None, None, True),  # flagged overdue by the timer: overdue, not answered
    "c6": (True, 2880, 960, False, True),  # Mon 120 + Tue 480 + Wed 360 > 480
}


def test_response_times_in_the_index_and_the_gap_report(
    env: dict[str, str], tmp_path: Path
) -> None:
    prefix = env["LUISTERPOST_TOPIC_PREFIX"]
    write_jsonl(tmp_path / "in.jsonl", RECORDS)
    workers = Workers(env, tmp_path)
    workers.start_ready(["all"], f"{prefix}.raw")
    es = Elasticsearch(env["ELASTICSEARCH_URL"])
    try:
        cli(env, "replay", str(tmp_path / "in.jsonl"))
        cli(env, "wait", "--timeout", "150")
        # c5 is long past due: the route stage's backlog timer (every 15 s) flags it once.
        wait_until_flagged_overdue(es, f"{prefix}-messages")
        cli(env, "wait", "--timeout", "60")
        workers.assert_alive()
    finally:
        workers.stop()

    docs = {d["platform_message_id"]: d for d in indexed(es, f"{prefix}-messages").values()}
    assert len(docs) == len(RECORDS)
    # Only c5 waited past its due time without a reply.
    flagged = {pid for pid, d in docs.items() if (d["response"] or {}).get("overdue")}
    assert flagged == {"c5"}
    for pid, (is_answered, wall, office, within, in_hours) in EXPECTED.items():
        doc = docs[pid]
        response = doc["response"]
        assert response["answered"] is is_answered, pid
        assert response["wall_minutes"] == wall, pid
        assert response["business_minutes"] == office, pid
        assert response["within_service_level"] is within, pid
        assert doc["routing"]["office_hours"] is in_hours, pid
    # Replies say which messages they were the first answer to.
    assert docs["c2-r"]["answers"] == sorted([docs["c2"]["message_id"], docs["c2-b"]["message_id"]])
    assert docs["c3-r"]["answers"] == [docs["c3"]["message_id"]]
    assert docs["c5"]["response"]["due_at"].startswith("2026-11-17T10:00:00")  # 11:00 local

    report = collect(es, f"{prefix}-messages", Filters(), NOW)
    total = report.total
    assert (total.messages, total.answered, total.unanswered, total.overdue) == (7, 6, 1, 1)
    assert total.expected == 7
    assert total.within == 4 and total.within_share == pytest.approx(4 / 7)
    assert total.median_wall == (2160 + 2880) / 2  # 30 120 [2160 2880] 3860 3870
    assert total.median_business == (60 + 90) / 2  # 30 50 [60 90] 150 960
    assert report.out_of_hours.messages == 1 and report.out_of_hours.within_share == 0
    assert report.in_hours.within_share == pytest.approx(4 / 6)
    assert report.received[4][16] == 2  # Friday 16:00-17:00
    assert report.median_wait[4][16] == (3870 + 3860) / 2
    assert report.received[5][23] == 1 and report.median_wait[5][23] == 2160
    channels = {g.name: g for g in report.channels}
    assert channels["webform"].median_business == 960
    assert channels["whatsapp"].messages == 6
    assert sum(row[2] for row in report.backlog) == 1
    assert [m["channel"] for m in report.oldest_unanswered] == ["whatsapp"]

    # Filters narrow the same numbers; the CLI writes the page.
    week = collect(
        es,
        f"{prefix}-messages",
        Filters(start=datetime(2026, 11, 18, tzinfo=UTC), channel="whatsapp"),
        NOW,
    )
    assert week.total.messages == 4  # c2, c2-b, c3, c4
    out = tmp_path / "gaps.html"
    result = cli(env, "report", "gaps", "--out", str(out))
    assert "Out-of-hours gap report" in result.stdout
    page = out.read_text()
    assert "<svg" in page and "Median wait" in page and page.count("<tr><th>") >= 14


def test_a_reply_after_a_worker_restart_still_finds_its_message(
    env: dict[str, str], tmp_path: Path
) -> None:
    """Conversation state lives in a changelogged table: a new worker process recovers it."""
    prefix = env["LUISTERPOST_TOPIC_PREFIX"]
    question = said("q", "q", "Wanneer wordt de kerstboom opgehaald?", "2026-11-16T10:00:00+01:00")
    write_jsonl(tmp_path / "question.jsonl", [question])
    write_jsonl(tmp_path / "reply.jsonl", [answered("q-r", "q", "2026-11-17T10:00:00+01:00")])
    for batch in ("question", "reply"):
        workers = Workers(env, tmp_path)
        workers.start_ready(["all"], f"{prefix}.raw")
        try:
            cli(env, "replay", str(tmp_path / f"{batch}.jsonl"))
            cli(env, "wait", "--timeout", "150")
            workers.assert_alive()
        finally:
            workers.stop()

    es = Elasticsearch(env["ELASTICSEARCH_URL"])
    docs = {d["platform_message_id"]: d for d in indexed(es, f"{prefix}-messages").values()}
    response = docs["q"]["response"]
    assert response["answered"] is True
    assert response["first_reply_id"] == docs["q-r"]["message_id"]
    assert (response["wall_minutes"], response["business_minutes"]) == (24 * 60, 8 * 60)
    assert response["within_service_level"] is False  # 8 office hours > 2
