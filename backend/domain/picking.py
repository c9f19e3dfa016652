"""Picking: the one classifier of a scan against a task, and picks, confirmations and exception decisions."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain import Actor, judged_time
from backend.domain.allocation import allocate
from backend.domain.codes import check_quantity, qty_text
from backend.domain.errors import DomainError, conflict, unknown
from backend.domain.lookup import location_by_code
from backend.domain.lots import local_date, status_at
from backend.domain.scans import interpret, resolve_lot
from backend.domain.stock import free_stock, record, reserve, unreserve
from backend.models import Lot, LotStatus, Movement, MovementType, PickPolicy, PickTask, TaskStatus, utcnow

APPLIED, FLAGGED, REJECTED = "applied", "flagged", "rejected"
# Rejections that describe the request rather than the state of the warehouse.
_INPUT_REASONS = {"invalid", "bad_barcode", "unknown_item", "unknown_lot", "unknown_location", "unknown_task",
                  "ambiguous_lot", "scan_mismatch"}


@dataclass(frozen=True)
class TaskView:
    """What the classifier needs of a task."""

    status: str
    item_id: int
    item_sku: str
    uom: str
    policy: str
    lot_id: int
    lot_code: str
    lot_expires_on: date | None
    lot_received_at: datetime
    from_location: str
    qty: Decimal


@dataclass(frozen=True)
class LotView:
    """What the classifier needs of the scanned lot, as it was when the pick happened."""

    id: int
    item_id: int
    code: str
    status: str
    expires_on: date | None
    received_at: datetime


@dataclass(frozen=True)
class Verdict:
    """applied / flagged / rejected, the reason code and words for the worker."""

    status: str
    reason: str | None
    message: str


def classify(task: TaskView, lot: LotView, location: str, qty: Decimal, on_hand: Decimal, today: date) -> Verdict:
    """Judge a pick of `qty` of `lot` at `location` against `task` on the site's day `today` (pure)."""
    def no(reason: str, message: str) -> Verdict:
        return Verdict(REJECTED, reason, message)

    if task.status != TaskStatus.open.value:
        return no("task_closed", f"Task already {task.status}")
    if lot.item_id != task.item_id:
        return no("wrong_item", f"Wrong item: this task needs {task.item_sku}, lot {task.lot_code}")
    if lot.status == LotStatus.recalled.value:
        return no("lot_recalled", f"Lot {lot.code} is RECALLED: do not use, set it aside")
    if lot.status == LotStatus.quarantine.value:
        return no("lot_on_hold", f"Lot {lot.code} is on hold (quarantine): do not pick")
    if lot.expires_on is not None and today > lot.expires_on:
        return no("lot_expired", f"Lot {lot.code} expired on {lot.expires_on.isoformat()}: do not pick")
    if qty > task.qty:
        return no("over_pick", f"Too many: pick at most {qty_text(task.qty)} {task.uom}")
    if qty > on_hand:
        return no("insufficient_stock", f"Only {qty_text(on_hand)} {task.uom} of lot {lot.code} at {location}")
    if lot.id != task.lot_id:
        if _worse(task, lot):
            return Verdict(FLAGGED, "fefo_violation", f"Wrong lot: expected {task.lot_code} in {task.from_location}"
                           f" ({lot.code} {'expires' if task.policy == 'fefo' else 'arrived'} later); supervisor decides")
        return Verdict(FLAGGED, "substitute_lot", f"Other lot: expected {task.lot_code} in {task.from_location};"
                       f" {lot.code} taken as a substitute, supervisor decides")
    if location != task.from_location:
        return Verdict(FLAGGED, "wrong_location", f"Wrong location: {task.lot_code} was expected in "
                       f"{task.from_location}, not {location}; supervisor decides")
    return Verdict(APPLIED, None, f"Picked {qty_text(qty)} {task.uom} of {lot.code}")


def _worse(task: TaskView, lot: LotView) -> bool:
    """True when the scanned lot should have waited: it expires (FEFO) or arrived (FIFO) later."""
    if task.policy == PickPolicy.fefo.value:
        if lot.expires_on == task.lot_expires_on:
            return False
        return lot.expires_on is None or (task.lot_expires_on is not None and lot.expires_on > task.lot_expires_on)
    return lot.received_at > task.lot_received_at



@dataclass
class PickResult:
    """What a pick did."""

    verdict: Verdict
    task: PickTask
    movements: list[Movement]


