"""REST API plumbing shared by the resource modules: auth, the acting user, paging, JSON bodies."""
from __future__ import annotations

from functools import wraps
from zoneinfo import ZoneInfo

from flask import current_app, g, request
from werkzeug.routing import IntegerConverter
from sqlalchemy import func, or_, select

from backend.domain import Actor
from backend.domain.auth import token_owner
from backend.domain.errors import DomainError
from backend.models import Role, db
from backend.schemas import MAX_ID

_BODY_METHODS = {"POST", "PUT", "PATCH"}


def auth_required(role: Role = Role.worker):
    """Require a live bearer token whose user has at least `role`."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            row = token_owner(db.session, token.strip()) if scheme.lower() == "bearer" and token else None
            if row is None:
                raise DomainError("unauthorized", "Sign in first: a valid bearer token is required", status=401)
            if not row.user.can(role):
                raise DomainError("forbidden", f"This needs the {role.value} role", status=403)
            g.token = row
            return view(*args, **kwargs)
        return wrapper
    return decorator


def current_actor() -> Actor:
    """The signed-in user, their device and the site's time zone, for domain functions."""
    return Actor(user=g.token.user, device=g.token.device, tz=ZoneInfo(current_app.config["LOTWISE_TIMEZONE"]))


def paginate(query, args: dict, **extra) -> dict:
    """Run a select for one page: {"data", "page", "per_page", "total"}."""
    page, per_page = args["page"], args["per_page"]
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return {"data": rows, "page": page, "per_page": per_page, "total": total, **extra}


def matches(text: str, *columns):
    """Case-insensitive "contains" over columns, with % and _ taken literally."""
    return or_(*(column.icontains(text, autoescape=True) for column in columns))


def require_json_body():
    """Refuse API bodies that are not JSON before any view sees them (415, or 400 when unparsable)."""
    if (request.method not in _BODY_METHODS or request.url_rule is None or not request.path.startswith("/api/")
            or not request.content_length or request.mimetype == "multipart/form-data"):
        return None
    if not request.is_json:
        raise DomainError("unsupported_media_type", "Send JSON with Content-Type: application/json", status=415)
    if not isinstance(request.get_json(silent=True), dict):
        raise DomainError("invalid_json", "The body must be a JSON object", status=400)
    # The sync push judges each mutation on its own, NUL included, so that one bad one blocks nothing.
    if request.endpoint != "sync.push" and b"\\u0000" in request.get_data():
        raise DomainError("invalid_json", "NUL characters are not allowed in any field", status=400)
    return None


class IdConverter(IntegerConverter):
    """URL ids: positive integers that fit the database's 64-bit keys (others are 404)."""

    def __init__(self, url_map):
        super().__init__(url_map, min=1, max=MAX_ID)
