"""Production orders: material requests, operations, consumption and output."""
from flask_smorest import Blueprint
from sqlalchemy import select

from backend.api import auth_required, current_actor, paginate
from backend.domain import masterdata, production
from backend.models import ProductionOrder, Role, db
from backend.schemas import (
    AllocationSchema, ConsumeSchema, MovementSchema, OperationInSchema, OperationSchema, OrderFilterSchema,
    ProduceSchema, ProductionOrderInSchema, ProductionOrderSchema, _Happened, page_of,
)

blp = Blueprint("production", __name__, url_prefix="/api/production-orders", description="Production")


@blp.get("")
@auth_required()
@blp.arguments(OrderFilterSchema, location="query")
@blp.response(200, page_of(ProductionOrderSchema))
def list_orders(args):
    """List production orders, newest first."""
    query = select(ProductionOrder).order_by(ProductionOrder.id.desc())
    if "status" in args:
        query = query.where(ProductionOrder.status == args["status"])
    return paginate(query, args)


@blp.post("")
@auth_required(Role.supervisor)
@blp.arguments(ProductionOrderInSchema)
@blp.response(201, ProductionOrderSchema)
def create_order(data):
    """Plan a production order with its materials."""
    order = production.create_production_order(db.session, current_actor(), **data)
    db.session.commit()
    return order


@blp.get("/<id:order_id>")
@auth_required()
@blp.response(200, ProductionOrderSchema)
def get_order(order_id):
    """A production order with materials and operations."""
    return masterdata.get(db.session, ProductionOrder, order_id)


@blp.post("/<id:order_id>/request-materials")
@auth_required(Role.supervisor)
@blp.arguments(_Happened)
@blp.response(201, AllocationSchema)
def request_materials(data, order_id):
    """Allocate the materials into a pick list to the production location."""
    pick_list, shortfalls = production.request_materials(db.session, current_actor(), order=order_id, **data)
    db.session.commit()
    return {"pick_list": pick_list, "shortfalls": shortfalls}


@blp.post("/<id:order_id>/operations")
@auth_required()
@blp.arguments(OperationInSchema)
@blp.response(201, OperationSchema)
def start_operation(data, order_id):
    """Start an operation on a workstation or machine."""
    operation = production.start_operation(db.session, current_actor(), order=order_id, **data)
    db.session.commit()
    return operation


@blp.post("/operations/<id:operation_id>/end")
@auth_required()
@blp.arguments(_Happened)
@blp.response(200, OperationSchema)
def end_operation(data, operation_id):
    """End a running operation."""
    operation = production.end_operation(db.session, current_actor(), operation=operation_id, **data)
    db.session.commit()
    return operation


@blp.post("/<id:order_id>/consume")
@auth_required()
@blp.arguments(ConsumeSchema)
@blp.response(201, MovementSchema)
def consume(data, order_id):
    """Use an input lot for the order."""
    movement = production.consume(db.session, current_actor(), order=order_id, **data)
    db.session.commit()
    return movement


@blp.post("/<id:order_id>/produce")
@auth_required()
@blp.arguments(ProduceSchema)
@blp.response(201, MovementSchema)
def produce(data, order_id):
    """Book output as a new lot."""
    movement = production.produce(db.session, current_actor(), order=order_id, **data)
    db.session.commit()
    return movement


@blp.post("/<id:order_id>/close")
@auth_required(Role.supervisor)
@blp.response(200, ProductionOrderSchema)
def close(order_id):
    """Close the order, releasing reservations of material not picked."""
    order = production.close_order(db.session, current_actor(), order=order_id)
    db.session.commit()
    return order
