"""Shared fixtures: a real Kafka broker and Elasticsearch API (noida-db) on free ports."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from luisterpost.services import LocalServices


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServices]:
    """noida-db with Kafka and Elasticsearch, started for this test session and stopped after."""
    local = LocalServices(tmp_path_factory.mktemp("noida"), free_port(), free_port())
    local.up(timeout=60)
    try:
        yield local
    finally:
        local.down()


@pytest.fixture
def pipeline_env(services: LocalServices, tmp_path: Path) -> dict[str, str]:
    """Environment for one isolated pipeline: own topics, indices, consumer group and state."""
    run = uuid.uuid4().hex[:8]
    env = dict(os.environ)
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=services.kafka_servers,
        ELASTICSEARCH_URL=services.elasticsearch_url,
        LUISTERPOST_STATE_DIR=str(tmp_path / "state"),
        LUISTERPOST_TOPIC_PREFIX=f"t{run}",
        LUISTERPOST_INDEX_PREFIX=f"t{run}",
        LUISTERPOST_APP_ID=f"t{run}",
        LUISTERPOST_METRICS_PORT=str(free_port()),
        LUISTERPOST_PSEUDONYM_KEY="test-key-not-secret",
        LUISTERPOST_INDEX_BATCH_SECONDS="0.3",
    )
    return env
