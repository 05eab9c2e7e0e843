"""Kafka I/O for the HTTP ingest service (async, so the event loop never blocks on the broker)."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from ingest.deadletter import DeadLetter
from ingest.raw import RawRecord

__all__ = ["KafkaPublisher"]


class KafkaPublisher:
    """Writes accepted deliveries to the raw topic and waits for the broker's acknowledgement."""

    def __init__(self, servers: str, raw_topic: str, deadletter_topic: str) -> None:
        self.servers = servers
        self.raw_topic = raw_topic
        self.deadletter_topic = deadletter_topic
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        # aiokafka binds to the running loop, so the producer is made here, not in __init__.
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.servers.split(","), acks="all", client_id="luisterpost-ingest"
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    def _started(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("KafkaPublisher.start() was not awaited")
        return self._producer

    async def raw(self, record: RawRecord) -> None:
        key = record.delivery_id.encode()
        await self._started().send_and_wait(self.raw_topic, record.to_json(), key=key)

    async def dead_letter(self, record: DeadLetter) -> None:
        await self._started().send_and_wait(self.deadletter_topic, record.to_json())
