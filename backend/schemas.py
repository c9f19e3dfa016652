"""Wire format and validation of the REST API (marshmallow). Unknown fields are refused."""
from __future__ import annotations

import re
from datetime import timezone
from decimal import Decimal

from marshmallow import Schema, fields, validate
from marshmallow.utils import get_value

from backend.domain.codes import UNITS, qty_text
from backend.models import LocationKind, LotStatus, MovementType, OrderStatus, PartnerKind, PickPolicy, Role, TaskStatus
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
        return None if value is None else qty_text(Decimal(value))


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

    label = fields.Function(lambda lot: f"/api/labels/lots/{lot.id}.svg",
                            metadata={"description": "Its printable label (also .png and .zpl; ?size=4x6|2x1)"})

    class Meta:
        exclude = ("on_hand",)


class ReceiptResultSchema(MovementSchema):
    """A receipt's movement with its lot."""

    lot = fields.Nested(ReceivedLotSchema)


# --- orders, picking, production, shipping ----------------------------------------------------

def _code(attr: str):
    """A related row's code (or number) by dotted path, None when absent."""
    return fields.Function(lambda obj: get_value(obj, attr, default=None))


class OrderLineInSchema(Schema):
    """A line of a new order."""

    item = Code(40, required=True, metadata={"description": "SKU"})
    qty = ExactNumber(required=True)


class SalesOrderInSchema(Schema):
    """A new sales order."""

    customer = Code(40, required=True, metadata={"description": "Customer code"})
    requested_on = fields.Date(allow_none=True)
    reference = fields.String(allow_none=True, validate=validate.Length(max=40))
    lines = fields.List(fields.Nested(OrderLineInSchema), required=True, validate=validate.Length(min=1, max=500))


class TaskSchema(Schema):
    """A pick task as workers and supervisors see it."""

    id = fields.Integer()
    pick_list = _code("pick_list.number")
    pick_list_id = fields.Integer()
    status = _enum(TaskStatus)
    item = _code("item.sku")
    uom = _code("item.uom")
    lot = fields.Function(lambda t: {"id": t.lot_id, "code": t.lot.code,
                                     "expires_on": t.lot.expires_on and t.lot.expires_on.isoformat()})
    from_location = _code("from_location.code")
    to_location = _code("to_location.code")
    qty = ExactNumber()
    picked_qty = ExactNumber()
    picked_lot = _code("picked_lot.code")
    picked_from = _code("picked_from.code")
    picked_by = _code("picked_by.username")
    picked_at = fields.AwareDateTime()
    exception_reason = fields.String()
    exception_message = fields.String(metadata={"description": "What the worker was told when the pick was flagged"})
    decision = fields.String()
    decision_reason = fields.String()
    decided_by = _code("decided_by.username")
    confirmed_by = _code("confirmed_by.username")
    confirmed_at = fields.AwareDateTime()
    shipment = _code("shipment.number")


class PickListSchema(Schema):
    """A pick list with its tasks in walking order."""

    id = fields.Integer()
    number = fields.String()
    sales_order = _code("sales_order.number")
    production_order = _code("production_order.number")
    to_location = _code("to_location.code")
    created_at = fields.AwareDateTime()
    tasks = fields.Method("_tasks")

    def _tasks(self, pick_list) -> list:
        """Tasks ordered by from-location, the order a picker walks."""
        ordered = sorted(pick_list.tasks, key=lambda t: (t.from_location.code, t.id))
        return TaskSchema(many=True).dump(ordered)


class AllocationSchema(Schema):
    """A pick list made by allocation, with what could not be allocated."""

    pick_list = fields.Nested(PickListSchema)
    shortfalls = fields.Dict(keys=fields.String(), values=ExactNumber(),
                             metadata={"description": "Line (or material) id -> quantity not allocated"})


class StagingSchema(Schema):
    """Where allocated stock is to be brought."""

    staging = Code(40, required=True, metadata={"description": "Staging location code"})
    at = FloorTime()


class LineProgressSchema(Schema):
    """An order line with how far it has got."""

    id = fields.Integer()
    item = fields.String()
    qty = ExactNumber()
    open = ExactNumber(metadata={"description": "In open tasks"})
    picked = ExactNumber(metadata={"description": "Picked, awaiting confirmation or decision"})
    confirmed = ExactNumber()
    shipped = ExactNumber()
    unallocated = ExactNumber(metadata={"description": "Not covered by any task: the shortfall"})


