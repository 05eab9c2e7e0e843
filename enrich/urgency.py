"""The urgency safety layer: spaCy Matcher rules for acute danger, kept in data.

The rules (``enrich/data/urgency_rules.yaml``) name danger categories (fire, gas, power lines,
flooding, weapons, someone in the water, suicide risk, ...) as token patterns and phrases, and
cue sections (negation, past, hypothetical, reassurance, habitual) that cancel a match nearby:
"geen gaslucht meer" and "de brand van vorige week" do not fire. A surviving match raises a
message to ``spoed`` whatever the classifier said; the layer never lowers urgency.

Speed: REGEX token predicates cost a regular-expression search per token and pattern, so the
Matcher would dominate the whole enrich stage. A :class:`Prefilter` checks from the doc's words
(conditions evaluated once per word type) whether any danger pattern can match; only then does
the Matcher run. Cue sections are matched only when danger was found, and the sentencizer runs
only for cue scopes or a pattern that reads sentence starts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import spacy
import yaml
from spacy.attrs import LOWER
from spacy.lang.en.stop_words import STOP_WORDS as EN_STOP_WORDS
from spacy.lang.nl.stop_words import STOP_WORDS as NL_STOP_WORDS
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc
from spacy.tokens import Span as SpacySpan
from spacy.vocab import Vocab

__all__ = [
    "DEFAULT_RULES",
    "DEFAULT_WORD_COUNTS",
    "UrgencyCheck",
    "UrgencyRules",
    "load_word_counts",
]

DEFAULT_RULES = Path(__file__).parent / "data" / "urgency_rules.yaml"
DEFAULT_WORD_COUNTS = Path(__file__).parent / "data" / "word_counts.tsv"
"""Common words of resident messages with the number of messages that use them
(``python -m enrich.word_counts``): the rule prefilter files patterns under rare words."""
_NOT_CUES = {"version", "categories"}


@dataclass(frozen=True)
class _Scope:
    before: int
    after: int
    cross_punct: bool
    cross_sentence: bool
    inside: bool


@dataclass
class UrgencyCheck:
    fired: list[tuple[str, str]] = field(default_factory=list)
    """(category, matched text) of every danger match that survived its cues."""
    cancelled: list[tuple[str, str, str]] = field(default_factory=list)
    """(category, matched text, 'cue-section:cue text') of matches a cue cancelled."""

    @property
    def acute(self) -> bool:
        return bool(self.fired)

    def reasons(self) -> list[str]:
        return [f"{category}: {text}" for category, text in self.fired]


def _required(token: dict[str, Any]) -> bool:
    op = str(token.get("OP", ""))
    if op in ("?", "*", "!"):
        return False
    if op.startswith("{"):
        return int(op[1:-1].split(",")[0] or 0) >= 1
    return True


_ALTERNATION = re.compile(r"\^\((?:\?:)?([^()]*)\)\$|\^([^()|]*)\$")
_METACHARACTERS = frozenset(".^$*+?{}[]\\|()")


def split_alternation(regex: str) -> tuple[frozenset[str], str | None]:
    """(literal words, regex for the rest) of a whole-word alternation such as ``^(gas|rook)$``.

    Most rule regexes are plain word lists; as a set lookup they cost nothing per word, where
    Python's ``re`` tries every alternative in turn. The rest is None when every alternative is
    a literal word; a regex of another shape comes back whole, with no literals.
    """
    found = _ALTERNATION.fullmatch(regex)
    if found is None:
        return frozenset(), regex
    body = found.group(1) if found.group(1) is not None else found.group(2)
    words, rest = set(), []
    for part in body.split("|"):
        if _METACHARACTERS & set(part):
            rest.append(part)
        else:
            words.add(part)
    return frozenset(words), "^(?:" + "|".join(rest) + ")$" if rest else None


def _as_word_lists(pattern: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pattern with every LOWER regex that only lists words turned into an IN list."""
    out = []
    for token in pattern:
        value = token.get("LOWER")
        if isinstance(value, dict) and set(value) == {"REGEX"}:
            words, rest = split_alternation(value["REGEX"])
            if rest is None:
                token = {**token, "LOWER": {"IN": sorted(words)}}
        out.append(token)
    return out


