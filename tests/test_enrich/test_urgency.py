"""The urgency safety layer: acute danger fires, negation, past and hypotheticals do not."""

from datetime import UTC, datetime
from typing import Any

import pytest

from enrich.enrich import enrich_messages
from enrich.pipeline import Enricher
from enrich.urgency import UrgencyRules
from ingest.events import Author, Direction, Message

RULES = UrgencyRules()


@pytest.mark.parametrize(
    "text",
    [
        "Ik ruik een sterke gaslucht in het trappenhuis van de flat!",
        "Er ligt een boom over de weg bij de Molenweg, auto's kunnen niet langs",
        "er staat iemand op de brug aan de verkeerde kant van de reling",
        "There's a fire in the bin shed behind our building, flames everywhere",
        "koeien lopen los op de N34!!",
        # traffic lights dark or green both ways, with traffic now
        "verkeerslichten bij de school zijn uit en de kinderen steken nu over tussen de auto's",
        "stoplicht voor voetgangers staat op groen en auto's hebben ook groen",
        # a movable bridge opening with people on it
        "de klep van de Vaartbrug gaat omhoog terwijl er nog fietsers op staan",
        # thin ice cracking, water coming into a house, a capsized boat
        "ijs op de vijver is veel te dun, er staan twee jochies midden op en het kraakt",
        "er komt water onder de voordeur door en het blijft stijgen",
        "vader en zoon in een bootje omgeslagen, ze hangen aan de boot",
        # someone on the tracks or a roof edge, a confused person out in the cold, a child missing at dusk
        "hij zegt dat hij nu op het spoor zit en dat het klaar is",
        "jongen staat al 10 minuten op de dakrand van de flat",
        "oude mevrouw staat in haar ondergoed buiten in de sneeuw, ze is helemaal blauw",
        "ons jongetje is niet meer bij de groep, het wordt donker en hij is nergens",
        # a structure or branch hanging over people, something starting to give way
        "er hangt een lamp half los boven het publiek en hij zwaait aan 1 kabel",
        "tak hangt boven het terras, mensen zitten er gewoon onder te eten",
        "de bomen op de kade beginnen te hellen naar het water",
        # chemical smell with symptoms, CO alarm
        "het ruikt in de gymzaal naar iets bijtends en de kinderen hoesten",
        "our CO alarm is going off and my partner has a terrible headache",
        # crime or assault in progress, objects thrown onto traffic
        "iemand probeert bij ons binnen te komen via het balkon",
        "there's a guy punching a woman on the platform right now",
        "iemand gooit stenen vanaf het viaduct op de auto's",
        # vehicles: on its side, rolling without a driver, a cyclist just hit
        "bus ligt op zijn kant in de berm, mensen kruipen door de ramen naar buiten",
        "auto rolt de Dijkstraat af zonder bestuurder, richting de kade",
        "auto reed door rood, net een fietser geraakt",
        # large animal in a shopping street, people fleeing
        "hert rent in paniek door de Hoofdstraat, mensen rennen weg",
        # burglary in progress, a smoke alarm going off, a fire still burning, a dog attacking now
        "er wordt nu ingebroken bij de buren, ik zie twee mannen met zaklampen",
        "de rookmelder gaat af bij mijn bovenbuurman en hij doet niet open",
        "ze zijn weggerend maar het brandt nog tegen de schuur aan",
        "grote hond valt nu een kind aan in het Stadspark",
        # traffic swerving round an obstacle, railway barriers not closing, fireworks fired flat
        "er ligt een omgewaaide tak op de N34, auto's zwenken er met 80 omheen",
        "de spoorbomen bij de overweg Kerkweg gaan niet dicht en er komt een trein",
        "vuurpijlen worden horizontaal afgeschoten over de Markt",
        # someone going under or fallen into the water, a car in the water with someone inside
        "zwemmer gaat steeds onder bij de pier, niemand ziet het",
        "jongetje is bij de sluis in de gracht gevallen",
        "auto is de vaart in gereden, er zit nog iemand in!",
        "een kleuter is weggelopen en loopt alleen langs de vijver",
        # people hit, a trapped driver, a fall from a ladder, something swallowed, an overdose
        "bij de optocht reed een wagen de menigte in, er zijn mensen geraakt",
        "na de botsing zit de bestuurder nog vast in zijn auto",
        "My dad fell off the ladder and can't feel his legs",
        "onze peuter heeft een knoopcelbatterij ingeslikt",
        "hij appt dat hij een hele strip slaappillen heeft geslikt",
        # water seeping out on the land side of a dyke, a bouncy castle torn loose, a gas pipe hit
        "aan de landkant van de dijk sijpelt water door het gras",
        "het springkussen is losgeschoten en rolt weg met kinderen erin",
        "graafmachine heeft een gasleiding geraakt in de Dorpsstraat",
        "Please send someone to the market square!",
    ],
)
def test_acute_danger_fires(text: str) -> None:
    assert RULES.check(text).acute, text


