"""Reconciliation: each pushed mutation applied exactly once, its outcome stored in the same transaction.

Picks, moves and receives are decided by a Batch (sync/batch.py) with the domain's rules and written in
bulk; the rest, and what the batch declines, go through the domain functions one by one."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from backend.domain import Actor, production, stock
from backend.domain.auth import register_device
from backend.domain.codes import qty_text
from backend.domain.errors import DomainError
from backend.domain.picking import pick
from backend.domain.scans import LotFinder, interpret, resolve_lot
from backend.models import Lot, Role, SyncOutcome, User, utcnow
from sync.batch import Batch, lot_of, movement_result, receipt_of
from sync.schemas import ARGS, MutationSchema

_MUTATION = MutationSchema()


def push(session: Session, user: User, token_device: str, device_name: str, mutations: list, *, tz: ZoneInfo,
         substitute: str = "|") -> list[dict]:
    """Apply a device's mutations in `seq` order; results in the order given.

    Workers push the queue of the device their token was issued to; supervisors may upload any device's.
    Mutations are applied in transactions of up to CHUNK, each mutation completely or not at all (a
    savepoint each where the domain functions apply it) with its outcome; a chunk that collides with a
    concurrent push (a twin upload that stored the same outcomes first, a deadlock) is rolled back and
    decided again.
    """
    if not user.can(Role.supervisor) and device_name != token_device:
        raise DomainError("forbidden", f"This token belongs to device {token_device}, not {device_name}",
                          status=403)
    device = register_device(session, device_name, user)
    device.last_push_at = utcnow()
    device_id, device_name = device.id, device.name
    session.commit()
    parsed = [_parse(raw) for raw in mutations]
    order = sorted(range(len(parsed)), key=lambda i: (parsed[i][0].get("seq", 0) if parsed[i][0] else 0, i))
    results: dict[int, dict] = {}
    for start in range(0, len(order), CHUNK):
        chunk = order[start:start + CHUNK]
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                decided = _Push(session, user, device_id, device_name, tz, substitute).run(parsed, mutations, chunk)
                session.commit()
                break
            except (IntegrityError, OperationalError) as exc:
                session.rollback()
                if attempt == _ATTEMPTS or not _retryable(exc):
                    raise
        results.update(decided)
    return [results[index] for index in range(len(mutations))]


# Mutations per transaction: few enough that a killed server loses little work and locks are held briefly,
# enough that reading and writing them in bulk pays.
CHUNK = 250
_ATTEMPTS = 5
_RETRY_STATES = {"40001", "40P01"}  # PostgreSQL: serialization failure, deadlock detected


def _retryable(exc: Exception) -> bool:
    """A collision with a concurrent push (decided again), not a fault."""
    if isinstance(exc, IntegrityError):
        return True
    state = getattr(exc.orig, "sqlstate", None)
    return state in _RETRY_STATES or "database is locked" in str(exc.orig)


class _Push:
    """One attempt at a chunk of a push: duplicates answered, the rest decided by the batch or the domain functions."""

    def __init__(self, session: Session, user: User, device_id: int, device_name: str, tz: ZoneInfo,
                 substitute: str):
        self.session, self.user, self.device_id, self.device_name = session, user, device_id, device_name
        self.tz, self.substitute = tz, substitute
        self.batch = Batch(session, substitute)
        self.actors: dict[str | None, Actor] = {}
        self.outcomes: list[dict] = []
        self.seen: dict[str, dict] = {}

    def run(self, parsed: list, raws: list, indices: list[int]) -> dict[int, dict]:
        """The results of the mutations at `indices` (in `seq` order), by index."""
        keys = {key for index in indices if (key := _key(raws[index]))}
        stored = self.session.execute(select(SyncOutcome.mutation_id, SyncOutcome.status, SyncOutcome.result).where(
            SyncOutcome.device_id == self.device_id, SyncOutcome.mutation_id.in_(keys))) if keys else []
        self.seen = {row.mutation_id: {**row.result, "status": row.status} for row in stored}
        self.batch.prepare([m for m, _ in (parsed[i] for i in indices) if m is not None and m["id"] not in self.seen])
        results = {index: self._one(*parsed[index], raws[index]) for index in indices}
        self.batch.flush(self.outcomes)
        return results

    def _one(self, mutation: dict | None, errors: dict | None, raw) -> dict:
        """One mutation's result, its outcome kept for the push's transaction."""
        key = _key(raw)
        if key in self.seen:
            first = self.seen[key]
            return {**first, "status": "duplicate", "original_status": first["status"]}
        if mutation is None:
            result = {"id": raw.get("id") if isinstance(raw, dict) else None, "status": "rejected",
                      "reason": "invalid", "message": "The mutation is malformed", "errors": errors}
            if key is not None and "id" not in errors:
                self._keep(key, raw, result, None, None)
            return result
        try:
            actor = self._actor(mutation["args"].get("actor"))
            result, actor_id = self._apply(actor, mutation), actor.user.id
        except DomainError as exc:
            result, actor_id = {"status": "rejected", "reason": exc.code, "message": exc.message}, None
            if exc.errors:
                result["errors"] = exc.errors
        result = {"id": mutation["id"], **result}
        self._keep(mutation["id"], mutation, result, actor_id, mutation["at"])
        return result

    def _apply(self, actor: Actor, mutation: dict) -> dict:
        """The batch's decision, or the domain functions' under a savepoint (DomainError rolls it back)."""
        result = self.batch.apply(mutation["type"], actor, mutation["args"], mutation["at"])
        if result is not None:
            return result
        self.batch.flush(self.outcomes)
        try:
            with self.session.begin_nested():
                return APPLY[mutation["type"]](self.session, actor, mutation["args"], mutation["at"], self.substitute)
        finally:
            self.batch.forget()

    def _keep(self, key: str, mutation, result: dict, actor_id: int | None, at: datetime | None) -> None:
        """Remember an outcome: written with the push, answered to a repeat within it."""
        seq = mutation.get("seq") if isinstance(mutation, dict) else None
        seq = seq if type(seq) is int and 0 <= seq < 2**63 else None  # a malformed mutation's may be anything
        self.outcomes.append({
            "device_id": self.device_id, "mutation_id": key, "seq": seq,
            "type": str(mutation.get("type", "")).replace("\x00", "")[:16], "status": result["status"],
            "reason": result.get("reason"), "result": result, "actor_id": actor_id, "pushed_by_id": self.user.id,
            "happened_at": at})
        self.seen[key] = result

    def _actor(self, username: str | None) -> Actor:
        """The token's user, or (for a supervisor uploading a device's queue) the user who recorded it."""
        if username not in self.actors:
            self.actors[username] = _actor(self.session, self.user, username, self.tz, self.device_name)
        return self.actors[username]


def _key(raw) -> str | None:
    """The idempotency key a raw mutation carries, when it can be stored."""
    key = raw.get("id") if isinstance(raw, dict) else None
    return key if isinstance(key, str) and 0 < len(key) <= 64 and "\x00" not in key else None


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


def _actor(session: Session, user: User, username: str | None, tz: ZoneInfo, device: str) -> Actor:
    """The token's user, or (for a supervisor uploading a device's queue) the user who recorded it."""
    if username is None or username == user.username:
        return Actor(user=user, device=device, tz=tz)
    if not user.can(Role.supervisor):
        raise DomainError("forbidden", "Only a supervisor may upload mutations another user recorded", status=403)
    other = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if other is None:
        raise DomainError("unknown_user", f"No active user {username!r}")
    return Actor(user=other, device=device, tz=tz)


def _lot_of(session: Session, args: dict, substitute: str) -> Lot:
    """The lot a mutation names by scan or by id/code; both given must agree (else scan_mismatch)."""
    return lot_of(LotFinder(session), args, substitute)


def _movement_result(message: str, movements, **extra) -> dict:
    """An applied mutation's result."""
    return movement_result(message, [m.id for m in movements], **extra)


def _receive(session, actor, args, at, substitute) -> dict:
    """receive: from a supplier's GS1 label or explicit item and lot."""
    item, lot, expires_on = receipt_of(LotFinder(session), args, substitute)
    movement = stock.receive(session, actor, item=item, lot=lot, expires_on=expires_on, qty=args["qty"],
                             location=args["location"], supplier=args.get("supplier"),
                             supplier_lot=args.get("supplier_lot"), reference=args.get("reference"), at=at)
    return _movement_result(f"Received {qty_text(movement.qty)} of lot {movement.lot.code}", [movement],
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
