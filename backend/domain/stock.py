"""Stock operations: every change of stock goes through here, ledger and balances together."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.domain import Actor, judged_time
from backend.domain.codes import check_lot_code, check_quantity
from backend.domain.errors import DomainError, conflict
from backend.domain.lookup import item_by_sku, location_by_code, lot_by_id, partner_by_code
from backend.domain.lots import generate_lot_code, is_expired, local_date
from backend.models import (
    Balance, Location, LocationKind, Lot, LotEvent, LotStatus, Movement, MovementType, PartnerKind,
    utcnow,
)

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def lock_balances(session: Session, lot: Lot, sources=(), targets=()) -> dict[int, Balance]:
    """Lock the lot's balance rows at these locations (creating the targets'), in a fixed order."""
    target_ids = sorted({loc.id for loc in targets})
    if target_ids:
        insert = _INSERT[session.get_bind().dialect.name]
        rows = [{"lot_id": lot.id, "location_id": i, "on_hand": Decimal(0), "reserved": Decimal(0),
                 "updated_at": utcnow()} for i in target_ids]
        session.execute(insert(Balance).values(rows).on_conflict_do_nothing())
    ids = sorted({loc.id for loc in sources} | set(target_ids))
    query = (select(Balance).where(Balance.lot_id == lot.id, Balance.location_id.in_(ids))
             .order_by(Balance.location_id).with_for_update().execution_options(populate_existing=True))
    return {b.location_id: b for b in session.scalars(query)}


def record(session: Session, actor: Actor, type_: MovementType, lot: Lot, qty: Decimal, *,
           src: Location | None = None, dst: Location | None = None, at: datetime,
           partner=None, ref: tuple[str, str] | None = None, reason: str | None = None) -> Movement:
    """Append one movement and apply it to the balances in the same transaction."""
    balances = lock_balances(session, lot, sources=[src] if src else [], targets=[dst] if dst else [])
    if src is not None:
        available = balances[src.id].free if src.id in balances else Decimal(0)
        if qty > available:
            raise conflict("insufficient_stock",
                           f"Only {_fmt(available)} {lot.item.uom} of lot {lot.code} free at {src.code}")
        balances[src.id].on_hand -= qty
    if dst is not None:
        balances[dst.id].on_hand += qty
    movement = Movement(
        type=type_, lot=lot, qty=qty, from_location=src, to_location=dst, partner=partner,
        ref_type=ref[0] if ref else None, ref_number=ref[1] if ref else None, reason=reason,
        actor=actor.user, device=actor.device, happened_at=at, recorded_at=utcnow())
    session.add(movement)
    session.flush()
    return movement


def _fmt(qty: Decimal) -> str:
    """A quantity as people write it."""
    return format(qty.normalize(), "f")


def receive(session: Session, actor: Actor, *, item: str, qty: Decimal, location: str,
            lot: str | None = None, expires_on: date | None = None, supplier: str | None = None,
            supplier_lot: str | None = None, unit_cost: Decimal | None = None,
            reference: str | None = None, at: datetime | None = None) -> Movement:
    """Receive goods into a location, creating the lot (with a generated code when none is given)."""
    at = judged_time(at)
    item_row = item_by_sku(session, item)
    check_quantity(qty, item_row.uom)
    dst = location_by_code(session, location)
    partner = partner_by_code(session, supplier, PartnerKind.supplier) if supplier else None
    lot_row = _existing_lot(session, item_row, lot, expires_on) if lot is not None else None
    if lot_row is None:
        if expires_on is None and item_row.shelf_life_days:
            expires_on = local_date(at, actor.tz) + timedelta(days=item_row.shelf_life_days)
        lot_row = Lot(item=item_row, code=lot or generate_lot_code(session, item_row, at), expires_on=expires_on,
                      supplier=partner, supplier_lot=supplier_lot, unit_cost=unit_cost, received_at=at,
                      status=LotStatus.quarantine if dst.kind == LocationKind.quarantine else LotStatus.available)
    if is_expired(lot_row, at, actor.tz):
        raise DomainError("lot_expired", f"Lot expired on {lot_row.expires_on.isoformat()}; it cannot be received",
                          errors={"expires_on": ["Before the date of receipt"]})
    session.add(lot_row)
    session.flush()
    return record(session, actor, MovementType.receive, lot_row, qty, dst=dst, at=at, partner=partner,
                  ref=("receipt", reference) if reference else None)


def _existing_lot(session: Session, item, code: str, expires_on: date | None) -> Lot | None:
    """The item's lot with this code, if any; receiving more of it must agree on its expiry."""
    check_lot_code(code)
    existing = session.scalar(select(Lot).where(Lot.item_id == item.id, Lot.code == code))
    if existing is not None and expires_on is not None and existing.expires_on not in (None, expires_on):
        raise conflict("lot_conflict", f"Lot {code} exists with expiry {existing.expires_on}")
    return existing


