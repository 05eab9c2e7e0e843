"""Pure normalisation: raw record in, canonical messages out, or a NormaliseError with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from ingest.events import Message
from ingest.raw import RawRecord
from ingest.registry import NormaliseContext, NormaliseError, get_normaliser

__all__ = ["load_own_accounts", "normalise"]

DEFAULT_OWN_ACCOUNTS = Path(__file__).parent / "config" / "own_accounts.yaml"


def normalise(record: RawRecord, ctx: NormaliseContext) -> list[Message]:
    """Parse the raw body with its source's normaliser.

    :raises NormaliseError: unknown source, malformed JSON, or a payload of the wrong shape.
    """
    normalise_payload = get_normaliser(record.source)
    try:
        payload = json.loads(record.body)
    except json.JSONDecodeError as exc:
        raise NormaliseError(
            f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    return normalise_payload(payload, ctx)


def load_own_accounts(path: Path | None = None) -> dict[str, frozenset[str]]:
    """Own account ids per channel from YAML (see ingest/config/own_accounts.yaml)."""
    data = yaml.safe_load((path or DEFAULT_OWN_ACCOUNTS).read_text()) or {}
    accounts = data.get("accounts") or {}
    if not isinstance(accounts, dict):
        raise NormaliseError("own accounts file: 'accounts' must map channel to a list of ids")
    return {str(ch): frozenset(str(i) for i in (ids or [])) for ch, ids in accounts.items()}
