"""Locations."""
from flask_smorest import Blueprint
from sqlalchemy import select

from backend.api import matches
from backend.api.crud import add_crud_routes
from backend.models import Location
from backend.schemas import LocationFilterSchema, LocationSchema, LocationUpdateSchema

blp = Blueprint("locations", __name__, url_prefix="/api/locations", description="Locations")


def _query(args: dict):
    """Locations matching the list filters, by code."""
    query = select(Location).order_by(Location.code)
    if "q" in args:
        query = query.where(matches(args["q"], Location.code, Location.name))
    if "kind" in args:
        query = query.where(Location.kind == args["kind"])
    if "active" in args:
        query = query.where(Location.active == args["active"])
    return query


add_crud_routes(blp, Location, LocationSchema, LocationUpdateSchema, LocationFilterSchema, _query)
