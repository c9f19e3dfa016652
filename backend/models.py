"""Database models (SQLAlchemy 2.0 typing). Stock changes only through backend.domain."""
from __future__ import annotations

import enum
from datetime import date, datetime, timezone
from decimal import Decimal

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (CheckConstraint, ForeignKey, Index, MetaData, String, UniqueConstraint, event, func, select,
                        type_coerce)
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column, registry, relationship

from backend.types import ExactDecimal, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (for migrations) and exact types."""

    registry = registry(metadata=MetaData(naming_convention=NAMING),
                        type_annotation_map={Decimal: ExactDecimal, datetime: UTCDateTime})


db = SQLAlchemy(model_class=Base)


class Role(str, enum.Enum):
    """What a user may do; each role includes the ones before it."""

    worker = "worker"
    supervisor = "supervisor"
    admin = "admin"

    @property
    def rank(self) -> int:
        """Position in the hierarchy worker < supervisor < admin."""
        return list(Role).index(self)


class PickPolicy(str, enum.Enum):
    """How allocation orders an item's lots."""

    fefo = "fefo"
    fifo = "fifo"


class LocationKind(str, enum.Enum):
    """What a location is for."""

    receiving = "receiving"
    storage = "storage"
    staging = "staging"
    production = "production"
    quarantine = "quarantine"


class PartnerKind(str, enum.Enum):
    """Whom we buy from or sell to."""

    supplier = "supplier"
    customer = "customer"


class LotStatus(str, enum.Enum):
    """Whether a lot may be allocated, picked, consumed or shipped."""

    available = "available"
    quarantine = "quarantine"
    recalled = "recalled"


class MovementType(str, enum.Enum):
    """Every kind of stock change in the ledger."""

    receive = "receive"
    move = "move"
    pick = "pick"
    consume = "consume"
    produce = "produce"
    ship = "ship"
    adjust = "adjust"
    scrap = "scrap"
    ret = "return"


def _enum(cls: type[enum.Enum], name: str):
    """A portable enum column: VARCHAR with a CHECK constraint, storing the values."""
    from sqlalchemy import Enum

    return Enum(cls, name=name, native_enum=False, create_constraint=True, length=16,
                values_callable=lambda e: [m.value for m in e])


class User(db.Model):
    """A person who signs in: worker, supervisor or admin."""

    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def can(self, role: Role) -> bool:
        """True when this user's role is at least `role`."""
        return self.active and self.role.rank >= role.rank


class ApiToken(db.Model):
    """A bearer token: random, stored only as its SHA-256, expiring and revocable."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    device: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    user: Mapped[User] = relationship()


class Item(db.Model):
    """A stock-keeping unit."""

    __tablename__ = "item"
    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    gtin: Mapped[str | None] = mapped_column(String(14), unique=True)
    uom: Mapped[str] = mapped_column(String(3))
    pick_policy: Mapped[PickPolicy] = mapped_column(_enum(PickPolicy, "pick_policy"))
    shelf_life_days: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Location(db.Model):
    """A place stock can be: its code is what its barcode holds."""

    __tablename__ = "location"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[LocationKind] = mapped_column(_enum(LocationKind, "location_kind"))
    gln: Mapped[str | None] = mapped_column(String(13))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Partner(db.Model):
    """A supplier or customer, with both phone numbers a recall needs."""

    __tablename__ = "partner"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[PartnerKind] = mapped_column(_enum(PartnerKind, "partner_kind"))
    street: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    contact: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    phone_after_hours: Mapped[str] = mapped_column(String(40), default="")
    gln: Mapped[str | None] = mapped_column(String(13))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Lot(db.Model):
    """One batch of one item, with its origin, dates, cost and status."""

    __tablename__ = "lot"
    __table_args__ = (UniqueConstraint("item_id", "code", name="uq_lot_item_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"), index=True)
    code: Mapped[str] = mapped_column(String(20), index=True)
    status: Mapped[LotStatus] = mapped_column(_enum(LotStatus, "lot_status"), default=LotStatus.available)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"))
    supplier_lot: Mapped[str | None] = mapped_column(String(40))
    received_at: Mapped[datetime]
    expires_on: Mapped[date | None] = mapped_column(index=True)
    unit_cost: Mapped[Decimal | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    item: Mapped[Item] = relationship()
    supplier: Mapped[Partner | None] = relationship()


class Movement(db.Model):
    """One immutable line of the stock ledger. Corrections are new, reversing movements."""

    __tablename__ = "movement"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("from_location_id IS NOT NULL OR to_location_id IS NOT NULL", name="has_location"),
        Index("ix_movement_lot_happened", "lot_id", "happened_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[MovementType] = mapped_column(_enum(MovementType, "movement_type"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"))
    qty: Mapped[Decimal]
    from_location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"), index=True)
    to_location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"), index=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"), index=True)
    ref_type: Mapped[str | None] = mapped_column(String(20))
    ref_number: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(String(200))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("movement.id"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    device: Mapped[str | None] = mapped_column(String(64))
    happened_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    lot: Mapped[Lot] = relationship()
    from_location: Mapped[Location | None] = relationship(foreign_keys=[from_location_id])
    to_location: Mapped[Location | None] = relationship(foreign_keys=[to_location_id])
    partner: Mapped[Partner | None] = relationship()
    actor: Mapped[User] = relationship()


class Balance(db.Model):
    """On-hand and reserved quantity of one lot at one location, kept with the ledger."""

    __tablename__ = "balance"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    )
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"), primary_key=True, index=True)
    on_hand: Mapped[Decimal] = mapped_column(default=Decimal(0))
    reserved: Mapped[Decimal] = mapped_column(default=Decimal(0))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    lot: Mapped[Lot] = relationship()
    location: Mapped[Location] = relationship()

    @property
    def free(self) -> Decimal:
        """What is on hand and not promised to a pick list."""
        return self.on_hand - self.reserved


class LotEvent(db.Model):
    """A change to a lot that is not a stock movement: status changes and counts, for the audit trail."""

    __tablename__ = "lot_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    old_value: Mapped[str | None] = mapped_column(String(40))
    new_value: Mapped[str | None] = mapped_column(String(40))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    reason: Mapped[str | None] = mapped_column(String(200))
    actor_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    device: Mapped[str | None] = mapped_column(String(64))
    happened_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[User] = relationship()
    location: Mapped[Location | None] = relationship()


Lot.on_hand = deferred(select(type_coerce(func.coalesce(func.sum(Balance.on_hand), 0), ExactDecimal()))
                       .where(Balance.lot_id == Lot.id).correlate_except(Balance).scalar_subquery())


@event.listens_for(Movement, "before_update")
@event.listens_for(Movement, "before_delete")
@event.listens_for(LotEvent, "before_update")
@event.listens_for(LotEvent, "before_delete")
def _refuse_rewriting_history(mapper, connection, target):
    """The ledger is append-only: refuse any update or delete through the ORM."""
    raise RuntimeError(f"{type(target).__name__} rows are immutable; record a reversing entry instead")
