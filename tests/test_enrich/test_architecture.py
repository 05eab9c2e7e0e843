"""The classifier's own layers and decision rules: per-axis softmax, axis scorer, urgency raise."""

import numpy as np
import pytest
import spacy
from spacy.training import Example
from thinc.api import NumpyOps

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