@pytest.mark.parametrize(
    "text",
    [
        "geen gaslucht meer, bedankt voor de snelle actie",
        "de brand van vorige week heeft veel schade gedaan aan het park",
        "Wanneer wordt het grofvuil opgehaald?",
        "Mooi evenement gisteren, complimenten!",
        # near misses of the patterns above: past, hypothetical, negated, not acute
        "als het verkeerslicht uit is en de kinderen steken over, wie is dan aansprakelijk?",
        "stoplicht voor fietsers staat op groen tegelijk met de auto's die rechtsaf slaan",
        "net bijna een fietser geraakt bij de oversteek, kan daar een drempel komen?",
        "vorige week kraakte het ijs op de vijver al, is het nu veilig?",
        "gisteren kwam er water onder de voordeur door, nu is het weer droog",
        "er komt geen rook meer uit de container, de brandweer is geweest",
        "wat moet ik doen als er rook uit de meterkast komt?",
        "someone broke into my shed last week, can we get more street lights?",
        "ik probeer al een uur binnen te komen op mijn DigiD",
        "hoeveel pillen mag je per dag nemen?",
        "er is al drie keer een auto de sloot in gereden bij de bocht, komt er een vangrail?",
        "kids kicking a ball against our wall every evening, can the council put up a sign?",
        "meeuwen nestelen op de dakrand van de school, alles zit onder de poep",
        "ik heb een tweedehands auto op de kop getikt, hoe vraag ik een parkeervergunning aan?",
        # figures of speech and other harmless senses
        "mijn inbox staat vandaag echt in brand",
        "die nieuwe regel slaat echt nergens op",
        "Gun het ze wel hoor",
        "de lantaarnpalen in onze straat branden weer, dank jullie!",
        "Dog poo all over the verge on Parkweg again",
        "kinderen gooien eieren tegen de ramen van de school",
        "swan sitting on the cycle path hissing at everyone",
        "teenagers hang out in the lift and smoke in there",
        "mijn ex reageert nergens meer op",
        # an event talked about, not happening: after/since it, pictures of it, a year ago, last month's
        "sinds zijn beroerte zit mijn vader in een rolstoel, hoe vraag ik een parkeerkaart aan?",
        "mooie foto's van de brand in de Grote Kerk in het gemeentearchief",
        "Last month's knife incident at the station still scares me",
        "bedankt voor de snelle hulp!!",
        "gas smell near the school this morning, now everything is safe again",
        "gisteren ging de rookmelder af, bleek de batterij leeg",
        # general questions, exercises, permits, conditions
        "wat doet de gemeente bij een ramp zoals een dijkdoorbraak?",
        "de gemeente oefent donderdag een overstroming met de veiligheidsregio",
        "moet er eerst iemand in het water liggen voor er een hek komt?",
        "Kapvergunning aangevraagd voor een boom die op ons huis kan vallen",
        "Weird smell tonight. Is something on fire?",
        "koolmonoxidemelder piept, is dat de batterij? we voelen ons prima",
        "de bank in het park is kapot, wie kan er komen?",
        # recurring, passable or routine: near misses of narrowed patterns
        "bij elke regenbui loopt onze kelder vol, kan de gemeente iets doen?",
        "er wordt veel ingebroken in onze wijk, komt er meer politie?",
        "boom dwars over het wandelpad na de storm, je moet eromheen",
        "de takken van de boom hangen over ons dak",
        "fietsen staan overal tegen de gevel en over de stoep",
        "de livestream van de raad valt om de paar minuten weg",
        "ze graven al een week voor een nieuwe gasleiding, wanneer zijn ze klaar?",
        "gat in het wegdek van 10 cm diep, mijn velg is krom",
        "weer een stuk van de oever in het water gezakt bij het bankje",
        "tak ligt half op de rijbaan van de Eikenlaan",
        "beslag op mijn loon, ik zit nu onder de beslagvrije voet",
        "er drijft rommel in de haven, kan dat eruit gevist worden?",
        "iemand heeft zakken tuinafval in de sloot gekieperd",
        "jongeren steken cobra's af in een prullenbak bij de bushalte",
        "buurjongens schieten met een luchtbuks op duiven",
        "er brandt nog licht bij de buren, ze doen niet open",
        "onze hond valt steeds andere honden aan, waar kan ik hulp krijgen?",
        "het publiek in de zaal was enthousiast",
        "people are stuck in traffic on the ring road every morning",
        "kinderen gooien nu sneeuwballen naar elkaar",
    ],
)
def test_no_danger_or_cancelled_does_not_fire(text: str) -> None:
    assert not RULES.check(text).acute, text


