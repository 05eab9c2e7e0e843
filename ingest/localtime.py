"""Europe/Amsterdam local-time fields, computed once at ingest.

Elasticsearch aggregations run on these precomputed fields, so the numbers do not depend
on a search server's ``time_zone`` support and match what Kibana shows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

__all__ = ["AMSTERDAM", "WEEKDAY_NAMES", "LocalTime", "local_time", "to_utc"]

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
WEEKDAY_NAMES = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")


class LocalTime(BaseModel):
    """When a message arrived, as a resident in the Netherlands would say it."""

    model_config = ConfigDict(frozen=True)

    timestamp: str
    """ISO 8601 with the UTC offset in force then (+01:00 or +02:00)."""
    date: str
    hour: int
    minute: int
    weekday: int
    """ISO weekday: 1 = Monday ... 7 = Sunday."""
    weekday_name: str
    hour_of_week: int
    """0 = Monday 00:00-00:59 ... 167 = Sunday 23:00-23:59."""
    is_weekend: bool
    iso_week: str
    utc_offset_minutes: int


def to_utc(moment: datetime) -> datetime:
    """Normalise to an aware UTC datetime; a naive datetime is taken to be UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def local_time(moment: datetime) -> LocalTime:
    """Local Amsterdam fields of an instant (DST-aware through the IANA database).

    :param moment: the instant; naive values are taken to be UTC.
    """
    local = to_utc(moment).astimezone(AMSTERDAM)
    iso = local.isocalendar()
    offset = local.utcoffset()
    return LocalTime(
        timestamp=local.isoformat(),
        date=local.date().isoformat(),
        hour=local.hour,
        minute=local.minute,
        weekday=iso.weekday,
        weekday_name=WEEKDAY_NAMES[iso.weekday - 1],
        hour_of_week=(iso.weekday - 1) * 24 + local.hour,
        is_weekend=iso.weekday >= 6,
        iso_week=f"{iso.year}-W{iso.week:02d}",
        utc_offset_minutes=int(offset.total_seconds() // 60) if offset else 0,
    )