def _lower_test(token: dict[str, Any]) -> tuple[str, Any] | None:
    """What a token's LOWER must satisfy (a necessary condition), or None if unconstrained."""
    value = token.get("LOWER")
    if isinstance(value, str):
        return ("IN", frozenset([value]))
    if isinstance(value, dict):
        if "IN" in value:
            return ("IN", frozenset(value["IN"]))
        if "REGEX" in value:
            return ("REGEX", value["REGEX"])
    return None


def _max_length(pattern: list[dict[str, Any]]) -> int | None:
    """The most tokens a pattern can span, None when unbounded ("+", "*", "{2,}")."""
    total = 0
    for token in pattern:
        op = str(token.get("OP", ""))
        if op in ("+", "*"):
            return None
        if op.startswith("{"):
            upper = op[1:-1].split(",")[-1]
            if not upper:
                return None
            total += int(upper)
        else:
            total += 1
    return total


class Prefilter:
    """Which docs can match a set of Matcher patterns at all, from their words alone.

    A pattern needs, for each of its required tokens with a LOWER condition, some word in
    the doc that satisfies it. Each distinct condition is one bit; a word's bits are computed
    once per word type; a pattern is possible when the doc's words cover its bits. Running a
    one-pattern Matcher for just the possible patterns keeps REGEX predicates off most tokens.
    """

    def __init__(
        self, patterns: list[list[dict[str, Any]]], word_counts: Mapping[str, int] | None = None
    ) -> None:
        conditions: dict[tuple[str, Any], int] = {}
        self._needs: list[int] = []
        self._sequences: list[list[int]] = []  # the required conditions in pattern order
        for pattern in patterns:
            sequence = []
            for token in pattern:
                test = _lower_test(token) if _required(token) else None
                if test is not None:
                    sequence.append(1 << conditions.setdefault(test, len(conditions)))
            self._needs.append(sum(set(sequence)))  # 0: no word condition, every doc passes
            self._sequences.append(sequence)
        # literal words: one dict lookup; regular expressions: one combined search first,
        # since most words match none of them (each word type is looked at only once)
        self._literal: dict[str, int] = {}
        self._regexes: list[tuple[int, re.Pattern[str]]] = []
        for (kind, value), bit in conditions.items():
            words, rest = (value, None) if kind == "IN" else split_alternation(value)
            for word in words:
                self._literal[word] = self._literal.get(word, 0) | 1 << bit
            if rest is not None:
                self._regexes.append((1 << bit, re.compile(rest)))
        # anchored ones ("^...") can only match at the start: re.match skips the other offsets
        anchored = [rx.pattern for _, rx in self._regexes if rx.pattern.startswith("^")]
        floating = [rx.pattern for _, rx in self._regexes if not rx.pattern.startswith("^")]
        self._gates = [
            gate
            for patterns, gate_of in ((anchored, _match), (floating, _search))
            if patterns
            for gate in [gate_of(re.compile("|".join(f"(?:{p})" for p in patterns)))]
        ]
        self._bits: dict[int, int] = {}
        self._flagged: set[int] = set()  # the word types with any bit: few of all words
        # Each pattern is filed under its rarest condition: the one the words of the fewest
        # messages satisfy ("gas", not "staat", for "gas staat open"), so that common words
        # look up few patterns and the Matcher's windows stay short. Stop words count as
        # common when no word counts are given. The choice changes speed, never matches.
        counts = {word: 1 for word in NL_STOP_WORDS | EN_STOP_WORDS}
        counts.update(word_counts or {})
        commonness: dict[int, int] = {}  # condition bit -> messages whose words satisfy it
        for word, n in counts.items():
            satisfied = self._compute(word)
            while satisfied:
                bit = satisfied & -satisfied
                satisfied ^= bit
                commonness[bit] = commonness.get(bit, 0) + n
        self._by_bit: dict[int, list[tuple[int, int]]] = {}
        self._always = [i for i, need in enumerate(self._needs) if not need]
        self._key_of: list[int] = []
        for i, need in enumerate(self._needs):
            bits = [1 << b for b in range(need.bit_length()) if need >> b & 1]
            key = min(bits, key=lambda bit: commonness.get(bit, 0)) if bits else 0
            self._key_of.append(key)
            if key:
                self._by_bit.setdefault(key, []).append((i, need))
        self._keys = sum(self._by_bit)
        self._longest = [_max_length(pattern) for pattern in patterns]

    def _compute(self, word: str) -> int:
        bits = self._literal.get(word, 0)
        if any(gate(word) for gate in self._gates):
            bits |= sum(bit for bit, rx in self._regexes if rx.search(word))
        return bits

    def _word_bits(self, lower: int, vocab: Vocab) -> int:
        bits = self._compute(vocab.strings[lower])
        if len(self._bits) < 500_000:  # bounded: an open stream has endless new words
            self._bits[lower] = bits
            if bits:
                self._flagged.add(lower)
        return bits

    def __call__(self, doc: Doc, lowers: list[int]) -> list[int]:
        """Indices of the patterns this doc's words allow (usually none); ``lowers`` are the
        doc's LOWER ids. Set operations find the few words that matter without a Python loop
        over every word."""
        words = set(lowers)
        have = 0
        for lower in words.difference(self._bits):  # word types not seen before
            have |= self._word_bits(lower, doc.vocab)
        for lower in words.intersection(self._flagged):
            have |= self._bits[lower]
        have_all, have = have, have & self._keys
        possible = list(self._always)
        while have:  # only the patterns filed under one of the doc's (few) key conditions
            bit = have & -have
            have ^= bit
            possible += [i for i, need in self._by_bit.get(bit, ()) if need & have_all == need]
        return sorted(possible)

    def windows(
        self, doc: Doc, lowers: list[int], possible: list[int]
    ) -> list[tuple[int, int, int]]:
        """(pattern, start, end): the stretch of the doc where each possible pattern can match.

        A match contains a word with the pattern's key condition and is at most the pattern's
        longest length, so the Matcher need not walk the rest of a long message. A pattern
        whose required words do not occur in its order within that length cannot match and
        gets no window (the prefilter alone knows which words occur, not where).
        """
        known = self._bits
        bits = [
            known[lower] if lower in known else self._compute(doc.vocab.strings[lower])
            for lower in lowers  # computed afresh only once the bounded cache is full
        ]
        out = []
        for i in possible:
            key, longest = self._key_of[i], self._longest[i]
            if not _in_order(bits, self._sequences[i], longest):
                continue
            at = [p for p, b in enumerate(bits) if b & key]
            if not key or longest is None or not at:
                out.append((i, 0, len(doc)))
            else:
                out.append((i, max(0, at[0] - longest + 1), min(len(doc), at[-1] + longest)))
        return out


