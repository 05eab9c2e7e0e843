import pytest

from enrich.evaluate import paging
from enrich.metrics import evaluate_axis, recall_of_any
from ingest.events import Enrichment
from route.rules import load_rules


def test_per_class_scores_by_hand() -> None:
    gold = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "a", "b", "b", "c", "c"]
    report = evaluate_axis(gold, pred, ["a", "b", "c"])
    a, b, c = (report.per_class[x] for x in "abc")
    assert (a.precision, a.recall, a.support) == (1.0, 2 / 3, 3)
    assert a.f1 == pytest.approx(0.8)
    assert (b.precision, b.recall) == (0.5, 0.5)
    assert (c.precision, c.recall) == (0.5, 1.0)
    assert report.macro_f1 == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert report.confusion[("a", "b")] == 1 and report.accuracy == pytest.approx(4 / 6)


def test_absent_label_scores_zero() -> None:
    report = evaluate_axis(["a", "a"], ["a", "a"], ["a", "b"])
    assert report.per_class["b"].f1 == 0.0 and report.macro_f1 == 0.5


def test_group_recall() -> None:
    gold = ["spoed", "hoog", "normaal", "spoed"]
    pred = ["hoog", "spoed", "spoed", "normaal"]
    assert recall_of_any(gold, pred, {"spoed", "hoog"}) == pytest.approx(2 / 3)


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError):
        evaluate_axis(["a"], [], ["a"])


def _enrichment(urgency: str, score: float) -> Enrichment:
    return Enrichment(
        topic="afval", urgency=urgency, intent="melding", topic_score=0.9,
        urgency_score=score, intent_score=0.9, classifier="test",
    )  # fmt: skip


def test_paging_counts_what_the_routing_rules_page_out_of_office_hours() -> None:
    policy = load_rules().alerts  # spoed always; hoog from min_score (0.3) up, out of hours
    limit = policy.min_score["hoog"]
    enrichments = [
        _enrichment("spoed", 0.2),  # pages whatever its score
        _enrichment("hoog", limit),  # pages
        _enrichment("hoog", limit - 0.01),  # queue only
        _enrichment("normaal", 0.99),  # queue only
        _enrichment("spoed", 1.0),  # pages, labelled normaal: a false alarm
    ]
    gold = [{"urgency": u} for u in ("spoed", "hoog", "hoog", "hoog", "normaal")]
    pages = paging(enrichments, gold, policy)
    assert (pages.pages, pages.urgent_pages, pages.urgent) == (3, 2, 4)
    assert pages.precision == pytest.approx(2 / 3) and pages.recall == pytest.approx(2 / 4)
