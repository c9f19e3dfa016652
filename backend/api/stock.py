"""Stock on hand by lot and location, with value."""
from decimal import Decimal

from flask import current_app
from flask_smorest import Blueprint
from sqlalchemy import select

from backend.api import auth_required, paginate
from backend.models import Balance, Item, Location, Lot, db
from backend.schemas import StockFilterSchema, StockPageSchema

blp = Blueprint("stock", __name__, url_prefix="/api/stock", description="Stock on hand")


@blp.get("")
@auth_required()
@blp.arguments(StockFilterSchema, location="query")
@blp.response(200, StockPageSchema)
def list_stock(args):
    """Stock on hand per lot and location (by item, lot or location), with value and the total value."""
    query = (select(Balance).join(Lot).join(Item).join(Location).where(Balance.on_hand > 0)
             .order_by(Item.sku, Lot.expires_on, Lot.code, Location.code))
    if "item" in args:
        query = query.where(Item.sku == args["item"])
    if "lot" in args:
        query = query.where(Balance.lot_id == args["lot"])
    if "location" in args:
        query = query.where(Location.code == args["location"])
    return paginate(query, args, total_value=_total_value(query), currency=current_app.config["LOTWISE_CURRENCY"])


def _total_value(query) -> str:
    """Sum of on-hand times unit cost over every row the filters match, to the cent."""
    rows = db.session.execute(query.with_only_columns(Balance.on_hand, Lot.unit_cost).order_by(None))
    total = sum((on_hand * cost for on_hand, cost in rows if cost is not None), start=Decimal(0))
    return format(total.quantize(Decimal("0.01")), "f")
