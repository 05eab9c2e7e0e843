"""Index naming: dated indices under one read alias.

A message's index is chosen from its own ``received_at`` month, so replaying it always writes
the same document in the same index (idempotent), and retention can drop whole months.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from ingest.localtime import to_utc

__all__ = ["IndexNames", "messages_template"]

_TEMPLATE = Path(__file__).parent / "messages-template.json"


class IndexNames:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @property
    def messages_alias(self) -> str:
        return f"{self.prefix}-messages"

    @property
    def messages_pattern(self) -> str:
        return f"{self.prefix}-messages-*"

    @property
    def messages_template(self) -> str:
        return f"{self.prefix}-messages"

    def messages_index(self, received_at: datetime) -> str:
        return f"{self.prefix}-messages-{to_utc(received_at):%Y.%m}"


def messages_template(names: IndexNames) -> dict[str, Any]:
    """The index template body, ready for ``PUT _index_template``."""
    body = json.loads(_TEMPLATE.read_text())
    body.pop("_comment", None)
    body["index_patterns"] = [names.messages_pattern]
    body["template"]["aliases"] = {names.messages_alias: {}}
    return body
