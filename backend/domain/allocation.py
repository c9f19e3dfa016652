"""Allocation: which lots and locations fill a need, by FEFO or FIFO, reserving what it promises."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain.lots import local_date
from backend.domain.stock import reserve
from backend.models import Balance, Item, Location, LocationKind, Lot, LotStatus, PickPolicy


@dataclass(frozen=True)
class Candidate:
    """Free stock of one lot at one storage location."""

    lot_id: int
    location_id: int
    location_code: str
    free: Decimal
    expires_on: object
    received_at: datetime
    code: str


def sort_key(policy: PickPolicy):
    """How the item's policy orders candidates: FEFO by expiry (none last), then arrival, then code."""
    if policy == PickPolicy.fefo:
        return lambda c: (c.expires_on is None, c.expires_on or 0, c.received_at, c.code, c.location_code)
    return lambda c: (c.received_at, c.code, c.location_code)


def candidates(session: Session, item: Item, at: datetime, tz: ZoneInfo, *,
               exclude: tuple[int, int] | None = None) -> list[Candidate]:
    """Available, unexpired lots of the item with free stock in active storage locations, best first.

    The balance rows are locked (in key order, so concurrent allocations cannot deadlock) so that two
    allocations never promise the same units.
    """
    today = local_date(at, tz)
    query = (select(Balance.lot_id, Balance.location_id, Location.code, Balance.on_hand, Balance.reserved,
                    Lot.expires_on, Lot.received_at, Lot.code)
             .join(Lot, Lot.id == Balance.lot_id).join(Location, Location.id == Balance.location_id)
             .where(Lot.item_id == item.id, Lot.status == LotStatus.available,
                    (Lot.expires_on.is_(None)) | (Lot.expires_on >= today),
                    Location.kind == LocationKind.storage, Location.active.is_(True),
                    Balance.on_hand > Balance.reserved)
             .order_by(Balance.lot_id, Balance.location_id).with_for_update(of=Balance))
    found = [Candidate(lot, loc, code, on_hand - reserved, expires, received, lot_code)
             for lot, loc, code, on_hand, reserved, expires, received, lot_code in session.execute(query)
             if (lot, loc) != exclude]
    return sorted(found, key=sort_key(item.pick_policy))


def allocate(session: Session, item: Item, qty: Decimal, at: datetime, tz: ZoneInfo, *,
             exclude: tuple[int, int] | None = None) -> tuple[list[tuple[Candidate, Decimal]], Decimal]:
    """Reserve up to `qty` across the best candidates; returns the (candidate, qty) parts and the shortfall."""
    parts, needed = [], qty
    for candidate in candidates(session, item, at, tz, exclude=exclude):
        if needed <= 0:
            break
        take = min(candidate.free, needed)
        if reserve(session, candidate.lot_id, candidate.location_id, take):
            parts.append((candidate, take))
            needed -= take
    return parts, needed
