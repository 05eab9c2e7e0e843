"""The shipped sample data meets what the demo promises, and rebuilds byte for byte."""

import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from ingest.normalise import load_own_accounts
from ingest.samples import build

ROWS = [json.loads(line) for line in build.OUTPUT.read_text(encoding="utf-8").splitlines()]
OWN = {account for accounts in load_own_accounts().values() for account in accounts}
INBOUND = [r for r in ROWS if r["author_id"] not in OWN]
REPLIES = [r for r in ROWS if r["author_id"] in OWN]


def local(row: dict[str, str]) -> datetime:
    return datetime.fromisoformat(row["created_at"])


def test_volume_channels_and_period() -> None:
    assert len(INBOUND) >= 2000
    assert set(Counter(r["channel"] for r in INBOUND)) == {
        "twitter",
        "facebook",
        "instagram",
        "whatsapp",
        "app",
        "webform",
    }
    days = {local(r).date() for r in INBOUND}
    assert (max(days) - min(days)).days >= 27


def test_texts_are_varied_not_templated() -> None:
    texts = [r["text"] for r in INBOUND]
    assert len(set(texts)) / len(texts) > 0.98
    openings = Counter(" ".join(t.split()[:3]).lower() for t in texts)
    assert openings.most_common(1)[0][1] < len(texts) * 0.02


def test_arrivals_follow_the_assen_hourly_profile() -> None:
    hours = Counter(local(r).hour for r in INBOUND)
    ours = [hours[h] / len(INBOUND) for h in range(24)]
    total = sum(build.HOURLY.values())
    reference = [build.HOURLY[h] / total for h in range(24)]
    mean_o, mean_r = sum(ours) / 24, sum(reference) / 24
    cov = sum((o - mean_o) * (r - mean_r) for o, r in zip(ours, reference, strict=True))
    var_o = sum((o - mean_o) ** 2 for o in ours)
    var_r = sum((r - mean_r) ** 2 for r in reference)
    assert cov / (var_o * var_r) ** 0.5 > 0.9  # Pearson correlation with the real profile
    weekend = sum(local(r).isoweekday() >= 6 for r in INBOUND) / len(INBOUND)
    assert 0.10 < weekend < 0.25


def test_replies_are_fast_in_office_hours_and_slow_outside() -> None:
    by_id = {r["id"]: r for r in ROWS}
    calendar = build.load_rules().calendar
    inside, outside = [], []
    for reply in REPLIES:
        asked = by_id[reply["in_reply_to"]]
        minutes = (local(reply) - local(asked)).total_seconds() / 60
        assert minutes > 0
        (inside if calendar.is_open(local(asked)) else outside).append(minutes)
    median = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    assert median(outside) > 4 * median(inside)
    assert len(REPLIES) > 0.5 * len(INBOUND) * 0.9


def test_some_english_and_some_unanswered() -> None:
    labels = [json.loads(line) for line in build.LABELS.read_text(encoding="utf-8").splitlines()]
    english = sum(label["lang"] == "en" for label in labels) / len(labels)
    assert 0.05 < english < 0.2
    answered = {r["in_reply_to"] for r in REPLIES}
    assert sum(r["id"] not in answered for r in INBOUND) > 100


def test_build_is_reproducible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build, "OUTPUT", tmp_path / "out.jsonl")
    monkeypatch.setattr(build, "LABELS", tmp_path / "labels.jsonl")
    build.main()
    assert (tmp_path / "out.jsonl").read_bytes() == (
        build.HERE / "vennebroek-4-weeks.jsonl"
    ).read_bytes()
