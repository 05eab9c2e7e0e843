"""The training and evaluation code path, on a small slice so it runs in seconds."""

import json
from pathlib import Path

import numpy as np
import pytest
import spacy
from spacy.language import Language

from enrich.axes import AXES, best_per_axis, cats_for
from enrich.evaluate import evaluate
from enrich.pipeline import TEXTCAT, Enricher, model_name, weights_digest
from enrich.train import (
    EARLIEST_FILES,
    SHIPPED,
    UNTUNED_FILES,
    average_members,
    rows_from_files,
    ship,
    train,
)

CORPUS = Path(__file__).resolve().parents[2] / "enrich" / "corpus"


def rows(split: str, n: int) -> list[dict[str, str]]:
    return [
        json.loads(line)
        for line in (CORPUS / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()[:n]
    ]


def test_cats_are_one_hot_per_axis_and_round_trip() -> None:
    labels = {"topic": "afval", "urgency": "spoed", "intent": "melding"}
    cats = cats_for(labels)
    assert sum(cats.values()) == 3.0 and len(cats) == sum(len(v) for v in AXES.values())
    assert {axis: label for axis, (label, _) in best_per_axis(cats).items()} == labels


def test_spacy_train_produces_a_pipeline_that_evaluates(tmp_path: Path) -> None:
    overrides = {"training.max_epochs": 3, "training.max_steps": 90, "training.eval_frequency": 30}
    best = train(tmp_path, rows("train", 600), rows("dev", 60), overrides)
    reports = evaluate(best, rows("test", 60))
    assert set(reports) == set(AXES)
    assert all(
        0.0 <= r.macro_f1 <= 1.0 and sum(r.confusion.values()) == 60 for r in reports.values()
    )
    # even three short epochs learn something: better than always answering one topic
    assert reports["topic"].accuracy > max(
        sum(row["topic"] == t for row in rows("test", 60)) / 60 for t in AXES["topic"]
    )


SHORT = {"training.max_epochs": 1, "training.max_steps": 10, "training.eval_frequency": 5}


def _logits(nlp: Language, texts: list[str]) -> np.ndarray:
    """The BOW's output before the logistic: features, then the hashed linear layer."""
    features, linear, _ = nlp.get_pipe(TEXTCAT).model.layers
    return np.asarray(linear.predict(features.predict([nlp.make_doc(t) for t in texts])))


def test_the_mean_of_members_scores_the_mean_of_their_logits(tmp_path: Path) -> None:
    members = [
        train(tmp_path / str(seed), rows("train", 100), rows("dev", 20), {**SHORT, "training.seed": seed})
        for seed in (1, 2)
    ]  # fmt: skip
    texts = [
        "grofvuil op de stoep",
        "er ligt een boom over de weg!!",
        "wanneer is het gemeentehuis open",
    ]
    first, second = (_logits(spacy.load(path), texts) for path in members)
    assert not np.allclose(first, second, atol=1e-3)  # the seeds learnt different weights
    mean = average_members(members)
    assert np.allclose(_logits(mean, texts), (first + second) / 2, atol=1e-5)


def test_members_of_different_shapes_are_refused(tmp_path: Path) -> None:
    small = {**SHORT, "components.textcat_multilabel.model.length": 1024}
    members = [
        train(tmp_path / "a", rows("train", 50), rows("dev", 10), SHORT),
        train(tmp_path / "b", rows("train", 50), rows("dev", 10), small),
    ]
    with pytest.raises(ValueError, match="members differ in shape"):
        average_members(members)


def test_the_digest_names_the_weights_whatever_strings_the_vocabulary_holds() -> None:
    nlp = spacy.load(SHIPPED)
    digest = weights_digest(nlp)
    nlp.vocab.strings.add("een woord dat de training nooit zag")  # as a training run's vocab
    assert weights_digest(nlp) == digest
    linear = next(
        node for node in nlp.get_pipe(TEXTCAT).model.walk() if node.name == "sparse_linear"
    )
    bias = linear.get_param("b").copy()
    bias[0] += 0.001
    linear.set_param("b", bias)
    assert weights_digest(nlp) != digest


def test_the_name_carries_the_weights_digest_and_the_thresholds() -> None:
    # the same weights with another spoed threshold flag other messages: another name
    nlp = spacy.blank("nl")
    nlp.meta.update(name="vennebroek", version="1.0.0")
    assert model_name(nlp) == "textcat/vennebroek-1.0.0"
    shipped = {"weights_sha256": "7ac000a9" + "0" * 56}
    nlp.meta["luisterpost"] = {
        **shipped,
        "urgency_thresholds": {"spoed": 0.5, "at_least_hoog": 0.07},
    }
    before = model_name(nlp)
    assert before == "textcat/vennebroek-1.0.0+7ac000a9.spoed50.hoog07"
    nlp.meta["luisterpost"] = {
        **shipped,
        "urgency_thresholds": {"spoed": 0.27, "at_least_hoog": 0.07},
    }
    assert model_name(nlp) == "textcat/vennebroek-1.0.0+7ac000a9.spoed27.hoog07" != before


def test_shipped_pipeline_is_small_named_and_loads_in_the_enricher(tmp_path: Path) -> None:
    overrides = {"training.max_epochs": 1, "training.max_steps": 10, "training.eval_frequency": 5}
    best = train(tmp_path / "training", rows("train", 100), rows("dev", 20), overrides)
    shipped = ship(best, tmp_path / "shipped")
    assert not (tmp_path / "shipped.new").exists() and not (shipped / "vocab").exists()
    enricher = Enricher(shipped)
    assert enricher.name.startswith("textcat/vennebroek-1.0.0+")
    assert [e.topic in AXES["topic"] for e in enricher.classify(["", "grofvuil"])] == [True, True]
    assert "train.spacy" not in (shipped / "config.cfg").read_text()


def test_the_shipped_model_is_in_the_repository_and_small() -> None:
    files = [f for f in SHIPPED.rglob("*") if f.is_file()]
    assert (SHIPPED / "config.cfg") in files
    # 2^18 hashed rows x 22 labels of float32 weights (word bigrams need the rows): about 23 MB,
    # well under GitHub's 50 MB warning for one file.
    assert sum(f.stat().st_size for f in files) < 30_000_000


def test_rows_from_files_finds_the_rows_of_the_named_corpus_files(tmp_path: Path) -> None:
    (tmp_path / "source").mkdir()
    for number in (*EARLIEST_FILES, *UNTUNED_FILES):
        (tmp_path / "source" / f"corpus-{number}.jsonl").write_text("")
    for number, text in (
        (1, "Boom  over de weg"),
        (8, "gaslucht"),
        (9, "lamp kapot"),
        (101, "ijs"),
        (112, "dijk lekt"),
        (113, "rook uit de kelder"),
        (115, "kind in de sloot"),
    ):
        row = {"text": text, "urgency": "spoed"}
        (tmp_path / "source" / f"corpus-{number}.jsonl").write_text(json.dumps(row) + "\n")
    dev = [
        {"text": t}
        for t in (
            "lamp kapot",
            "boom over de weg",
            "GASLUCHT",
            "iets anders",
            "IJS",
            "dijk  lekt",
            "Rook uit de kelder",
            "kind in de sloot",
        )
    ]
    assert rows_from_files(dev, EARLIEST_FILES, tmp_path) == [1, 2]  # corpus-9 is not among them
    assert rows_from_files(dev, UNTUNED_FILES, tmp_path) == [4, 5, 6, 7]
