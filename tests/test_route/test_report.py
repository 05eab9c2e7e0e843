"""The gap report's pure parts: exact medians from value counts, and the HTML page."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from rich.console import Console

from luisterpost.services import LocalServices
from route.index.elasticsearch import ensure_templates
from route.index.names import IndexNames
from route.report import gaps
from route.report.gaps import Filters, GapReport, GroupStats, build_query, median_of_counts
from route.report.render import print_report, render_html
from route.rules import load_rules


def counts(**values: int) -> list[dict[str, float | int]]:
    return [{"key": float(k.lstrip("v")), "doc_count": n} for k, n in values.items()]


@pytest.mark.parametrize(
    ("buckets", "median"),
    [
        ([], None),
        (counts(v5=1), 5.0),
        (counts(v1=1, v2=1, v9=1), 2.0),
        (counts(v1=1, v2=1, v3=1, v100=1), 2.5),  # even count: mean of the middle two
        (counts(v10=3, v1=1), 10.0),  # counts, not distinct values, decide
        (counts(v30=2, v20=2), 25.0),  # unsorted buckets
    ],
)
def test_median_of_counts(buckets: list[dict[str, float | int]], median: float | None) -> None:
    assert median_of_counts(buckets) == median


def test_query_keeps_to_inbound_messages_within_the_filters() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    query = build_query(Filters(start=start, channel="app"))["bool"]["filter"]
    assert {"term": {"direction": "inbound"}} in query
    assert {"range": {"received_at": {"gte": start.isoformat()}}} in query
    assert {"term": {"channel": "app"}} in query


def _group(name: str, messages: int = 10) -> GroupStats:
    return GroupStats(name, messages, 6, 9, 5, 4, 3, 42.0, 30.0)


def test_share_within_service_level_leaves_out_what_can_still_make_it() -> None:
    group = _group("x")
    # 5 of 9 expected a reply and got one, 3 are overdue: 4 within of 8 decided.
    assert group.within_share == 0.5 and group.unanswered == 4


def test_html_page_draws_heatmaps_bars_and_escapes_names() -> None:
    received = [[0] * 24 for _ in range(7)]
    received[5][23] = 4
    waits: list[list[float | None]] = [[None] * 24 for _ in range(7)]
    waits[5][23] = 2160.0
    report = GapReport(
        filters=Filters(department="stadswerken"),
        generated_at=datetime(2026, 11, 25, 12, tzinfo=UTC),
        total=_group("total"),
        out_of_hours=_group("out of office hours", 4),
        in_hours=_group("in office hours", 6),
        received=received,
        median_wait=waits,
        departments=[_group("<script>")],
        channels=[_group("whatsapp")],
        backlog=[("stadswerken", "spoed", 2, 1)],
    )
    page = render_html(report, load_rules().calendar)
    assert page.count("<svg") == 3
    assert "&lt;script&gt;" in page and "<script>" not in page
    assert "36h</td>" in page  # Saturday 23:00 waited 36 hours
    assert page.count('class="open"') == 2 * 5 * 9  # Mon-Fri 08-17 outlined, both heatmaps
    assert "department stadswerken" in page


NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def doc(answered: bool, due: str | None, deleted: bool = False) -> dict[str, Any]:
    return {"deleted": deleted, "response": {"answered": answered, "due_at": due}}


CASES = [
    # (document, expects a reply, in the backlog, overdue)
    (doc(False, "2026-11-24T10:00:00+00:00"), True, True, True),
    (doc(False, "2026-11-26T10:00:00+00:00"), True, True, False),
    (doc(True, "2026-11-24T10:00:00+00:00"), True, False, False),
    (doc(False, None), False, False, False),  # expects no reply
    # Deleted before any reply: out of the backlog and never a miss.
    (doc(False, "2026-11-24T10:00:00+00:00", deleted=True), False, False, False),
    # Deleted after the reply: still counts as answered.
    (doc(True, "2026-11-24T10:00:00+00:00", deleted=True), True, False, False),
]


@pytest.mark.integration
def test_backlog_and_misses_leave_out_deleted_and_no_reply_messages(
    services: LocalServices,
) -> None:
    """The report's filters, run by the real search server on documents under our mapping."""
    names = IndexNames(f"t{uuid.uuid4().hex[:8]}")
    es = Elasticsearch(services.elasticsearch_url)
    ensure_templates(es, names)
    index = names.messages_index(NOW)
    for i, (document, *_) in enumerate(CASES):
        es.index(index=index, id=str(i), document=document)
    es.indices.refresh(index=index)

    def found(query: dict[str, Any]) -> set[str]:
        hits = es.search(index=index, query=query, size=len(CASES))["hits"]["hits"]
        return {hit["_id"] for hit in hits}

    aggs = gaps._response_aggs(NOW)
    for column, query in enumerate(
        (aggs["expected"]["filter"], gaps._waiting(), aggs["overdue"]["filter"]), start=1
    ):
        assert found(query) == {str(i) for i, case in enumerate(CASES) if case[column]}


def test_terminal_report_fits_80_columns_with_whole_names_and_a_shaded_week() -> None:
    received = [[0] * 24 for _ in range(7)]
    received[0][9], received[5][23] = 12, 3
    report = GapReport(
        filters=Filters(),
        generated_at=datetime(2026, 11, 25, 12, tzinfo=UTC),
        total=_group("total"),
        out_of_hours=_group("out of office hours", 4),
        in_hours=_group("in office hours", 6),
        received=received,
        median_wait=[[None] * 24 for _ in range(7)],
        departments=[_group("afval-grondstoffen")],
        channels=[_group("instagram")],
        backlog=[("afval-grondstoffen", "spoed", 2, 1)],
    )
    console = Console(width=80, record=True)
    print_report(report, console)
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80
    assert not any("…" in line for line in lines if "few" not in line)  # nothing cut short
    assert any(line.split()[-2:] == ["time", "in"] or "in SL" in line for line in lines)
    assert any(line.lstrip().startswith("afval-grondstoffen ") for line in lines)
    monday = next(line for line in lines if line.startswith("ma  "))
    saturday = next(line for line in lines if line.startswith("za  "))
    assert monday[4 + 2 * 9 : 4 + 2 * 10] == "██" and monday.split()[-1] == "12"
    assert saturday[4 + 2 * 23 : 4 + 2 * 24] == "▒▒" and saturday[4:6] == "··"
