"""The one place that turns every error into Lotwise's JSON error shape."""
import logging

from flask import Flask, jsonify
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from backend.domain.errors import DomainError
from backend.models import db

log = logging.getLogger("lotwise")


def error_response(status: int, code: str, message: str, errors: dict | None = None):
    """{"code", "error", "message", "errors"} with the HTTP status."""
    body = {"code": status, "error": code, "message": message, "errors": errors or {}}
    return jsonify(body), status


def _http_code(exc: HTTPException) -> str:
    """A machine code from an HTTP exception's name: 'Not Found' -> not_found."""
    return (exc.name or "error").lower().replace(" ", "_").replace("'", "")


def register_error_handlers(app: Flask) -> None:
    """Route every exception through error_response, rolling the session back first."""

    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        db.session.rollback()
        return error_response(exc.status, exc.code, exc.message, exc.errors)

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError):
        db.session.rollback()
        return error_response(422, "invalid", "The request has invalid fields", exc.normalized_messages())

    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError):
        db.session.rollback()
        log.info("integrity error: %s", exc.orig)
        return error_response(409, "conflict", "The change conflicts with existing data")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        db.session.rollback()
        data = getattr(exc, "data", None) or {}
        errors = data.get("errors") or data.get("messages") or {}
        if exc.code == 422 or (exc.code == 400 and errors):
            # webargs nests by location ("json", "query"); callers want the fields.
            flat = errors.get("json") or errors.get("query") or errors.get("files") or errors
            flat = flat if isinstance(flat, dict) else {"_body": flat}
            return error_response(exc.code, "invalid", data.get("message") or "The request has invalid fields", flat)
        message = data.get("message") or exc.description or exc.name
        return error_response(exc.code or 500, _http_code(exc), message)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        db.session.rollback()
        log.exception("unhandled error")
        return error_response(500, "internal_error", "Something went wrong on the server; nothing was changed")