def _in_order(bits: list[int], sequence: list[int], longest: int | None) -> bool:
    """Whether words with ``sequence``'s conditions occur in that order, within ``longest``
    tokens from the first to the last: a necessary condition for the pattern to match.

    From each start, the earliest next word ends the shortest such stretch; when even that
    runs past the doc's end, no later start can do better.
    """
    if not sequence:
        return True
    first, rest = sequence[0], sequence[1:]
    for start, word in enumerate(bits):
        if not word & first:
            continue
        position = start
        for condition in rest:
            position += 1
            while position < len(bits) and not bits[position] & condition:
                position += 1
            if position == len(bits):
                return False
        if longest is None or position - start < longest:
            return True
    return False


_SPLIT_GAP = 6
"""Wildcards allowing more tokens than this are matched in code, not by spaCy's Matcher."""

Span = tuple[int, int]


def _gap(token: dict[str, Any]) -> tuple[int, int, bool | None] | None:
    """(least, most, IS_PUNCT or None) of a long bounded wildcard token, else None.

    spaCy unrolls ``{0,14}`` into 14 optional tokens whose match paths multiply with every
    optional token after them (about 20 ms per call for one rule); splitting the pattern there
    and joining the two halves' matches by distance gives the same matches in microseconds.
    """
    op = str(token.get("OP", ""))
    if not (op.startswith("{") and set(token) <= {"OP", "IS_PUNCT"}):
        return None
    least, _, most = op[1:-1].partition(",")
    if not most or int(most) <= _SPLIT_GAP:
        return None
    punct = token.get("IS_PUNCT")
    return int(least or 0), int(most), None if punct is None else bool(punct)


