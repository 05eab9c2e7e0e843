"""Places from the municipality's gazetteer, found case-insensitively, with house numbers."""

from enrich.locations import LocationFinder

FINDER = LocationFinder()


def test_street_with_house_number_and_neighbourhood() -> None:
    text = "Lantaarnpaal kapot op de kerkstraat 14 in De Horst"
    found = [(loc.text, loc.label) for loc in FINDER.find(text)]
    assert found == [("kerkstraat 14", "STREET"), ("De Horst", "NEIGHBOURHOOD")]
    first = FINDER.find(text)[0]
    assert text[first.start : first.end] == "kerkstraat 14"  # type: ignore[index]


def test_messages_without_places_and_batches_keep_order() -> None:
    results = FINDER.find_many(
        ["Hoe vraag ik een paspoort aan?", "Vol bij het Stationsplein", "hoi"]
    )
    assert [len(r) for r in results] == [0, 1, 0]
    assert results[1][0].text == "Stationsplein"


def test_a_crossing_written_with_a_slash_gives_both_streets() -> None:
    text = "Glasbak op de hoek Kerkstraat/stationsplein vol, en bij Kerkstraat 14 ook"
    found = FINDER.find(text)
    assert [(loc.text, loc.label) for loc in found] == [
        ("Kerkstraat", "STREET"),
        ("stationsplein", "STREET"),
        ("Kerkstraat 14", "STREET"),
    ]
    assert all(text[loc.start : loc.end] == loc.text for loc in found)
    assert FINDER.find("ja/nee, en/of") == []  # only gazetteer names count


def test_the_gazetteer_is_an_entity_ruler_that_a_spacy_pipeline_can_run() -> None:
    """nlp(text).ents gives the names find() gives, without the house numbers find() adds."""
    assert FINDER.nlp.pipe_names == ["entity_ruler"]
    text = "Gaslucht bij de Kerkstraat 14 en in De Horst, vlak bij de markt"
    ents = [(e.text, e.label_) for e in FINDER.nlp(text).ents]
    found = [(loc.text, loc.label) for loc in FINDER.find(text)]
    assert ents and len(ents) == len(found)
    assert [(t.split(" 14")[0], label) for t, label in found] == ents
