"""The classifier's own layers and decision rules: per-axis softmax, axis scorer, urgency raise."""

from typing import Any

import numpy as np
import pytest
import spacy
from spacy.tokens import Doc
from spacy.training import Example
from thinc.api import Model, NumpyOps
from thinc.types import Floats2d

from enrich.architecture import score_axes, softmax_per_group
from enrich.axes import cats_for
from enrich.pipeline import raise_urgency


def test_softmax_per_group_normalises_each_axis_and_passes_the_gradient_through() -> None:
    layer = softmax_per_group([3, 2])
    layer.initialize()
    logits = np.array([[1.0, 2.0, 3.0, -5.0, 5.0], [0.0, 0.0, 0.0, 1.0, 1.0]], dtype="f")
    out, backprop = layer(logits, is_train=True)
    assert np.allclose(out[:, :3].sum(axis=1), 1.0) and np.allclose(out[:, 3:].sum(axis=1), 1.0)
    assert out[0, 2] > out[0, 1] > out[0, 0] and out[0, 4] > 0.99
    assert np.allclose(out[1], [1 / 3, 1 / 3, 1 / 3, 0.5, 0.5])
    gradient = NumpyOps().alloc2f(2, 5) + 0.25
    assert backprop(gradient) is gradient  # scores - truths is the softmax cross-entropy gradient


def test_softmax_per_group_refuses_groups_that_do_not_cover_the_outputs() -> None:
    layer = softmax_per_group([3, 3])
    layer.initialize()
    with pytest.raises(ValueError, match="do not add up"):
        layer(np.zeros((1, 5), dtype="f"), is_train=False)


def test_axis_scorer_scores_the_best_label_per_axis() -> None:
    nlp = spacy.blank("nl")
    gold = [
        {"topic": "afval", "urgency": "normaal", "intent": "melding"},
        {"topic": "dieren", "urgency": "spoed", "intent": "melding"},
    ]
    examples = []
    for labels, guess in zip(gold, ["afval", "afval"], strict=True):
        predicted = nlp.make_doc("tekst")
        predicted.cats = cats_for({**labels, "topic": guess})
        examples.append(Example(predicted, nlp.make_doc("tekst")))
        examples[-1].reference.cats = cats_for(labels)
    scores = score_axes(examples)
    # macro over every label of the axis; a label neither present nor guessed scores 0
    assert scores["cats_urgency_f1"] == pytest.approx(2 / 4)  # normaal and spoed right
    assert scores["cats_intent_f1"] == pytest.approx(1 / 6)  # melding right
    assert scores["cats_topic_f1"] == pytest.approx((2 / 3) / 12)  # afval P 0.5 R 1, dieren 0
    assert "cats_score" in scores  # spaCy's own scores stay available


SCORES = {"spoed": 0.30, "hoog": 0.25, "normaal": 0.40, "laag": 0.05}


@pytest.mark.parametrize(
    ("best", "thresholds", "expected"),
    [
        ("normaal", {}, "normaal"),
        ("normaal", {"spoed": 0.30}, "spoed"),
        ("normaal", {"spoed": 0.31}, "normaal"),
        ("normaal", {"spoed": 0.31, "at_least_hoog": 0.55}, "hoog"),  # 0.25 + 0.30
        ("normaal", {"spoed": 0.31, "at_least_hoog": 0.56}, "normaal"),
        ("spoed", {"at_least_hoog": 0.10}, "spoed"),  # only ever raises
        ("hoog", {"spoed": 0.50, "at_least_hoog": 0.10}, "hoog"),
    ],
)
def test_urgency_is_raised_by_thresholds_and_never_lowered(
    best: str, thresholds: dict[str, float], expected: str
) -> None:
    assert raise_urgency(best, SCORES, thresholds) == expected


def test_mean_features_weigh_every_key_of_a_doc_equally() -> None:
    from thinc.api import chain

    from enrich.architecture import extract_features, mean_of_keys

    nlp = spacy.blank("nl")
    docs = [nlp.make_doc("grofvuil staat buiten"), nlp.make_doc("ja")]
    extractor = chain(extract_features(1, 3, 5), mean_of_keys())
    extractor.initialize()
    (keys, values, lengths), _ = extractor(docs, is_train=False)
    assert len(keys) == len(values) == int(sum(lengths))
    first = int(lengths[0])
    assert np.isclose(values[:first].sum(), 1.0) and np.isclose(values[first:].sum(), 1.0)


