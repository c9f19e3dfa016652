"""Wire format and validation of the REST API (marshmallow). Unknown fields are refused."""
from __future__ import annotations

import re
from datetime import timezone
from decimal import Decimal

from marshmallow import Schema, fields, validate

from backend.domain.codes import UNITS
from backend.models import LocationKind, LotStatus, MovementType, PartnerKind, PickPolicy, Role
from backend.types import SCALE_DIGITS


_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?", re.ASCII)
_LIMIT = Decimal(10) ** 13
_STEP = Decimal(1).scaleb(-SCALE_DIGITS)
MAX_ID = 2**63 - 1


class ExactNumber(fields.Field):
    """An exact decimal: read from a JSON string or number, written as a string ("0.3")."""

    default_error_messages = {"invalid": "Not a number.", "places": f"At most {SCALE_DIGITS} decimal places.",
                              "too_large": f"Must be less than {_LIMIT:,.0f} in size."}

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        """Parse plain ASCII decimal notation without passing through binary floating point."""
        text = repr(value) if isinstance(value, float) else value
        if isinstance(value, bool) or not isinstance(text, (str, int)):
            raise self.make_error("invalid")
        text = str(text).strip()
        if len(text) > 40 or not _NUMBER.fullmatch(text):
            raise self.make_error("invalid")
        number = Decimal(text)
        if abs(number) >= _LIMIT:
            raise self.make_error("too_large")
        if number != number.quantize(_STEP):
            raise self.make_error("places")
        return number

    def _serialize(self, value, attr, obj, **kwargs) -> str | None:
        """Plain notation, no exponent, no trailing zeros."""
        return None if value is None else format(Decimal(value).normalize(), "f")


class FloorTime(fields.AwareDateTime):
    """When something happened on the floor: ISO 8601 with offset, from the year 2000 on, kept in UTC."""

    default_error_messages = {"range": "Must be an ISO 8601 time with offset, from the year 2000 on."}

    def _deserialize(self, value, attr, data, **kwargs):
        """Parse, then convert to UTC, refusing times outside the range a ledger can mean."""
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment = moment.astimezone(timezone.utc)
        except OverflowError:
            raise self.make_error("range") from None
        if moment.year < 2000:
            raise self.make_error("range")
        return moment


def Id(**kwargs):  # noqa: N802 - a field factory, named like the fields it makes
    """A database id: a positive 64-bit integer."""
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def _enum(cls, **kwargs):
    """An enum field that reads and writes the values."""
    return fields.Enum(cls, by_value=True, **kwargs)


Text = lambda n, **kw: fields.String(validate=validate.Length(max=n), **kw)  # noqa: E731
Code = lambda n, **kw: fields.String(validate=validate.Length(min=1, max=n), **kw)  # noqa: E731


