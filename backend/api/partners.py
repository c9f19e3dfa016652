"""Partners: suppliers and customers."""
from flask_smorest import Blueprint
from sqlalchemy import select

from backend.api import matches
from backend.api.crud import add_crud_routes
from backend.models import Partner
from backend.schemas import PartnerFilterSchema, PartnerSchema, PartnerUpdateSchema

blp = Blueprint("partners", __name__, url_prefix="/api/partners", description="Suppliers and customers")


def _query(args: dict):
    """Partners matching the list filters, by code."""
    query = select(Partner).order_by(Partner.code)
    if "q" in args:
        query = query.where(matches(args["q"], Partner.code, Partner.name, Partner.city))
    if "kind" in args:
        query = query.where(Partner.kind == args["kind"])
    if "active" in args:
        query = query.where(Partner.active == args["active"])
    return query


add_crud_routes(blp, Partner, PartnerSchema, PartnerUpdateSchema, PartnerFilterSchema, _query)
