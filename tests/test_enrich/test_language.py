"""Language from function words: Dutch, English, or undetermined."""

import pytest

from enrich.language import detect_language


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Wanneer wordt het afval opgehaald in onze straat?", "nl"),
        ("When is the garbage collected in our street?", "en"),
        ("👍", "und"),
    ],
)
def test_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang
