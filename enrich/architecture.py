"""A bag-of-words text classifier over lowercase words, word n-grams and character n-grams.

spaCy's ``TextCatBOW`` hashes case-sensitive ORTH n-grams only. Residents write "Grofvuil",
"grofvuil" and "GROFVUIL", and Dutch glues words together ("afvalcontainer",
"vuilniszakken"), so this variant adds LOWER n-grams and fastText-style character n-grams of
every word ("<afv", "afva", ...). Character n-grams are computed once per word type and cached
on the model, so a warm pipeline pays one dict lookup per token.

Registered as ``luisterpost.TextCatCharBOW.v1``; importing :mod:`enrich` registers it, which
``spacy.load`` needs before it reads a pipeline trained with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, cast

import numpy as np
from spacy.attrs import LOWER
from spacy.ml.models.textcat import resize_and_set_ref
from spacy.scorer import Scorer
from spacy.strings import hash_string  # type: ignore[attr-defined]
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import registry
from thinc.api import Linear, Logistic, Model, SparseLinear_v2, add, chain, resizable
from thinc.layers.chain import forward as chain_forward
from thinc.layers.resizable import resize_linear_weighted
from thinc.types import Floats2d

from enrich.axes import AXES, best_per_axis
from enrich.frozen_bow import FrozenBOW
from enrich.metrics import evaluate_axis

__all__ = [
    "build_char_bow",
    "enable_frozen_bow",
    "extract_features",
    "mean_of_keys",
    "score_axes",
    "softmax_per_group",
]

NEG_VALUE = -5000


def extract_features(ngram_size: int, char_min: int, char_max: int) -> Model[list[Doc], Any]:
    """Hashed feature keys with counts per doc, the input SparseLinear expects."""
    model: Model[list[Doc], Any] = Model("extract_char_bow", _forward)
    model.attrs.update(ngram_size=ngram_size, char_min=char_min, char_max=char_max)
    model.attrs["cache"] = _Cache()
    return model


class _Cache:
    """Character keys per word type. Not a dict, so thinc leaves it out of the saved model."""

    __slots__ = ("table",)

    def __init__(self) -> None:
        self.table: dict[int, np.ndarray] = {}


def _char_keys(word: str, char_min: int, char_max: int) -> np.ndarray:
    marked = f"<{word}>"
    grams = {
        marked[i : i + n]
        for n in range(char_min, char_max + 1)
        for i in range(len(marked) - n + 1)
        if marked[i : i + n] != marked  # the whole word is a unigram already
    }
    # "#" keeps character keys apart from word keys of the same spelling
    return np.array(sorted(hash_string("#" + gram) for gram in grams), dtype="uint64")


def _forward(model: Model[list[Doc], Any], docs: list[Doc], is_train: bool) -> tuple[Any, Any]:
    ops, attrs = model.ops, model.attrs
    cache: dict[int, np.ndarray] = attrs["cache"].table
    char_min, char_max, ngram_size = attrs["char_min"], attrs["char_max"], attrs["ngram_size"]
    # A key may repeat within a doc: SparseLinear sums weight x value per key, so repeated keys
    # with value 1 score the same as one key with its count, without a np.unique per doc.
    parts: list[np.ndarray] = []
    lengths = []
    for doc in docs:
        lower = doc.to_array(LOWER).astype("uint64")
        n = len(parts)
        parts.append(lower)
        for size in range(2, min(ngram_size, len(lower)) + 1):  # an empty text has none
            parts.append(np.asarray(ops.ngrams(size, cast(Any, lower))))
        if char_max:
            for key in lower.tolist():
                chars = cache.get(key)
                if chars is None:
                    chars = _char_keys(doc.vocab.strings[key], char_min, char_max)
                    if len(cache) < 500_000:  # bounded: an open stream has endless typos
                        cache[key] = chars
                parts.append(chars)
        lengths.append(sum(len(part) for part in parts[n:]))
    keys = np.concatenate(parts) if parts else np.zeros((0,), dtype="uint64")
    values = ops.xp.ones((len(keys),), dtype="f")

    def backprop(dY: Any) -> list[Doc]:
        return []

    return (keys, values, ops.asarray(lengths, dtype="int32")), backprop


def softmax_per_group(groups: list[int]) -> Model[Floats2d, Floats2d]:
    """A softmax over each consecutive group of outputs (one group per label axis).

    The labels of one axis are exclusive, so one softmax per axis (multinomial logistic
    regression) fits them better than independent logistic outputs. ``textcat_multilabel``'s
    gradient (scores - truths) is exactly the cross-entropy gradient of a softmax's logits,
    so backprop passes it through unchanged.
    """
    return Model("softmax_per_group", _softmax_forward, attrs={"groups": list(groups)})


def _softmax_forward(
    model: Model[Floats2d, Floats2d], logits: Floats2d, is_train: bool
) -> tuple[Floats2d, Any]:
    groups: list[int] = model.attrs["groups"]
    if sum(groups) != logits.shape[1]:
        raise ValueError(f"label groups {groups} do not add up to {logits.shape[1]} outputs")
    out = model.ops.alloc2f(*logits.shape)
    start = 0
    for size in groups:
        part = np.asarray(logits[:, start : start + size])
        shifted = np.exp(part - part.max(axis=1, keepdims=True))
        out[:, start : start + size] = shifted / shifted.sum(axis=1, keepdims=True)
        start += size

    def backprop(d_out: Floats2d) -> Floats2d:
        return d_out

    return out, backprop


@registry.architectures("luisterpost.TextCatCharBOW.v1")
def build_char_bow(
    ngram_size: int = 2,
    char_min: int = 3,
    char_max: int = 5,
    length: int = 65536,
    nO: int | None = None,
    groups: list[int] | None = None,
) -> Model[list[Doc], Floats2d]:
    """Multilabel BOW like spaCy's TextCatBOW.v3, with the features above.

    Outputs are independent logistic scores, or with ``groups`` (label counts per axis, in
    label order) one softmax per axis.
    """
    sparse_linear = SparseLinear_v2(nO=nO, length=_power_of_two(length))
    fill_defaults = {"b": NEG_VALUE, "W": 0}
    resizable_layer: Model[Floats2d, Floats2d] = resizable(
        sparse_linear, resize_layer=partial(resize_linear_weighted, fill_defaults=fill_defaults)
    )
    layers: Model[list[Doc], Floats2d] = chain(
        extract_features(ngram_size, char_min, char_max),
        resizable_layer,
        softmax_per_group(groups) if groups else Logistic(),
    )
    # thinc's chain, with a shortcut for inference once weights are frozen (enable_frozen_bow)
    model: Model[list[Doc], Floats2d] = Model(
        layers.name,
        _bow_forward,
        init=layers.init,
        dims={name: layers.maybe_get_dim(name) for name in layers.dim_names},
        layers=layers.layers,
    )
    model.attrs["frozen"] = _Frozen()
    if nO is not None:
        model.set_dim("nO", cast(int, nO))
    model.set_ref("output_layer", sparse_linear)
    model.attrs["multi_label"] = True
    model.attrs["resize_output"] = partial(resize_and_set_ref, resizable_layer=resizable_layer)
    return model


class _Frozen:
    """Holds the :class:`FrozenBOW` once enabled. Not a dict: thinc leaves it out of the save."""

    __slots__ = ("bow",)

    def __init__(self) -> None:
        self.bow: FrozenBOW | None = None


def _bow_forward(model: Model[list[Doc], Floats2d], docs: list[Doc], is_train: bool) -> Any:
    frozen: _Frozen = model.attrs["frozen"]
    if frozen.bow is None or is_train:
        return chain_forward(model, docs, is_train)
    output = model.layers[-1]
    return output.predict(frozen.bow.logits(docs)), _no_gradient


def _no_gradient(d_scores: Any) -> Any:
    raise ValueError("a frozen BOW does not learn: enable_frozen_bow is for inference only")


def enable_frozen_bow(model: Model[Any, Any]) -> bool:
    """Switch a trained char BOW to :class:`FrozenBOW` inference (same scores, faster).

    Call once its weights are final: later updates would not reach the cached sums. Returns
    False, and changes nothing, for a model of another architecture.
    """
    frozen = model.attrs.get("frozen")
    if not isinstance(frozen, _Frozen):
        return False
    extract, sparse = model.layers[0], model.get_ref("output_layer")
    frozen.bow = FrozenBOW(
        np.asarray(sparse.get_param("W")),
        np.asarray(sparse.get_param("b")),
        ngram_size=extract.attrs["ngram_size"],
        char_range=(extract.attrs["char_min"], extract.attrs["char_max"]),
        char_keys=_char_keys,
    )
    return True


@registry.architectures("luisterpost.TextCatCharEmbed.v1")
def build_char_embed(
    width: int = 64,
    ngram_size: int = 1,
    char_min: int = 3,
    char_max: int = 5,
    length: int = 262144,
    nO: int | None = None,
) -> Model[list[Doc], Floats2d]:
    """fastText-style: the mean of hashed embeddings of the same features, then a linear layer.

    The low-rank bottleneck shares what the axes learn about a word and lets rare character
    n-grams borrow from common ones, which the per-label sparse weights of the BOW cannot.
    """
    output = Linear(nO=nO)
    model: Model[list[Doc], Floats2d] = chain(
        extract_features(ngram_size, char_min, char_max),
        mean_of_keys(),
        SparseLinear_v2(nO=width, length=_power_of_two(length)),
        output,
        Logistic(),
    )
    model.set_ref("output_layer", output)
    model.attrs["multi_label"] = True
    return model


@registry.architectures("luisterpost.TextCatCharBOWEmbed.v1")
def build_char_bow_embed(
    width: int = 64,
    ngram_size: int = 1,
    char_min: int = 3,
    char_max: int = 5,
    length: int = 65536,
    embed_length: int = 262144,
    nO: int | None = None,
) -> Model[list[Doc], Floats2d]:
    """The BOW and the embedding bag side by side, over one feature extraction, logits summed.

    The sparse weights keep what one word says about one label (a street name, "WOZ"); the
    shared low-rank embedding generalises across words and labels. Each sees the same keys:
    the BOW with counts, the embedding bag with 1/(keys in the doc).
    """
    bow = SparseLinear_v2(nO=nO, length=_power_of_two(length))
    embed_out = Linear(nO=nO)
    embed: Model[Any, Floats2d] = chain(
        mean_of_keys(), SparseLinear_v2(nO=width, length=_power_of_two(embed_length)), embed_out
    )
    model: Model[list[Doc], Floats2d] = chain(
        extract_features(ngram_size, char_min, char_max), add(bow, embed), Logistic()
    )
    model.set_ref("output_layer", embed_out)
    model.attrs["multi_label"] = True
    return model


def mean_of_keys() -> Model[Any, Any]:
    """Every key of a doc weighs 1/(keys in the doc), so SparseLinear averages instead of
    summing: a fastText-style embedding bag that long texts do not saturate."""
    return Model("mean_of_keys", _mean_forward)


def _mean_forward(model: Model[Any, Any], features: Any, is_train: bool) -> tuple[Any, Any]:
    keys, _, lengths = features
    counts = np.asarray(lengths)
    values = np.repeat(1.0 / np.maximum(counts, 1), counts).astype("f")
    return (keys, values, lengths), lambda d: d


def _power_of_two(rows: int) -> int:
    """The hashed table's rows, rounded up to a power of two as SparseLinear wants."""
    return 2 ** (rows - 1).bit_length()


def score_axes(examples: Iterable[Example], **_: Any) -> dict[str, Any]:
    """Per-axis macro-F1 of the best label per axis (what enrich uses), plus spaCy's cats scores.

    spaCy's multilabel scorer ranks checkpoints by macro AUC, which peaks epochs before the
    argmax decisions do; ``spacy train`` keeps the checkpoint that scores best here instead
    (weights in ``[training.score_weights]``).
    """
    examples = list(examples)
    scores: dict[str, Any] = Scorer.score_cats(examples, "cats", multi_label=True)
    for axis, labels in AXES.items():
        gold = [best_per_axis(ex.reference.cats)[axis][0] for ex in examples]
        predicted = [best_per_axis(ex.predicted.cats)[axis][0] for ex in examples]
        scores[f"cats_{axis}_f1"] = evaluate_axis(gold, predicted, labels).macro_f1
    return scores


@registry.scorers("luisterpost.axis_scorer.v1")
def make_axis_scorer() -> Callable[..., dict[str, Any]]:
    return score_axes
