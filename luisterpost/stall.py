"""Pure stall detection: a partition with a backlog whose committed offset stops moving."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["StallDetector"]


@dataclass
class StallDetector:
    """Remembers, per partition, since when its committed offset has not moved.

    A partition is stalled when it has a backlog (committed < highwater), its commit has not
    moved for ``after_seconds``, and its stage is idle (not retrying a batch): then records
    were fetched but never delivered, and only a seek back to the committed offset brings them
    back. Re-reading is safe: downstream is deduplicated and idempotent.
    """

    after_seconds: float = 30.0
    _since: dict[object, tuple[int, float]] = field(default_factory=dict)

    def observe(self, tp: object, committed: int, highwater: int, now: float, busy: bool) -> bool:
        """Record one observation; True means 'seek this partition back to committed now'."""
        previous = self._since.get(tp)
        if committed >= highwater or previous is None or previous[0] != committed or busy:
            self._since[tp] = (committed, now)
            return False
        if now - previous[1] < self.after_seconds:
            return False
        self._since[tp] = (committed, now)  # wait a full period before the next seek
        return True
