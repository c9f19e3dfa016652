"""Shipping confirmed picks to the customer, and customer returns into quarantine."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.domain import Actor, judged_time
from backend.domain.codes import check_quantity
from backend.domain.errors import DomainError, conflict, unknown
from backend.domain.lookup import location_by_code, lot_by_id
from backend.domain.lots import is_expired, status_at
from backend.domain.orders import numbered
from backend.domain.stock import record, unreserve
from backend.models import (
    CustomerReturn, LocationKind, LotStatus, Movement, MovementType, OrderStatus, PickList, PickTask, SalesOrder,
    Shipment, TaskStatus,
)


def ship(session: Session, actor: Actor, *, order: int, tasks: list[int] | None = None,
         at: datetime | None = None) -> Shipment:
    """Ship confirmed, unshipped picks of an order (all of them, or those listed) under a new delivery note."""
    at = judged_time(at)
    order_row = session.get(SalesOrder, order, with_for_update=True)
    if order_row is None:
        raise unknown("order", order, status=404)
    if order_row.status != OrderStatus.open:
        raise conflict("order_closed", f"Order {order_row.number} is {order_row.status.value}")
    query = (select(PickTask).join(PickList).where(PickList.sales_order_id == order_row.id,
                                                   PickTask.shipment_id.is_(None))
             .order_by(PickTask.id).with_for_update(of=PickTask))
    if tasks is not None:
        query = query.where(PickTask.id.in_(tasks))
    rows = session.scalars(query).all()
    if tasks is not None:
        refused = (set(tasks) - {t.id for t in rows}) | {t.id for t in rows if t.status != TaskStatus.confirmed}
        if refused:
            raise conflict("not_confirmed", f"Tasks {sorted(refused)} are not confirmed, unshipped picks of "
                           f"{order_row.number}")
    rows = [t for t in rows if t.status == TaskStatus.confirmed]
    if not rows:
        raise conflict("nothing_to_ship", f"Order {order_row.number} has no confirmed picks to ship")
    shipment = numbered(session, Shipment(sales_order=order_row, customer_id=order_row.customer_id,
                                          shipped_at=at, actor_id=actor.user.id), "DN")
    for task in rows:
        _ship_task(session, actor, shipment, task, at)
    if _fully_shipped(session, order_row):
        order_row.status = OrderStatus.closed
    session.flush()
    return shipment


def _ship_task(session: Session, actor: Actor, shipment: Shipment, task: PickTask, at: datetime) -> None:
    """One confirmed pick leaves the staging lane for the customer."""
    lot = task.picked_lot
    status = status_at(session, lot, at)
    if status != LotStatus.available or is_expired(lot, at, actor.tz):
        code = {"recalled": "lot_recalled", "quarantine": "lot_on_hold"}.get(status.value, "lot_expired")
        raise conflict(code, f"Lot {lot.code} cannot ship: it is {status.value if code != 'lot_expired' else 'expired'}")
    unreserve(session, lot.id, task.to_location_id, task.qty - task.settled_qty)
    record(session, actor, MovementType.ship, lot, task.qty - task.settled_qty, src=task.to_location, at=at,
           partner=shipment.customer, ref=("shipment", shipment.number), task_id=task.id)
    task.settled_qty, task.shipment = task.qty, shipment


def _fully_shipped(session: Session, order: SalesOrder) -> bool:
    """True when every line's quantity has shipped."""
    for line in order.lines:
        shipped = session.scalar(select(func.coalesce(func.sum(PickTask.qty), 0)).where(
            PickTask.sales_order_line_id == line.id, PickTask.shipment_id.is_not(None)))
        if Decimal(shipped) < line.qty:
            return False
    return True


def receive_return(session: Session, actor: Actor, *, shipment: int, lot: int, qty: Decimal, location: str,
                   reason: str, at: datetime | None = None) -> tuple[CustomerReturn, Movement]:
    """Take back goods a customer returns, into a quarantine location, linked to the shipment they left on."""
    at = judged_time(at)
    shipment_row = session.get(Shipment, shipment)
    if shipment_row is None:
        raise unknown("shipment", shipment)
    if at < shipment_row.shipped_at:
        raise DomainError("invalid", f"Goods cannot come back before shipment {shipment_row.number} left",
                          errors={"at": ["Before the shipment"]})
    lot_row = lot_by_id(session, lot, lock=True)
    check_quantity(qty, lot_row.item.uom)
    where = location_by_code(session, location)
    if where.kind != LocationKind.quarantine:
        raise DomainError("invalid", "Returns go to a quarantine location", errors={"location": ["Not quarantine"]})
    shipped = _moved(session, MovementType.ship, "shipment", [shipment_row.number], lot_row.id)
    numbers = session.scalars(select(CustomerReturn.number).where(CustomerReturn.shipment_id == shipment_row.id))
    returned = _moved(session, MovementType.ret, "return", list(numbers), lot_row.id)
    if qty > shipped - returned:
        raise conflict("over_return", f"Shipment {shipment_row.number} carried {shipped - returned} more of "
                       f"lot {lot_row.code} at most")
    row = numbered(session, CustomerReturn(shipment=shipment_row, reason=reason, received_at=at,
                                           actor_id=actor.user.id), "RT")
    movement = record(session, actor, MovementType.ret, lot_row, qty, dst=where, at=at,
                      partner=shipment_row.customer, ref=("return", row.number), reason=reason)
    return row, movement


def _moved(session: Session, kind: MovementType, ref_type: str, numbers: list[str], lot_id: int) -> Decimal:
    """Total quantity of a lot in movements of a kind under these document numbers."""
    if not numbers:
        return Decimal(0)
    total = session.scalar(select(func.sum(Movement.qty)).where(
        Movement.type == kind, Movement.ref_type == ref_type, Movement.ref_number.in_(numbers),
        Movement.lot_id == lot_id))
    return total or Decimal(0)