def test_a_cancelled_match_says_why() -> None:
    check = RULES.check("geen gaslucht meer in de straat")
    assert check.cancelled and check.cancelled[0][2].startswith("negation:")


def message(pid: str, text: str) -> Message:
    now = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)
    return Message.create(
        channel="whatsapp", platform_message_id=pid, platform_conversation_id=pid,
        direction=Direction.INBOUND, author=Author(pseudonym="a"), text=text,
        received_at=now, ingested_at=now, source="meta/v1",
    )  # fmt: skip


def test_enrichment_raises_to_spoed_with_reasons_and_never_lowers() -> None:
    batch = [
        message("1", "er ligt een stroomkabel op straat die vonken geeft"),
        message("2", "Wanneer is de milieustraat open?"),
    ]
    enricher = Enricher()
    with_rules = enrich_messages(batch, enricher)
    assert with_rules[0].enrichment is not None and with_rules[0].enrichment.urgency == "spoed"
    assert with_rules[0].enrichment.urgency_reasons
    # no rule fires on the second: its urgency is the model's, with no reasons
    second = with_rules[1].enrichment
    assert second is not None and not RULES.check(batch[1].text).acute
    assert not second.urgency_reasons and second.urgency_score < 1.0


def test_prefiltered_matching_equals_the_full_matcher() -> None:
    """The speed-up (word prefilter, one Matcher per pattern) finds exactly the same matches."""
    import json
    from pathlib import Path

    from spacy.matcher import Matcher

    corpus = Path(__file__).resolve().parents[2] / "enrich" / "corpus" / "dev.jsonl"
    rows = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
    texts = [r["text"] for r in rows if r["urgency"] == "spoed"][:80]
    texts += [r["text"] for r in rows if r["urgency"] != "spoed"][:80]
    full = Matcher(RULES.nlp.vocab)
    for category, patterns in full_patterns():
        full.add(category, patterns)
    flagged = cue_hits = 0
    cue_matchers, cue_phrases = full_cue_matchers()
    for text in texts:
        doc = RULES.nlp(text)  # sentencizer included, as the full Matcher needs
        expected = {(doc.vocab.strings[k], s, e) for k, s, e in full(doc)}
        expected |= {(doc.vocab.strings[k], s, e) for k, s, e in RULES._danger._phrases(doc)}
        assert set(RULES._danger_matches(RULES.nlp.make_doc(text))) == expected, text
        flagged += bool(expected)
        for section, hits in RULES.cue_hits(doc).items():
            cue_matcher = cue_matchers.get(section)
            want = {(section, s, e) for _, s, e in cue_matcher(doc)} if cue_matcher else set()
            want |= {(section, s, e) for _, s, e in cue_phrases[section](doc)}
            assert set(hits) == want, (section, text)
            cue_hits += bool(want)
    assert flagged >= 25  # the sample really exercises the Matcher
    assert cue_hits >= 25  # and the cue sections


