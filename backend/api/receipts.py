"""Receipts of goods from suppliers."""
from flask_smorest import Blueprint

from backend.api import auth_required, current_actor
from backend.domain import stock
from backend.models import db
from backend.schemas import ReceiptResultSchema, ReceiptSchema

blp = Blueprint("receipts", __name__, url_prefix="/api/receipts", description="Receiving")


@blp.post("")
@auth_required()
@blp.arguments(ReceiptSchema)
@blp.response(201, ReceiptResultSchema)
def receive(data):
    """Receive goods into a location; the lot is created (its code generated when none is given)."""
    movement = stock.receive(db.session, current_actor(), **data)
    db.session.commit()
    return movement
