"""Pseudonymous author identities (AVG/GDPR): stable per author, not reversible without the key."""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["pseudonymise"]


def pseudonymise(secret: bytes, channel: str, platform_author_id: str) -> str:
    """A keyed hash of the author's platform identity.

    The same author on the same channel always gets the same pseudonym, so conversations and
    repeat reporters stay visible, while the index never holds the platform id itself.
    """
    digest = hmac.new(secret, f"{channel}:{platform_author_id}".encode(), hashlib.sha256)
    return "a_" + digest.hexdigest()[:20]
