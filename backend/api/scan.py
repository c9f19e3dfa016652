"""Scan resolution: what a raw scan string names."""
from flask import current_app
from flask_smorest import Blueprint

from backend.api import auth_required
from backend.domain import scans
from backend.models import db
from backend.schemas import ScanInSchema, ScanResultSchema

blp = Blueprint("scan", __name__, url_prefix="/api/scan", description="Scans")


@blp.post("/resolve")
@auth_required()
@blp.arguments(ScanInSchema)
@blp.response(200, ScanResultSchema)
def resolve(data):
    """Interpret a scan (GS1 element string, HRI, Digital Link, (240) label, location or lot code)."""
    return scans.describe(db.session, data["scan"], current_app.config["LOTWISE_GS_SUBSTITUTE"])