def move(session: Session, actor: Actor, *, lot: int, from_location: str, to_location: str,
         qty: Decimal, reason: str | None = None, at: datetime | None = None) -> Movement:
    """Move a quantity of a lot between two locations (held and expired lots too)."""
    lot_row = lot_by_id(session, lot, lock=True)
    check_quantity(qty, lot_row.item.uom)
    src, dst = location_by_code(session, from_location), location_by_code(session, to_location)
    if src.id == dst.id:
        raise DomainError("invalid", "From and to are the same location", errors={"to": ["Same as from"]})
    return record(session, actor, MovementType.move, lot_row, qty, src=src, dst=dst,
                  at=judged_time(at), reason=reason)


def adjust(session: Session, actor: Actor, *, lot: int, location: str, delta: Decimal, reason: str,
           at: datetime | None = None, ref: tuple[str, str] | None = None) -> Movement:
    """Correct stock up or down by `delta` with an adjusting movement; the reason is mandatory."""
    lot_row = lot_by_id(session, lot, lock=True)
    check_quantity(abs(delta), lot_row.item.uom, field="delta")
    loc = location_by_code(session, location)
    side = {"dst": loc} if delta > 0 else {"src": loc}
    return record(session, actor, MovementType.adjust, lot_row, abs(delta), at=judged_time(at),
                  reason=reason, ref=ref, **side)


def scrap(session: Session, actor: Actor, *, lot: int, location: str, qty: Decimal, reason: str,
          at: datetime | None = None) -> Movement:
    """Write off a quantity of a lot at a location (damaged, expired, rejected)."""
    lot_row = lot_by_id(session, lot, lock=True)
    check_quantity(qty, lot_row.item.uom)
    return record(session, actor, MovementType.scrap, lot_row, qty, src=location_by_code(session, location),
                  at=judged_time(at), reason=reason)


def count(session: Session, actor: Actor, *, lot: int, location: str, counted: Decimal,
          at: datetime | None = None) -> tuple[Movement | None, LotEvent]:
    """Record a physical count; a difference becomes an adjusting movement that sets on-hand to it."""
    lot_row = lot_by_id(session, lot, lock=True)
    if counted < 0:
        raise DomainError("invalid", "A count cannot be negative", errors={"counted": ["Must be >= 0"]})
    if counted:
        check_quantity(counted, lot_row.item.uom, field="counted")
    loc = location_by_code(session, location)
    at = judged_time(at)
    on_hand = lock_balances(session, lot_row, targets=[loc])[loc.id].on_hand
    event = LotEvent(lot_id=lot_row.id, kind="count", old_value=_fmt(on_hand), new_value=_fmt(counted),
                     location=loc, actor=actor.user, device=actor.device, happened_at=at)
    session.add(event)
    session.flush()
    movement = None
    if counted != on_hand:
        movement = adjust(session, actor, lot=lot, location=location, delta=counted - on_hand,
                          reason="count", at=at, ref=("count", str(event.id)))
    return movement, event
