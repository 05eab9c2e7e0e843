"""Build the shipped sample data from hand-written messages: four weeks of Vennebroek webcare.

Input: ``source/part-*.jsonl`` - resident messages written by hand, each with its labels, the
channel it fits, an optional time hint, and the webcare reply (if any) and follow-up.
Output: ``vennebroek-4-weeks.jsonl`` in export/v1 format (what `make run` replays) and
``vennebroek-4-weeks.labels.jsonl`` (message id -> hand labels, for evaluating the classifier).

Arrival times follow the real hourly profile of municipal reports (Assen, Signalen), weekend
share included. Replies follow office hours from the routing rules: quick when webcare is at
work, after the next opening when it is not, and sometimes never. Deterministic (fixed seed):
`python -m ingest.samples.build` reproduces the shipped files byte for byte.
"""

from __future__ import annotations

import json
import math
import random
import string
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from ingest.localtime import AMSTERDAM
from ingest.normalise import load_own_accounts
from route.office_hours import OfficeHours
from route.rules import load_rules

HERE = Path(__file__).parent
OUTPUT = HERE / "vennebroek-4-weeks.jsonl"
LABELS = HERE / "vennebroek-4-weeks.labels.jsonl"
FIRST_DAY = date(2026, 10, 12)  # a Monday; the four weeks include the change to winter time
DAYS = 28
SEED = 20261012

# The Assen profile (3,024 reports, 2025-2026), copied so the build needs nothing outside the repo.
# Hour 3 had no reports; give it a trace so a 03:00 message is possible.
HOURLY = {0: 36, 1: 11, 2: 4, 3: 1, 4: 2, 5: 4, 6: 19, 7: 46, 8: 219, 9: 509, 10: 363, 11: 208,
          12: 209, 13: 205, 14: 228, 15: 220, 16: 188, 17: 73, 18: 88, 19: 87, 20: 109, 21: 78,
          22: 72, 23: 46}  # fmt: skip
WEEKEND_SHARE = 0.132
HINT_HOURS = {"night": range(0, 7), "evening": range(18, 24), "office": range(8, 17)}


@dataclass
class Clock:
    rng: random.Random
    calendar: OfficeHours

    def arrival(self, hint: str | None) -> datetime:
        weekend = hint == "weekend" or (hint != "office" and self.rng.random() < WEEKEND_SHARE)
        days = [FIRST_DAY + timedelta(d) for d in range(DAYS)]
        day = self.rng.choice([d for d in days if (d.isoweekday() >= 6) == weekend])
        hours = HINT_HOURS.get(hint or "", range(24))
        hour = self.rng.choices(list(hours), weights=[HOURLY[h] for h in hours])[0]
        local = datetime(day.year, day.month, day.day, hour, self.rng.randrange(60),
                         self.rng.randrange(60), tzinfo=AMSTERDAM)  # fmt: skip
        return local

    def next_opening(self, moment: datetime) -> datetime:
        probe = moment.replace(second=0, microsecond=0)
        while not self.calendar.is_open(probe):
            probe += timedelta(minutes=15)
        return probe

    def _lognormal_minutes(self, median: float, spread: float = 0.8) -> timedelta:
        return timedelta(minutes=max(2.0, self.rng.lognormvariate(math.log(median), spread)))

    def reply_after(self, asked: datetime, channel: str, urgency: str) -> datetime | None:
        """When webcare answers, or None: some out-of-hours messages are never answered."""
        median = 40.0 if channel in ("twitter", "facebook", "instagram", "whatsapp") else 180.0
        if urgency in ("spoed", "hoog"):
            median /= 3
        if self.calendar.is_open(asked):
            return asked + self._lognormal_minutes(median)
        if urgency == "spoed" and self.rng.random() < 0.35:
            return asked + self._lognormal_minutes(25)  # the communications officer on duty saw it
        if self.rng.random() < 0.2:
            return None  # lost in Monday's pile
        return self.next_opening(asked) + self._lognormal_minutes(median * 1.5)


