"""Architecture comparison behind enrich/config.cfg: train variants, score them on the dev split.

    .venv/bin/python -m enrich.experiments [NAME ...]

Each variant is enrich/config.cfg with its model block and training settings replaced. Results
(dev macro-F1 per axis, spoed recall, textcat speed, model size, training minutes) are appended
to reports/architecture.jsonl; enrich/README.md records the outcome. Never touches the test split.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import spacy
from spacy.util import load_config

import enrich.architecture  # noqa: F401  (registers luisterpost.TextCatCharBOW.v1)
from enrich.axes import AXES
from enrich.evaluate import evaluate_docs
from enrich.train import CONFIG, CORPUS, SAMPLES, _rows, train

REPORTS = Path(__file__).parent.parent / "reports"

BOW = "spacy.TextCatBOW.v3"
CHAR = "luisterpost.TextCatCharBOW.v1"
VARIANTS: dict[str, dict[str, Any]] = {
    "bow-orth2-256k": {"model": {"@architectures": BOW, "ngram_size": 2, "length": 262144}},
    "bow-orth2-64k": {"model": {"@architectures": BOW, "ngram_size": 2, "length": 65536}},
    "char-lower2-c35-64k": {"model": {"@architectures": CHAR, "ngram_size": 2, "length": 65536}},
    "char-lower2-c35-128k": {"model": {"@architectures": CHAR, "ngram_size": 2, "length": 131072}},
    "char-lower1-c35-64k": {"model": {"@architectures": CHAR, "ngram_size": 1, "length": 65536}},
    "char-lower2-c24-64k": {
        "model": {"@architectures": CHAR, "ngram_size": 2, "char_min": 2, "char_max": 4},
    },
    "char-lower2-c35-64k-drop0.3": {
        "model": {"@architectures": CHAR, "ngram_size": 2, "length": 65536},
        "training": {"dropout": 0.3},
    },
    "char-lower2-c24-64k-drop0.3": {
        "model": {"@architectures": CHAR, "ngram_size": 2, "char_min": 2, "char_max": 4},
        "training": {"dropout": 0.3},
    },
    "char-lower1-c35-64k-softmax": {
        "model": {"@architectures": CHAR, "ngram_size": 1, "length": 65536, "groups": [12, 4, 6]},
    },
    "char-lower1-c35-64k-softmax-lr3": {
        "model": {"@architectures": CHAR, "ngram_size": 1, "length": 65536, "groups": [12, 4, 6]},
        "training": {"optimizer.learn_rate": 0.003},
    },
    "char-lower1-c35-256k-softmax": {
        "model": {"@architectures": CHAR, "ngram_size": 1, "length": 262144, "groups": [12, 4, 6]},
    },
    "char-lower1-c35-64k-axis": {
        "model": {"@architectures": CHAR, "ngram_size": 1, "length": 65536},
        "axis_scorer": True,
    },
    "char-lower1-c35-64k-softmax-axis": {
        "model": {"@architectures": CHAR, "ngram_size": 1, "length": 65536, "groups": [12, 4, 6]},
        "axis_scorer": True,
    },
    "char-lower2-c35-256k-softmax-axis": {
        "model": {"@architectures": CHAR, "ngram_size": 2, "length": 262144, "groups": [12, 4, 6]},
        "axis_scorer": True,
    },
    "char-lower1-c35-64k-avg-axis": {
        "model": {"@architectures": CHAR, "ngram_size": 1, "length": 65536},
        "axis_scorer": True,
        "training": {"optimizer.use_averages": True},
    },
    "char-lower1-c35-64k-softmax-avg-axis": {
        "model": {"@architectures": CHAR, "ngram_size": 1, "length": 65536, "groups": [12, 4, 6]},
        "axis_scorer": True,
        "training": {"optimizer.use_averages": True},
    },
    "char-lower1-c35-64k-noL2-axis": {
        "model": {"@architectures": CHAR, "ngram_size": 1, "length": 65536},
        "axis_scorer": True,
        "training": {"optimizer.L2": 0.0},
    },
    "char-lower1-c35-64k-lr3": {
        "model": {"@architectures": CHAR, "ngram_size": 1, "length": 65536},
        "training": {"optimizer.learn_rate": 0.003},
    },
    "ensemble-w64": {
        "model": {
            "@architectures": "spacy.TextCatEnsemble.v2",
            "nO": None,
            "linear_model": {
                "@architectures": BOW,
                "exclusive_classes": False,
                "ngram_size": 2,
                "no_output_layer": False,
                "length": 65536,
            },
            "tok2vec": {
                "@architectures": "spacy.Tok2Vec.v2",
                "embed": {
                    "@architectures": "spacy.MultiHashEmbed.v2",
                    "width": 64,
                    "rows": [5000, 2500, 2500, 2500],
                    "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
                    "include_static_vectors": False,
                },
                "encode": {
                    "@architectures": "spacy.MaxoutWindowEncoder.v2",
                    "width": 64,
                    "window_size": 1,
                    "maxout_pieces": 3,
                    "depth": 2,
                },
            },
        }
    },
}


VARIANTS["ensemble-w96-axis"] = {
    "model": {
        **VARIANTS["ensemble-w64"]["model"],
        "tok2vec": {
            **VARIANTS["ensemble-w64"]["model"]["tok2vec"],
            "embed": {
                **VARIANTS["ensemble-w64"]["model"]["tok2vec"]["embed"],
                "width": 96,
                "attrs": ["LOWER", "PREFIX", "SUFFIX", "SHAPE"],
                "rows": [10000, 5000, 5000, 2500],
            },
            "encode": {
                **VARIANTS["ensemble-w64"]["model"]["tok2vec"]["encode"],
                "width": 96,
                "depth": 3,
            },
        },
    },
    "axis_scorer": True,
}


VARIANTS["embed-w64-lr0.003"] = {
    "model": {"@architectures": "luisterpost.TextCatCharEmbed.v1", "width": 64},
    "axis_scorer": True,
    "training": {"optimizer.learn_rate": 0.003},
}
VARIANTS["bow-embed-w64-lr0.003"] = {
    "model": {"@architectures": "luisterpost.TextCatCharBOWEmbed.v1", "width": 64},
    "axis_scorer": True,
    "training": {"optimizer.learn_rate": 0.003},
}

VARIANTS["char-lower2-c35-256k-avg"] = {
    "model": {"@architectures": CHAR, "ngram_size": 2, "length": 262144},
}
VARIANTS["char-lower2-c35-128k-avg"] = {
    "model": {"@architectures": CHAR, "ngram_size": 2, "length": 131072},
}
VARIANTS["char-lower1-c36-128k-avg"] = {
    "model": {"@architectures": CHAR, "ngram_size": 1, "char_max": 6, "length": 131072},
}
# Re-checked once the corpus had doubled (session 8): a larger table, and word trigrams.
VARIANTS["char-lower2-c35-512k-avg"] = {
    "model": {"@architectures": CHAR, "ngram_size": 2, "length": 524288},
}
VARIANTS["char-lower3-c35-256k-avg"] = {
    "model": {"@architectures": CHAR, "ngram_size": 3, "length": 262144},
}
# The same two tables with a second seed, to tell a gain from the noise of one run.
VARIANTS["char-lower2-c35-256k-avg-seed2"] = {
    **VARIANTS["char-lower2-c35-256k-avg"],
    "training": {"seed": 20261203},
}
VARIANTS["char-lower2-c35-512k-avg-seed2"] = {
    **VARIANTS["char-lower2-c35-512k-avg"],
    "training": {"seed": 20261203},
}


def _config(variant: dict[str, Any], path: Path) -> Path:
    config = load_config(CONFIG)
    model = dict(variant["model"])
    if model["@architectures"] == BOW:
        model.setdefault("exclusive_classes", False)
        model.setdefault("no_output_layer", False)
    model.setdefault("nO", None)
    config["components"]["textcat_multilabel"]["model"] = model
    # label order = axis order, which the per-axis softmax groups rely on
    config["initialize"]["components"]["textcat_multilabel"] = {
        "labels": [f"{axis}={label}" for axis, labels in AXES.items() for label in labels]
    }
    if variant.get("axis_scorer"):
        config["components"]["textcat_multilabel"]["scorer"] = {
            "@scorers": "luisterpost.axis_scorer.v1"
        }
        config["training"]["score_weights"] = {
            "cats_topic_f1": 0.4,
            "cats_intent_f1": 0.3,
            "cats_urgency_f1": 0.3,
            "cats_score": 0.0,
        }
    for key, value in variant.get("training", {}).items():
        section, _, name = key.rpartition(".")
        (config["training"][section] if section else config["training"])[name] = value
    config.to_disk(path)
    return path


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def run(name: str) -> dict[str, Any]:
    train_rows = _rows(CORPUS / "train.jsonl")
    for path in sorted(SAMPLES.glob("part-*.jsonl")):
        train_rows += _rows(path)
    dev = _rows(CORPUS / "dev.jsonl")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        started = time.perf_counter()
        best = train(out, train_rows, dev, config=_config(VARIANTS[name], out / "config.cfg"))
        minutes = (time.perf_counter() - started) / 60
        nlp = spacy.load(best)
        texts = [row["text"] for row in dev] * 5
        list(nlp.pipe(texts[:200]))  # warm the caches
        started = time.perf_counter()
        docs = list(nlp.pipe(texts, batch_size=256))
        speed = len(texts) / (time.perf_counter() - started)
        reports = evaluate_docs(docs[: len(dev)], dev)
        result = {
            "variant": name,
            "dev_topic_f1": round(reports["topic"].macro_f1, 3),
            "dev_urgency_f1": round(reports["urgency"].macro_f1, 3),
            "dev_intent_f1": round(reports["intent"].macro_f1, 3),
            "dev_spoed_recall": round(reports["urgency"].per_class["spoed"].recall, 3),
            "textcat_docs_per_s": round(speed),
            "model_mb": round(_size(best) / 1e6, 1),
            "train_minutes": round(minutes, 1),
            "train_rows": len(train_rows),
        }
        shutil.rmtree(out, ignore_errors=True)
    return result


def main(names: list[str]) -> None:
    REPORTS.mkdir(exist_ok=True)
    for name in names or list(VARIANTS):
        result = run(name)
        print(json.dumps(result), flush=True)
        with (REPORTS / "architecture.jsonl").open("a", encoding="utf-8") as out:
            out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
