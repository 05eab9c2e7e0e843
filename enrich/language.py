"""Cheap Dutch/English detection from function words: good enough to pick a reply language."""

from __future__ import annotations

import re

__all__ = ["detect_language"]

_WORD = re.compile(r"[a-zà-ÿ']+")
_DUTCH = frozenset(
    [
        "de",
        "het",
        "een",
        "en",
        "van",
        "is",
        "dat",
        "niet",
        "op",
        "te",
        "in",
        "ik",
        "je",
        "we",
        "er",
        "met",
        "zijn",
        "voor",
        "maar",
        "wat",
        "ook",
        "al",
        "nog",
        "bij",
        "wel",
        "geen",
        "naar",
        "hier",
        "heb",
        "heeft",
        "deze",
        "die",
        "kan",
        "moet",
        "wordt",
        "graag",
        "jullie",
        "waarom",
        "weer",
        "nu",
        "al",
        "alweer",
        "staat",
        "ligt",
        "gemeente",
        "straat",
        "dank",
        "bedankt",
        "hoi",
        "hallo",
        "ff",
        "idd",
        "mijn",
        "ons",
        "onze",
    ]
)
_ENGLISH = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "of",
        "is",
        "that",
        "not",
        "on",
        "to",
        "in",
        "i",
        "you",
        "we",
        "there",
        "with",
        "are",
        "for",
        "but",
        "what",
        "also",
        "still",
        "at",
        "no",
        "here",
        "have",
        "has",
        "this",
        "these",
        "can",
        "must",
        "be",
        "please",
        "why",
        "again",
        "now",
        "my",
        "our",
        "street",
        "thanks",
        "thank",
        "hello",
        "hi",
        "does",
        "do",
        "it",
        "when",
        "where",
        "how",
        "who",
        "which",
        "been",
    ]
)


def detect_language(text: str) -> str:
    """'nl', 'en' or 'und' (undetermined: too short or no function words)."""
    words = _WORD.findall(text.lower())
    nl = sum(w in _DUTCH for w in words)
    en = sum(w in _ENGLISH for w in words)
    if nl == en:
        return "und" if nl == 0 else "nl"
    return "nl" if nl > en else "en"
