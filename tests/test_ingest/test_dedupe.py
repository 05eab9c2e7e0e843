"""Deduplication decisions and what the dedupe table remembers per message."""

from datetime import timedelta

from ingest.dedupe import (
    MAX_VERSIONS,
    Delivery,
    Remembered,
    classify_delivery,
    decode_seen,
    encode_seen,
    forgettable,
    remember,
    sweep_interval,
)


def test_deduplication_outcomes() -> None:
    assert classify_delivery([], "h1") is Delivery.NEW
    assert classify_delivery(["h1"], "h1") is Delivery.DUPLICATE
    assert classify_delivery(["h1"], "h2") is Delivery.EDIT


def test_replay_of_original_then_edit_is_all_duplicate() -> None:
    seen = remember(remember([], "original"), "edit")
    assert classify_delivery(seen, "original") is Delivery.DUPLICATE
    assert classify_delivery(seen, "edit") is Delivery.DUPLICATE


def test_remembered_versions_are_bounded_and_survive_encoding() -> None:
    seen: list[str] = []
    for n in range(MAX_VERSIONS + 5):
        seen = remember(seen, f"h{n}")
    assert len(seen) == MAX_VERSIONS and seen[-1] == f"h{MAX_VERSIONS + 4}"
    assert decode_seen(encode_seen(seen)) == seen
    assert decode_seen(None) == []


def test_a_remembered_message_carries_its_partition_and_time_of_change() -> None:
    entry = Remembered(["h1", "h2"], partition=3, changed=1_780_000_000.7)
    assert entry.encode() == "3:1780000000:h1,h2"
    assert Remembered.decode(entry.encode()) == Remembered(["h1", "h2"], 3, 1_780_000_000.0)
    # a value stored before times were kept: its versions still count, it never expires
    legacy = Remembered.decode("h1,h2")
    assert legacy == Remembered(["h1", "h2"]) and legacy.encode() == "h1,h2"
    assert not forgettable(legacy, cutoff=float("inf"))
    assert Remembered.decode(None) == Remembered([])


def test_a_remembered_message_is_forgotten_once_unchanged_for_the_retention() -> None:
    entry = Remembered(["h1"], partition=0, changed=1000.0)
    assert forgettable(entry, cutoff=1000.5)
    assert not forgettable(entry, cutoff=1000.0)
    assert sweep_interval(timedelta(days=403)) == 3600.0
    assert sweep_interval(timedelta(seconds=20)) == 5.0
    assert sweep_interval(timedelta(minutes=2)) == 30.0
