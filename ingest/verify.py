"""Is a delivery really from the platform? Pure signature and handshake checks.

Meta: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>``; the GET
subscription handshake echoes ``hub.challenge`` when ``hub.verify_token`` matches.
X (Account Activity API): ``x-twitter-webhooks-signature: sha256=<base64 HMAC-SHA256(consumer
secret, raw body)>``; the CRC check answers ``response_token`` = the same HMAC of ``crc_token``.
Always over the raw bytes received: re-serialised JSON would not match.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping

__all__ = [
    "HandshakeError",
    "api_key_valid",
    "meta_challenge",
    "meta_signature",
    "meta_signature_valid",
    "x_crc_response",
    "x_signature",
    "x_signature_valid",
]


class HandshakeError(ValueError):
    """The subscription handshake is malformed or the verify token is wrong."""


def _mac(secret: bytes, data: bytes) -> bytes:
    return hmac.new(secret, data, hashlib.sha256).digest()


def meta_signature(app_secret: bytes, body: bytes) -> str:
    return "sha256=" + _mac(app_secret, body).hex()


def meta_signature_valid(app_secret: bytes, body: bytes, header: str | None) -> bool:
    return header is not None and hmac.compare_digest(
        header.strip(), meta_signature(app_secret, body)
    )


def meta_challenge(params: Mapping[str, str], verify_token: str) -> str:
    """The challenge to echo for a valid subscription request.

    :raises HandshakeError: wrong mode, missing challenge, or a verify token that does not match.
    """
    if params.get("hub.mode") != "subscribe":
        raise HandshakeError("hub.mode must be 'subscribe'")
    challenge = params.get("hub.challenge")
    if not challenge:
        raise HandshakeError("hub.challenge is missing")
    if not hmac.compare_digest(params.get("hub.verify_token", ""), verify_token):
        raise HandshakeError("hub.verify_token does not match")
    return challenge


def x_signature(consumer_secret: bytes, body: bytes) -> str:
    return "sha256=" + base64.b64encode(_mac(consumer_secret, body)).decode()


def x_signature_valid(consumer_secret: bytes, body: bytes, header: str | None) -> bool:
    return header is not None and hmac.compare_digest(
        header.strip(), x_signature(consumer_secret, body)
    )


def x_crc_response(consumer_secret: bytes, crc_token: str) -> dict[str, str]:
    return {"response_token": x_signature(consumer_secret, crc_token.encode())}


def api_key_valid(presented: str | None, keys: Iterable[str]) -> bool:
    """Constant-time comparison against every configured key."""
    if not presented:
        return False
    return any(hmac.compare_digest(presented, key) for key in keys)
