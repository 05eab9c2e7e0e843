"""The labelled corpus has a fixed, disjoint, reproducible train/dev/test split."""

import json
import runpy
from collections import Counter
from pathlib import Path

from ingest.events import INTENTS, TOPICS, URGENCIES

CORPUS = Path(__file__).resolve().parents[2] / "enrich" / "corpus"


def load(split: str) -> list[dict[str, str]]:
    return [
        json.loads(line)
        for line in (CORPUS / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    ]


def test_splits_are_disjoint_and_use_the_label_contract() -> None:
    splits = {name: load(name) for name in ("train", "dev", "test")}
    texts = {
        name: {" ".join(r["text"].lower().split()) for r in rows} for name, rows in splits.items()
    }
    assert (
        not texts["train"] & texts["dev"]
        and not texts["train"] & texts["test"]
        and not texts["dev"] & texts["test"]
    )
    for rows in splits.values():
        for row in rows:
            assert (
                row["topic"] in TOPICS and row["urgency"] in URGENCIES and row["intent"] in INTENTS
            )
    assert sum(len(rows) for rows in splits.values()) >= 2500
    per_topic = Counter(r["topic"] for rows in splits.values() for r in rows)
    assert min(per_topic.values()) >= 120, per_topic


def test_split_is_reproducible(tmp_path: Path) -> None:
    before = {name: (CORPUS / f"{name}.jsonl").read_bytes() for name in ("train", "dev", "test")}
    runpy.run_path(str(CORPUS / "split.py"), run_name="__main__")
    assert {name: (CORPUS / f"{name}.jsonl").read_bytes() for name in before} == before
