"""Normalisers by raw source format: each a pure function, payload in, canonical messages out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ingest.events import Message
from ingest.pseudonym import pseudonymise

__all__ = [
    "NormaliseContext",
    "NormaliseError",
    "Normaliser",
    "get_normaliser",
    "normaliser",
    "sources",
]


class NormaliseError(ValueError):
    """The payload is not in the shape its source promises; the reason goes to the dead letter."""


@dataclass(frozen=True)
class NormaliseContext:
    """What a normaliser needs besides the payload."""

    pseudonym_secret: bytes
    ingested_at: datetime
    own_accounts: dict[str, frozenset[str]] = field(default_factory=dict)
    """Per channel, the municipality's own account ids: their posts are outbound replies."""

    def pseudonym(self, channel: str, platform_author_id: str) -> str:
        return pseudonymise(self.pseudonym_secret, channel, platform_author_id)

    def is_own_account(self, channel: str, platform_author_id: str) -> bool:
        return platform_author_id in self.own_accounts.get(channel, frozenset())


Normaliser = Callable[[Any, NormaliseContext], list[Message]]
_REGISTRY: dict[str, Normaliser] = {}


def normaliser(source: str) -> Callable[[Normaliser], Normaliser]:
    """Register a normaliser for a raw source format (a changed format gets a new version)."""

    def register(func: Normaliser) -> Normaliser:
        if source in _REGISTRY:
            raise ValueError(f"normaliser for {source!r} registered twice")
        _REGISTRY[source] = func
        return func

    return register


def get_normaliser(source: str) -> Normaliser:
    _load_channels()
    try:
        return _REGISTRY[source]
    except KeyError:
        raise NormaliseError(f"unknown source format {source!r}") from None


def sources() -> list[str]:
    _load_channels()
    return sorted(_REGISTRY)


def _load_channels() -> None:
    # Importing the package registers every channel's normalisers.
    import ingest.channels  # noqa: F401
