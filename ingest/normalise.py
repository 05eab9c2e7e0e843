"""Pure normalisation: raw record in, canonical messages out, or a NormaliseError with a reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from ingest.events import Message
from ingest.raw import RawRecord
from ingest.registry import NormaliseContext, NormaliseError, get_normaliser

__all__ = ["load_own_accounts", "normalise", "parse_body"]

DEFAULT_OWN_ACCOUNTS = Path(__file__).parent / "config" / "own_accounts.yaml"


def normalise(record: RawRecord, ctx: NormaliseContext) -> list[Message]:
    """Parse the raw body with its source's normaliser.

    :raises NormaliseError: unknown source, malformed JSON, or a payload of the wrong shape.
    """
    normalise_payload = get_normaliser(record.source)
    return normalise_payload(parse_body(record.body), ctx)


def parse_body(body: str | bytes) -> Any:
    """The JSON payload of a delivery, or a NormaliseError saying why it is not one.

    Python parses a lone surrogate escape ("\\ud800") into a string that no encoder downstream
    (Kafka, Elasticsearch) accepts, so such a body is refused here, where the platform can
    still be told.
    """
    try:
        payload = json.loads(body)
    except json.JSONDecodeError as exc:
        raise NormaliseError(
            f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except UnicodeDecodeError as exc:
        raise NormaliseError(f"malformed JSON: not UTF-8 ({exc.reason})") from None
    escaped = b"\\u" in body if isinstance(body, bytes) else "\\u" in body
    if escaped:  # only an escape can hide a lone surrogate
        try:
            json.dumps(payload, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            code = ord(exc.object[exc.start])
            raise NormaliseError(
                f"malformed JSON: \\u{code:04x} is a lone surrogate escape, not a character"
            ) from None
    return payload


def load_own_accounts(path: Path | None = None) -> dict[str, frozenset[str]]:
    """Own account ids per channel from YAML (see ingest/config/own_accounts.yaml)."""
    data = yaml.safe_load((path or DEFAULT_OWN_ACCOUNTS).read_text()) or {}
    accounts = data.get("accounts") or {}
    if not isinstance(accounts, dict):
        raise NormaliseError("own accounts file: 'accounts' must map channel to a list of ids")
    return {str(ch): frozenset(str(i) for i in (ids or [])) for ch, ids in accounts.items()}
