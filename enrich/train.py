"""`make model`: corpus -> DocBin -> `spacy train enrich/config.cfg` with a fixed seed.

Training data: the corpus's train split plus the hand-labelled sample messages; the dev split
picks the best model; the test split is never seen here (that is `make eval`).
"""

from __future__ import annotations

import json
from pathlib import Path

import spacy
from spacy.cli.train import train as spacy_train
from spacy.tokens import DocBin

from enrich.axes import cats_for

__all__ = ["build_docbins", "main"]

HERE = Path(__file__).parent
CONFIG = HERE / "config.cfg"
CORPUS = HERE / "corpus"
SAMPLES = HERE.parent / "ingest" / "samples" / "source"
MODEL_DIR = HERE / "model"


def _rows(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def build_docbins(
    out: Path, train_rows: list[dict[str, str]], dev_rows: list[dict[str, str]]
) -> tuple[Path, Path]:
    """Write train.spacy and dev.spacy with one-hot categories per axis."""
    nlp = spacy.blank("nl")
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, rows in (("train", train_rows), ("dev", dev_rows)):
        docbin = DocBin()
        for row in rows:
            doc = nlp.make_doc(row["text"])
            doc.cats = cats_for(row)
            docbin.add(doc)
        path = out / f"{name}.spacy"
        docbin.to_disk(path)
        paths.append(path)
    return paths[0], paths[1]


def train(
    output: Path,
    train_rows: list[dict[str, str]],
    dev_rows: list[dict[str, str]],
    overrides: dict[str, object] | None = None,
) -> Path:
    """Train with spaCy's own loop; returns the path of the best pipeline."""
    train_path, dev_path = build_docbins(output / "corpus", train_rows, dev_rows)
    spacy_train(
        CONFIG,
        output,
        overrides={"paths.train": str(train_path), "paths.dev": str(dev_path), **(overrides or {})},
    )
    return output / "model-best"


def main() -> None:
    train_rows = _rows(CORPUS / "train.jsonl")
    for path in sorted(SAMPLES.glob("part-*.jsonl")):
        train_rows += _rows(path)
    best = train(MODEL_DIR / "training", train_rows, _rows(CORPUS / "dev.jsonl"))
    print(f"best pipeline: {best}")


if __name__ == "__main__":
    main()
