"""Production orders: material requests, operations, consumption of input lots, output lots."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain import Actor, judged_time
from backend.domain.codes import check_lot_code, check_quantity
from backend.domain.errors import DomainError, conflict, unknown
from backend.domain.lookup import item_by_sku, location_by_code, lot_by_id
from backend.domain.lots import generate_lot_code, is_expired, local_date, status_at
from backend.domain.orders import fill_pick_list, numbered, release_open_tasks
from backend.domain.stock import record, unreserve
from backend.models import (
    LocationKind, Lot, LotStatus, Movement, MovementType, OrderStatus, PickList, PickTask, ProductionMaterial,
    ProductionOperation, ProductionOrder, TaskStatus, User,
)


def create_production_order(session: Session, actor: Actor, *, item: str, qty: Decimal, location: str,
                            materials: list[dict], due_on: date | None = None) -> ProductionOrder:
    """Plan making `qty` of an item on a production location from material lines."""
    output = item_by_sku(session, item)
    line = location_by_code(session, location)
    if line.kind != LocationKind.production:
        raise DomainError("invalid", f"{line.code} is not a production location", errors={"location": ["Kind"]})
    order = ProductionOrder(item=output, planned_qty=check_quantity(qty, output.uom), location=line,
                            due_on=due_on)
    for material in materials:
        input_item = item_by_sku(session, material["item"])
        order.materials.append(ProductionMaterial(item=input_item, qty=check_quantity(material["qty"], input_item.uom)))
    return numbered(session, order, "MO")


def request_materials(session: Session, actor: Actor, *, order: int,
                      at: datetime | None = None) -> tuple[PickList, dict[int, Decimal]]:
    """Allocate the materials' open need into a pick list to the production location; returns the shortfalls."""
    order_row = _open(session, order)
    pick_list = numbered(session, PickList(production_order=order_row,
                                           to_location_id=order_row.location_id), "PL")
    return pick_list, fill_pick_list(session, actor, pick_list, order_row.materials, "production_material_id", at)


def start_operation(session: Session, actor: Actor, *, order: int, name: str, workstation: str,
                    operator: str | None = None, at: datetime | None = None) -> ProductionOperation:
    """Start a step of the order on a workstation or machine, run by an operator (default: the actor)."""
    order_row = _open(session, order)
    person = actor.user
    if operator:
        person = session.scalar(select(User).where(User.username == operator, User.active.is_(True)))
        if person is None:
            raise unknown("operator", operator)
    operation = ProductionOperation(order=order_row, name=name, workstation=workstation, operator=person,
                                    started_at=judged_time(at))
    session.add(operation)
    session.flush()
    return operation


def end_operation(session: Session, actor: Actor, *, operation: int, at: datetime | None = None) -> ProductionOperation:
    """End a running step."""
    row = session.get(ProductionOperation, operation)
    if row is None:
        raise unknown("operation", operation, status=404)
    if row.ended_at is not None:
        raise conflict("operation_ended", "This operation has already ended")
    ended = judged_time(at)
    if ended < row.started_at:
        raise DomainError("invalid", "An operation cannot end before it started", errors={"at": ["Before start"]})
    row.ended_at = ended
    session.flush()
    return row


def consume(session: Session, actor: Actor, *, order: int, lot: int, location: str, qty: Decimal,
            at: datetime | None = None) -> Movement:
    """Use a quantity of an input lot at the production location for the order."""
    at = judged_time(at)
    order_row = _open(session, order)
    lot_row = lot_by_id(session, lot, lock=True)
    check_quantity(qty, lot_row.item.uom)
    where = location_by_code(session, location)
    _usable(session, lot_row, at, actor)
    if lot_row.item_id not in {m.item_id for m in order_row.materials}:
        raise conflict("wrong_item", f"{lot_row.item.sku} is not a material of {order_row.number}")
    _settle_reservations(session, order_row, lot_row, where.id, qty)
    return record(session, actor, MovementType.consume, lot_row, qty, src=where, at=at,
                  ref=("production", order_row.number))


