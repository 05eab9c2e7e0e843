"""Signature and handshake checks, against vectors computed independently with openssl."""

import pytest

from ingest.verify import (
    HandshakeError,
    api_key_valid,
    meta_challenge,
    meta_signature_valid,
    x_crc_response,
    x_signature,
    x_signature_valid,
)

BODY = b'{"object":"page","entry":[]}'
# printf '%s' BODY | openssl dgst -sha256 -hmac app-secret -hex
META_HEADER = "sha256=e6e9d7a842a48e17f43a34d6125d0d933e2aab92ee37f0993a4d493b50e3d438"
# printf '%s' BODY | openssl dgst -sha256 -hmac consumer-secret -binary | base64
X_HEADER = "sha256=Ad5qXHUdbLN8aOznwtfM2BzBT3yfxMJDPq4cnbin0HQ="


def test_meta_signature_valid_invalid_missing() -> None:
    assert meta_signature_valid(b"app-secret", BODY, META_HEADER)
    assert not meta_signature_valid(b"other-secret", BODY, META_HEADER)
    assert not meta_signature_valid(
        b"app-secret", BODY + b" ", META_HEADER
    )  # any change to the raw body
    assert not meta_signature_valid(b"app-secret", BODY, None)
    assert not meta_signature_valid(b"app-secret", BODY, "sha1=" + META_HEADER[7:])


def test_x_signature_valid_invalid_missing() -> None:
    assert x_signature(b"consumer-secret", BODY) == X_HEADER
    assert x_signature_valid(b"consumer-secret", BODY, X_HEADER)
    assert not x_signature_valid(b"consumer-secret", BODY.replace(b"page", b"user"), X_HEADER)
    assert not x_signature_valid(b"consumer-secret", BODY, None)


def test_x_crc_response_is_the_hmac_of_the_token() -> None:
    response = x_crc_response(b"consumer-secret", "challenge-123")
    assert response == {"response_token": x_signature(b"consumer-secret", b"challenge-123")}
    assert response["response_token"].startswith("sha256=")


def test_meta_handshake() -> None:
    ok = {"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "1158201444"}
    assert meta_challenge(ok, "tok") == "1158201444"
    with pytest.raises(HandshakeError, match="verify_token"):
        meta_challenge({**ok, "hub.verify_token": "wrong"}, "tok")
    with pytest.raises(HandshakeError, match=r"hub\.mode"):
        meta_challenge({**ok, "hub.mode": "unsubscribe"}, "tok")
    with pytest.raises(HandshakeError, match="challenge"):
        meta_challenge({k: v for k, v in ok.items() if k != "hub.challenge"}, "tok")


def test_api_keys() -> None:
    assert api_key_valid("k2", ["k1", "k2"])
    assert not api_key_valid("k3", ["k1", "k2"])
    assert not api_key_valid(None, ["k1"])
    assert not api_key_valid("", [""])