def pick(session: Session, actor: Actor, *, task: int, scan: str, qty: Decimal, location: str | None = None,
         short: bool = False, at: datetime | None = None, substitute: str = "|") -> PickResult:
    """Pick what was scanned for a task; rejected picks raise DomainError with the reason and change nothing."""
    at = judged_time(at)
    task_row = session.get(PickTask, task, with_for_update=True, populate_existing=True)
    if task_row is None:
        raise unknown("task", task)
    check_quantity(qty, task_row.item.uom)
    lot = resolve_lot(session, interpret(scan, substitute))
    where = location_by_code(session, location) if location else task_row.from_location
    check_pick_place(where.id, where.code, task_row.to_location_id)
    on_hand, free = free_stock(session, lot.id, where.id)
    verdict = classify(task_view(task_row), lot_view(session, lot, at), where.code, qty, on_hand,
                       local_date(at, actor.tz))
    if verdict.status == REJECTED:
        raise refusal(verdict)
    if verdict.status == APPLIED:
        unreserve(session, lot.id, where.id, qty)
        free += qty
    if free < qty:
        _bump(session, actor, lot, where.id, qty - free, keep=task_row.id)
    _split_off_remainder(session, task_row, qty, short)
    movement = record(session, actor, MovementType.pick, lot, qty, src=where, dst=task_row.to_location, at=at,
                      ref=("pick_list", task_row.pick_list.number), task_id=task_row.id)
    if not reserve(session, lot.id, task_row.to_location_id, qty):
        raise RuntimeError("picked stock could not be held at the destination")  # record() just put it there
    task_row.status = TaskStatus.picked if verdict.status == APPLIED else TaskStatus.exception
    task_row.exception_reason, task_row.exception_message = verdict.reason, exception_message(verdict)
    task_row.picked_qty, task_row.picked_lot, task_row.picked_from = qty, lot, where
    task_row.picked_by, task_row.picked_at = actor.user, at
    session.flush()
    return PickResult(verdict, task_row, [movement])


def check_pick_place(where_id: int, where_code: str, to_location_id: int) -> None:
    """A task's destination is no place to pick it from."""
    if where_id == to_location_id:
        raise DomainError("invalid", f"{where_code} is where this task delivers to, not a place to pick from",
                          errors={"location": ["The task's destination"]})


def exception_message(verdict: Verdict) -> str | None:
    """What a supervisor reads of a flagged pick: the words the worker was given."""
    return verdict.message if verdict.status == FLAGGED else None


def refusal(verdict: Verdict) -> DomainError:
    """A rejected verdict as the error that refuses the pick."""
    return DomainError(verdict.reason, verdict.message, status=422 if verdict.reason in _INPUT_REASONS else 409)


def task_view(task: PickTask) -> TaskView:
    """The classifier's view of a task."""
    return TaskView(task.status.value, task.item_id, task.item.sku, task.item.uom, task.item.pick_policy.value,
                    task.lot_id, task.lot.code, task.lot.expires_on, task.lot.received_at, task.from_location.code,
                    task.qty)


def lot_view(session: Session, lot: Lot, at: datetime) -> LotView:
    """The classifier's view of a lot as of `at`."""
    return LotView(lot.id, lot.item_id, lot.code, status_at(session, lot, at).value, lot.expires_on, lot.received_at)


def _split_off_remainder(session: Session, task: PickTask, qty: Decimal, short: bool) -> None:
    """A partial pick leaves the rest as a new open task; a short pick releases it instead."""
    rest = task.qty - qty
    if rest <= 0:
        return
    if short:
        unreserve(session, task.lot_id, task.from_location_id, rest)
    else:
        session.add(_copy(task, qty=rest))
    task.qty = qty


def _copy(task: PickTask, **changes) -> PickTask:
    """A new open task for the same need."""
    fields = dict(pick_list_id=task.pick_list_id, sales_order_line_id=task.sales_order_line_id,
                  production_material_id=task.production_material_id, item_id=task.item_id, lot_id=task.lot_id,
                  from_location_id=task.from_location_id, to_location_id=task.to_location_id, qty=task.qty,
                  status=TaskStatus.open)
    return PickTask(**(fields | changes))


def _bump(session: Session, actor: Actor, lot: Lot, location_id: int, needed: Decimal, keep: int) -> None:
    """Free `needed` units other open tasks had reserved: re-allocate those tasks, or flag what cannot be."""
    others = session.scalars(select(PickTask).where(
        PickTask.lot_id == lot.id, PickTask.from_location_id == location_id, PickTask.status == TaskStatus.open,
        PickTask.id != keep).order_by(PickTask.id.desc()).with_for_update()).all()
    for other in others:
        if needed <= 0:
            return
        unreserve(session, other.lot_id, other.from_location_id, other.qty)
        needed -= other.qty
        # The other task will be picked from now on: find it stock usable now, not at the pick's time.
        reallocate_task(session, other, judged_time(None), actor.tz, exclude=(lot.id, location_id))


