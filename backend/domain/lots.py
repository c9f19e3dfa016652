"""Lot rules: generated codes, expiry in the site's time zone, quarantine and release."""
from __future__ import annotations

import secrets
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from backend.domain import Actor, judged_time
from backend.domain.errors import DomainError, conflict, unknown
from backend.models import Balance, Item, Location, Lot, LotEvent, LotStatus, Movement

# No 0/O, 1/I/L: codes are read aloud and typed with gloves on.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def local_date(at: datetime, tz: ZoneInfo) -> date:
    """The calendar day at the site on which `at` falls."""
    return at.astimezone(tz).date()


def is_expired(lot: Lot, at: datetime, tz: ZoneInfo) -> bool:
    """A lot is usable through the end of its expiry day at the site, expired from the next midnight."""
    return lot.expires_on is not None and local_date(at, tz) > lot.expires_on


def generate_lot_code(session: Session, item: Item, at: datetime, tz: ZoneInfo) -> str:
    """A new lot code unique for the item: the site's day (YYMMDD) and four random characters."""
    while True:
        code = f"{local_date(at, tz):%y%m%d}-" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(4))
        taken = session.scalar(select(Lot.id).where(Lot.item_id == item.id, Lot.code == code))
        if taken is None:
            return code


def set_status(session: Session, actor: Actor, *, lot: int, status: LotStatus, reason: str,
               at: datetime | None = None) -> LotEvent:
    """Put a lot on quarantine or release it, with the reason in the audit trail."""
    lot_row = session.get(Lot, lot, with_for_update=True, populate_existing=True)
    if lot_row is None:
        raise unknown("lot", lot, status=404)
    if lot_row.status == status:
        raise conflict("no_change", f"Lot {lot_row.code} is already {status.value}")
    if lot_row.status == LotStatus.recalled:
        raise conflict("lot_recalled", f"Lot {lot_row.code} is recalled; a recall decides its fate")
    if not reason.strip():
        raise DomainError("invalid", "A reason is required", errors={"reason": ["Required"]})
    event = LotEvent(lot_id=lot_row.id, kind="status", old_value=lot_row.status.value, new_value=status.value,
                     reason=reason, actor=actor.user, device=actor.device, happened_at=judged_time(at))
    lot_row.status = status
    session.add(event)
    session.flush()
    return event


def detail(session: Session, lot_id: int) -> dict:
    """A lot with its non-empty balances by location, and its movements and events in floor order."""
    lot = session.get(Lot, lot_id, options=[undefer(Lot.on_hand)])
    if lot is None:
        raise unknown("lot", lot_id, status=404)
    balances = session.scalars(select(Balance).join(Location).where(
        Balance.lot_id == lot_id, (Balance.on_hand > 0) | (Balance.reserved > 0)).order_by(Location.code))
    movements = session.scalars(select(Movement).where(Movement.lot_id == lot_id)
                                .order_by(Movement.happened_at, Movement.id))
    events = session.scalars(select(LotEvent).where(LotEvent.lot_id == lot_id)
                             .order_by(LotEvent.happened_at, LotEvent.id))
    return {"lot": lot, "balances": balances.all(), "movements": movements.all(), "events": events.all()}


def status_at(session: Session, lot: Lot, at: datetime) -> LotStatus:
    """The lot's status as it was at `at`: the old value of the first status change after it, if any."""
    later = session.scalar(select(LotEvent.old_value).where(
        LotEvent.lot_id == lot.id, LotEvent.kind == "status", LotEvent.happened_at > at)
        .order_by(LotEvent.happened_at, LotEvent.id).limit(1))
    return status_before(lot.status, later)


def status_before(current: LotStatus, old_value_of_next_change: str | None) -> LotStatus:
    """The status before the first change after some moment: that change's old value, else the current one."""
    return LotStatus(old_value_of_next_change) if old_value_of_next_change else current
