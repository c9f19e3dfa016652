"""Sales orders: create, list, allocate into pick lists, re-allocate, cancel, ship."""
from flask_smorest import Blueprint
from sqlalchemy import select

from backend.api import auth_required, current_actor, paginate
from backend.domain import masterdata, orders, shipping
from backend.models import Partner, Role, SalesOrder, db
from backend.schemas import (
    AllocationSchema, OrderFilterSchema, SalesOrderInSchema, SalesOrderSchema, ShipInSchema, ShipmentSchema,
    StagingSchema, page_of,
)

blp = Blueprint("orders", __name__, url_prefix="/api/orders", description="Sales orders")


@blp.get("")
@auth_required()
@blp.arguments(OrderFilterSchema, location="query")
@blp.response(200, page_of(SalesOrderSchema))
def list_orders(args):
    """List sales orders, newest first, by status or customer code."""
    query = select(SalesOrder).order_by(SalesOrder.id.desc())
    if "status" in args:
        query = query.where(SalesOrder.status == args["status"])
    if "customer" in args:
        query = query.join(Partner).where(Partner.code == args["customer"])
    return paginate(query, args)


@blp.post("")
@auth_required(Role.supervisor)
@blp.arguments(SalesOrderInSchema)
@blp.response(201, SalesOrderSchema)
def create_order(data):
    """Create a sales order for a customer."""
    order = orders.create_sales_order(db.session, current_actor(), **data)
    db.session.commit()
    return order


@blp.get("/<id:order_id>")
@auth_required()
@blp.response(200, SalesOrderSchema)
def get_order(order_id):
    """A sales order with each line's progress."""
    return masterdata.get(db.session, SalesOrder, order_id)


@blp.post("/<id:order_id>/allocate")
@auth_required(Role.supervisor)
@blp.arguments(StagingSchema)
@blp.response(201, AllocationSchema)
def allocate(data, order_id):
    """Allocate the order's open need by FEFO/FIFO into a pick list to a staging lane, reserving the stock."""
    pick_list, shortfalls = orders.allocate_order(db.session, current_actor(), order=order_id, **data)
    db.session.commit()
    return {"pick_list": pick_list, "shortfalls": shortfalls}


@blp.post("/<id:order_id>/reallocate")
@auth_required(Role.supervisor)
@blp.arguments(StagingSchema)
@blp.response(201, AllocationSchema)
def reallocate(data, order_id):
    """Cancel the order's open tasks and allocate its open need afresh."""
    pick_list, shortfalls = orders.reallocate_order(db.session, current_actor(), order=order_id, **data)
    db.session.commit()
    return {"pick_list": pick_list, "shortfalls": shortfalls}


@blp.post("/<id:order_id>/cancel")
@auth_required(Role.supervisor)
@blp.response(200, SalesOrderSchema)
def cancel(order_id):
    """Cancel an order, releasing its reservations."""
    order = orders.cancel_order(db.session, current_actor(), order=order_id)
    db.session.commit()
    return order


@blp.post("/<id:order_id>/ship")
@auth_required(Role.supervisor)
@blp.arguments(ShipInSchema)
@blp.response(201, ShipmentSchema)
def ship(data, order_id):
    """Ship confirmed picks (all, or those listed) under a new delivery note."""
    shipment = shipping.ship(db.session, current_actor(), order=order_id, **data)
    db.session.commit()
    return shipment
