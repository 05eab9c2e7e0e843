"""`make model`: corpus -> DocBin -> `spacy train enrich/config.cfg` with a fixed seed.

Training data: the corpus's train split plus the hand-labelled sample messages; the dev split
picks the best model; the test split is never seen here (that is `make eval`). The best model is
then shipped to enrich/model/vennebroek (tracked in git, loaded by the enrich worker and
`luisterpost classify`); training scratch stays in enrich/model/training (ignored).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import spacy
from spacy.cli.train import train as spacy_train
from spacy.tokens import DocBin

import enrich.architecture  # noqa: F401  (registers luisterpost.TextCatCharBOW.v1)
from enrich.axes import cats_for
from enrich.pipeline import Enricher, raise_urgency, weights_digest

__all__ = ["build_docbins", "main"]

HERE = Path(__file__).parent
CONFIG = HERE / "config.cfg"
CORPUS = HERE / "corpus"
SAMPLES = HERE.parent / "ingest" / "samples" / "source"
MODEL_DIR = HERE / "model"
SHIPPED = MODEL_DIR / "vennebroek"


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
    config: Path = CONFIG,
) -> Path:
    """Train with spaCy's own loop; returns the path of the best pipeline."""
    train_path, dev_path = build_docbins(output / "corpus", train_rows, dev_rows)
    spacy_train(
        config,
        output,
        overrides={"paths.train": str(train_path), "paths.dev": str(dev_path), **(overrides or {})},
    )
    return output / "model-best"


def _grid() -> list[float]:
    return [round(0.5 - 0.01 * i, 2) for i in range(46)]  # 0.50 down to 0.05


def tune_thresholds(
    best: Path, dev_rows: list[dict[str, str]], targets: tuple[float, float] = (0.95, 0.95)
) -> dict[str, float]:
    """Urgency thresholds from the dev split: the largest that reach the recall targets.

    ``spoed``: spoed recall >= 0.95 at precision >= 0.70 (with the safety layer, as in
    production). ``at_least_hoog`` (on hoog + spoed scores): hoog+spoed recall >= 0.95, a margin
    over the 0.90 target: dev now holds the fresh urgency-heavy sets, whose urgent messages
    are plainer than the older ones (at one threshold, 0.95 on them against 0.89 on the older
    dev messages). Precision must stay >= 0.45, below which out-of-hours hoog alerts would be
    mostly noise. When a recall cannot be reached, the lowest threshold that keeps the precision
    is taken.
    """
    enricher = Enricher(best)
    enricher.thresholds = {}
    gold = [row["urgency"] for row in dev_rows]
    done = list(enricher.classify([row["text"] for row in dev_rows]))
    scores = [e.scores["urgency"] for e in done]
    base = [e.urgency for e in done]  # model's best label, raised by the safety layer
    chosen: dict[str, float] = {}
    plan = (
        ("spoed", {"spoed"}, targets[0], 0.70),
        ("at_least_hoog", {"spoed", "hoog"}, targets[1], 0.45),
    )
    for key, group, recall_min, precision_min in plan:
        last = None
        for limit in _grid():
            trial = {**chosen, key: limit}
            flagged = [
                raise_urgency(b, s, trial) in group for b, s in zip(base, scores, strict=True)
            ]
            hits = sum(f and g in group for f, g in zip(flagged, gold, strict=True))
            recall = hits / max(1, sum(g in group for g in gold))
            precision = hits / max(1, sum(flagged))
            if precision < precision_min:
                break  # lower thresholds only flag more
            last = limit
            if recall >= recall_min:
                break
        if last is not None:
            chosen[key] = round(last, 2)
    return chosen


def ship(best: Path, target: Path = SHIPPED, dev_rows: list[dict[str, str]] | None = None) -> Path:
    """Copy the trained pipeline where the code loads it: named, versioned, weights digested.

    Only what inference needs is written: the config, the tokenizer and the textcat weights;
    the training vocabulary's strings are left out (the tokenizer adds strings as it reads).
    """
    nlp = spacy.load(best)
    nlp.meta.update(
        name="vennebroek",
        version="1.0.0",
        description="Luisterpost topic/urgency/intent classifier (enrich/config.cfg)",
        luisterpost={
            "weights_sha256": weights_digest(nlp),
            "urgency_thresholds": tune_thresholds(best, dev_rows) if dev_rows else {},
        },
    )
    nlp.meta.pop("performance", None)  # dev scores live in reports/ and enrich/README.md
    nlp.config["paths"].update(train=None, dev=None)  # no trace of this machine's scratch dir
    scratch = target.with_name(target.name + ".new")
    shutil.rmtree(scratch, ignore_errors=True)
    nlp.to_disk(scratch, exclude=["vocab"])
    shutil.rmtree(target, ignore_errors=True)
    scratch.rename(target)
    return target


def main() -> None:
    train_rows = _rows(CORPUS / "train.jsonl")
    for path in sorted(SAMPLES.glob("part-*.jsonl")):
        train_rows += _rows(path)
    dev_rows = _rows(CORPUS / "dev.jsonl")
    best = train(MODEL_DIR / "training", train_rows, dev_rows)
    shipped = ship(best, dev_rows=dev_rows)
    size = sum(f.stat().st_size for f in shipped.rglob("*") if f.is_file()) / 1e6
    thresholds = spacy.load(shipped).meta["luisterpost"]["urgency_thresholds"]
    print(f"best pipeline: {best}; shipped: {shipped} ({size:.1f} MB); thresholds {thresholds}")


if __name__ == "__main__":
    main()
