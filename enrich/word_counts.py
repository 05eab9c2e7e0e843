"""`python -m enrich.word_counts`: the commonest words of the training messages, for the rules.

Writes ``enrich/data/word_counts.tsv``: each of the 3,000 commonest lowercase tokens of the
train split with the number of messages that use it. The urgency rules' prefilter files each
pattern under its rarest word condition by these counts, which keeps common words ("van",
"staat", "!") from waking patterns up. It changes speed only, never what the rules match.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import spacy

from enrich.urgency import DEFAULT_WORD_COUNTS

__all__ = ["count_words", "main"]

TRAIN = Path(__file__).parent / "corpus" / "train.jsonl"
TOP = 3_000


def count_words(texts: Iterable[str], top: int = TOP) -> list[tuple[str, int]]:
    """(word, messages using it) for the ``top`` commonest lowercase tokens, commonest first."""
    tokenizer = spacy.blank("nl").tokenizer
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update({token.lower_ for token in tokenizer(text) if not token.is_space})
    # ties broken by the word, so the cut at ``top`` is the same on every run
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]


def main(source: Path = TRAIN, out: Path = DEFAULT_WORD_COUNTS) -> None:
    texts = [json.loads(line)["text"] for line in source.open(encoding="utf-8") if line.strip()]
    rows = count_words(texts)
    header = f"# the {len(rows):,} commonest words of {len(texts):,} training messages\n"
    out.write_text(header + "".join(f"{w}\t{n}\n" for w, n in rows), encoding="utf-8")
    print(f"written: {out} ({len(rows):,} words)")


if __name__ == "__main__":
    main()
