"""The shipping rule (pure) and `python -m enrich.compare` (the shipped model against itself,
and against other urgency rules)."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

from enrich.axes import AXES
from enrich.compare import main as compare_main
from enrich.metrics import evaluate_axis
from enrich.pipeline import DEFAULT_MODEL
from enrich.shipping import Counts, count, verdict
from enrich.urgency import DEFAULT_RULES

SHIPPED = Counts(
    spoed=245, spoed_found=234, spoed_flagged=277, urgent=593, urgent_found=575,
    topic_f1=0.909, intent_f1=0.863,
)  # fmt: skip
CHECK = Path(__file__).resolve().parents[2] / "enrich" / "corpus" / "check" / "check.jsonl"


def test_counts_follow_the_labels() -> None:
    gold = [
        {"topic": "afval", "urgency": "spoed", "intent": "melding"},
        {"topic": "afval", "urgency": "hoog", "intent": "melding"},
        {"topic": "dieren", "urgency": "normaal", "intent": "vraag"},
    ]
    predicted = {
        "topic": ["afval", "afval", "afval"],
        "urgency": ["hoog", "spoed", "normaal"],  # the spoed caught as hoog
        "intent": ["melding", "melding", "vraag"],
    }
    reports = {
        axis: evaluate_axis([g[axis] for g in gold], predicted[axis], AXES[axis]) for axis in AXES
    }
    counts = count(reports, [g["urgency"] for g in gold], predicted["urgency"])
    assert (counts.spoed, counts.spoed_found, counts.spoed_flagged) == (1, 0, 1)
    assert (counts.urgent, counts.urgent_found) == (2, 2)
    # macro-F1 over every label of the axis: intent 2 of 6 labels right, topic afval at 0.8 of 12
    assert counts.intent_f1 == pytest.approx(2 / 6)
    assert counts.topic_f1 == pytest.approx(0.8 / 12)


def test_a_candidate_as_good_as_the_shipped_model_may_ship() -> None:
    assert verdict(SHIPPED, SHIPPED) == []
    better = replace(SHIPPED, spoed_found=240, spoed_flagged=270, topic_f1=0.92)
    assert verdict(SHIPPED, better) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"spoed_found": 231}, "spoed: finds 231 against 234, 3 fewer"),
        ({"urgent_found": 572}, "hoog+spoed: finds 572 against 575, 3 fewer"),
        ({"spoed_flagged": 400}, "spoed precision 0.585"),
        ({"topic_f1": 0.898}, "topic macro-F1 0.898 against 0.909"),
        ({"intent_f1": 0.852}, "intent macro-F1 0.852 against 0.863"),
    ],
)
def test_each_condition_can_stop_a_candidate(change: dict[str, float], reason: str) -> None:
    failed = verdict(SHIPPED, replace(SHIPPED, **change))
    assert len(failed) == 1 and failed[0].startswith(reason)


def test_the_limits_themselves_are_allowed() -> None:
    edge = replace(SHIPPED, spoed_found=232, urgent_found=573, topic_f1=0.899, intent_f1=0.853)
    assert verdict(SHIPPED, edge) == []


def test_models_counted_on_different_batches_are_not_compared() -> None:
    with pytest.raises(ValueError, match="different batches"):
        verdict(SHIPPED, replace(SHIPPED, spoed=200))


def test_compare_passes_the_shipped_model_against_itself(tmp_path: Path) -> None:
    batch = tmp_path / "batch.jsonl"
    batch.write_text("".join(CHECK.read_text(encoding="utf-8").splitlines(keepends=True)[:120]))
    reports = tmp_path / "reports"
    assert compare_main([str(batch), str(DEFAULT_MODEL), "--reports", str(reports)]) == 0
    result = json.loads((reports / "compare.json").read_text())
    assert result["may_ship"] and result["counts"]["shipped"] == result["counts"]["candidate"]
    assert result["messages"] == 120
    # each side's thresholds are recorded with its name
    meta = json.loads((DEFAULT_MODEL / "meta.json").read_text())
    tuned = meta["luisterpost"]["urgency_thresholds"]
    assert result["thresholds"] == {"shipped": tuned, "candidate": tuned}


def test_compare_weighs_a_rules_change_on_the_same_model(tmp_path: Path) -> None:
    batch = tmp_path / "batch.jsonl"
    batch.write_text("".join(CHECK.read_text(encoding="utf-8").splitlines(keepends=True)[:120]))
    silent = tmp_path / "silent.yaml"  # a safety layer that never fires
    silent.write_text(
        "version: 1\ncategories:\n  never:\n    description: nothing real\n"
        "    phrases:\n      - xyzzy nooit\n"
    )
    reports = tmp_path / "reports"
    args = [str(batch), str(DEFAULT_MODEL), "--shipped-rules", str(silent)]
    assert compare_main([*args, "--reports", str(reports)]) in (0, 1)
    result = json.loads((reports / "compare.json").read_text())
    assert result["rules"] == {"shipped": str(silent), "candidate": str(DEFAULT_RULES)}
    shipped, candidate = result["counts"]["shipped"], result["counts"]["candidate"]
    assert shipped["alone"] == candidate["alone"]  # the same model
    assert candidate["spoed_found"] > shipped["spoed_found"]  # the shipped rules catch more


def test_compare_refuses_a_missing_rules_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = tmp_path / "batch.jsonl"
    batch.write_text("".join(CHECK.read_text(encoding="utf-8").splitlines(keepends=True)[:5]))
    missing = tmp_path / "no-such-rules.yaml"
    args = [str(batch), str(DEFAULT_MODEL), "--candidate-rules", str(missing)]
    assert compare_main([*args, "--reports", str(tmp_path)]) == 2
    assert f"no urgency rules file: {missing}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"text": "boom om", "topic": "groen", "urgency": "spoed", "intent": "melding"}\n',
         "batch.jsonl:1: topic must be one of"),
        ("not json\n", "batch.jsonl:1: not JSON"),
        ('\n["a list"]\n', "batch.jsonl:2: not a JSON object"),
        ("\n", "no labelled messages"),
    ],
)  # fmt: skip
def test_unusable_batches_get_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    batch = tmp_path / "batch.jsonl"
    batch.write_text(content)
    assert compare_main([str(batch), str(DEFAULT_MODEL), "--reports", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
