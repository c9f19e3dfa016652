"""Stock corrections and write-offs (supervisors)."""
from flask_smorest import Blueprint

from backend.api import auth_required, current_actor
from backend.domain import stock
from backend.models import Role, db
from backend.schemas import AdjustmentSchema, MovementSchema, ScrapSchema

blp = Blueprint("adjustments", __name__, url_prefix="/api", description="Corrections and write-offs")


@blp.post("/adjustments")
@auth_required(Role.supervisor)
@blp.arguments(AdjustmentSchema)
@blp.response(201, MovementSchema)
def adjust(data):
    """Correct the stock of a lot at a location up or down, with a reason."""
    movement = stock.adjust(db.session, current_actor(), **data)
    db.session.commit()
    return movement


@blp.post("/scraps")
@auth_required(Role.supervisor)
@blp.arguments(ScrapSchema)
@blp.response(201, MovementSchema)
def scrap(data):
    """Write off a quantity of a lot at a location, with a reason."""
    movement = stock.scrap(db.session, current_actor(), **data)
    db.session.commit()
    return movement
