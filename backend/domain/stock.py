"""Stock operations: every change of stock goes through here, ledger and balances together."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import BigInteger, bindparam, insert, inspect, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.domain import Actor, judged_time
from backend.domain.codes import check_lot_code, check_quantity, qty_text
from backend.domain.errors import DomainError, conflict
from backend.domain.lookup import item_by_sku, location_by_code, lot_by_id, partner_by_code
from backend.domain.lots import generate_lot_code, is_expired, local_date
from backend.models import (
    Balance, Item, Location, LocationKind, Lot, LotEvent, LotStatus, Movement, MovementType, PartnerKind, utcnow,
)
from backend.types import ExactDecimal, from_scaled



def record(session: Session, actor: Actor, type_: MovementType, lot: Lot, qty: Decimal, *,
           src: Location | None = None, dst: Location | None = None, at: datetime,
           partner=None, ref: tuple[str, str] | None = None, reason: str | None = None,
           task_id: int | None = None, reverses_id: int | None = None) -> Movement:
    """Append one movement and apply it to the balances in the same transaction."""
    if src is not None and src is dst:
        raise DomainError("invalid", f"A movement needs two places; {src.code} is both", errors={"to": ["Same"]})
    now = utcnow()
    # Touch balance rows in location order so two concurrent moves can never deadlock.
    for location in sorted(filter(None, (src, dst)), key=lambda loc: loc.id):
        if location is src:
            _take(session, lot, src, qty, now)
        else:
            _put(session, lot, dst, qty, now)
    values = dict(type=type_, lot_id=lot.id, qty=qty, from_location_id=src and src.id, to_location_id=dst and dst.id,
                  partner_id=partner and partner.id, ref_type=ref and ref[0], ref_number=ref and ref[1],
                  reason=reason, actor_id=_id(actor.user), device=actor.device, happened_at=at, recorded_at=now,
                  task_id=task_id, reverses_id=reverses_id)
    return session.scalars(insert(Movement).returning(Movement), [values]).one()


_B = Balance.__table__
MAX_BALANCE = Decimal(9 * 10**12)  # what a BIGINT of millionths holds, rounded down
MAX_BALANCE_SCALED = 9 * 10**18
_KEY = (_B.c.lot_id == bindparam("b_lot")) & (_B.c.location_id == bindparam("b_location"))
_QTY = bindparam("b_qty", type_=ExactDecimal())
# Built once: constructing these per call (the upsert's `excluded` above all) costs more than running them.
_TAKE = (update(_B).where(_KEY, _B.c.on_hand - _B.c.reserved >= _QTY)
         .values(on_hand=_B.c.on_hand - _QTY, updated_at=bindparam("b_now")))
_FREE = select(_B.c.on_hand - _B.c.reserved).where(_KEY)


def _upsert(dialect_insert):
    """INSERT a balance row or add to the one there."""
    statement = dialect_insert(_B).values(lot_id=bindparam("b_lot"), location_id=bindparam("b_location"),
                                          on_hand=_QTY, reserved=0, updated_at=bindparam("b_now"))
    return statement.on_conflict_do_update(
        index_elements=[_B.c.lot_id, _B.c.location_id],
        set_={"on_hand": _B.c.on_hand + statement.excluded.on_hand, "updated_at": statement.excluded.updated_at},
        # Written as a difference: the sum itself could overflow BIGINT before it is compared.
        where=_B.c.on_hand <= literal(MAX_BALANCE_SCALED, BigInteger()) - statement.excluded.on_hand,
    ).returning(_B.c.lot_id)


_PUT = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}
_RESERVE = (update(_B).where(_KEY, _B.c.on_hand - _B.c.reserved >= _QTY)
            .values(reserved=_B.c.reserved + _QTY, updated_at=bindparam("b_now")))
_UNRESERVE = (update(_B).where(_KEY, _B.c.reserved >= _QTY)
              .values(reserved=_B.c.reserved - _QTY, updated_at=bindparam("b_now")))


def reserve(session: Session, lot_id: int, location_id: int, qty: Decimal) -> bool:
    """Promise `qty` of free stock to a task; False (nothing changed) when that much is not free."""
    params = {"b_lot": lot_id, "b_location": location_id, "b_qty": qty, "b_now": utcnow()}
    return session.execute(_RESERVE, params).rowcount == 1


def unreserve(session: Session, lot_id: int, location_id: int, qty: Decimal) -> None:
    """Release a promise made by reserve()."""
    params = {"b_lot": lot_id, "b_location": location_id, "b_qty": qty, "b_now": utcnow()}
    if session.execute(_UNRESERVE, params).rowcount != 1:
        raise RuntimeError(f"reservation of lot {lot_id} at location {location_id} is smaller than {qty}")


def free_stock(session: Session, lot_id: int, location_id: int) -> tuple[Decimal, Decimal]:
    """(on_hand, free) of a lot at a location, its balance row locked for the rest of the transaction."""
    row = session.execute(select(_B.c.on_hand, _B.c.reserved).where(_KEY).with_for_update(),
                          {"b_lot": lot_id, "b_location": location_id}).first()
    if row is None:
        return Decimal(0), Decimal(0)
    return row.on_hand, row.on_hand - row.reserved


def _take(session: Session, lot: Lot, location: Location, qty: Decimal, now: datetime) -> None:
    """Decrease on-hand if that much is free; the condition is re-checked under the row lock."""
    key = {"b_lot": lot.id, "b_location": location.id}
    if session.execute(_TAKE, {**key, "b_qty": qty, "b_now": now}).rowcount != 1:
        raise insufficient(lot.code, lot.item.uom, from_scaled(session.scalar(_FREE, key) or 0), location.code)


def insufficient(lot_code: str, uom: str, free: Decimal, location_code: str) -> DomainError:
    """The refusal of taking more than is free."""
    return conflict("insufficient_stock", f"Only {qty_text(free)} {uom} of lot {lot_code} free at {location_code}")


def _put(session: Session, lot: Lot, location: Location, qty: Decimal, now: datetime) -> None:
    """Increase on-hand, creating the balance row when it is the first stock there."""
    params = {"b_lot": lot.id, "b_location": location.id, "b_qty": qty, "b_now": now}
    if session.execute(_PUT[session.get_bind().dialect.name], params).first() is None:
        raise DomainError("invalid", f"{location.code} cannot hold that much of lot {lot.code}",
                          errors={"qty": [f"Stock of one lot at one place stays below {MAX_BALANCE:,}"]})


def _id(row) -> int:
    """A persistent row's primary key without reloading it after a commit expired it."""
    return inspect(row).identity[0]



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
    if lot is not None:
        check_lot_code(lot)
    existing = session.scalar(select(Lot).where(Lot.item_id == item_row.id, Lot.code == lot)) if lot else None
    lot_row = lot_to_receive(existing, item_row, lot or generate_lot_code(session, item_row, at, actor.tz),
                             expires_on, dst, partner, supplier_lot, unit_cost, at, actor.tz)
    session.add(lot_row)
    session.flush()
    return record(session, actor, MovementType.receive, lot_row, qty, dst=dst, at=at, partner=partner,
                  ref=("receipt", reference) if reference else None)