class Ids:
    """Platform-shaped ids, unique and deterministic."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _unique(self, make: Any) -> str:
        while (value := make()) in self.used:
            pass
        self.used.add(value)
        return value

    def message(self, channel: str) -> str:
        r = self.rng
        makers = {
            "twitter": lambda: str(
                r.randrange(1_840_000_000_000_000_000, 1_860_000_000_000_000_000)
            ),
            "facebook": lambda: f"104000000000001_{r.randrange(10**15, 10**16)}",
            "instagram": lambda: str(r.randrange(17_900_000_000_000_000, 18_100_000_000_000_000)),
            "whatsapp": lambda: (
                "wamid.HBgL" + "".join(r.choices(string.ascii_letters + string.digits, k=40))
            ),
            "app": lambda: f"VB-APP-{r.randrange(100000, 999999)}",
            "webform": lambda: f"VB-WEB-{r.randrange(100000, 999999)}",
        }
        return self._unique(makers[channel])

    def author(self, channel: str) -> str:
        r = self.rng
        makers = {
            "twitter": lambda: str(r.randrange(10**17, 10**18)),
            "facebook": lambda: str(r.randrange(10**15, 10**16)),
            "instagram": lambda: str(r.randrange(10**16, 10**17)),
            "whatsapp": lambda: f"316{r.randrange(10**7, 10**8)}",
            "app": lambda: f"app-user-{r.randrange(10**5, 10**6)}",
            "webform": lambda: f"web-{r.randrange(10**7, 10**8):x}",
        }
        return self._unique(makers[channel])


def _stamp(moment: datetime) -> str:
    return moment.astimezone(AMSTERDAM).isoformat()


def build(sources: list[Path]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(SEED)
    clock = Clock(rng, load_rules().calendar)
    ids = Ids(rng)
    own = {ch: sorted(accounts)[0] for ch, accounts in load_own_accounts().items()}
    items = [
        json.loads(line) for path in sources for line in path.open(encoding="utf-8") if line.strip()
    ]
    authors: dict[str, list[str]] = {}
    records: list[dict[str, Any]] = []
    labels: list[dict[str, Any]] = []
    for item in items:
        channel = item["channel"]
        pool = authors.setdefault(channel, [])
        # About one in six messages comes from someone who wrote before (repeat reporters).
        author = rng.choice(pool) if pool and rng.random() < 0.17 else ids.author(channel)
        pool.append(author)
        asked = clock.arrival(item.get("when"))
        first = ids.message(channel)
        inbound = {"channel": channel, "id": first, "conversation_id": first, "in_reply_to": None,
                   "author_id": author, "text": item["text"], "created_at": _stamp(asked)}  # fmt: skip
        if channel == "twitter":
            inbound["lang"] = item["lang"]  # the X API reports a language per post
        records.append(inbound)
        labels.append({"channel": channel, "id": first, "topic": item["topic"], "urgency": item["urgency"],
                       "intent": item["intent"], "lang": item["lang"]})  # fmt: skip
        last_id, last_at = first, asked
        answered_at = (
            clock.reply_after(asked, channel, item["urgency"]) if item.get("reply") else None
        )
        if answered_at is not None:
            reply_id = ids.message(channel)
            records.append({"channel": channel, "id": reply_id, "conversation_id": first, "in_reply_to": first,
                            "author_id": own[channel], "text": item["reply"], "created_at": _stamp(answered_at)})  # fmt: skip
            last_id, last_at = reply_id, answered_at
        if item.get("followup"):
            follow_at = last_at + timedelta(minutes=rng.lognormvariate(math.log(90), 1.0))
            follow_id = ids.message(channel)
            records.append({"channel": channel, "id": follow_id, "conversation_id": first, "in_reply_to": last_id,
                            "author_id": author, "text": item["followup"], "created_at": _stamp(follow_at)})  # fmt: skip
            labels.append({"channel": channel, "id": follow_id, "topic": item["topic"], "urgency": None,
                           "intent": None, "lang": item["lang"], "followup_of": first})  # fmt: skip
            again = (
                clock.reply_after(follow_at, channel, "normaal")
                if item.get("followup_reply")
                else None
            )
            if again is not None:
                records.append({"channel": channel, "id": ids.message(channel), "conversation_id": first,
                                "in_reply_to": follow_id, "author_id": own[channel],
                                "text": item["followup_reply"], "created_at": _stamp(again)})  # fmt: skip
    records.sort(key=lambda r: (datetime.fromisoformat(r["created_at"]), r["id"]))
    return records, labels


def main() -> None:
    sources = sorted((HERE / "source").glob("part-*.jsonl"))
    records, labels = build(sources)
    with OUTPUT.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(
                json.dumps({k: v for k, v in record.items() if v is not None}, ensure_ascii=False)
                + "\n"
            )
    with LABELS.open("w", encoding="utf-8") as out:
        for label in labels:
            out.write(json.dumps(label, ensure_ascii=False) + "\n")
    own = {account for accounts in load_own_accounts().values() for account in accounts}
    inbound = sum(1 for r in records if r["author_id"] not in own)
    print(
        f"{OUTPUT.name}: {len(records)} records, {inbound} from residents, {len(records) - inbound} replies"
    )


if __name__ == "__main__":
    main()
