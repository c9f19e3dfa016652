"""Reconciliation: each pushed mutation applied exactly once through the domain functions, its outcome
stored in the same transaction."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.domain import Actor, production, stock
from backend.domain.auth import register_device
from backend.domain.errors import DomainError
from backend.domain.picking import pick
from backend.domain.scans import Scan, interpret, resolve_lot
from backend.models import Device, Item, Lot, Role, SyncOutcome, User, utcnow
from sync.schemas import ARGS, MutationSchema

_MUTATION = MutationSchema()


def push(session: Session, user: User, token_device: str, device_name: str, mutations: list, *, tz: ZoneInfo,
         substitute: str = "|") -> list[dict]:
    """Apply a device's mutations in `seq` order, one transaction each; results in the order given.

    Workers push the queue of the device their token was issued to; supervisors may upload any device's.
    """
    if not user.can(Role.supervisor) and device_name != token_device:
        raise DomainError("forbidden", f"This token belongs to device {token_device}, not {device_name}",
                          status=403)
    device = register_device(session, device_name, user)
    device.last_push_at = utcnow()
    device_id = device.id
    session.commit()
    parsed = [_parse(raw) for raw in mutations]
    results: list[dict | None] = [None] * len(mutations)
    order = sorted(range(len(parsed)), key=lambda i: (parsed[i][0].get("seq", 0) if parsed[i][0] else 0, i))
    for index in order:
        mutation, errors = parsed[index]
        results[index] = _apply_once(session, user, device_id, mutation, errors, mutations[index], tz, substitute)
    return results


def _parse(raw) -> tuple[dict | None, dict | None]:
    """Validate one mutation and its args; (mutation, None) or (partial, field errors)."""
    if not isinstance(raw, dict):
        return None, {"_mutation": ["Not an object."]}
    if _has_nul(raw):
        return None, {"_mutation": ["NUL characters are not allowed."]}
    try:
        mutation = _MUTATION.load(raw)
        mutation["args"] = ARGS[mutation["type"]].load(mutation["args"])
        return mutation, None
    except ValidationError as exc:
        return None, exc.normalized_messages()


def _has_nul(value) -> bool:
    """True when a NUL character hides anywhere in a JSON value (PostgreSQL cannot store one)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return isinstance(value, list) and any(_has_nul(v) for v in value)


def _apply_once(session: Session, user: User, device_id: int, mutation: dict | None, errors: dict | None,
                raw, tz: ZoneInfo, substitute: str) -> dict:
    """Apply one mutation unless its (device, id) was seen; the outcome commits with its effects."""
    mutation_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
    if mutation_id is not None and "\x00" in mutation_id:
        mutation_id = None  # cannot be stored, so cannot be remembered
    if mutation_id is not None and 0 < len(mutation_id) <= 64:
        stored = _stored(session, device_id, mutation_id)
        if stored is not None:
            return _duplicate(stored)
    if mutation is None:
        result = {"id": raw.get("id") if isinstance(raw, dict) else None, "status": "rejected",
                  "reason": "invalid", "message": "The mutation is malformed", "errors": errors}
        if mutation_id is not None and "id" not in errors:
            return _store(session, device_id, mutation_id, raw, user, result, None)
        return result
    try:
        actor = _actor(session, user, mutation["args"].pop("actor", None), tz, device_id)
        outcome = SyncOutcome(device_id=device_id, mutation_id=mutation["id"], seq=mutation["seq"],
                              type=mutation["type"], status="processing", result={}, actor_id=actor.user.id,
                              pushed_by_id=user.id, happened_at=mutation["at"])
        session.add(outcome)
        session.flush()  # claims the key first: a concurrent replay of the same mutation waits here
        result = APPLY[mutation["type"]](session, actor, mutation["args"], mutation["at"], substitute)
        result = {"id": mutation["id"], **result}
        outcome.status, outcome.reason, outcome.result = result["status"], result.get("reason"), result
        session.commit()
        return result
    except IntegrityError:
        session.rollback()
        stored = _stored(session, device_id, mutation["id"])
        if stored is None:
            raise
        return _duplicate(stored)
    except DomainError as exc:
        session.rollback()
        result = {"id": mutation["id"], "status": "rejected", "reason": exc.code, "message": exc.message}
        if exc.errors:
            result["errors"] = exc.errors
        return _store(session, device_id, mutation["id"], mutation, user, result, mutation["at"])


def _stored(session: Session, device_id: int, mutation_id: str) -> SyncOutcome | None:
    """The stored outcome of a mutation, if it was processed before."""
    return session.scalar(select(SyncOutcome).where(SyncOutcome.device_id == device_id,
                                                    SyncOutcome.mutation_id == mutation_id))


def _duplicate(stored: SyncOutcome) -> dict:
    """A replay's answer: the original result, marked duplicate."""
    return {**stored.result, "status": "duplicate", "original_status": stored.status}


def _store(session: Session, device_id: int, mutation_id: str, mutation, user: User, result: dict,
           at: datetime | None) -> dict:
    """Keep a rejection so that replays answer the same; a concurrent twin may have stored it first."""
    seq = mutation.get("seq") if isinstance(mutation, dict) else None
    seq = seq if type(seq) is int and 0 <= seq < 2**63 else None
    session.add(SyncOutcome(device_id=device_id, mutation_id=mutation_id, seq=seq,
                            type=str(mutation.get("type", "")).replace("\x00", "")[:16], status=result["status"],
                            reason=result.get("reason"), result=result, pushed_by_id=user.id, happened_at=at))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return _duplicate(_stored(session, device_id, mutation_id))
    return result


