"""Moves of stock between locations."""
from flask_smorest import Blueprint

from backend.api import auth_required, current_actor
from backend.domain import stock
from backend.models import db
from backend.schemas import MoveSchema, MovementSchema

blp = Blueprint("moves", __name__, url_prefix="/api/moves", description="Moving stock")


@blp.post("")
@auth_required()
@blp.arguments(MoveSchema)
@blp.response(201, MovementSchema)
def move(data):
    """Move a quantity of a lot from one location to another."""
    movement = stock.move(db.session, current_actor(), **data)
    db.session.commit()
    return movement
