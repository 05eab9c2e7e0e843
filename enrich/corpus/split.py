"""Make the fixed train/dev/test split of the labelled corpus (70/15/15, stratified by topic).

Deterministic (fixed seed), so `make model` and `make eval` always see the same held-out set;
duplicate texts are dropped first so no text is in two splits.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).parent
SEED = 20261125
SHARES = (("train", 0.70), ("dev", 0.15), ("test", 0.15))


def main() -> None:
    rows = [
        json.loads(line)
        for path in sorted((HERE / "source").glob("corpus-*.jsonl"))
        for line in path.open(encoding="utf-8")
        if line.strip()
    ]
    seen: set[str] = set()
    by_topic: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        key = " ".join(row["text"].lower().split())
        if key not in seen:
            seen.add(key)
            by_topic[row["topic"]].append(row)
    rng = random.Random(SEED)
    splits: dict[str, list[dict[str, str]]] = {name: [] for name, _ in SHARES}
    for topic in sorted(by_topic):
        items = by_topic[topic]
        rng.shuffle(items)
        cut_train = round(len(items) * SHARES[0][1])
        cut_dev = cut_train + round(len(items) * SHARES[1][1])
        splits["train"] += items[:cut_train]
        splits["dev"] += items[cut_train:cut_dev]
        splits["test"] += items[cut_dev:]
    for name, items in splits.items():
        rng.shuffle(items)
        with (HERE / f"{name}.jsonl").open("w", encoding="utf-8") as out:
            for item in items:
                out.write(json.dumps(item, ensure_ascii=False) + "\n")
        print(f"{name}: {len(items)}")


if __name__ == "__main__":
    main()
