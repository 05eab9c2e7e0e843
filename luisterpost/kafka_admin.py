"""Kafka I/O for operators: create topics, measure consumer lag."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from luisterpost.errors import ServiceError
from luisterpost.topics import TopicSpec

__all__ = ["LagProbe", "consumer_lag", "ensure_topics"]

log = logging.getLogger(__name__)


def _admin(servers: str) -> KafkaAdminClient:
    try:
        return KafkaAdminClient(bootstrap_servers=servers, client_id="luisterpost-admin")
    except KafkaError as exc:
        raise ServiceError(f"cannot reach Kafka at {servers}: {exc}") from None


def ensure_topics(servers: str, specs: Iterable[TopicSpec], replication_factor: int) -> list[str]:
    """Create missing topics; return the names created. Existing topics are left as they are."""
    admin = _admin(servers)
    try:
        existing = set(admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        for spec in missing:
            # Another worker may create it at the same moment.
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(
                    [
                        NewTopic(
                            spec.name,
                            spec.partitions,
                            replication_factor,
                            topic_configs=spec.config,
                        )
                    ]
                )
        if missing:
            log.info("created %d topics", len(missing))
        return [s.name for s in missing]
    finally:
        admin.close()


class LagProbe:
    """Reads a group's lag again and again over one admin client and one consumer."""

    def __init__(self, servers: str, group: str) -> None:
        self.group = group
        self._admin = _admin(servers)
        self._consumer = KafkaConsumer(
            bootstrap_servers=servers, client_id="luisterpost-lag", enable_auto_commit=False
        )

    def read(self, topics: Iterable[str]) -> dict[str, int]:
        """Records not yet committed by the group, per topic (all partitions summed)."""
        committed = self._admin.list_group_offsets(self.group).get(self.group, {})
        lag: dict[str, int] = {}
        for topic in topics:
            partitions = self._consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in partitions]
            ends = self._consumer.end_offsets(tps) if tps else {}
            total = 0
            for tp in tps:
                meta = committed.get(tp)
                done = meta.offset if meta is not None and meta.offset >= 0 else 0
                total += max(0, ends.get(tp, 0) - done)
            lag[topic] = total
        return lag

    def close(self) -> None:
        self._consumer.close()
        self._admin.close()

    def __enter__(self) -> LagProbe:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def consumer_lag(servers: str, group: str, topics: Iterable[str]) -> dict[str, int]:
    """One reading of the group's lag per topic."""
    with LagProbe(servers, group) as probe:
        return probe.read(topics)