class PageArgs(Schema):
    """Paging of every list."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """The envelope of a page of results."""
    return type(f"{item_schema.__name__.removesuffix('Schema')}PageSchema", (Schema,), {
        "data": fields.List(fields.Nested(item_schema)), "page": fields.Integer(),
        "per_page": fields.Integer(), "total": fields.Integer()})


# --- auth and users ---------------------------------------------------------------------------

class TokenRequestSchema(Schema):
    """Credentials and the device asking for a token."""

    username = Code(64, required=True)
    password = fields.String(required=True, validate=validate.Length(max=200))
    device = Code(64, required=True)


class UserSchema(Schema):
    """A user as others see it."""

    id = fields.Integer(dump_only=True)
    username = Code(64, required=True)
    name = Text(120)
    role = _enum(Role, required=True)
    active = fields.Boolean()
    password = fields.String(load_only=True, required=True, validate=validate.Length(max=200))


class UserUpdateSchema(Schema):
    """Changes to a user."""

    name = Text(120)
    role = _enum(Role)
    active = fields.Boolean()
    password = fields.String(load_only=True, validate=validate.Length(max=200))


class TokenUserSchema(Schema):
    """Who a token belongs to."""

    username = fields.String()
    name = fields.String()
    role = _enum(Role)


class TokenSchema(Schema):
    """A freshly issued token (shown once)."""

    token = fields.String()
    user = fields.Nested(TokenUserSchema)
    device = fields.String()
    expires_at = fields.AwareDateTime()


# --- master data ------------------------------------------------------------------------------

class ItemSchema(Schema):
    """An item (SKU)."""

    id = fields.Integer(dump_only=True)
    sku = Code(40, required=True)
    name = Code(200, required=True)
    gtin = fields.String(allow_none=True, validate=validate.Length(max=14))
    uom = fields.String(required=True, validate=validate.OneOf(sorted(UNITS)))
    pick_policy = _enum(PickPolicy, allow_none=True)
    shelf_life_days = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=36500))
    active = fields.Boolean()


class ItemUpdateSchema(ItemSchema):
    """Changes to an item; the SKU is what labels carry, so it never changes."""

    pick_policy = _enum(PickPolicy)

    class Meta:
        exclude = ("sku",)


class ItemFilterSchema(PageArgs):
    """Filters of the item list."""

    q = fields.String(metadata={"description": "Part of SKU or name"})
    gtin = fields.String()
    active = fields.Boolean()


class LocationSchema(Schema):
    """A location."""

    id = fields.Integer(dump_only=True)
    code = Code(40, required=True)
    name = Text(200)
    kind = _enum(LocationKind, required=True)
    gln = fields.String(allow_none=True, validate=validate.Regexp(r"^\d{13}$"))
    active = fields.Boolean()


class LocationUpdateSchema(LocationSchema):
    """Changes to a location; the code is on its printed label, so it never changes."""

    class Meta:
        exclude = ("code",)


class LocationFilterSchema(PageArgs):
    """Filters of the location list."""

    q = fields.String()
    kind = _enum(LocationKind)
    active = fields.Boolean()


class PartnerSchema(Schema):
    """A supplier or customer."""

    id = fields.Integer(dump_only=True)
    code = Code(40, required=True)
    name = Code(200, required=True)
    kind = _enum(PartnerKind, required=True)
    street = Text(200)
    postal_code = Text(20)
    city = Text(100)
    country = fields.String(validate=validate.Regexp(r"^([A-Z]{2})?$"))
    contact = Text(120)
    email = fields.Email(validate=validate.Length(max=200))
    phone = Text(40, metadata={"description": "In office hours"})
    phone_after_hours = Text(40, metadata={"description": "Out of hours, for recalls"})
    gln = fields.String(allow_none=True, validate=validate.Regexp(r"^\d{13}$"))
    active = fields.Boolean()


class PartnerUpdateSchema(PartnerSchema):
    """Changes to a partner."""

    class Meta:
        exclude = ("code",)


class PartnerFilterSchema(PageArgs):
    """Filters of the partner list."""

    q = fields.String()
    kind = _enum(PartnerKind)
    active = fields.Boolean()


# --- lots, stock and the ledger ---------------------------------------------------------------

class LotSchema(Schema):
    """A lot as lists show it."""

    id = fields.Integer()
    code = fields.String()
    item = fields.Function(lambda lot: {"id": lot.item.id, "sku": lot.item.sku, "name": lot.item.name,
                                        "uom": lot.item.uom, "gtin": lot.item.gtin})
    status = _enum(LotStatus)
    supplier = fields.Function(lambda lot: lot.supplier and lot.supplier.code)
    supplier_lot = fields.String()
    received_at = fields.AwareDateTime()
    expires_on = fields.Date()
    unit_cost = ExactNumber()
    on_hand = ExactNumber(metadata={"description": "Total on hand over all locations"})


class LotFilterSchema(PageArgs):
    """Filters of the lot list."""

    item = fields.String(metadata={"description": "SKU"})
    status = _enum(LotStatus)
    location = fields.String(metadata={"description": "Location code: lots with stock there"})
    expiring_before = fields.Date(metadata={"description": "Lots whose expiry is before this day"})
    q = fields.String(metadata={"description": "Part of the lot code"})


class MovementSchema(Schema):
    """One line of the ledger."""

    id = fields.Integer()
    type = _enum(MovementType)
    lot = fields.Function(lambda m: {"id": m.lot.id, "code": m.lot.code, "sku": m.lot.item.sku})
    qty = ExactNumber()
    from_location = fields.Function(lambda m: m.from_location and m.from_location.code)
    to_location = fields.Function(lambda m: m.to_location and m.to_location.code)
    partner = fields.Function(lambda m: m.partner and m.partner.code)
    ref_type = fields.String()
    ref_number = fields.String()
    reason = fields.String()
    actor = fields.Function(lambda m: m.actor.username)
    device = fields.String()
    happened_at = fields.AwareDateTime()
    recorded_at = fields.AwareDateTime()


class LotEventSchema(Schema):
    """A status change or count in a lot's history."""

    id = fields.Integer()
    kind = fields.String()
    old_value = fields.String()
    new_value = fields.String()
    location = fields.Function(lambda e: e.location and e.location.code)
    reason = fields.String()
    actor = fields.Function(lambda e: e.actor.username)
    device = fields.String()
    happened_at = fields.AwareDateTime()


