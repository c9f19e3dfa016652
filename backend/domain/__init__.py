"""Domain rules: plain functions taking the session and the actor explicitly."""
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from backend.models import User, utcnow


@dataclass(frozen=True)
class Actor:
    """Who acts, from which device, at a site in which time zone."""

    user: User
    device: str | None = None
    tz: ZoneInfo = ZoneInfo("UTC")


def judged_time(at: datetime | None) -> datetime:
    """When an operation counts as having happened: as reported, but never later than now."""
    now = utcnow()
    return now if at is None or at > now else at
