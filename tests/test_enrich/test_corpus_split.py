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
    text_key = runpy.run_path(str(CORPUS / "split.py"))["text_key"]
    texts = {name: {text_key(r["text"]) for r in rows} for name, rows in splits.items()}
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


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _row(text: str, topic: str = "afval") -> dict[str, str]:
    return {"text": text, "topic": topic, "urgency": "normaal", "intent": "melding"}


def test_split_is_append_only_and_never_grows_the_test_split(tmp_path: Path) -> None:
    split = runpy.run_path(str(CORPUS / "split.py"))
    (tmp_path / "source").mkdir()
    old = [_row(f"oude melding {n}") for n in range(3)]
    _write(tmp_path / "train.jsonl", [old[0]])
    _write(tmp_path / "dev.jsonl", [old[1]])
    _write(tmp_path / "test.jsonl", [old[2]])
    new = [_row(f"nieuwe melding nummer {n}") for n in range(200)]
    relabelled = {**old[2], "topic": "overig"}
    _write(tmp_path / "source" / "corpus-1.jsonl", [old[0], old[1], relabelled])
    # corpus-10 sorts before corpus-2 as text; numeric order must still hold.
    _write(tmp_path / "source" / "corpus-10.jsonl", [*new, _row("OUDE  melding 0")])
    _write(tmp_path / "source" / "corpus-2.jsonl", [])
    split["main"](tmp_path)
    after = {name: load_from(tmp_path / f"{name}.jsonl") for name in ("train", "dev", "test")}
    assert after["test"] == [relabelled]  # frozen, and the corrected label came from source
    assert after["train"][0] == old[0] and after["dev"][0] == old[1]
    new_dev = len(after["dev"]) - 1
    assert len(after["train"]) - 1 + new_dev == len(new)  # the case-variant duplicate is dropped
    assert 10 <= new_dev <= 50  # about 15% of 200 by text hash
    assert split["split_for_new"]("nieuwe melding nummer 7") in {"train", "dev"}
    before = {name: (tmp_path / f"{name}.jsonl").read_bytes() for name in after}
    split["main"](tmp_path)
    assert {name: (tmp_path / f"{name}.jsonl").read_bytes() for name in after} == before


def load_from(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_held_out_sets_share_no_text_with_the_splits() -> None:
    """The check set and the held-out batches measure the classifier only while nothing trains
    on them."""
    text_key = runpy.run_path(str(CORPUS / "split.py"))["text_key"]
    in_splits = {text_key(r["text"]) for name in ("train", "dev", "test") for r in load(name)}
    held_out = [CORPUS / "check" / "check.jsonl", *sorted((CORPUS / "heldout").glob("*.jsonl"))]
    assert len(held_out) >= 2  # the check set and at least one batch
    for path in held_out:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert len(rows) > 400
        shared = [r["text"] for r in rows if text_key(r["text"]) in in_splits]
        # only replies any writer writes ("👍", "Test") may coincide
        assert all(len(text.split()) <= 2 for text in shared), (path.name, shared)