def _actor(session: Session, user: User, username: str | None, tz: ZoneInfo, device_id: int) -> Actor:
    """The token's user, or (for a supervisor uploading a device's queue) the user who recorded it."""
    device = session.get(Device, device_id)
    if username is None or username == user.username:
        return Actor(user=user, device=device.name, tz=tz)
    if not user.can(Role.supervisor):
        raise DomainError("forbidden", "Only a supervisor may upload mutations another user recorded", status=403)
    other = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if other is None:
        raise DomainError("unknown_user", f"No active user {username!r}")
    return Actor(user=other, device=device.name, tz=tz)


def _lot_of(session: Session, args: dict, substitute: str) -> Lot:
    """The lot a mutation names by scan or by id/code; both given must agree (else scan_mismatch)."""
    named = args.get("lot")
    if isinstance(named, int) and session.get(Lot, named) is None:
        raise DomainError("unknown_lot", f"No lot {named}")
    if args.get("scan"):
        scanned = resolve_lot(session, interpret(args["scan"], substitute))
        if named is not None and named not in (scanned.id, scanned.code):
            raise DomainError("scan_mismatch", f"The scan names lot {scanned.code}, the mutation {named!r}")
        return scanned
    if named is None:
        raise DomainError("invalid", "Give a scan or a lot", errors={"scan": ["Missing"]})
    return session.get(Lot, named) if isinstance(named, int) else resolve_lot(session, Scan(raw=named, text=named))


def _movement_result(message: str, movements, **extra) -> dict:
    """An applied mutation's result."""
    return {"status": "applied", "reason": None, "message": message, "movements": [m.id for m in movements],
            **extra}


def _receive(session, actor, args, at, substitute) -> dict:
    """receive: from a supplier's GS1 label or explicit item and lot."""
    item, lot, expires_on = args.get("item"), args.get("lot"), args.get("expires_on")
    if args.get("scan"):
        scan = interpret(args["scan"], substitute)
        if not scan.is_gs1:
            raise DomainError("bad_barcode", "A receipt needs the supplier's GS1 label", errors={"scan": ["Not GS1"]})
        label_item = session.scalar(select(Item).where(Item.gtin == scan.gtin) if scan.gtin
                                    else select(Item).where(Item.sku == scan.sku))
        if label_item is None:
            raise DomainError("unknown_item", f"No item {scan.gtin or scan.sku}")
        for given, seen in ((item, label_item.sku), (lot, scan.lot), (expires_on, scan.expires_on)):
            if given is not None and seen is not None and given != seen:
                raise DomainError("scan_mismatch", "The arguments contradict the scanned label")
        item, lot, expires_on = label_item.sku, lot or scan.lot, expires_on or scan.expires_on
    if item is None:
        raise DomainError("invalid", "Give a scan or an item", errors={"item": ["Missing"]})
    movement = stock.receive(session, actor, item=item, lot=lot, expires_on=expires_on, qty=args["qty"],
                             location=args["location"], supplier=args.get("supplier"),
                             supplier_lot=args.get("supplier_lot"), reference=args.get("reference"), at=at)
    return _movement_result(f"Received {movement.qty} of lot {movement.lot.code}", [movement],
                            lot={"id": movement.lot.id, "code": movement.lot.code})


def _move(session, actor, args, at, substitute) -> dict:
    """move: a lot between two locations."""
    lot = _lot_of(session, args, substitute)
    movement = stock.move(session, actor, lot=lot.id, from_location=args["from_location"],
                          to_location=args["to_location"], qty=args["qty"], at=at)
    return _movement_result(f"Moved lot {lot.code}", [movement], lot={"id": lot.id, "code": lot.code})


def _pick(session, actor, args, at, substitute) -> dict:
    """pick: classified by the one picking classifier."""
    result = pick(session, actor, task=args["task"], scan=args["scan"], qty=args["qty"],
                  location=args.get("location"), short=args.get("short", False), at=at, substitute=substitute)
    verdict = result.verdict
    return {"status": verdict.status, "reason": verdict.reason, "message": verdict.message,
            "movements": [m.id for m in result.movements],
            "task": {"id": result.task.id, "status": result.task.status.value}}


def _consume(session, actor, args, at, substitute) -> dict:
    """consume: an input lot used by a production order."""
    lot = resolve_lot(session, interpret(args["scan"], substitute))
    movement = production.consume(session, actor, order=args["order"], lot=lot.id, location=args["location"],
                                  qty=args["qty"], at=at)
    return _movement_result(f"Consumed lot {lot.code}", [movement], lot={"id": lot.id, "code": lot.code})


def _produce(session, actor, args, at, substitute) -> dict:
    """produce: an output lot of a production order."""
    movement = production.produce(session, actor, order=args["order"], qty=args["qty"], location=args["location"],
                                  lot=args.get("lot"), expires_on=args.get("expires_on"), at=at)
    return _movement_result(f"Produced lot {movement.lot.code}", [movement],
                            lot={"id": movement.lot.id, "code": movement.lot.code})


def _count(session, actor, args, at, substitute) -> dict:
    """count: sets on-hand at a location to what was counted."""
    lot = _lot_of(session, args, substitute)
    movement, _ = stock.count(session, actor, lot=lot.id, location=args["location"], counted=args["qty"], at=at)
    return _movement_result(f"Counted lot {lot.code}", [movement] if movement else [],
                            lot={"id": lot.id, "code": lot.code})


APPLY = {"receive": _receive, "move": _move, "pick": _pick, "consume": _consume, "produce": _produce,
         "count": _count}
