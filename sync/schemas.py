"""Wire schemas of sync protocol v1 (DESIGN.md § Sync protocol v1)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from backend.schemas import Code, ExactNumber, FloorTime, Id

MAX_MUTATIONS = 1000
TYPES = ("receive", "move", "pick", "consume", "produce", "count")


class LotRef(fields.Field):
    """A lot by id (integer) or by its code (string)."""

    def _deserialize(self, value, attr, data, **kwargs):
        """Accept a positive integer or a lot code."""
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63:
            return value
        if isinstance(value, str) and 0 < len(value) <= 20:
            return value
        raise ValidationError("A lot id or lot code.")


class _Args(Schema):
    """Args every mutation may carry."""

    actor = fields.String(validate=validate.Length(min=1, max=64),
                          metadata={"description": "Who did it, when a supervisor uploads another user's queue"})


class ReceiveArgs(_Args):
    """receive {scan | item+lot, expires_on?, qty, location, supplier?, reference?}."""

    scan = fields.String(validate=validate.Length(min=1, max=512))
    item = Code(40)
    lot = fields.String(validate=validate.Length(min=1, max=20))
    expires_on = fields.Date()
    qty = ExactNumber(required=True)
    location = Code(40, required=True)
    supplier = Code(40)
    supplier_lot = fields.String(validate=validate.Length(max=40))
    reference = fields.String(validate=validate.Length(max=40))


class MoveArgs(_Args):
    """move {scan | lot, from, to, qty}."""

    scan = fields.String(validate=validate.Length(min=1, max=512))
    lot = LotRef()
    from_location = Code(40, required=True, data_key="from")
    to_location = Code(40, required=True, data_key="to")
    qty = ExactNumber(required=True)


class PickArgs(_Args):
    """pick {task, scan, location?, qty}."""

    task = Id(required=True)
    scan = fields.String(required=True, validate=validate.Length(min=1, max=512))
    location = Code(40)
    qty = ExactNumber(required=True)
    short = fields.Boolean(load_default=False)


class ConsumeArgs(_Args):
    """consume {order, scan, location, qty}."""

    order = Id(required=True)
    scan = fields.String(required=True, validate=validate.Length(min=1, max=512))
    location = Code(40, required=True)
    qty = ExactNumber(required=True)


class ProduceArgs(_Args):
    """produce {order, lot?, qty, location, expires_on?}."""

    order = Id(required=True)
    lot = fields.String(validate=validate.Length(min=1, max=20))
    qty = ExactNumber(required=True)
    location = Code(40, required=True)
    expires_on = fields.Date()


class CountArgs(_Args):
    """count {scan | lot, location, qty}."""

    scan = fields.String(validate=validate.Length(min=1, max=512))
    lot = LotRef()
    location = Code(40, required=True)
    qty = ExactNumber(required=True)


ARGS = {"receive": ReceiveArgs(), "move": MoveArgs(), "pick": PickArgs(), "consume": ConsumeArgs(),
        "produce": ProduceArgs(), "count": CountArgs()}


class MutationSchema(Schema):
    """One queued mutation; its args are checked against its type's schema afterwards."""

    id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=2**63 - 1))
    type = fields.String(required=True, validate=validate.OneOf(TYPES))
    at = FloorTime(required=True)
    args = fields.Dict(required=True)


class PushSchema(Schema):
    """A push: the device and its mutations (each judged on its own, so one bad one blocks nothing)."""

    device = Code(64, required=True)
    mutations = fields.List(fields.Raw(), required=True,
                            validate=validate.Length(max=MAX_MUTATIONS, error=f"At most {MAX_MUTATIONS} a push."))


class ResultSchema(Schema):
    """The verdict on one mutation."""

    id = fields.Raw()
    status = fields.String()
    original_status = fields.String(metadata={"description": "For a duplicate: the first push's status"})
    reason = fields.String(allow_none=True)
    message = fields.String()
    movements = fields.List(fields.Integer())
    task = fields.Dict()
    lot = fields.Dict()
    errors = fields.Dict()


class PushResultSchema(Schema):
    """One result per mutation, in the order given."""

    results = fields.List(fields.Nested(ResultSchema))
    cursor = fields.String(allow_none=True)


class PullArgs(Schema):
    """Where the device's last pull ended."""

    cursor = fields.String(validate=validate.Length(max=200))


class PullSchema(Schema):
    """What changed since the cursor (everything without one), and what to drop."""

    cursor = fields.String()
    full = fields.Boolean()
    items = fields.List(fields.Dict())
    locations = fields.List(fields.Dict())
    lots = fields.List(fields.Dict())
    tasks = fields.List(fields.Dict())
    removed = fields.Dict(keys=fields.String(), values=fields.List(fields.Integer()))
    site = fields.Dict(metadata={"description": "timezone (the site's day judges expiry), gs_substitute, currency"})


class DeviceSchema(Schema):
    """A device with its last syncs and its mutations counted by outcome."""

    id = fields.Integer()
    name = fields.String()
    registered_at = fields.AwareDateTime()
    last_push_at = fields.AwareDateTime()
    last_pull_at = fields.AwareDateTime()
    last_user = fields.Function(lambda d: d.last_user and d.last_user.username)
    outcomes = fields.Dict(keys=fields.String(), values=fields.Integer())
