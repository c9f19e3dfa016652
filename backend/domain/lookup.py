"""Find master data by the codes people and barcodes use, or fail with unknown_*."""
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from backend.domain.errors import DomainError, unknown
from backend.models import Item, Location, Lot, Partner, PartnerKind

# Built once and reused: building a select per call costs more than running it.
_ITEM = select(Item).where(Item.sku == bindparam("code"))
_LOCATION = select(Location).where(Location.code == bindparam("code"))
_PARTNER = select(Partner).where(Partner.code == bindparam("code"))


def item_by_sku(session: Session, sku: str) -> Item:
    """The active item with this SKU."""
    item = session.scalar(_ITEM, {"code": sku})
    if item is None:
        raise unknown("item", sku)
    if not item.active:
        raise DomainError("inactive", f"Item {sku} is deactivated")
    return item


def location_by_code(session: Session, code: str) -> Location:
    """The active location with this code."""
    location = session.scalar(_LOCATION, {"code": code})
    if location is None:
        raise unknown("location", code)
    if not location.active:
        raise DomainError("inactive", f"Location {code} is deactivated")
    return location


def partner_by_code(session: Session, code: str, kind: PartnerKind) -> Partner:
    """The active supplier or customer with this code."""
    partner = session.scalar(_PARTNER, {"code": code})
    if partner is None or partner.kind != kind:
        raise unknown(kind.value, code)
    if not partner.active:
        raise DomainError("inactive", f"{kind.value.capitalize()} {code} is deactivated")
    return partner


def lot_by_id(session: Session, lot_id: int, *, lock: bool = False) -> Lot:
    """The lot with this id; `lock` takes a shared row lock so its status cannot change under us."""
    lot = session.get(Lot, lot_id, with_for_update={"read": True} if lock else None, populate_existing=lock)
    if lot is None:
        raise unknown("lot", lot_id)
    return lot
