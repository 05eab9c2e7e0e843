"""Inference for the character BOW once its weights are final: word types' shares summed once.

thinc's ``SparseLinear_v2`` gives each hashed key two weight rows and adds both for every label;
the weights are stored label-major, so one key touches 2 x 22 cache lines, and a token brings
about 13 keys (its lowercase form and its character 3-5-grams). Those keys depend on the word
type alone, so their sum is a constant per type: computed on first sight and cached, a token
then costs one contiguous row. Word bigrams still go key by key, against a key-major copy of the
weights. The logits equal thinc's up to float32 summation order (a test compares them).

Only for frozen weights: :class:`~enrich.pipeline.Enricher` turns it on after loading; training
never does, since every update would make the cached sums stale.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from spacy.attrs import LOWER
from spacy.tokens import Doc
from spacy.vocab import Vocab
from thinc.api import NumpyOps

__all__ = ["FrozenBOW", "murmurhash3_32"]

_MAX_TYPES = 500_000
"""Word types whose sums are kept: bounded, since an open stream has endless typos."""


def murmurhash3_32(keys: np.ndarray, seed: int) -> np.ndarray:
    """MurmurHash3_x86_32 of each uint64 key (8 bytes, little-endian): the hash thinc's
    SparseLinear uses to pick a key's weight rows (``MurmurHash3_x86_32_uint64``)."""
    c1, c2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)
    h = np.full(keys.shape, seed, dtype=np.uint32)
    low, high = (keys & np.uint64(0xFFFFFFFF)).astype(np.uint32), (keys >> np.uint64(32))
    for block in (low, high.astype(np.uint32)):
        k = block * c1
        k = (k << np.uint32(15)) | (k >> np.uint32(17))
        h ^= k * c2
        h = (h << np.uint32(13)) | (h >> np.uint32(19))
        h = h * np.uint32(5) + np.uint32(0xE6546B64)
    h ^= np.uint32(8)  # the key's length in bytes
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


class FrozenBOW:
    """Logits of the BOW (before the output softmax) for a batch of docs, from fixed weights.

    :param weights: SparseLinear_v2's ``W`` (label-major, ``n_labels x length`` flattened).
    :param bias: its ``b``.
    :param char_keys: a word's character keys, the function feature extraction uses.
    """

    def __init__(
        self,
        weights: np.ndarray,
        bias: np.ndarray,
        ngram_size: int,
        char_range: tuple[int, int],
        char_keys: Callable[[str, int, int], np.ndarray],
    ) -> None:
        self._n_labels = len(bias)
        self._length = len(weights) // self._n_labels
        self._key_rows = np.ascontiguousarray(weights.reshape(self._n_labels, self._length).T)
        self._bias = np.asarray(bias, dtype="f")
        self._ngram_size = ngram_size
        self._char_range = char_range
        self._char_keys = char_keys
        self._ops = NumpyOps()
        self._index: dict[int, int] = {}  # lowercase key -> row of _sums
        self._sums = np.zeros((1024, self._n_labels), dtype="f")

    def _keys_sum(self, keys: np.ndarray) -> np.ndarray:
        """Each key's two weight rows, summed per key: shape (len(keys), n_labels)."""
        length = np.uint32(self._length)
        first = murmurhash3_32(keys, 0) % length
        second = murmurhash3_32(keys, 1) % length
        return self._key_rows[first] + self._key_rows[second]

    def _type_sums(self, lowers: list[int], vocab: Vocab) -> np.ndarray:
        """The share of one token of each word type: its lowercase key and character keys."""
        keys = [np.array([lower], dtype="uint64") for lower in lowers]
        if self._char_range[1]:  # 0: the model has no character n-grams
            keys = [
                np.concatenate([key, self._char_keys(vocab.strings[lower], *self._char_range)])
                for key, lower in zip(keys, lowers, strict=True)
            ]
        starts = np.concatenate([[0], np.cumsum([len(k) for k in keys])[:-1]])
        return np.add.reduceat(self._keys_sum(np.concatenate(keys)), starts, axis=0)

    def _type_rows(self, lowers: list[int], vocab: Vocab) -> np.ndarray:
        """Per token, its word type's share (new types computed together, in one pass)."""
        index = self._index
        new = list(dict.fromkeys(lower for lower in lowers if lower not in index))
        extra: dict[int, int] = {}  # types past the cache bound: this batch only
        if new:
            sums = self._type_sums(new, vocab)
            room = max(0, _MAX_TYPES - len(index))
            while len(self._sums) < len(index) + min(room, len(new)):
                self._sums = np.concatenate([self._sums, np.zeros_like(self._sums)])
            for lower, share in zip(new[:room], sums[:room], strict=True):
                self._sums[len(index)] = share
                index[lower] = len(index)
            extra = {lower: len(index) + i for i, lower in enumerate(new[room:])}
        table = self._sums[: len(index)]
        if extra:
            table = np.concatenate([table, sums[len(new) - len(extra) :]])
        rows = [index[lower] if lower in index else extra[lower] for lower in lowers]
        return table[rows]

    def logits(self, docs: list[Doc]) -> np.ndarray:
        """One row of label logits per doc, as the BOW would compute them."""
        out = np.tile(self._bias, (len(docs), 1))
        lowers = [doc.to_array(LOWER).astype("uint64") for doc in docs]
        sizes = np.array([len(keys) for keys in lowers])
        filled = np.flatnonzero(sizes)
        if not len(filled):
            return out
        flat = np.concatenate([lowers[i] for i in filled]).tolist()
        per_token = self._type_rows(flat, docs[0].vocab)
        starts = np.concatenate([[0], np.cumsum(sizes[filled])[:-1]])
        out[filled] += np.add.reduceat(per_token, starts, axis=0)
        for size in range(2, self._ngram_size + 1):
            grams = [
                (i, np.asarray(self._ops.ngrams(size, lowers[i])))
                for i in filled
                if sizes[i] >= size
            ]
            if not grams:
                continue
            shares = self._keys_sum(np.concatenate([keys for _, keys in grams]))
            counts = np.array([len(keys) for _, keys in grams])
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
            out[[i for i, _ in grams]] += np.add.reduceat(shares, starts, axis=0)
        return out
