"""Devices as supervisors see them: last syncs and mutations by outcome."""
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.models import Device, SyncOutcome


def summaries(session: Session) -> list[Device]:
    """Every device, each with `outcomes` = {status: count} of its pushed mutations."""
    counts = session.execute(select(SyncOutcome.device_id, SyncOutcome.status, func.count())
                             .group_by(SyncOutcome.device_id, SyncOutcome.status)).all()
    rows = session.scalars(select(Device).order_by(Device.name)).all()
    for device in rows:
        device.outcomes = {status: n for device_id, status, n in counts if device_id == device.id}
    return rows