def full_cue_matchers() -> tuple[dict[str, Any], dict[str, Any]]:
    """A plain spaCy Matcher and PhraseMatcher per cue section (negation, past, ...), as written."""
    import yaml
    from spacy.matcher import Matcher, PhraseMatcher

    from enrich.urgency import DEFAULT_RULES

    data = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    matchers, phrases = {}, {}
    for section, spec in data.items():
        if section in ("version", "categories"):
            continue
        if spec.get("patterns"):
            matchers[section] = Matcher(RULES.nlp.vocab)
            matchers[section].add(section, spec["patterns"])
        phrases[section] = PhraseMatcher(RULES.nlp.vocab, attr="LOWER")
        phrases[section].add(section, [RULES.nlp.make_doc(p) for p in spec.get("phrases") or []])
    return matchers, phrases


def full_patterns() -> list[tuple[str, list[list[dict[str, object]]]]]:
    import yaml

    from enrich.urgency import DEFAULT_RULES

    data = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    return [(c, spec["patterns"]) for c, spec in data["categories"].items() if spec.get("patterns")]


@pytest.mark.parametrize(
    ("regex", "words", "rest"),
    [
        ("^(gas|rook)$", {"gas", "rook"}, None),
        ("^(?:brand|vuur)$", {"brand", "vuur"}, None),
        ("^brand$", {"brand"}, None),
        (r"^(\w*hond|honden)$", {"honden"}, r"^(?:\w*hond)$"),
        ("^gas(lucht|geur)$", set(), "^gas(lucht|geur)$"),  # not a word list: kept whole
        ("^(lek|sis)", set(), "^(lek|sis)"),  # unanchored end: "lekt" matches too
    ],
)
def test_split_alternation(regex: str, words: set[str], rest: str | None) -> None:
    from enrich.urgency import split_alternation

    assert split_alternation(regex) == (frozenset(words), rest)


def test_split_alternation_keeps_every_rule_regex_meaning() -> None:
    """For every LOWER regex in the rules: a word matches it exactly when it is one of the
    literal words or matches the rest, on the dev split's words plus each literal itself."""
    import json
    import re
    from pathlib import Path

    import yaml

    from enrich.urgency import DEFAULT_RULES, split_alternation

    corpus = Path(__file__).resolve().parents[2] / "enrich" / "corpus" / "dev.jsonl"
    vocab = {
        token.lower_
        for line in corpus.read_text(encoding="utf-8").splitlines()
        for token in RULES.nlp.make_doc(json.loads(line)["text"])
    }
    data = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    regexes = {
        token["LOWER"]["REGEX"]
        for section, spec in data.items()
        if isinstance(spec, dict)
        for rules in ([spec] if section != "categories" else spec.values())
        for pattern in rules.get("patterns") or []
        for token in pattern
        if isinstance(token.get("LOWER"), dict) and "REGEX" in token["LOWER"]
    }
    assert len(regexes) > 400
    split = 0
    for regex in regexes:
        words, rest = split_alternation(regex)
        split += bool(words)
        for word in vocab | words | {w + "s" for w in words}:
            expected = re.search(regex, word) is not None
            got = word in words or (rest is not None and re.search(rest, word) is not None)
            assert got == expected, (regex, word)
    assert split > 400  # most rule regexes are word lists


