"""Database models (SQLAlchemy 2.0 typing). Stock changes only through backend.domain."""
from __future__ import annotations

import enum
from datetime import date, datetime, timezone
from decimal import Decimal

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    JSON, BigInteger, CheckConstraint, ForeignKey, Index, MetaData, String, UniqueConstraint, event, func, select,
    type_coerce,
)
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


class TaskStatus(str, enum.Enum):
    """Where a pick task is in its life: open -> picked -> confirmed, or exception, or cancelled."""

    open = "open"
    picked = "picked"
    confirmed = "confirmed"
    exception = "exception"
    cancelled = "cancelled"


class OrderStatus(str, enum.Enum):
    """A sales or production order's lifecycle; progress per line is derived from its tasks."""

    open = "open"
    closed = "closed"
    cancelled = "cancelled"


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
    production_order_id: Mapped[int | None] = mapped_column(ForeignKey("production_order.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    item: Mapped[Item] = relationship()
    supplier: Mapped[Partner | None] = relationship()
    balances: Mapped[list[Balance]] = relationship(viewonly=True)


class Movement(db.Model):
    """One immutable line of the stock ledger. Corrections are new, reversing movements."""

    __tablename__ = "movement"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("from_location_id IS NOT NULL OR to_location_id IS NOT NULL", name="has_location"),
        Index("ix_movement_lot_happened", "lot_id", "happened_at"),
        Index("ix_movement_ref", "ref_type", "ref_number"),
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
    task_id: Mapped[int | None] = mapped_column(ForeignKey("pick_task.id"), index=True)
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


class SalesOrder(db.Model):
    """A customer's order: lines of item and quantity, wanted on a day."""

    __tablename__ = "sales_order"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), index=True)
    requested_on: Mapped[date | None]
    status: Mapped[OrderStatus] = mapped_column(_enum(OrderStatus, "order_status"), default=OrderStatus.open)
    reference: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    customer: Mapped[Partner] = relationship()
    lines: Mapped[list[SalesOrderLine]] = relationship(back_populates="order", order_by="SalesOrderLine.id")


class SalesOrderLine(db.Model):
    """One item and quantity of a sales order."""

    __tablename__ = "sales_order_line"
    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"))
    qty: Mapped[Decimal]
    order: Mapped[SalesOrder] = relationship(back_populates="lines")
    item: Mapped[Item] = relationship()
    tasks: Mapped[list[PickTask]] = relationship(viewonly=True, order_by="PickTask.id")

    def progress(self) -> dict:
        """How much of the line is open, picked, confirmed, shipped, and not allocated at all."""
        sums = dict.fromkeys(("open", "picked", "confirmed", "shipped"), Decimal(0))
        for task in self.tasks:
            if task.shipment_id is not None:
                sums["shipped"] += task.qty
            elif task.status in (TaskStatus.picked, TaskStatus.exception) and task.picked_qty is not None:
                sums["picked"] += task.qty
            elif task.status.value in sums:
                sums[task.status.value] += task.qty
        covered = sum(sums.values(), start=Decimal(0))
        return {"id": self.id, "item": self.item.sku, "qty": self.qty, **sums,
                "unallocated": max(self.qty - covered, Decimal(0))}


class ProductionOrder(db.Model):
    """Making a planned quantity of an output item on a production location from material lines."""

    __tablename__ = "production_order"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"))
    planned_qty: Mapped[Decimal]
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    due_on: Mapped[date | None]
    status: Mapped[OrderStatus] = mapped_column(_enum(OrderStatus, "order_status"), default=OrderStatus.open)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    item: Mapped[Item] = relationship()
    location: Mapped[Location] = relationship()
    materials: Mapped[list[ProductionMaterial]] = relationship(back_populates="order",
                                                              order_by="ProductionMaterial.id")
    operations: Mapped[list[ProductionOperation]] = relationship(back_populates="order",
                                                                order_by="ProductionOperation.id")


class ProductionMaterial(db.Model):
    """One input item and quantity a production order needs."""

    __tablename__ = "production_material"
    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("production_order.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"))
    qty: Mapped[Decimal]
    order: Mapped[ProductionOrder] = relationship(back_populates="materials")
    item: Mapped[Item] = relationship()


