"""Users (admins only)."""
from flask_smorest import Blueprint
from sqlalchemy import select

from backend.api import auth_required, paginate
from backend.domain import auth, masterdata
from backend.models import Role, User, db
from backend.schemas import PageArgs, UserSchema, UserUpdateSchema, page_of

blp = Blueprint("users", __name__, url_prefix="/api/users", description="Users (admin)")


@blp.get("")
@auth_required(Role.admin)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(UserSchema))
def list_users(args):
    """List users."""
    return paginate(select(User).order_by(User.username), args)


@blp.post("")
@auth_required(Role.admin)
@blp.arguments(UserSchema)
@blp.response(201, UserSchema)
def create_user(data):
    """Add a user."""
    data.pop("active", None)
    user = auth.create_user(db.session, **data)
    db.session.commit()
    return user


@blp.patch("/<id:user_id>")
@auth_required(Role.admin)
@blp.arguments(UserUpdateSchema)
@blp.response(200, UserSchema)
def update_user(changes, user_id):
    """Change a user's name, role, password or active flag (deactivating signs them out)."""
    user = auth.update_user(db.session, masterdata.get(db.session, User, user_id), changes)
    db.session.commit()
    return user


@blp.post("/<id:user_id>/revoke-tokens")
@auth_required(Role.admin)
@blp.response(204)
def revoke_tokens(user_id):
    """Sign a user out of every device."""
    auth.revoke_all(db.session, masterdata.get(db.session, User, user_id))
    db.session.commit()
