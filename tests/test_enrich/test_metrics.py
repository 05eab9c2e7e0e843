import pytest

from enrich.axes import AXES
from enrich.evaluate import paging, targets
from enrich.metrics import caught_of_any, evaluate_axis, wilson_interval
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


def test_group_recall_counts_either_label_as_caught() -> None:
    gold = ["spoed", "hoog", "normaal", "spoed"]
    pred = ["hoog", "spoed", "spoed", "normaal"]
    assert caught_of_any(gold, pred, {"spoed", "hoog"}) == (2, 3)


def test_wilson_interval_by_hand() -> None:
    # 55 of 58: centre (p + z²/2n) / (1 + z²/n), half-width z·sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n)
    low, high = wilson_interval(55, 58)
    assert low == pytest.approx(0.8586, abs=1e-4) and high == pytest.approx(0.9823, abs=1e-4)
    assert wilson_interval(10, 10)[1] == pytest.approx(1.0) and wilson_interval(10, 10)[0] < 0.75
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_wilson_interval_narrows_with_more_messages_and_holds_the_rate() -> None:
    small, large = wilson_interval(55, 58), wilson_interval(550, 580)
    assert small[0] < large[0] < 55 / 58 < large[1] < small[1]
    # z = 1 (one standard error, the threshold margin) is narrower than 95%
    assert wilson_interval(55, 58)[0] < wilson_interval(55, 58, z=1.0)[0]


def test_targets_carry_the_counts_behind_each_rate() -> None:
    gold = ["spoed", "spoed", "spoed", "hoog", "normaal", "laag"]
    pred = ["spoed", "spoed", "hoog", "spoed", "spoed", "laag"]
    rows = [{"topic": "afval", "intent": "melding", "urgency": g} for g in gold]
    reports = {
        "topic": evaluate_axis(["afval"] * 6, ["afval"] * 6, AXES["topic"]),
        "intent": evaluate_axis(["melding"] * 6, ["melding"] * 6, AXES["intent"]),
        "urgency": evaluate_axis(gold, pred, AXES["urgency"]),
    }
    by_name = {t.name: t for t in targets(reports, rows, pred)}
    recall, precision = by_name["spoed recall"], by_name["spoed precision"]
    assert recall.count == (2, 3) and recall.measured == pytest.approx(2 / 3) and not recall.met
    assert precision.count == (2, 4)  # the hoog and normaal messages flagged spoed are false
    assert by_name["hoog+spoed recall"].count == (4, 4) and by_name["hoog+spoed recall"].met
    assert by_name["topic macro-F1"].count is None and by_name["topic macro-F1"].interval is None
    low, high = recall.interval or (1.0, 0.0)
    assert low < 2 / 3 < high


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
