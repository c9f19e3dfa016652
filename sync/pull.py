"""Pull: what a device needs to work offline, as deltas since its cursor."""
from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from backend.domain.codes import qty_text
from backend.domain.errors import DomainError
from backend.models import Balance, Device, Item, Location, Lot, PickTask, TaskStatus, User, utcnow

# Changes are found by their updated_at; a transaction that commits a little after it stamped its rows
# would slip past a cursor taken in between, so every pull looks this far back. Rows are sent whole and
# applied by id, so seeing one twice is harmless.
OVERLAP = timedelta(minutes=2)
_ACTIVE_TASK = (TaskStatus.picked, TaskStatus.exception, TaskStatus.confirmed)
_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)
_SKEW = timedelta(minutes=5)  # several app servers' clocks may differ a little


def encode_cursor(moment: datetime) -> str:
    """An opaque cursor for a moment on the server's clock."""
    return base64.urlsafe_b64encode(f"v1|{moment.isoformat()}".encode()).decode()


def decode_cursor(cursor: str, now: datetime) -> datetime:
    """The moment a cursor stands for; one this server cannot have made (or from its future) is refused."""
    try:
        version, text = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        moment = datetime.fromisoformat(text)
        if version != "v1" or moment.tzinfo is None or not _EPOCH <= moment <= now + _SKEW:
            raise ValueError(text)
        return moment
    except (ValueError, UnicodeDecodeError, OverflowError):
        raise DomainError("invalid_cursor", "Unknown cursor: pull without one to start again", status=400,
                          errors={"cursor": ["Not a cursor of this server"]}) from None


def pull(session: Session, user: User, device: Device, cursor: str | None) -> dict:
    """Items, locations, lots with stock and the user's tasks changed since `cursor` (all without one)."""
    now = utcnow()
    since = decode_cursor(cursor, now) - OVERLAP if cursor else None
    removed: dict[str, list[int]] = {}
    items = _changed(session, Item, since, Item.active.is_(True), removed, "items")
    locations = _changed(session, Location, since, Location.active.is_(True), removed, "locations")
    lots = _lots(session, since, removed)
    tasks = _tasks(session, user, since, removed)
    new_cursor = encode_cursor(now)
    device.last_pull_at, device.last_pull_cursor = now, new_cursor
    return {"cursor": new_cursor, "full": cursor is None, "items": [_item(i) for i in items],
            "locations": [_location(loc) for loc in locations], "lots": [_lot(lot) for lot in lots],
            "tasks": [_task(t) for t in tasks], "removed": removed}


def _changed(session: Session, model, since, keep, removed: dict, key: str) -> list:
    """Rows of `model` in the device's set changed since `since`; ids that left the set go to `removed`."""
    query = select(model).order_by(model.id)
    if since is None:
        return session.scalars(query.where(keep)).all()
    rows = session.scalars(query.where(model.updated_at > since)).all()
    kept = set(session.scalars(select(model.id).where(model.id.in_([r.id for r in rows]), keep)))
    removed[key] = [r.id for r in rows if r.id not in kept]
    return [r for r in rows if r.id in kept]


def _lots(session: Session, since, removed: dict) -> list[Lot]:
    """Lots with stock on hand somewhere (the set), changed in themselves or in their balances."""
    stocked = select(Balance.lot_id).where(Balance.on_hand > 0)
    query = select(Lot).options(selectinload(Lot.balances).selectinload(Balance.location),
                                selectinload(Lot.item)).order_by(Lot.id)
    if since is None:
        return session.scalars(query.where(Lot.id.in_(stocked))).all()
    touched = select(Balance.lot_id).where(Balance.updated_at > since)
    rows = session.scalars(query.where(or_(Lot.updated_at > since, Lot.id.in_(touched)))).all()
    in_set = set(session.scalars(stocked.where(Balance.lot_id.in_([r.id for r in rows]))))
    removed["lots"] = [r.id for r in rows if r.id not in in_set]
    return [r for r in rows if r.id in in_set]


def _tasks(session: Session, user: User, since, removed: dict) -> list[PickTask]:
    """Open tasks, and the user's own picks until they are shipped or consumed (so decisions reach the worker)."""
    mine = (PickTask.status == TaskStatus.open) | (
        PickTask.status.in_(_ACTIVE_TASK) & (PickTask.picked_by_id == user.id) & (PickTask.settled_qty < PickTask.qty))
    query = select(PickTask).options(selectinload(PickTask.lot), selectinload(PickTask.item),
                                     selectinload(PickTask.pick_list)).order_by(PickTask.id)
    if since is None:
        return session.scalars(query.where(mine)).all()
    rows = session.scalars(query.where(PickTask.updated_at > since)).all()
    kept = set(session.scalars(select(PickTask.id).where(PickTask.id.in_([r.id for r in rows]), mine)))
    removed["tasks"] = [r.id for r in rows if r.id not in kept]
    return [r for r in rows if r.id in kept]



def _item(item: Item) -> dict:
    """An item as the device keeps it."""
    return {"id": item.id, "sku": item.sku, "name": item.name, "gtin": item.gtin, "uom": item.uom,
            "pick_policy": item.pick_policy.value, "shelf_life_days": item.shelf_life_days}


def _location(location: Location) -> dict:
    """A location as the device keeps it."""
    return {"id": location.id, "code": location.code, "name": location.name, "kind": location.kind.value}


def _lot(lot: Lot) -> dict:
    """A lot with its status, expiry and on-hand per location."""
    return {"id": lot.id, "item": lot.item_id, "code": lot.code, "status": lot.status.value,
            "expires_on": lot.expires_on and lot.expires_on.isoformat(), "received_at": lot.received_at.isoformat(),
            "stock": {b.location.code: qty_text(b.on_hand) for b in lot.balances if b.on_hand > 0}}


def _task(task: PickTask) -> dict:
    """A task with what the worker needs to pick it and see its fate."""
    return {"id": task.id, "pick_list": task.pick_list.number, "pick_list_id": task.pick_list_id, "status": task.status.value, "item": task.item_id,
            "lot": task.lot_id, "lot_code": task.lot.code, "from": task.from_location.code,
            "to": task.to_location.code, "qty": qty_text(task.qty), "picked_qty": task.picked_qty and qty_text(task.picked_qty),
            "exception_reason": task.exception_reason, "exception_message": task.exception_message, "decision": task.decision,
            "decision_reason": task.decision_reason}
