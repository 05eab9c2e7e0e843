"""The one enrichment code path: the enrich worker and `luisterpost classify` both use Enricher.

One spaCy ``Language`` (the trained pipeline, ``enrich/model/vennebroek``) tokenizes each text
once; on that doc the textcat scores the three axes (best label per axis), the urgency safety
layer may raise urgency, the gazetteer finds places, and function words give the language.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import minibatch

from enrich.architecture import enable_frozen_bow  # registers the architectures for spacy.load
from enrich.axes import AXES
from enrich.language import detect_language
from enrich.locations import DEFAULT_GAZETTEER, LocationFinder
from enrich.urgency import DEFAULT_RULES, UrgencyRules
from ingest.events import Enrichment
from luisterpost.errors import LuisterpostError

__all__ = [
    "DEFAULT_MODEL",
    "RULE_GATE",
    "Enricher",
    "ModelNotFoundError",
    "freeze_startup_objects",
    "load_model",
    "raise_urgency",
]

DEFAULT_MODEL = Path(__file__).parent / "model" / "vennebroek"
TEXTCAT = "textcat_multilabel"


class ModelNotFoundError(LuisterpostError):
    """The trained pipeline is missing or unreadable."""


def load_model(path: Path = DEFAULT_MODEL) -> Language:
    """The trained pipeline from disk (no network); a clear error when it is not there."""
    if not (path / "config.cfg").is_file():
        raise ModelNotFoundError(f"no trained classifier in {path}: run `make model`")
    try:
        return spacy.load(path)
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(
            f"cannot load the classifier in {path} ({exc}): run `make model`"
        ) from None


def model_name(nlp: Language) -> str:
    """Name, version, a digest of the weights and the shipped urgency thresholds, so every
    result traces to one model: the same weights with another threshold flag other messages
    ("textcat/vennebroek-1.0.0+7ac000a9.spoed27.hoog07")."""
    meta = nlp.meta
    shipped = meta.get("luisterpost", {})
    digest = shipped.get("weights_sha256", "")[:8]
    limits = shipped.get("urgency_thresholds", {})
    build = ([digest] if digest else []) + [
        f"{tag}{round(float(limits[key]) * 100):02d}"
        for key, tag in (("spoed", "spoed"), ("at_least_hoog", "hoog"))
        if key in limits
    ]
    name = f"textcat/{meta.get('name', 'pipeline')}-{meta.get('version', '0')}"
    return name + ("+" + ".".join(build) if build else "")


def weights_digest(nlp: Language) -> str:
    """SHA-256 of the textcat's model alone (its layers and weights).

    Not of the whole component: that also holds the pipeline's vocabulary strings, which depend
    on how the pipeline was put together (a training run keeps every string it read), so the
    same weights could carry two names.
    """
    textcat: Any = nlp.get_pipe(TEXTCAT)
    return hashlib.sha256(textcat.model.to_bytes()).hexdigest()


def freeze_startup_objects() -> None:
    """Exempt everything allocated so far from the cyclic garbage collector, for good.

    A loaded Enricher is some 130,000 long-lived Python objects (vocab, rules, gazetteer) that
    every full collection would walk again while messages are classified: about a tenth of
    classify time on 20,000 messages. Call once after loading, in a process that keeps its
    model until it ends (`luisterpost classify`, the workers).
    """
    gc.collect()
    gc.freeze()


RANK = {"laag": 0, "normaal": 1, "hoog": 2, "spoed": 3}
RULE_GATE = 0.02
"""A safety rule raises a message to ``spoed`` when the model gives spoed at least this chance;
below it, the rule raises to ``hoog`` (reasons kept). On 1,225 fresh messages that neither the
rules nor the model had seen, rules firing where the model gave spoed under 2% were 1 spoed
against 25 hoog, normaal and laag; from 0.005 to 0.03 the trade was the same (enrich/README.md)."""
EMPTY_CATS = {
    f"{axis}={label}": float(
        label == {"topic": "overig", "urgency": "laag", "intent": "overig"}[axis]
    )
    for axis, labels in AXES.items()
    for label in labels
}


def raise_urgency(best: str, scores: dict[str, float], thresholds: dict[str, float]) -> str:
    """The model's best urgency, raised when an urgent score passes its threshold.

    ``spoed`` compares the spoed score; ``at_least_hoog`` compares hoog + spoed, the chance that
    the message needs action today, since a message torn between the two is urgent either way.
    """
    spoed, hoog = thresholds.get("spoed"), thresholds.get("at_least_hoog")
    if spoed is not None and scores["spoed"] >= spoed and RANK[best] < RANK["spoed"]:
        return "spoed"
    if hoog is not None and scores["hoog"] + scores["spoed"] >= hoog and RANK[best] < RANK["hoog"]:
        return "hoog"
    return best


class Enricher:
    """Topic, urgency, intent with scores, urgency reasons, locations and language per text."""

    def __init__(
        self,
        model: Path | None = None,
        rules: Path | None = None,
        gazetteer: Path | None = None,
        batch_size: int = 256,
    ) -> None:
        """None for a file means the shipped one (model, urgency rules, Vennebroek gazetteer):
        callers pass a configured path or nothing, and the defaults live here."""
        self.nlp = load_model(model or DEFAULT_MODEL)
        # weights are final here: the BOW may sum each word type's weights once (same scores)
        textcat: Any = self.nlp.get_pipe(TEXTCAT)
        enable_frozen_bow(textcat.model)
        self.urgency = UrgencyRules(rules or DEFAULT_RULES, vocab=self.nlp.vocab)
        self.locations = LocationFinder(gazetteer or DEFAULT_GAZETTEER, vocab=self.nlp.vocab)
        self.batch_size = batch_size
        self.name = model_name(self.nlp)
        # Urgency thresholds chosen on the dev split when the model was shipped (enrich.train):
        # a spoed or hoog score above its threshold raises urgency even when "normaal" scores
        # higher, because a missed urgent message costs more than a second look.
        tuned = self.nlp.meta.get("luisterpost", {}).get("urgency_thresholds", {})
        self.thresholds: dict[str, float] = {k: float(v) for k, v in tuned.items()}
        # each axis's labels and their place in a row of scores
        self._textcat: Any = textcat
        self._cat_keys = [f"{axis}={label}" for axis, labels in AXES.items() for label in labels]
        self._columns = [list(textcat.labels).index(key) for key in self._cat_keys]
        self._axes: list[tuple[str, tuple[str, ...], int, int]] = []
        for axis, labels in AXES.items():
            start = self._cat_keys.index(f"{axis}={labels[0]}")
            self._axes.append((axis, labels, start, start + len(labels)))
        self._empty_scores = {
            axis: {label: EMPTY_CATS[f"{axis}={label}"] for label in labels}
            for axis, labels in AXES.items()
        }

    def classify(self, texts: Sequence[str]) -> list[Enrichment]:
        """One result per text, in order (the ``Classifier`` interface enrich_messages uses)."""
        return list(self.pipe(texts))

    def pipe(self, texts: Iterable[str]) -> Iterator[Enrichment]:
        # nlp.pipe batches the texts into docs; the textcat then scores each batch, and its
        # output matrix is read directly: its own set_annotations would write doc.cats, 22
        # dict entries per message (about 8 µs) that only get read back.
        pairs = ((text, text) for text in texts)  # the text rides along: doc.text is rebuilt
        docs = self.nlp.pipe(pairs, batch_size=self.batch_size, as_tuples=True, disable=[TEXTCAT])
        for batch in minibatch(docs, self.batch_size):
            scores = self._scores([doc for doc, _ in batch])
            for (doc, text), doc_scores in zip(batch, scores, strict=True):
                yield self._decide(doc, text, doc_scores)

    def _scores(self, docs: list[Doc]) -> Iterator[dict[str, dict[str, float]]]:
        """Scores per axis for each doc, rounded to 4 places (one numpy rounding per batch
        instead of 22 Python rounds per message), as the textcat's ``doc.cats`` would hold them."""
        matrix = np.asarray(self._textcat.predict(docs), dtype=np.float64)[:, self._columns]
        for doc, row in zip(docs, np.round(matrix, 4).tolist(), strict=True):
            if not len(doc):
                yield self._empty_scores
                continue
            yield {
                axis: dict(zip(labels, row[start:end], strict=True))
                for axis, labels, start, end in self._axes
            }

    def enrichment(self, doc: Doc, text: str | None = None) -> Enrichment:
        """The enrichment of one doc whose ``doc.cats`` the pipeline has set."""
        # spaCy's textcat scores an empty doc 0 for every label when the whole batch is empty and
        # with the bias alone otherwise; a text without words gets fixed labels instead, so the
        # result never depends on the batch (a deleted message's text is empty).
        if not len(doc):
            return self._decide(doc, text, self._empty_scores)
        cats = doc.cats
        scores = {
            axis: {label: round(cats[f"{axis}={label}"], 4) for label in labels}
            for axis, labels, _, _ in self._axes
        }
        return self._decide(doc, text, scores)

    def _decide(
        self, doc: Doc, text: str | None, scores: dict[str, dict[str, float]]
    ) -> Enrichment:
        """Best label per axis, urgency thresholds, the safety layer, places and language."""
        best = {axis: max(s, key=s.__getitem__) for axis, s in scores.items()}
        odds = scores["urgency"]
        urgency = raise_urgency(best["urgency"], odds, self.thresholds)
        check = self.urgency.check_doc(doc)
        reasons = check.reasons()[:5] if check.acute else []
        if check.acute and odds["spoed"] >= RULE_GATE:  # the safety layer only raises
            urgency, urgency_score = "spoed", 1.0
        else:
            if check.acute and RANK[urgency] < RANK["hoog"]:  # danger words, not acute to the model
                urgency = "hoog"
            # hoog: the chance it needs action today, what at_least_hoog compares
            hoog = min(1.0, round(odds["hoog"] + odds["spoed"], 4))
            urgency_score = hoog if urgency == "hoog" else odds[urgency]
        return Enrichment(
            topic=best["topic"],
            urgency=urgency,
            intent=best["intent"],
            topic_score=scores["topic"][best["topic"]],
            urgency_score=urgency_score,
            intent_score=scores["intent"][best["intent"]],
            scores=scores,
            locations=self.locations.find_doc(doc, text),
            lang=detect_language(doc.text if text is None else text),
            classifier=self.name,
            urgency_reasons=reasons,
        )
