"""Locations."""
from flask_smorest import Blueprint
from sqlalchemy import or_, select

from backend.api.crud import add_crud_routes
from backend.models import Location
from backend.schemas import LocationFilterSchema, LocationSchema, LocationUpdateSchema

blp = Blueprint("locations", __name__, url_prefix="/api/locations", description="Locations")


def _query(args: dict):
    """Locations matching the list filters, by code."""
    query = select(Location).order_by(Location.code)
    if "q" in args:
        like = f"%{args['q']}%"
        query = query.where(or_(Location.code.ilike(like), Location.name.ilike(like)))
    if "kind" in args:
        query = query.where(Location.kind == args["kind"])
    if "active" in args:
        query = query.where(Location.active == args["active"])
    return query


add_crud_routes(blp, Location, LocationSchema, LocationUpdateSchema, LocationFilterSchema, _query)
