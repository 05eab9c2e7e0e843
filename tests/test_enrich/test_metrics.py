import pytest

from enrich.metrics import evaluate_axis, recall_of_any


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
