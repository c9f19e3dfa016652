"""Physical stock counts."""
from flask_smorest import Blueprint

from backend.api import auth_required, current_actor
from backend.domain import stock
from backend.models import db
from backend.schemas import CountResultSchema, CountSchema

blp = Blueprint("counts", __name__, url_prefix="/api/counts", description="Counting")


@blp.post("")
@auth_required()
@blp.arguments(CountSchema)
@blp.response(201, CountResultSchema)
def count(data):
    """Record a count of one lot at one location; a difference is booked as an adjusting movement."""
    movement, event = stock.count(db.session, current_actor(), **data)
    db.session.commit()
    return {"movement": movement, "event": event}