class StockRowSchema(Schema):
    """Stock of one lot at one location, with its value."""

    lot = fields.Function(lambda b: {"id": b.lot.id, "code": b.lot.code, "status": b.lot.status.value,
                                     "expires_on": b.lot.expires_on and b.lot.expires_on.isoformat()})
    item = fields.Function(lambda b: {"sku": b.lot.item.sku, "name": b.lot.item.name, "uom": b.lot.item.uom})
    location = fields.Function(lambda b: b.location.code)
    on_hand = ExactNumber()
    reserved = ExactNumber()
    free = ExactNumber()
    unit_cost = ExactNumber(attribute="lot.unit_cost")
    value = fields.Method("_value")

    def _value(self, balance) -> str | None:
        """On-hand times unit cost, to the cent."""
        cost = balance.lot.unit_cost
        return None if cost is None else format((balance.on_hand * cost).quantize(Decimal("0.01")), "f")


class LotBalanceSchema(StockRowSchema):
    """A lot's stock at one location."""

    class Meta:
        fields = ("location", "on_hand", "reserved", "free", "value")


class LotDetailSchema(Schema):
    """A lot with its stock per location and its full history."""

    lot = fields.Nested(LotSchema)
    balances = fields.List(fields.Nested(LotBalanceSchema))
    movements = fields.List(fields.Nested(MovementSchema))
    events = fields.List(fields.Nested(LotEventSchema))


class StockFilterSchema(PageArgs):
    """Filters of the stock list."""

    item = fields.String(metadata={"description": "SKU"})
    lot = Id()
    location = fields.String(metadata={"description": "Location code"})


class StockPageSchema(page_of(StockRowSchema)):
    """A page of stock rows with the total value of everything matched."""

    total_value = fields.String()
    currency = fields.String()


class _Happened(Schema):
    """When it happened on the floor (defaults to now; never later than now)."""

    at = FloorTime(metadata={"description": "ISO 8601 with offset"})


class ReceiptSchema(_Happened):
    """Goods received from a supplier."""

    item = Code(40, required=True, metadata={"description": "SKU"})
    lot = fields.String(allow_none=True, metadata={"description": "Lot code; generated when absent"})
    expires_on = fields.Date(allow_none=True)
    qty = ExactNumber(required=True)
    location = Code(40, required=True)
    supplier = fields.String(allow_none=True, metadata={"description": "Supplier code"})
    supplier_lot = fields.String(allow_none=True, validate=validate.Length(max=40))
    unit_cost = ExactNumber(allow_none=True, validate=validate.Range(min=0))
    reference = fields.String(allow_none=True, validate=validate.Length(max=40),
                              metadata={"description": "Delivery note or purchase order number"})


class MoveSchema(_Happened):
    """A move of stock between locations."""

    lot = Id(required=True)
    from_location = Code(40, required=True, data_key="from")
    to_location = Code(40, required=True, data_key="to")
    qty = ExactNumber(required=True)
    reason = fields.String(allow_none=True, validate=validate.Length(max=200))


class AdjustmentSchema(_Happened):
    """A stock correction (signed)."""

    lot = Id(required=True)
    location = Code(40, required=True)
    delta = ExactNumber(required=True, metadata={"description": "Positive adds, negative removes"})
    reason = Code(200, required=True)


class ScrapSchema(_Happened):
    """A write-off."""

    lot = Id(required=True)
    location = Code(40, required=True)
    qty = ExactNumber(required=True)
    reason = Code(200, required=True)


class CountSchema(_Happened):
    """A physical count of one lot at one location."""

    lot = Id(required=True)
    location = Code(40, required=True)
    counted = ExactNumber(required=True)


class CountResultSchema(Schema):
    """What a count changed."""

    event = fields.Nested(LotEventSchema)
    movement = fields.Nested(MovementSchema, allow_none=True)


class LotStatusSchema(_Happened):
    """Why a lot is held or released."""

    reason = Code(200, required=True)


class ReceivedLotSchema(LotSchema):
    """The lot a receipt went into."""

    class Meta:
        exclude = ("on_hand",)


class ReceiptResultSchema(MovementSchema):
    """A receipt's movement with its lot."""

    lot = fields.Nested(ReceivedLotSchema)