class SalesOrderSchema(Schema):
    """A sales order with line progress."""

    id = fields.Integer()
    number = fields.String()
    customer = _code("customer.code")
    requested_on = fields.Date()
    reference = fields.String()
    status = _enum(OrderStatus)
    created_at = fields.AwareDateTime()
    lines = fields.Method("_lines")

    def _lines(self, order) -> list:
        """Each line's progress, derived from its tasks."""
        return LineProgressSchema(many=True).dump([line.progress() for line in order.lines])


class OrderFilterSchema(PageArgs):
    """Filters of the order list."""

    status = _enum(OrderStatus)
    customer = fields.String()


class TaskFilterSchema(PageArgs):
    """Filters of the task list."""

    status = _enum(TaskStatus)
    pick_list = Id()
    location = fields.String(metadata={"description": "From-location code"})


class PickSchema(Schema):
    """A worker's pick: what was scanned, where, how many."""

    scan = fields.String(required=True, validate=validate.Length(min=1, max=512))
    qty = ExactNumber(required=True)
    location = fields.String(allow_none=True, validate=validate.Length(max=40),
                             metadata={"description": "Location scanned; default the task's"})
    short = fields.Boolean(load_default=False, metadata={"description": "Less was there: release the rest"})
    at = FloorTime()


class PickResultSchema(Schema):
    """The verdict of a pick and what it recorded."""

    status = fields.String()
    reason = fields.String(allow_none=True)
    message = fields.String()
    movements = fields.List(fields.Integer())
    task = fields.Nested(TaskSchema)


class DecisionSchema(Schema):
    """A supervisor's decision on an exception."""

    reason = Code(200, required=True)


class ConfirmedSchema(Schema):
    """Tasks a confirmation confirmed."""

    confirmed = fields.List(fields.Nested(TaskSchema))


class ShipInSchema(Schema):
    """Which confirmed picks to ship (default: all of the order's)."""

    tasks = fields.List(Id(), allow_none=True)
    at = FloorTime()


class ShipmentSchema(Schema):
    """A shipment: delivery note, customer, shipped lots."""

    id = fields.Integer()
    number = fields.String()
    sales_order = _code("sales_order.number")
    customer = _code("customer.code")
    shipped_at = fields.AwareDateTime()
    tasks = fields.List(fields.Nested(TaskSchema))


class ReturnInSchema(_Happened):
    """Goods coming back from a customer."""

    shipment = Id(required=True)
    lot = Id(required=True)
    qty = ExactNumber(required=True)
    location = Code(40, required=True, metadata={"description": "A quarantine location"})
    reason = Code(200, required=True)


class ReturnSchema(Schema):
    """A recorded customer return."""

    id = fields.Integer()
    number = fields.String()
    shipment = _code("shipment.number")
    reason = fields.String()
    received_at = fields.AwareDateTime()
    movement = fields.Nested(MovementSchema)


class MaterialInSchema(OrderLineInSchema):
    """An input of a production order."""


class ProductionOrderInSchema(Schema):
    """A new production order."""

    item = Code(40, required=True, metadata={"description": "Output SKU"})
    qty = ExactNumber(required=True)
    location = Code(40, required=True, metadata={"description": "Production location code"})
    due_on = fields.Date(allow_none=True)
    materials = fields.List(fields.Nested(MaterialInSchema), required=True, validate=validate.Length(min=1))


class OperationInSchema(_Happened):
    """A step starting on a workstation or machine."""

    name = Code(80, required=True)
    workstation = Code(80, required=True)
    operator = fields.String(allow_none=True, metadata={"description": "User name; default the caller"})


class OperationSchema(Schema):
    """A production step."""

    id = fields.Integer()
    name = fields.String()
    workstation = fields.String()
    operator = _code("operator.username")
    started_at = fields.AwareDateTime()
    ended_at = fields.AwareDateTime()


class MaterialSchema(Schema):
    """An input line of a production order."""

    id = fields.Integer()
    item = _code("item.sku")
    qty = ExactNumber()


class ProductionOrderSchema(Schema):
    """A production order."""

    id = fields.Integer()
    number = fields.String()
    item = _code("item.sku")
    planned_qty = ExactNumber()
    location = _code("location.code")
    due_on = fields.Date()
    status = _enum(OrderStatus)
    materials = fields.List(fields.Nested(MaterialSchema))
    operations = fields.List(fields.Nested(OperationSchema))


class ConsumeSchema(_Happened):
    """Input used by a production order."""

    lot = Id(required=True)
    location = Code(40, required=True)
    qty = ExactNumber(required=True)


