"""Liveness and the offline API docs' assets."""
from pathlib import Path

import swagger_ui_bundle
from flask import Blueprint, send_from_directory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from backend.errors import error_response
from backend.models import db

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    """200 when the database answers, 503 when it does not."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return error_response(503, "database_unavailable", "The database does not answer")
    return {"status": "ok"}


@blp.get("/api/docs/assets/<path:filename>")
def docs_asset(filename):
    """Swagger UI's files, from the swagger-ui-bundle package: the docs page needs no internet."""
    return send_from_directory(Path(swagger_ui_bundle.swagger_ui_path), filename, max_age=86400)
