"""Shipments and customer returns."""
from flask_smorest import Blueprint
from sqlalchemy import select

from backend.api import auth_required, current_actor, paginate
from backend.domain import masterdata, shipping
from backend.models import Role, Shipment, db
from backend.schemas import PageArgs, ReturnInSchema, ReturnSchema, ShipmentSchema, page_of

blp = Blueprint("shipments", __name__, url_prefix="/api", description="Shipping and returns")


@blp.get("/shipments")
@auth_required()
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(ShipmentSchema))
def list_shipments(args):
    """Shipments, newest first."""
    return paginate(select(Shipment).order_by(Shipment.id.desc()), args)


@blp.get("/shipments/<id:shipment_id>")
@auth_required()
@blp.response(200, ShipmentSchema)
def get_shipment(shipment_id):
    """A shipment with the lots it carried."""
    return masterdata.get(db.session, Shipment, shipment_id)


@blp.post("/returns")
@auth_required(Role.supervisor)
@blp.arguments(ReturnInSchema)
@blp.response(201, ReturnSchema)
def receive_return(data):
    """Receive goods a customer returned into quarantine, against the shipment they left on."""
    row, movement = shipping.receive_return(db.session, current_actor(), **data)
    db.session.commit()
    return {**{k: getattr(row, k) for k in ("id", "number", "shipment", "reason", "received_at")},
            "movement": movement}