class ProductionOperation(db.Model):
    """A step of a production order: on which workstation or machine, by whom, from when to when."""

    __tablename__ = "production_operation"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("production_order.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    workstation: Mapped[str] = mapped_column(String(80))
    operator_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    order: Mapped[ProductionOrder] = relationship(back_populates="operations")
    operator: Mapped[User] = relationship()


class PickList(db.Model):
    """The pick tasks that bring one order's stock to its staging or production location."""

    __tablename__ = "pick_list"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    sales_order_id: Mapped[int | None] = mapped_column(ForeignKey("sales_order.id"), index=True)
    production_order_id: Mapped[int | None] = mapped_column(ForeignKey("production_order.id"), index=True)
    to_location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sales_order: Mapped[SalesOrder | None] = relationship()
    production_order: Mapped[ProductionOrder | None] = relationship()
    to_location: Mapped[Location] = relationship()
    tasks: Mapped[list[PickTask]] = relationship(back_populates="pick_list", order_by="PickTask.id")


class PickTask(db.Model):
    """Pick `qty` of an item (expected lot, from-location) to the list's location."""

    __tablename__ = "pick_task"
    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    pick_list_id: Mapped[int] = mapped_column(ForeignKey("pick_list.id"), index=True)
    sales_order_line_id: Mapped[int | None] = mapped_column(ForeignKey("sales_order_line.id"), index=True)
    production_material_id: Mapped[int | None] = mapped_column(ForeignKey("production_material.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), index=True)
    from_location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    to_location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    qty: Mapped[Decimal]
    status: Mapped[TaskStatus] = mapped_column(_enum(TaskStatus, "task_status"), default=TaskStatus.open,
                                               index=True)
    picked_qty: Mapped[Decimal | None]
    picked_lot_id: Mapped[int | None] = mapped_column(ForeignKey("lot.id"))
    picked_from_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    picked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    picked_at: Mapped[datetime | None]
    exception_reason: Mapped[str | None] = mapped_column(String(30))
    exception_message: Mapped[str | None] = mapped_column(String(300))  # what the worker was told
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None]
    decision: Mapped[str | None] = mapped_column(String(10))
    decision_reason: Mapped[str | None] = mapped_column(String(200))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    confirmed_at: Mapped[datetime | None]
    settled_qty: Mapped[Decimal] = mapped_column(default=Decimal(0))
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipment.id"), index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    pick_list: Mapped[PickList] = relationship(back_populates="tasks")
    item: Mapped[Item] = relationship()
    lot: Mapped[Lot] = relationship(foreign_keys=[lot_id])
    from_location: Mapped[Location] = relationship(foreign_keys=[from_location_id])
    to_location: Mapped[Location] = relationship(foreign_keys=[to_location_id])
    picked_lot: Mapped[Lot | None] = relationship(foreign_keys=[picked_lot_id])
    picked_from: Mapped[Location | None] = relationship(foreign_keys=[picked_from_id])
    picked_by: Mapped[User | None] = relationship(foreign_keys=[picked_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])
    shipment: Mapped[Shipment | None] = relationship(back_populates="tasks")


class Shipment(db.Model):
    """Confirmed picks sent to a customer under one delivery note number."""

    __tablename__ = "shipment"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    sales_order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), index=True)
    shipped_at: Mapped[datetime]
    actor_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    sales_order: Mapped[SalesOrder] = relationship()
    customer: Mapped[Partner] = relationship()
    tasks: Mapped[list[PickTask]] = relationship(back_populates="shipment", order_by="PickTask.id")


class CustomerReturn(db.Model):
    """Goods a customer sent back, received into quarantine against the original shipment."""

    __tablename__ = "customer_return"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipment.id"), index=True)
    reason: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime]
    actor_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    shipment: Mapped[Shipment] = relationship()


class Device(db.Model):
    """A handheld or laptop that syncs: registered on first sign-in or push, by name."""

    __tablename__ = "device"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    last_push_at: Mapped[datetime | None]
    last_pull_at: Mapped[datetime | None]
    last_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    last_pull_cursor: Mapped[str | None] = mapped_column(String(64))
    registered_by: Mapped[User | None] = relationship(foreign_keys=[registered_by_id])
    last_user: Mapped[User | None] = relationship(foreign_keys=[last_user_id])


class SyncOutcome(db.Model):
    """The verdict on one pushed mutation, stored with its effects: the key of exactly-once."""

    __tablename__ = "sync_outcome"
    __table_args__ = (UniqueConstraint("device_id", "mutation_id", name="uq_sync_outcome_device_mutation"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"))
    mutation_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int | None] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(12), index=True)
    reason: Mapped[str | None] = mapped_column(String(30))
    result: Mapped[dict] = mapped_column(JSON)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    pushed_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    happened_at: Mapped[datetime | None]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


@event.listens_for(Movement, "before_update")
@event.listens_for(Movement, "before_delete")
@event.listens_for(LotEvent, "before_update")
@event.listens_for(LotEvent, "before_delete")
def _refuse_rewriting_history(mapper, connection, target):
    """The ledger is append-only: refuse any update or delete through the ORM."""
    raise RuntimeError(f"{type(target).__name__} rows are immutable; record a reversing entry instead")
