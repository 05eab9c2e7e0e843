"""Signed webhook deliveries over real HTTP -> Kafka -> Elasticsearch, a retry indexed once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from ingest.normalise import load_own_accounts
from ingest.registry import NormaliseContext, get_normaliser
from ingest.verify import meta_signature, x_signature
from tests.conftest import free_port
from tests.test_pipeline.support import Workers, cli, indexed

pytestmark = pytest.mark.integration

PAYLOADS = Path(__file__).resolve().parent.parent / "test_ingest" / "payloads"
DELIVERIES = [
    ("/webhooks/meta", "meta/v1", "meta/page_feed_comment_add.json"),
    ("/webhooks/meta", "meta/v1", "meta/messenger_text.json"),
    ("/webhooks/meta", "meta/v1", "instagram/comments_change.json"),
    ("/webhooks/meta", "meta/v1", "whatsapp/batched_multi_entry.json"),
    ("/webhooks/meta", "meta/v1", "whatsapp/status_only.json"),
    ("/webhooks/x", "x-activity/v1", "x/account_activity_tweet_create.json"),
    ("/webhooks/x", "x-activity/v1", "x/account_activity_own_reply.json"),
]


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def signature_headers(path: str, body: bytes) -> dict[str, str]:
    if path == "/webhooks/meta":
        return {"X-Hub-Signature-256": meta_signature(b"meta-test-secret", body)}
    return {"x-twitter-webhooks-signature": x_signature(b"x-test-secret", body)}


def test_signed_deliveries_are_indexed_once_even_when_retried(
    pipeline_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**pipeline_env, "LUISTERPOST_META_APP_SECRET": "meta-test-secret",
           "LUISTERPOST_META_VERIFY_TOKEN": "verify", "LUISTERPOST_X_CONSUMER_SECRET": "x-test-secret"}  # fmt: skip
    prefix = env["LUISTERPOST_TOPIC_PREFIX"]
    context = NormaliseContext(
        env["LUISTERPOST_PSEUDONYM_KEY"].encode(), datetime.now(UTC), load_own_accounts()
    )
    expected: set[str] = set()
    for _, source, name in DELIVERIES:
        payload = json.loads((PAYLOADS / name).read_bytes())
        expected |= {m.message_id for m in get_normaliser(source)(payload, context)}
    assert len(expected) >= 8

    port = free_port()
    cli(env, "setup")
    server = subprocess.Popen(
        [sys.executable, "-m", "luisterpost", "ingest", "serve", "--port", str(port)],
        env=env, stdout=(tmp_path / "ingest.log").open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    workers = Workers(env, tmp_path)
    try:
        workers.start_ready(["all"], f"{prefix}.raw")
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        for path, _, name in DELIVERIES:
            body = (PAYLOADS / name).read_bytes()
            status, answer = post(base + path, body, signature_headers(path, body))
            assert status == 200, (name, answer)
        # The platform did not get our answer in time and delivers the first two again.
        for path, _, name in DELIVERIES[:2]:
            body = (PAYLOADS / name).read_bytes()
            assert post(base + path, body, signature_headers(path, body))[0] == 200
        # A forged delivery is refused and stored nowhere.
        forged = (PAYLOADS / "meta/messenger_emoji.json").read_bytes()
        assert (
            post(base + "/webhooks/meta", forged, {"X-Hub-Signature-256": "sha256=" + "0" * 64})[0]
            == 403
        )
        cli(env, "wait", "--timeout", "120")
        first_pass = indexed(Elasticsearch(env["ELASTICSEARCH_URL"]), f"{prefix}-messages")
        # A month later the resident deletes the comment: its text must leave the index.
        removal = json.loads((PAYLOADS / "meta/page_feed_comment_remove.json").read_bytes())
        removal["entry"][0]["time"] += 31 * 24 * 3600
        body = json.dumps(removal).encode()
        assert (
            post(base + "/webhooks/meta", body, signature_headers("/webhooks/meta", body))[0] == 200
        )
        cli(env, "wait", "--timeout", "120")
        workers.assert_alive()
        assert server.poll() is None, "the ingest service stopped"
    finally:
        server.terminate()
        server.wait(30)
        workers.stop()

    es = Elasticsearch(env["ELASTICSEARCH_URL"])
    docs = indexed(es, f"{prefix}-messages")
    assert set(docs) == expected  # every message once; retries and the forged one added nothing
    [removed_id] = [i for i, d in docs.items() if d["deleted"]]
    assert first_pass[removed_id]["text"] and not first_pass[removed_id]["deleted"]
    # "Kerkstraat/Stationsplein": places quoted from the text leave the index with it
    assert [loc["text"] for loc in first_pass[removed_id]["enrichment"]["locations"]] == [
        "Kerkstraat",
        "Stationsplein",
    ]
    assert docs[removed_id]["enrichment"]["locations"] == []
    assert docs[removed_id]["enrichment"]["topic"] == first_pass[removed_id]["enrichment"]["topic"]
    assert (
        docs[removed_id]["text"] == ""
        and docs[removed_id]["received_at"] == first_pass[removed_id]["received_at"]
    )
    hits = es.search(index=f"{prefix}-messages", query={"ids": {"values": [removed_id]}})["hits"][
        "hits"
    ]
    assert len(hits) == 1, "the deletion must not leave a second copy in another month's index"
    channels = {doc["channel"] for doc in docs.values()}
    assert {"facebook", "instagram", "whatsapp", "twitter"} <= channels
    outbound = [d for d in docs.values() if d["direction"] == "outbound"]
    assert outbound and all(d["author"]["is_municipality"] for d in outbound)