def lot_to_receive(existing: Lot | None, item: Item, code: str, expires_on: date | None, dst: Location,
                   partner, supplier_lot: str | None, unit_cost: Decimal | None, at: datetime, tz) -> Lot:
    """The lot a receipt goes into: the item's lot with this code (same expiry) or a new one; never expired."""
    if existing is not None and expires_on is not None and existing.expires_on not in (None, expires_on):
        raise conflict("lot_conflict", f"Lot {code} exists with expiry {existing.expires_on}")
    lot = existing
    if lot is None:
        if expires_on is None and item.shelf_life_days:
            expires_on = local_date(at, tz) + timedelta(days=item.shelf_life_days)
        lot = Lot(item=item, code=code, expires_on=expires_on, supplier=partner, supplier_lot=supplier_lot,
                  unit_cost=unit_cost, received_at=at,
                  status=LotStatus.quarantine if dst.kind == LocationKind.quarantine else LotStatus.available)
    if is_expired(lot, at, tz):
        raise DomainError("lot_expired", f"Lot expired on {lot.expires_on.isoformat()}; it cannot be received",
                          errors={"expires_on": ["Before the date of receipt"]})
    return lot


def move(session: Session, actor: Actor, *, lot: int, from_location: str, to_location: str,
         qty: Decimal, reason: str | None = None, at: datetime | None = None) -> Movement:
    """Move a quantity of a lot between two locations (held and expired lots too)."""
    lot_row = lot_by_id(session, lot, lock=True)
    check_quantity(qty, lot_row.item.uom)
    src, dst = location_by_code(session, from_location), location_by_code(session, to_location)
    check_distinct(src, dst)
    return record(session, actor, MovementType.move, lot_row, qty, src=src, dst=dst,
                  at=judged_time(at), reason=reason)


def check_distinct(src: Location, dst: Location) -> None:
    """A move goes somewhere else."""
    if src.id == dst.id:
        raise DomainError("invalid", "From and to are the same location", errors={"to": ["Same as from"]})


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
    on_hand, _ = free_stock(session, lot_row.id, loc.id)
    event = LotEvent(lot_id=lot_row.id, kind="count", old_value=qty_text(on_hand), new_value=qty_text(counted),
                     location=loc, actor=actor.user, device=actor.device, happened_at=at)
    session.add(event)
    session.flush()
    movement = None
    if counted != on_hand:
        movement = adjust(session, actor, lot=lot, location=location, delta=counted - on_hand,
                          reason="count", at=at, ref=("count", str(event.id)))
    return movement, event
