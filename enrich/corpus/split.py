"""Keep the fixed train/dev/test split of the labelled corpus up to date with `source/`.

The split is append-only, so scores stay comparable as the corpus grows:

- a message keeps the split it was first given (the split files record where each text went;
  the rows themselves, labels included, always come from `source/`);
- the test split is frozen: the 806 messages split off 70/15/15 by topic on 2026-12-02 stay
  the held-out set, and new messages never enter it;
- a new message goes to dev when a hash of its text falls in the lowest 15%, else to train,
  so the assignment depends on the text alone, not on what else was added in the same batch.

Duplicate texts (after lowercasing and collapsing whitespace) are dropped, so no text is in two
splits. Running it twice changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

HERE = Path(__file__).parent
SPLITS = ("train", "dev", "test")
DEV_SHARE = 0.15


def text_key(text: str) -> str:
    """The form two texts must share to count as the same message."""
    return " ".join(text.lower().split())


def split_for_new(key: str) -> str:
    """train or dev for a message no split holds yet, from its text alone (never test)."""
    bucket = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:4], "big") / 2**32
    return "dev" if bucket < DEV_SHARE else "train"


def read_jsonl(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def main(corpus: Path = HERE) -> None:
    """Rewrite corpus/{train,dev,test}.jsonl from corpus/source/corpus-N.jsonl."""
    assigned = {
        text_key(row["text"]): name
        for name in SPLITS
        for row in read_jsonl(corpus / f"{name}.jsonl")
    }
    splits: dict[str, list[dict[str, str]]] = {name: [] for name in SPLITS}
    seen: set[str] = set()
    added = 0
    # Rows come from source/ (so a corrected label reaches its split); the split files only say
    # where a known text belongs.
    for path in sorted((corpus / "source").glob("corpus-*.jsonl"), key=_source_order):
        for row in read_jsonl(path):
            key = text_key(row["text"])
            if key in seen:
                continue
            seen.add(key)
            if key not in assigned:
                added += 1
            splits[assigned.get(key) or split_for_new(key)].append(row)
    for name, rows in splits.items():
        with (corpus / f"{name}.jsonl").open("w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"{name}: {len(rows)}")
    print(f"new messages added: {added}")


def _source_order(path: Path) -> int:
    """corpus-10 after corpus-9: numeric order, so new files append at the end."""
    return int(path.stem.rsplit("-", 1)[1])


if __name__ == "__main__":
    main()