@pytest.mark.parametrize(
    "architecture", ["luisterpost.TextCatCharEmbed.v1", "luisterpost.TextCatCharBOWEmbed.v1"]
)
def test_embedding_variants_learn_to_tell_two_labels_apart(architecture: str) -> None:
    import enrich.architecture  # noqa: F401  (registers the architectures)

    nlp = spacy.blank("nl")
    textcat = nlp.add_pipe(
        "textcat_multilabel",
        config={"model": {"@architectures": architecture, "width": 16, "nO": None}},
    )
    for label in ("topic=afval", "topic=dieren"):
        textcat.add_label(label)
    data = [
        ("grofvuil staat al dagen buiten", "topic=afval"),
        ("de container is vol", "topic=afval"),
        ("ratten bij het bankje", "topic=dieren"),
        ("dode kat op straat", "topic=dieren"),
    ]
    examples = [
        Example.from_dict(
            nlp.make_doc(text), {"cats": {"topic=afval": 0.0, "topic=dieren": 0.0, label: 1.0}}
        )
        for text, label in data
    ]
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(60):
        nlp.update(examples, sgd=optimizer)
    for text, label in data:
        cats = nlp(text).cats
        assert cats[label] > 0.5 > min(cats.values()), (text, cats)


def _dev_docs_and_textcat(limit: int = 600) -> tuple[list[Doc], Model[list[Doc], Floats2d]]:
    import json
    from pathlib import Path

    from enrich.pipeline import load_model

    nlp = load_model()
    corpus = Path(__file__).resolve().parents[2] / "enrich" / "corpus" / "dev.jsonl"
    lines = corpus.read_text(encoding="utf-8").splitlines()[:limit]
    texts = [json.loads(line)["text"] for line in lines] + ["", "brand", "BRAND!!"]
    textcat: Any = nlp.get_pipe("textcat_multilabel")
    return [nlp.make_doc(text) for text in texts], textcat.model


@pytest.mark.parametrize("bounded", [False, True])
def test_frozen_bow_scores_what_the_trained_layers_score(
    bounded: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Word-type sums give thinc's scores (float32 order aside), also past the cache bound."""
    from enrich import frozen_bow
    from enrich.architecture import enable_frozen_bow

    if bounded:  # most word types then go through the per-batch path
        monkeypatch.setattr(frozen_bow, "_MAX_TYPES", 40)
    docs, model = _dev_docs_and_textcat()
    batches = [docs[i : i + 128] for i in range(0, len(docs), 128)]
    expected = np.concatenate([model.predict(batch) for batch in batches])
    assert enable_frozen_bow(model)
    got = np.concatenate([model.predict(batch) for batch in batches])
    again = np.concatenate([model.predict(batch) for batch in batches[::-1]][::-1])
    assert np.abs(got - expected).max() < 1e-5
    assert np.abs(again - expected).max() < 1e-5  # from the cached sums
    types = {token.lower for doc in docs for token in doc}
    assert len(model.attrs["frozen"].bow._index) == (40 if bounded else len(types))
    trained, _ = model(docs[:50], is_train=True)  # training still runs thinc's layers
    assert np.abs(trained - expected[:50]).max() < 1e-5


def test_murmurhash_equals_the_hash_thinc_uses() -> None:
    """The rows a key picks: checked through thinc's layer with one-hot weights."""
    from thinc.api import SparseLinear_v2

    from enrich.frozen_bow import murmurhash3_32

    layer = SparseLinear_v2(nO=1, length=1 << 12)
    layer.initialize()
    keys = np.array([0, 1, 7, 2**32 + 5, 2**64 - 1, 123456789123456789], dtype="uint64")
    for key, first, second in zip(
        keys, murmurhash3_32(keys, 0) % 4096, murmurhash3_32(keys, 1) % 4096, strict=True
    ):
        weights = np.zeros(4096, dtype="f")
        weights[first] += 1.0
        weights[second] += 10.0
        layer.set_param("W", weights)
        one = np.array([key], dtype="uint64")
        out = layer.predict((one, np.ones(1, dtype="f"), np.array([1], dtype="int32")))
        assert out[0, 0] == pytest.approx(11.0)  # both rows, each hit exactly once


def test_enable_frozen_bow_leaves_other_architectures_alone() -> None:
    from enrich.architecture import build_char_embed, enable_frozen_bow

    assert not enable_frozen_bow(build_char_embed(nO=3))
