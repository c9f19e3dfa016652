"""Sign-in: bearer tokens for the PWA, the batch uploader and other systems."""
from datetime import timedelta

from flask import current_app, g
from flask_smorest import Blueprint

from backend.api import auth_required
from backend.domain import auth
from backend.models import db
from backend.schemas import TokenRequestSchema, TokenSchema, UserSchema

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Sign-in and tokens")


@blp.post("/token")
@blp.arguments(TokenRequestSchema)
@blp.response(200, TokenSchema)
@blp.doc(security=[])
def issue_token(creds):
    """Exchange user name and password for a bearer token bound to a device."""
    ttl = timedelta(hours=current_app.config["LOTWISE_TOKEN_TTL_HOURS"])
    token, row = auth.issue_token(db.session, ttl=ttl, **creds)
    db.session.commit()
    return {"token": token, "user": row.user, "device": row.device, "expires_at": row.expires_at}


@blp.get("/me")
@auth_required()
@blp.response(200, UserSchema)
def me():
    """The signed-in user."""
    return g.token.user


@blp.delete("/token")
@auth_required()
@blp.response(204)
def sign_out():
    """Revoke the token used for this request."""
    auth.revoke(db.session, g.token)
    db.session.commit()