class _PatternMatcher:
    """All (start, end) matches of one token pattern, long wildcards joined in code."""

    def __init__(self, vocab: Vocab, pattern: list[dict[str, Any]]) -> None:
        split = next(
            (i for i, token in enumerate(pattern) if i and _gap(token) and i < len(pattern) - 1),
            None,
        )
        self._gap: tuple[int, int, bool | None] | None = None
        if split is None:
            self._matcher: Matcher | None = Matcher(vocab)
            self._matcher.add("p", [pattern])
            return
        self._matcher = None
        self._gap = _gap(pattern[split])
        self._head = _PatternMatcher(vocab, pattern[:split])
        self._tail = _PatternMatcher(vocab, pattern[split + 1 :])

    def __call__(self, doc: Doc | SpacySpan) -> set[Span]:
        if self._matcher is not None:
            return {(start, end) for _, start, end in self._matcher(doc)}
        assert self._gap is not None
        heads = self._head(doc)
        if not heads:
            return set()
        tails = self._tail(doc)
        least, most, punct = self._gap
        flags = [token.is_punct for token in doc] if punct is not None else []
        found = set()
        for start, middle in heads:
            for tail_start, end in tails:
                if least <= tail_start - middle <= most and (
                    punct is None or all(f == punct for f in flags[middle:tail_start])
                ):
                    found.add((start, end))
        return found