@pytest.mark.parametrize(
    ("spoed", "normaal", "expected"),
    [(0.60, 0.30, "spoed"), (0.03, 0.90, "spoed"), (0.005, 0.985, "hoog")],
)
def test_a_rule_raises_to_spoed_unless_the_model_rules_acute_danger_out(
    spoed: float, normaal: float, expected: str
) -> None:
    """Below RULE_GATE the rule still raises, to hoog, and its reasons stay on the message."""
    from enrich.axes import AXES
    from enrich.pipeline import RULE_GATE

    assert spoed >= RULE_GATE or expected == "hoog"
    enricher = Enricher()
    enricher.thresholds = {}
    doc = enricher.nlp.make_doc("er ligt een stroomkabel op straat die vonken geeft")
    urgency = {"spoed": spoed, "hoog": 0.01, "normaal": normaal, "laag": 0.0}
    doc.cats = {
        f"{axis}={label}": urgency[label] if axis == "urgency" else float(i == 0)
        for axis, labels in AXES.items()
        for i, label in enumerate(labels)
    }
    result = enricher.enrichment(doc)
    assert result.urgency == expected
    assert result.urgency_reasons and result.urgency_reasons[0].startswith("power_lines")
    assert result.urgency_score == (1.0 if expected == "spoed" else round(spoed + 0.01, 4))


def test_patterns_are_filed_under_their_rarest_word_by_the_word_counts() -> None:
    """The key only decides how fast a doc finds its possible patterns, never what matches."""
    from enrich.urgency import Prefilter

    pattern = [{"LOWER": "staat"}, {"LOWER": {"IN": ["gas", "gaslek"]}}]
    by_stop_words = Prefilter([pattern])  # neither word is a stop word: the first one wins
    by_counts = Prefilter([pattern], {"staat": 900, "gas": 40})
    assert by_stop_words._key_of != by_counts._key_of
    assert by_counts._key_of[0] == by_counts._literal["gas"]
    nlp = RULES.nlp
    for text, expected in (("de deur staat open", []), ("het staat vol gas", [0])):
        doc = nlp.make_doc(text)
        lowers = doc.to_array("LOWER").tolist()
        assert by_stop_words(doc, lowers) == by_counts(doc, lowers) == expected


def test_the_shipped_word_counts_are_the_commonest_training_words() -> None:
    from enrich.urgency import DEFAULT_WORD_COUNTS, load_word_counts
    from enrich.word_counts import count_words

    shipped = load_word_counts(DEFAULT_WORD_COUNTS)
    assert len(shipped) == 3_000 and shipped["de"] > shipped["gas"] > 0
    assert count_words(["De gas, de GAS!", "gas"], top=2) == [("gas", 2), ("!", 1)]


@pytest.mark.parametrize(
    ("bits", "sequence", "longest", "expected"),
    [
        ([1, 0, 2], [1, 2], 3, True),  # in order, within three tokens
        ([1, 0, 2], [1, 2], 2, False),  # in order, but too far apart
        ([2, 0, 1], [1, 2], None, False),  # the words occur, the other way round
        ([1, 0, 0, 1, 2], [1, 2], 2, True),  # a later start fits
        ([3], [1, 2], None, False),  # one word cannot be two tokens of a pattern
        ([1, 1], [1, 1], 2, True),  # the same condition twice
        ([0, 0], [], 1, True),  # no word condition: every doc may match
    ],
)
def test_in_order_finds_a_patterns_required_words_in_order_and_in_reach(
    bits: list[int], sequence: list[int], longest: int | None, expected: bool
) -> None:
    from enrich.urgency import _in_order

    assert _in_order(bits, sequence, longest) is expected