class ProduceSchema(_Happened):
    """Output of a production order."""

    qty = ExactNumber(required=True)
    location = Code(40, required=True)
    lot = fields.String(allow_none=True, metadata={"description": "Lot code; generated when absent"})
    expires_on = fields.Date(allow_none=True)


class EdgeSchema(Schema):
    """Input lot -> output lot through a production order."""

    from_lot = fields.Integer(data_key="from", attribute="from")
    to_lot = fields.Integer(data_key="to", attribute="to")
    consumed = ExactNumber()
    produced = ExactNumber()
    order = fields.String()


class TraceOrderSchema(ProductionOrderSchema):
    """A production order in a trace: who made it, on what, when."""

    class Meta:
        fields = ("id", "number", "item", "operations")


class PartnerMovementSchema(Schema):
    """A receipt from a supplier or a shipment to a customer, with the partner's contact details."""

    lot = fields.Integer(attribute="lot_id")
    qty = ExactNumber()
    document = fields.String(attribute="ref_number")
    happened_at = fields.AwareDateTime()
    partner = fields.Function(lambda m: m.partner and {
        "code": m.partner.code, "name": m.partner.name, "phone": m.partner.phone,
        "phone_after_hours": m.partner.phone_after_hours, "city": m.partner.city, "country": m.partner.country})
    supplier_lot = fields.Function(lambda m: m.lot.supplier_lot if m.type.value == "receive" else None)


class TraceSchema(Schema):
    """A lot's genealogy graph."""

    root = fields.Function(lambda t: t["root"].id)
    direction = fields.String()
    lots = fields.List(fields.Nested(ReceivedLotSchema))
    edges = fields.List(fields.Nested(EdgeSchema))
    orders = fields.List(fields.Nested(TraceOrderSchema))
    receipts = fields.List(fields.Nested(PartnerMovementSchema), metadata={"description": "From which supplier"})
    shipments = fields.List(fields.Nested(PartnerMovementSchema), metadata={"description": "To which customer"})


class TraceArgs(Schema):
    """Which way to trace."""

    direction = fields.String(load_default="backward", validate=validate.OneOf(["backward", "forward"]))


# --- scans, barcodes, labels ------------------------------------------------------------------

class ScanInSchema(Schema):
    """A raw scan from a camera decoder or a keyboard-wedge scanner."""

    scan = fields.String(required=True, validate=validate.Length(min=1, max=4096))


class ScanLotSchema(LotSchema):
    """The lot a scan names, with its stock per location."""

    balances = fields.Method("_balances")

    def _balances(self, lot) -> list:
        """Non-empty stock of the lot per location."""
        rows = [b for b in lot.balances if b.on_hand > 0]
        return LotBalanceSchema(many=True).dump(sorted(rows, key=lambda b: b.location.code))


class ScanResultSchema(Schema):
    """What a scan is: lot, location, SSCC, item, unknown or invalid, with its GS1 data."""

    kind = fields.String()
    gs1 = fields.Dict(allow_none=True)
    error = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
    lot = fields.Nested(ScanLotSchema)
    item = fields.Nested(ItemSchema)
    location = fields.Nested(LocationSchema)


class PointSchema(Schema):
    """A pixel position in an uploaded image (x to the right, y down, from the top-left corner)."""

    x = fields.Integer()
    y = fields.Integer()


class CornersSchema(Schema):
    """The four corners of a barcode found in an image."""

    top_left = fields.Nested(PointSchema)
    top_right = fields.Nested(PointSchema)
    bottom_right = fields.Nested(PointSchema)
    bottom_left = fields.Nested(PointSchema)


class DecodedBarcodeSchema(Schema):
    """One barcode read from a photo, and what its content names (as POST /api/scan/resolve says)."""

    format = fields.String(metadata={"description": "zxing-cpp's format name, e.g. DataMatrix, Code128"})
    symbology_identifier = fields.String(metadata={"description": "ISO/IEC 15424, e.g. ]d2 (GS1 DataMatrix)"})
    text = fields.String(metadata={"description": "The content; GS1 data in the bracketed form (01)…(10)…"})
    position = fields.Nested(CornersSchema)
    interpretation = fields.Nested(ScanResultSchema)


class DecodeResultSchema(Schema):
    """Every barcode found in a photo (an empty list when there is none)."""

    barcodes = fields.List(fields.Nested(DecodedBarcodeSchema))
