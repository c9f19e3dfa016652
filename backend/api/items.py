"""Items (SKUs)."""
from flask_smorest import Blueprint
from sqlalchemy import select

from backend.api import matches
from backend.api.crud import add_crud_routes
from backend.models import Item
from backend.schemas import ItemFilterSchema, ItemSchema, ItemUpdateSchema

blp = Blueprint("items", __name__, url_prefix="/api/items", description="Items (SKUs)")


def _query(args: dict):
    """Items matching the list filters, by SKU."""
    query = select(Item).order_by(Item.sku)
    if "q" in args:
        query = query.where(matches(args["q"], Item.sku, Item.name))
    if "gtin" in args:
        query = query.where(Item.gtin == args["gtin"].zfill(14))
    if "active" in args:
        query = query.where(Item.active == args["active"])
    return query


add_crud_routes(blp, Item, ItemSchema, ItemUpdateSchema, ItemFilterSchema, _query)
