"""Master data rules: items, locations and partners (create, update, deactivate)."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.domain.codes import UNITS, normalize_gtin
from backend.domain.errors import DomainError, conflict, unknown
from backend.models import Balance, Item, Location, Lot, Partner, PickPolicy

_UNIQUE = {Item: ("sku", "gtin"), Location: ("code",), Partner: ("code",)}


def get(session: Session, model, obj_id: int):
    """The row with this id, or a 404."""
    row = session.get(model, obj_id)
    if row is None:
        raise unknown(model.__tablename__, obj_id, status=404)
    return row


def create(session: Session, model, data: dict):
    """Create an item, location or partner after checking its rules."""
    data = _checked(session, model, None, data)
    row = model(**data)
    session.add(row)
    session.flush()
    return row


def update(session: Session, model, obj_id: int, changes: dict):
    """Change an item, location or partner (deactivating included) after checking its rules."""
    row = get(session, model, obj_id)
    for key, value in _checked(session, model, row, changes).items():
        setattr(row, key, value)
    session.flush()
    return row


def _checked(session: Session, model, row, data: dict) -> dict:
    """Apply the model's own rules and uniqueness to incoming fields."""
    data = dict(data)
    if model is Item:
        _check_item(session, row, data)
    if model is Location and data.get("active") is False and row is not None:
        stocked = session.scalar(select(func.count()).select_from(Balance)
                                 .where(Balance.location_id == row.id, Balance.on_hand > 0))
        if stocked:
            raise conflict("location_not_empty", f"Location {row.code} still holds stock of {stocked} lot(s)")
    for field in _UNIQUE[model]:
        value = data.get(field)
        if value is not None and (row is None or getattr(row, field) != value):
            if session.scalar(select(model.id).where(getattr(model, field) == value)) is not None:
                raise conflict("already_exists", f"A {model.__tablename__} with {field} {value} exists",)
    return data


def _check_item(session: Session, row: Item | None, data: dict) -> None:
    """GTIN check digit, known unit, default pick policy; the unit is fixed once lots exist."""
    if "gtin" in data:
        data["gtin"] = normalize_gtin(data["gtin"]) if data["gtin"] else None
    if "uom" in data:
        if data["uom"] not in UNITS:
            raise DomainError("invalid", f"Unknown unit {data['uom']}", errors={"uom": [f"One of {sorted(UNITS)}"]})
        if row is not None and data["uom"] != row.uom and session.scalar(
                select(Lot.id).where(Lot.item_id == row.id).limit(1)) is not None:
            raise conflict("item_has_lots", f"Item {row.sku} has lots; its unit cannot change")
    if row is None and data.get("pick_policy") is None:
        data["pick_policy"] = PickPolicy.fefo if data.get("shelf_life_days") else PickPolicy.fifo
