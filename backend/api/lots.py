"""Lots: list, detail with stock and history, quarantine and release."""
from flask_smorest import Blueprint
from sqlalchemy import exists, select
from sqlalchemy.orm import undefer

from backend.api import auth_required, current_actor, matches, paginate
from backend.domain import genealogy, lots
from backend.models import Balance, Item, Location, Lot, LotStatus, Role, db
from backend.schemas import (
    LotDetailSchema, LotEventSchema, LotFilterSchema, LotSchema, LotStatusSchema, TraceArgs, TraceSchema, page_of,
)

blp = Blueprint("lots", __name__, url_prefix="/api/lots", description="Lots")


@blp.get("")
@auth_required()
@blp.arguments(LotFilterSchema, location="query")
@blp.response(200, page_of(LotSchema))
def list_lots(args):
    """List lots by item, status, location with stock, or expiry before a day (soonest expiry first)."""
    query = (select(Lot).join(Item).options(undefer(Lot.on_hand))
             .order_by(Lot.expires_on.is_(None), Lot.expires_on, Lot.received_at, Lot.id))
    if "item" in args:
        query = query.where(Item.sku == args["item"])
    if "status" in args:
        query = query.where(Lot.status == args["status"])
    if "location" in args:
        query = query.where(exists().where(Balance.lot_id == Lot.id, Balance.on_hand > 0,
                                           Balance.location_id == Location.id, Location.code == args["location"]))
    if "expiring_before" in args:
        query = query.where(Lot.expires_on < args["expiring_before"])
    if "q" in args:
        query = query.where(matches(args["q"], Lot.code))
    return paginate(query, args)


@blp.get("/<id:lot_id>")
@auth_required()
@blp.response(200, LotDetailSchema)
def get_lot(lot_id):
    """A lot with its stock per location and its full movement and event history."""
    return lots.detail(db.session, lot_id)


@blp.get("/<id:lot_id>/trace")
@auth_required()
@blp.arguments(TraceArgs, location="query")
@blp.response(200, TraceSchema)
def trace(args, lot_id):
    """The lot's genealogy: backward to the lots that went into it, or forward to what was made from it."""
    return genealogy.trace(db.session, lot_id, args["direction"])


@blp.post("/<id:lot_id>/quarantine")
@auth_required(Role.supervisor)
@blp.arguments(LotStatusSchema)
@blp.response(200, LotEventSchema)
def quarantine(data, lot_id):
    """Put a lot on hold: it can still be moved and counted but not allocated, picked or shipped."""
    event = lots.set_status(db.session, current_actor(), lot=lot_id, status=LotStatus.quarantine, **data)
    db.session.commit()
    return event


@blp.post("/<id:lot_id>/release")
@auth_required(Role.supervisor)
@blp.arguments(LotStatusSchema)
@blp.response(200, LotEventSchema)
def release(data, lot_id):
    """Release a quarantined lot back to available."""
    event = lots.set_status(db.session, current_actor(), lot=lot_id, status=LotStatus.available, **data)
    db.session.commit()
    return event