def reallocate_task(session: Session, task: PickTask, at: datetime, tz, *, exclude=None) -> None:
    """Point an open task (whose reservation was released) at other stock; flag what cannot be found."""
    taken = task.lot.code
    parts, shortfall = allocate(session, task.item, task.qty, at, tz, exclude=exclude)
    for index, (candidate, qty) in enumerate(parts):
        target = task if index == 0 else _copy(task)
        target.lot_id, target.from_location_id, target.qty = candidate.lot_id, candidate.location_id, qty
        session.add(target)
    if shortfall > 0:
        flagged = task if not parts else _copy(task)
        flagged.qty, flagged.status, flagged.exception_reason = shortfall, TaskStatus.exception, "stock_taken"
        flagged.exception_message = (f"Another pick took the stock of lot {taken}: no other stock for "
                                     f"{qty_text(shortfall)} {task.item.uom}")
        session.add(flagged)
    session.flush()


def confirm(session: Session, actor: Actor, tasks: list[PickTask]) -> list[PickTask]:
    """A supervisor confirms picked tasks (others are left as they are); returns those confirmed."""
    done = []
    for task in tasks:
        if task.status == TaskStatus.picked:
            task.status, task.confirmed_by, task.confirmed_at = TaskStatus.confirmed, actor.user, utcnow()
            done.append(task)
    session.flush()
    return done


def confirm_one(session: Session, actor: Actor, *, task: int) -> list[PickTask]:
    """A supervisor confirms one picked task."""
    row = locked_task(session, task)
    if row.status != TaskStatus.picked:
        raise conflict("not_picked", f"Task {row.id} is {row.status.value}, not picked")
    return confirm(session, actor, [row])


def locked_task(session: Session, task_id: int) -> PickTask:
    """A task, its row locked, or 404."""
    task = session.get(PickTask, task_id, with_for_update=True, populate_existing=True)
    if task is None:
        raise unknown("task", task_id, status=404)
    return task


def approve(session: Session, actor: Actor, *, task: int, reason: str) -> PickTask:
    """Accept a flagged pick: the task keeps what was picked and is confirmed (stock_taken: the need is dropped)."""
    row = _exception(session, task)
    if row.exception_reason == "stock_taken":
        row.status = TaskStatus.cancelled
    else:
        unreserve(session, row.lot_id, row.from_location_id, row.qty)
        row.status, row.confirmed_by, row.confirmed_at = TaskStatus.confirmed, actor.user, utcnow()
    return _decided(session, actor, row, "approved", reason)


def reject(session: Session, actor: Actor, *, task: int, reason: str) -> PickTask:
    """Refuse a flagged pick: reversing movements take the stock back and the task is open again."""
    row = _exception(session, task)
    if row.exception_reason == "stock_taken":
        raise conflict("no_pick", "Nothing was picked for this task; approve to drop it, or re-allocate the order")
    pick_movement = session.scalar(select(Movement).where(Movement.task_id == row.id, Movement.reverses_id.is_(None))
                                   .order_by(Movement.id.desc()).limit(1))
    unreserve(session, row.picked_lot_id, row.to_location_id, row.picked_qty)
    record(session, actor, MovementType.pick, row.picked_lot, row.picked_qty, src=row.to_location,
           dst=row.picked_from, at=utcnow(), ref=("pick_list", row.pick_list.number), task_id=row.id,
           reverses_id=pick_movement.id, reason=f"rejected: {reason}")
    row.status, row.picked_qty, row.picked_lot, row.picked_from = TaskStatus.open, None, None, None
    row.picked_by, row.picked_at = None, None
    return _decided(session, actor, row, "rejected", reason)


def _exception(session: Session, task_id: int) -> PickTask:
    """A task awaiting a decision."""
    row = locked_task(session, task_id)
    if row.status != TaskStatus.exception:
        raise conflict("not_an_exception", f"Task {row.id} is {row.status.value}, not awaiting a decision")
    return row


def _decided(session: Session, actor: Actor, row: PickTask, decision: str, reason: str) -> PickTask:
    """Record who decided what and why."""
    if not reason.strip():
        raise DomainError("invalid", "A reason is required", errors={"reason": ["Required"]})
    row.decision, row.decision_reason, row.decided_by, row.decided_at = decision, reason, actor.user, utcnow()
    session.flush()
    return row
