"""The sync endpoints: push mutations, pull deltas, and the devices supervisors watch."""
from zoneinfo import ZoneInfo

from flask import current_app, g
from flask_smorest import Blueprint
from sqlalchemy import select

from backend.api import auth_required
from backend.domain.auth import register_device
from backend.models import Device, Role, db
from sync import engine
from sync.devices import summaries
from sync.pull import pull as pull_changes
from sync.schemas import DeviceSchema, PullArgs, PullSchema, PushResultSchema, PushSchema

blp = Blueprint("sync", __name__, url_prefix="/api", description="Sync protocol v1")


@blp.post("/sync/push")
@auth_required()
@blp.arguments(PushSchema)
@blp.response(200, PushResultSchema)
def push(data):
    """Apply a device's queued mutations exactly once; one result per mutation, in the order given."""
    config = current_app.config
    results = engine.push(db.session, g.token.user, g.token.device, data["device"], data["mutations"],
                          tz=ZoneInfo(config["LOTWISE_TIMEZONE"]), substitute=config["LOTWISE_GS_SUBSTITUTE"])
    device = db.session.scalar(select(Device).where(Device.name == data["device"]))
    return {"results": results, "cursor": device.last_pull_cursor}


@blp.get("/sync/pull")
@auth_required()
@blp.arguments(PullArgs, location="query")
@blp.response(200, PullSchema)
def pull(args):
    """Items, lots (status, expiry, on-hand by location), locations and open tasks changed since `cursor`."""
    device = register_device(db.session, g.token.device, g.token.user)
    changes = pull_changes(db.session, g.token.user, device, args.get("cursor"))
    db.session.commit()
    config = current_app.config
    return {**changes, "site": {"timezone": config["LOTWISE_TIMEZONE"], "currency": config["LOTWISE_CURRENCY"],
                                "gs_substitute": config["LOTWISE_GS_SUBSTITUTE"]}}


@blp.get("/devices")
@auth_required(Role.supervisor)
@blp.response(200, DeviceSchema(many=True))
def devices():
    """Every device with its last push and pull and its mutations counted by outcome."""
    return summaries(db.session)
