"""Sales orders: creation, allocation into pick lists, re-allocation and cancellation."""
from __future__ import annotations

import secrets
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain import Actor, judged_time
from backend.domain.allocation import allocate
from backend.domain.codes import check_quantity
from backend.domain.errors import DomainError, conflict, unknown
from backend.domain.lookup import item_by_sku, location_by_code, partner_by_code
from backend.domain.stock import unreserve
from backend.models import (
    LocationKind, OrderStatus, PartnerKind, PickList, PickTask, SalesOrder, SalesOrderLine, TaskStatus,
)


def numbered(session: Session, row, prefix: str):
    """Give a new row its document number from its id (unique without a counter table)."""
    # A placeholder unique to this transaction: a shared one ("") would make concurrent inserts
    # wait on each other's unique-index entry until commit.
    row.number = f"~{secrets.token_hex(8)}"
    session.add(row)
    session.flush()
    row.number = f"{prefix}-{row.id:06d}"
    return row


def create_sales_order(session: Session, actor: Actor, *, customer: str, lines: list[dict],
                       requested_on: date | None = None, reference: str | None = None) -> SalesOrder:
    """A customer's order of items and quantities."""
    if not lines:
        raise DomainError("invalid", "An order needs at least one line", errors={"lines": ["Empty"]})
    order = SalesOrder(customer=partner_by_code(session, customer, PartnerKind.customer),
                       requested_on=requested_on, reference=reference)
    for line in lines:
        item = item_by_sku(session, line["item"])
        order.lines.append(SalesOrderLine(item=item, qty=check_quantity(line["qty"], item.uom)))
    return numbered(session, order, "SO")


def open_need(session: Session, task_filter, qty: Decimal) -> Decimal:
    """What of `qty` is not yet covered by live tasks (open, picked, confirmed or a pick under decision)."""
    covered = sum((t.qty for t in session.scalars(select(PickTask).where(
        task_filter, PickTask.status != TaskStatus.cancelled,
        (PickTask.status != TaskStatus.exception) | (PickTask.exception_reason != "stock_taken")))),
        start=Decimal(0))
    return max(qty - covered, Decimal(0))


def allocate_order(session: Session, actor: Actor, *, order: int, staging: str,
                   at: datetime | None = None) -> tuple[PickList, dict[int, Decimal]]:
    """Allocate every line's open need into a new pick list to `staging`; returns it and the shortfalls."""
    order_row = _open_order(session, order)
    to = location_by_code(session, staging)
    if to.kind != LocationKind.staging:
        raise DomainError("invalid", f"{to.code} is not a staging location", errors={"staging": ["Not staging"]})
    pick_list = numbered(session, PickList(sales_order=order_row, to_location=to), "PL")
    return pick_list, fill_pick_list(session, actor, pick_list, order_row.lines, "sales_order_line_id", at)


def fill_pick_list(session: Session, actor: Actor, pick_list: PickList, lines, link: str,
                   at: datetime | None) -> dict[int, Decimal]:
    """Allocate each line's open need (lines of an order, or materials) into tasks; returns the shortfalls."""
    shortfalls = {}
    for line in lines:
        need = open_need(session, getattr(PickTask, link) == line.id, line.qty)
        shortfall = add_tasks(session, actor, pick_list, line.item, need, at, **{link: line.id})
        if shortfall:
            shortfalls[line.id] = shortfall
    session.flush()
    return shortfalls


def add_tasks(session: Session, actor: Actor, pick_list: PickList, item, need: Decimal, at, **link) -> Decimal:
    """Allocate `need` of an item into open tasks on the pick list; returns the shortfall."""
    if need <= 0:
        return Decimal(0)
    parts, shortfall = allocate(session, item, need, judged_time(at), actor.tz)
    for candidate, qty in parts:
        session.add(PickTask(pick_list=pick_list, item=item, lot_id=candidate.lot_id, qty=qty,
                             from_location_id=candidate.location_id, to_location_id=pick_list.to_location_id,
                             status=TaskStatus.open, **link))
    return shortfall


def release_open_tasks(session: Session, tasks) -> int:
    """Cancel open (and stock_taken) tasks, releasing their reservations; returns how many."""
    count = 0
    for task in tasks:
        if task.status == TaskStatus.open:
            unreserve(session, task.lot_id, task.from_location_id, task.qty)
        elif not (task.status == TaskStatus.exception and task.exception_reason == "stock_taken"):
            continue
        task.status = TaskStatus.cancelled
        count += 1
    return count


def reallocate_order(session: Session, actor: Actor, *, order: int, staging: str,
                     at: datetime | None = None) -> tuple[PickList, dict[int, Decimal]]:
    """Drop the order's open tasks and allocate its whole open need afresh (e.g. after stock arrived)."""
    order_row = _open_order(session, order)
    release_open_tasks(session, _tasks(session, order_row))
    return allocate_order(session, actor, order=order, staging=staging, at=at)


def cancel_order(session: Session, actor: Actor, *, order: int) -> SalesOrder:
    """Cancel an order: open tasks are cancelled and their reservations released; picked stock must be put back."""
    order_row = _open_order(session, order)
    tasks = _tasks(session, order_row)
    if any(t.status in (TaskStatus.picked, TaskStatus.confirmed, TaskStatus.exception) and t.shipment_id is None
           and t.exception_reason != "stock_taken" for t in tasks):
        raise conflict("picks_outstanding", "Stock was already picked for this order: ship it or put it back first")
    release_open_tasks(session, tasks)
    order_row.status = OrderStatus.cancelled
    session.flush()
    return order_row


def _open_order(session: Session, order_id: int) -> SalesOrder:
    """An open sales order, or an error."""
    order = session.get(SalesOrder, order_id, with_for_update=True)
    if order is None:
        raise unknown("order", order_id, status=404)
    if order.status != OrderStatus.open:
        raise conflict("order_closed", f"Order {order.number} is {order.status.value}")
    return order


def _tasks(session: Session, order: SalesOrder) -> list[PickTask]:
    """Every task of every pick list of the order, locked."""
    return session.scalars(select(PickTask).join(PickList).where(PickList.sales_order_id == order.id)
                           .order_by(PickTask.id).with_for_update(of=PickTask)).all()