def _match(regex: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda word: regex.match(word) is not None


def _search(regex: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda word: regex.search(word) is not None


class _Rules:
    """One rule section's phrases and patterns: the same matches as spaCy's Matcher and
    PhraseMatcher on the whole doc, with the patterns behind the word prefilter."""

    def __init__(
        self, nlp: Language, sections: dict[str, Any], word_counts: Mapping[str, int]
    ) -> None:
        self._phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
        patterns: list[tuple[str, list[dict[str, Any]]]] = []
        for key, spec in sections.items():
            if spec.get("phrases"):
                self._phrases.add(key, [nlp.make_doc(str(text)) for text in spec["phrases"]])
            patterns += [(key, _as_word_lists(pattern)) for pattern in spec.get("patterns") or []]
        self._prefilter = Prefilter([pattern for _, pattern in patterns], word_counts)
        self._matchers = [(key, _PatternMatcher(nlp.vocab, pattern)) for key, pattern in patterns]
        self._needs_sentences = [any("IS_SENT_START" in t for t in p) for _, p in patterns]

    def __call__(
        self, doc: Doc, lowers: list[int], set_sentences: Callable[[Doc], None] | None = None
    ) -> list[tuple[str, int, int]]:
        """(key, start, end) in reading order; ``lowers`` are the doc's LOWER ids.
        ``set_sentences`` runs only when a pattern that reads IS_SENT_START can match (the
        sentencizer costs time on every doc)."""
        possible = self._prefilter(doc, lowers)
        windows = self._prefilter.windows(doc, lowers, possible) if possible else []
        found = self._phrases(doc) if len(self._phrases) else []
        if not windows and not found:
            return []
        if set_sentences is not None and any(self._needs_sentences[i] for i, _, _ in windows):
            set_sentences(doc)
        unique = {(doc.vocab.strings[key], start, end) for key, start, end in found}
        for i, start, end in windows:
            key, matcher = self._matchers[i]
            unique |= {(key, start + s, start + e) for s, e in matcher(doc[start:end])}
        return sorted(unique, key=lambda match: (match[1], match[2], match[0]))


def _lowers(doc: Doc) -> list[int]:
    """The doc's LOWER ids, read once per doc for both rule passes."""
    return doc.to_array(LOWER).tolist()


def load_word_counts(path: Path) -> dict[str, int]:
    """{word: messages that use it} from a ``word<TAB>count`` file (``# `` starts a comment;
    a word itself may start with "#": a hashtag)."""
    counts = {}
    for line in path.read_text(encoding="utf-8").split("\n"):  # a word may hold U+2028
        if line and not line.startswith("# "):
            word, _, count = line.rpartition("\t")
            counts[word] = int(count)
    return counts


class UrgencyRules:
    """Compiled rules with a rule-based sentencizer, on their own vocab or a shared one."""

    def __init__(
        self,
        path: Path = DEFAULT_RULES,
        vocab: Vocab | None = None,
        word_counts: Path | None = DEFAULT_WORD_COUNTS,
    ) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.nlp = spacy.blank("nl", vocab=vocab if vocab is not None else True)
        self._sentencizer = self.nlp.add_pipe("sentencizer")
        counts = load_word_counts(word_counts) if word_counts is not None else {}
        self._danger = _Rules(self.nlp, data["categories"], counts)
        cues = {section: spec for section, spec in data.items() if section not in _NOT_CUES}
        # every cue section in one pass (one prefilter), keyed by section; YAML order kept,
        # since the first section that cancels a match names the reason
        self._cues = _Rules(self.nlp, cues, counts)
        self._scopes = {
            section: _Scope(
                before=int(spec.get("window", 0)),
                after=int(spec.get("after", 0)),
                cross_punct=bool(spec.get("cross_punct", True)),
                cross_sentence=bool(spec.get("cross_sentence", False)),
                inside=bool(spec.get("inside", False)),
            )
            for section, spec in cues.items()
        }

    def _cancelled_by(
        self, doc: Doc, start: int, end: int, cue_hits: dict[str, list[tuple[str, int, int]]]
    ) -> str | None:
        sentence = doc[start].sent
        for section, hits in cue_hits.items():
            scope = self._scopes[section]
            for _, cue_start, cue_end in hits:
                if not scope.cross_sentence and (
                    cue_start < sentence.start or cue_end > sentence.end
                ):
                    continue
                if cue_end <= start and start - cue_end <= scope.before:
                    gap = doc[cue_end:start]
                elif scope.after and cue_start >= end and cue_start - end <= scope.after:
                    gap = doc[end:cue_start]
                elif scope.inside and start < cue_start and cue_end <= end:
                    gap = doc[0:0]
                else:
                    continue
                if not scope.cross_punct and any(token.is_punct for token in gap):
                    continue
                return f"{section}:{doc[cue_start:cue_end].text}"
        return None

    def cue_hits(
        self, doc: Doc, lowers: list[int] | None = None
    ) -> dict[str, list[tuple[str, int, int]]]:
        """(section, start, end) of every cue match, per section in YAML order."""
        hits: dict[str, list[tuple[str, int, int]]] = {section: [] for section in self._scopes}
        for hit in self._cues(doc, _lowers(doc) if lowers is None else lowers):
            hits[hit[0]].append(hit)
        return hits

    def _set_sentences(self, doc: Doc) -> None:
        if not doc.has_annotation("SENT_START"):
            self._sentencizer(doc)

    def _danger_matches(
        self, doc: Doc, lowers: list[int] | None = None
    ) -> list[tuple[str, int, int]]:
        """Danger matches in reading order; equal to running the category Matcher on the doc."""
        lowers = _lowers(doc) if lowers is None else lowers
        return self._danger(doc, lowers, set_sentences=self._set_sentences)

    def check_doc(self, doc: Doc) -> UrgencyCheck:
        """Check a doc made by this vocab's tokenizer (sentence starts are set when needed)."""
        result = UrgencyCheck()
        lowers = _lowers(doc)
        danger = self._danger_matches(doc, lowers)
        if not danger:
            return result  # most messages end here, without the Matcher or the cues
        self._set_sentences(doc)  # cue scopes are sentences
        cue_hits = self.cue_hits(doc, lowers)
        for category, start, end in danger:
            reason = self._cancelled_by(doc, start, end, cue_hits)
            if reason:
                result.cancelled.append((category, doc[start:end].text, reason))
            else:
                result.fired.append((category, doc[start:end].text))
        return result

    def check(self, text: str) -> UrgencyCheck:
        return self.check_doc(self.nlp.make_doc(text))
