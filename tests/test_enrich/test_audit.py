"""The label audits (enrich/corpus/audit/): their record matches the data, and
the evaluation can put every audited label back to report the targets on both labellings."""

import json
from pathlib import Path

from enrich.corpus.split import text_key
from enrich.evaluate import AUDITS, DATASETS, labels_before_audits

AXES = ("topic", "urgency", "intent")
CORPUS = Path(__file__).parents[2] / "enrich" / "corpus"


def _rows(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def test_every_audited_label_is_the_adjudicated_one_in_the_data() -> None:
    entries = [e for path in sorted(AUDITS.glob("*.jsonl")) for e in _rows(path)]
    assert len(entries) > 200
    audited = {**DATASETS, **{name: CORPUS / f"{name}.jsonl" for name in ("train", "dev")}}
    rows = {name: {text_key(r["text"]): r for r in _rows(path)} for name, path in audited.items()}
    # held-out batches that later joined the corpus (enrich/corpus/heldout/README.md)
    trained = {**rows["train"], **rows["dev"]}
    joined = (
        "batch-h",
        "batch-j",
        "batch-l",
        "batch-m",
        "batch-o",
        "batch-r",
        "batch-p",
        "batch-s",
    )
    rows.update({name: trained for name in joined})
    for e in entries:
        assert e["axis"] in AXES and e["stored"] != e["blind"]  # only disputes are recorded
        assert e["adjudicated"] in (e["stored"], e["blind"]) or e.get("note")
        assert rows[e["set"]][text_key(e["text"])][e["axis"]] == e["adjudicated"], e["text"]


def test_labels_before_audits_restores_what_an_audit_changed_and_nothing_else(
    tmp_path: Path,
) -> None:
    audit = [
        {"set": "test", "text": "Boom over  de weg", "axis": "urgency", "stored": "hoog",
         "blind": "spoed", "adjudicated": "spoed"},
        {"set": "test", "text": "boom over de weg", "axis": "topic", "stored": "groen-water",
         "blind": "wegen-verkeer", "adjudicated": "groen-water"},  # kept: nothing to restore
        {"set": "check", "text": "lantaarn kapot", "axis": "intent", "stored": "melding",
         "blind": "klacht", "adjudicated": "klacht"},  # another set
    ]  # fmt: skip
    (tmp_path / "2026-12-03.jsonl").write_text("".join(json.dumps(e) + "\n" for e in audit))
    rows = [
        {"text": "boom over de weg", "topic": "groen-water", "urgency": "spoed", "intent": "melding"},
        {"text": "lantaarn kapot", "topic": "wegen-verkeer", "urgency": "normaal", "intent": "klacht"},
    ]  # fmt: skip
    before = labels_before_audits("test", rows, tmp_path)
    assert before[0] == {**rows[0], "urgency": "hoog"}
    assert before[1] == rows[1]
    assert rows[0]["urgency"] == "spoed"  # the input rows are left as they are