def produce(session: Session, actor: Actor, *, order: int, qty: Decimal, location: str, lot: str | None = None,
            expires_on: date | None = None, at: datetime | None = None) -> Movement:
    """Book output of the order as a new lot (code generated; expiry from the item's shelf life)."""
    at = judged_time(at)
    order_row = _open(session, order)
    item = order_row.item
    check_quantity(qty, item.uom)
    where = location_by_code(session, location)
    if lot is not None:
        check_lot_code(lot)
    lot_row = session.scalar(select(Lot).where(Lot.item_id == item.id, Lot.code == lot)) if lot else None
    if lot_row is not None and lot_row.production_order_id != order_row.id:
        raise conflict("lot_conflict", f"Lot {lot} of {item.sku} exists and was not made by {order_row.number}")
    if lot_row is None:
        if expires_on is None and item.shelf_life_days:
            expires_on = local_date(at, actor.tz) + timedelta(days=item.shelf_life_days)
        lot_row = Lot(item=item, code=lot or generate_lot_code(session, item, at, actor.tz), expires_on=expires_on,
                      received_at=at, production_order_id=order_row.id, status=LotStatus.available)
        if is_expired(lot_row, at, actor.tz):
            raise DomainError("lot_expired", f"Expiry {expires_on} is before the day of production",
                              errors={"expires_on": ["Before the day of production"]})
        session.add(lot_row)
        session.flush()
    return record(session, actor, MovementType.produce, lot_row, qty, dst=where, at=at,
                  ref=("production", order_row.number))


def close_order(session: Session, actor: Actor, *, order: int) -> ProductionOrder:
    """Close a production order: its open material tasks are cancelled and their reservations released."""
    order_row = _open(session, order)
    tasks = session.scalars(select(PickTask).join(PickList).where(
        PickList.production_order_id == order_row.id).with_for_update(of=PickTask)).all()
    if any(t.status == TaskStatus.exception and t.picked_qty is not None for t in tasks):
        raise conflict("exceptions_outstanding", f"Decide the flagged picks of {order_row.number} first")
    release_open_tasks(session, tasks)
    for task in tasks:
        if task.status in (TaskStatus.picked, TaskStatus.confirmed) and task.settled_qty < task.qty:
            # Left-over material stays on the line as free stock, to be moved back or used elsewhere.
            unreserve(session, task.picked_lot_id, task.to_location_id, task.qty - task.settled_qty)
            task.settled_qty = task.qty
    for operation in order_row.operations:
        operation.ended_at = operation.ended_at or judged_time(None)
    order_row.status = OrderStatus.closed
    session.flush()
    return order_row


def _usable(session: Session, lot: Lot, at: datetime, actor: Actor) -> None:
    """Expired, held and recalled lots are never consumed."""
    status = status_at(session, lot, at)
    if status != LotStatus.available:
        code = "lot_recalled" if status == LotStatus.recalled else "lot_on_hold"
        raise conflict(code, f"Lot {lot.code} is {status.value}: it cannot be used")
    if is_expired(lot, at, actor.tz):
        raise conflict("lot_expired", f"Lot {lot.code} expired on {lot.expires_on}: it cannot be used")


def _settle_reservations(session: Session, order: ProductionOrder, lot: Lot, location_id: int, qty: Decimal) -> None:
    """Consumption uses up the order's own picked stock first: release that much of its tasks' reservations."""
    tasks = session.scalars(select(PickTask).join(PickList).where(
        PickList.production_order_id == order.id, PickTask.picked_lot_id == lot.id,
        PickTask.to_location_id == location_id, PickTask.status.in_([TaskStatus.picked, TaskStatus.confirmed]),
        PickTask.settled_qty < PickTask.qty).order_by(PickTask.id).with_for_update()).all()
    needed = qty
    for task in tasks:
        if needed <= 0:
            break
        take = min(task.qty - task.settled_qty, needed)
        unreserve(session, lot.id, location_id, take)
        task.settled_qty += take
        needed -= take


def _open(session: Session, order_id: int) -> ProductionOrder:
    """An open production order, or an error."""
    order = session.get(ProductionOrder, order_id)
    if order is None:
        raise unknown("order", order_id, status=404)
    if order.status != OrderStatus.open:
        raise conflict("order_closed", f"Order {order.number} is {order.status.value}")
    return order
