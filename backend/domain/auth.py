"""Users and API tokens: random bearer tokens stored as SHA-256, expiring and revocable."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from backend.domain.errors import DomainError, conflict
from backend.models import ApiToken, Device, Role, User, utcnow


_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def hash_token(token: str) -> str:
    """What the database keeps of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(session: Session, *, username: str, password: str, role: Role, name: str = "") -> User:
    """Add a user with a hashed password."""
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise conflict("already_exists", f"User {username} exists")
    _check_password(password)
    user = User(username=username, name=name, role=role, password_hash=generate_password_hash(password))
    session.add(user)
    session.flush()
    return user


def update_user(session: Session, user: User, changes: dict) -> User:
    """Change a user's name, role, password or active flag; deactivating revokes their tokens."""
    if "password" in changes:
        _check_password(changes["password"])
        user.password_hash = generate_password_hash(changes.pop("password"))
    for key, value in changes.items():
        setattr(user, key, value)
    if changes.get("active") is False:
        revoke_all(session, user)
    session.flush()
    return user


def _check_password(password: str) -> None:
    """Passwords have at least 5 characters (the demo users have their names as passwords)."""
    if len(password) < 5:
        raise DomainError("invalid", "Password too short", errors={"password": ["At least 5 characters"]})


def issue_token(session: Session, *, username: str, password: str, device: str,
                ttl: timedelta) -> tuple[str, ApiToken]:
    """Check the credentials and issue a new token; returns the token (shown once) and its row."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not check_password_hash(user.password_hash, password):
        raise DomainError("invalid_credentials", "Wrong user name or password", status=401)
    token = secrets.token_urlsafe(32)
    register_device(session, device, user)
    row = ApiToken(user=user, token_hash=hash_token(token), device=device, expires_at=utcnow() + ttl)
    session.add(row)
    session.flush()
    return token, row


def token_owner(session: Session, token: str, now: datetime | None = None) -> ApiToken | None:
    """The live token row for a bearer token, or None when unknown, expired, revoked or its user inactive."""
    row = session.scalar(select(ApiToken).options(joinedload(ApiToken.user))
                         .where(ApiToken.token_hash == hash_token(token)))
    now = now or utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.user.active:
        return None
    return row


def revoke(session: Session, row: ApiToken) -> None:
    """Revoke one token."""
    row.revoked_at = utcnow()
    session.flush()


def revoke_all(session: Session, user: User) -> None:
    """Revoke every live token of a user."""
    session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                    .values(revoked_at=utcnow()))


def register_device(session: Session, name: str, user: User) -> Device:
    """The device with this name, registered on first sight; remembers who used it last.

    Two servers may see a new device at the same moment: the insert does nothing if the other won.
    """
    device = session.scalar(select(Device).where(Device.name == name))
    if device is None:
        insert = _INSERT[session.get_bind().dialect.name]
        session.execute(insert(Device).values(name=name, registered_by_id=user.id, registered_at=utcnow())
                        .on_conflict_do_nothing(index_elements=[Device.name]))
        device = session.scalar(select(Device).where(Device.name == name))
    device.last_user = user
    session.flush()
    return device
