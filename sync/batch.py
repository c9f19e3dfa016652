"""A push's picks, moves and receives decided in memory and written in bulk, by the domain's own rules.

Applying each mutation through the ORM costs ~18 statements; a push of 500 would spend most of its time in
SQLAlchemy. A Batch instead reads what a push needs once — its tasks, lots, items and balances, and on
PostgreSQL locks the rows it may change in one order for everyone (tasks, lots, balances; as the domain
functions do) — decides each mutation with the same rules (`interpret`, `find_lot`, `check_quantity`,
`classify`, `lot_to_receive`, `check_distinct`, `insufficient`), keeps the balances and tasks it changed in
memory, and writes movements, balances, tasks and outcomes with a few statements at the end.

Whatever the batch does not handle (`None` from `apply`: partial or short picks, picks that must take
stock other tasks reserved, generated lot codes, new suppliers' lots, consume/produce/count) goes through
the domain functions; the engine first `flush`es the batch and afterwards calls `forget`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import bindparam, insert, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from backend.domain import Actor, judged_time
from backend.domain.codes import check_lot_code, check_quantity, qty_text
from backend.domain.errors import DomainError, unknown
from backend.domain.lookup import item_by_sku, location_by_code, partner_by_code
from backend.domain.lots import local_date, status_before
from backend.domain.picking import (
    APPLIED, REJECTED, LotView, TaskView, check_pick_place, classify, exception_message, refusal,
)
from backend.domain.scans import Scan, find_lot, interpret
from backend.domain.stock import MAX_BALANCE, check_distinct, insufficient, lot_to_receive
from backend.models import (
    Balance, Item, Location, Lot, LotEvent, Movement, MovementType, Partner, PartnerKind, PickList, PickTask,
    SyncOutcome, TaskStatus, utcnow,
)
from backend.types import ExactDecimal

_B, _T, _M = Balance.__table__, PickTask.__table__, Movement.__table__
_FROM = aliased(Location)
_QTY = ExactDecimal()
_ADD = (update(_B).where(_B.c.lot_id == bindparam("k_lot"), _B.c.location_id == bindparam("k_location"))
        .values(on_hand=_B.c.on_hand + bindparam("d_on_hand", type_=_QTY),
                reserved=_B.c.reserved + bindparam("d_reserved", type_=_QTY), updated_at=bindparam("now")))
_TASK = (update(_T).where(_T.c.id == bindparam("k_id"))
         .values(status=bindparam("status"), exception_reason=bindparam("exception_reason"),
                 exception_message=bindparam("exception_message"),
                 picked_qty=bindparam("picked_qty", type_=_QTY), picked_lot_id=bindparam("picked_lot_id"),
                 picked_from_id=bindparam("picked_from_id"), picked_by_id=bindparam("picked_by_id"),
                 picked_at=bindparam("picked_at"), updated_at=bindparam("now")))
_MOVEMENTS = insert(_M).returning(_M.c.id, sort_by_parameter_order=True)
_INSERT_LOT = insert(Lot.__table__).returning(Lot.__table__.c.id)
_NEW_LOT = ("code", "status", "supplier_lot", "received_at", "expires_on", "unit_cost")


def _new_balances(dialect_insert):
    """Balance rows that did not exist when the batch read them (a concurrent push may add them first)."""
    statement = dialect_insert(_B)
    return statement.on_conflict_do_update(
        index_elements=[_B.c.lot_id, _B.c.location_id],
        set_={"on_hand": _B.c.on_hand + statement.excluded.on_hand,
              "reserved": _B.c.reserved + statement.excluded.reserved, "updated_at": statement.excluded.updated_at})


_INSERT_BALANCES = {"postgresql": _new_balances(postgresql.insert), "sqlite": _new_balances(sqlite.insert)}


@dataclass(frozen=True)
class LotRow:
    """What the rules need of a lot."""

    id: int
    item_id: int
    code: str
    status: object
    expires_on: date | None
    received_at: datetime
    uom: str


@dataclass(frozen=True)
class TaskRow:
    """What the rules need of a task, and where it picks from and delivers to."""

    view: TaskView
    id: int
    from_id: int
    to_id: int
    pick_list: str


class Batch:
    """The rows one push reads and changes; see the module docstring."""

    def __init__(self, session: Session, substitute: str):
        self.session, self.substitute = session, substitute
        self.dialect = session.get_bind().dialect.name
        self.postgres = self.dialect == "postgresql"
        self.items: dict[tuple, Item | None] = {}
        self.locations: dict[str, Location] = {}
        self.suppliers: dict[str, Partner] = {}
        self.skus: dict[str, Item] = {}
        self.forget()

    # -- reading ---------------------------------------------------------------------------------------------

    def forget(self) -> None:
        """Drop what the domain functions may have changed behind the batch's back."""
        self.tasks: dict[int, TaskRow | None] = {}
        self.lots_by_code: dict[str, list[LotRow]] = {}  # complete for the codes in codes_read
        self.codes_read: set[str] = set()
        self.lots_by_id: dict[int, LotRow] = {}
        self.balances: dict[tuple[int, int], list[Decimal]] = {}
        self.missing: set[tuple[int, int]] = set()
        self.status_events: dict[int, list[tuple[datetime, int, str]]] = {}
        self.deltas: dict[tuple[int, int], list[Decimal]] = {}
        self.movements: list[tuple[dict, list]] = []
        self.task_updates: list[dict] = []

    def prepare(self, mutations: list[dict]) -> None:
        """Read (and on PostgreSQL lock, in key order) everything the push's mutations name, in a few queries."""
        picks = [m["args"] for m in mutations if m["type"] == "pick"]
        self._load_tasks({a["task"] for a in picks})
        codes, ids = set(), set()
        for m in mutations:
            scan = self._peek(m["args"].get("scan"))
            code = (scan.lot if scan.is_gs1 else scan.text) if scan else None
            named = m["args"].get("lot")
            codes.update(c for c in (code, named if isinstance(named, str) else None) if c)
            ids.update([named] if isinstance(named, int) else [])
        self._load_lots(codes, ids)
        pairs = set()
        for m in mutations:
            pairs.update(self._pairs(m))
        self._load_balances(pairs)

    def _peek(self, raw: str | None) -> Scan | None:
        """A scan's interpretation, None when there is none or it is bad (deciding will say why)."""
        try:
            return interpret(raw, self.substitute) if raw else None
        except DomainError:
            return None

    def _load_tasks(self, ids: set[int]) -> None:
        """Tasks with their item, expected lot, source and pick list (locked on PostgreSQL)."""
        if not ids:
            return
        query = (select(_T.c.id, _T.c.status, _T.c.item_id, Item.sku, Item.uom, Item.pick_policy, _T.c.lot_id,
                        Lot.code, Lot.expires_on, Lot.received_at, _FROM.code.label("from_code"),
                        _T.c.from_location_id, _T.c.to_location_id, _T.c.qty, PickList.number)
                 .join(Item, Item.id == _T.c.item_id).join(Lot, Lot.id == _T.c.lot_id)
                 .join(_FROM, _FROM.id == _T.c.from_location_id).join(PickList, PickList.id == _T.c.pick_list_id)
                 .where(_T.c.id.in_(sorted(ids))).order_by(_T.c.id))
        if self.postgres:
            query = query.with_for_update(of=_T)
        for row in self.session.execute(query):
            view = TaskView(row.status.value, row.item_id, row.sku, row.uom, row.pick_policy.value, row.lot_id,
                            row.code, row.expires_on, row.received_at, row.from_code, row.qty)
            self.tasks[row.id] = TaskRow(view, row.id, row.from_location_id, row.to_location_id, row.number)
        for task_id in ids:
            self.tasks.setdefault(task_id, None)

    def task(self, task_id: int) -> TaskRow | None:
        """A task as the batch knows it (read when not read yet)."""
        if task_id not in self.tasks:
            self._load_tasks({task_id})
        return self.tasks[task_id]

    def _load_lots(self, codes: set[str], ids: set[int]) -> None:
        """Lots by code or id with their item's unit (share-locked on PostgreSQL, as moves lock them)."""
        if not codes and not ids:
            return
        query = (select(Lot.id, Lot.item_id, Lot.code, Lot.status, Lot.expires_on, Lot.received_at, Item.uom)
                 .join(Item, Item.id == Lot.item_id).where(Lot.code.in_(codes) | Lot.id.in_(ids)).order_by(Lot.id))
        if self.postgres:
            query = query.with_for_update(of=Lot, read=True)
        self.codes_read.update(codes)
        new = [row.id for row in self.session.execute(query) if self._know(LotRow(*row))]
        if not new:
            return
        events = (select(LotEvent.lot_id, LotEvent.happened_at, LotEvent.id, LotEvent.old_value)
                  .where(LotEvent.kind == "status", LotEvent.lot_id.in_(new))
                  .order_by(LotEvent.happened_at, LotEvent.id))
        for lot_id, happened_at, event_id, old_value in self.session.execute(events):
            self.status_events.setdefault(lot_id, []).append((happened_at, event_id, old_value))

    def _know(self, lot: LotRow) -> bool:
        """Remember a lot by id and code; True when it is new to the batch."""
        if lot.id in self.lots_by_id:
            return False
        self.lots_by_id[lot.id] = lot
        self.lots_by_code.setdefault(lot.code, []).append(lot)
        return True

    # LotFinder's interface, for find_lot.
    def item(self, gtin: str | None, sku: str | None) -> Item | None:
        """The item with this GTIN (or SKU)."""
        key = (gtin, None) if gtin else (None, sku)
        if key not in self.items:
            self.items[key] = self.session.scalar(
                select(Item).where(Item.gtin == gtin) if gtin else select(Item).where(Item.sku == sku))
        return self.items[key]

    def lot(self, item_id: int, code: str) -> LotRow | None:
        """The item's lot with this code."""
        return next((lot for lot in self.lots(code) if lot.item_id == item_id), None)

    def lots(self, code: str) -> list[LotRow]:
        """The lots with this code (any item)."""
        if code not in self.codes_read:
            self._load_lots({code}, set())
        return self.lots_by_code.get(code, [])

    def by_id(self, lot_id: int) -> LotRow | None:
        """The lot with this id."""
        if lot_id not in self.lots_by_id:
            self._load_lots(set(), {lot_id})
        return self.lots_by_id.get(lot_id)

    def location(self, code: str) -> Location:
        """The active location with this code (the domain lookup's errors otherwise)."""
        if code not in self.locations:
            self.locations[code] = location_by_code(self.session, code)
        return self.locations[code]

    def _pairs(self, mutation: dict) -> list[tuple[int, int]]:
        """The balance rows a mutation will read or change, as far as they can be told in advance."""
        args = mutation["args"]
        try:
            if mutation["type"] == "pick":
                task = self.task(args["task"])
                if task is None:
                    return []
                lot = find_lot(self, interpret(args["scan"], self.substitute))
                where = self.location(args["location"]).id if args.get("location") else task.from_id
                return [(lot.id, where), (lot.id, task.to_id), (task.view.lot_id, task.from_id)]
            if mutation["type"] == "move":
                lot = lot_of(self, args, self.substitute)
                return [(lot.id, self.location(args["from_location"]).id),
                        (lot.id, self.location(args["to_location"]).id)]
        except DomainError:
            pass
        return []

    def _load_balances(self, pairs: set[tuple[int, int]]) -> None:
        """On-hand and reserved of lots at locations, locked in key order on PostgreSQL."""
        pairs = sorted(pairs - set(self.balances))
        if not pairs:
            return
        query = (select(_B.c.lot_id, _B.c.location_id, _B.c.on_hand, _B.c.reserved)
                 .where(tuple_(_B.c.lot_id, _B.c.location_id).in_(pairs)).order_by(_B.c.lot_id, _B.c.location_id))
        if self.postgres:
            query = query.with_for_update()
        for lot_id, location_id, on_hand, reserved in self.session.execute(query):
            self.balances[(lot_id, location_id)] = [on_hand, reserved]
        for pair in pairs:
            if pair not in self.balances:
                self.balances[pair] = [Decimal(0), Decimal(0)]
                self.missing.add(pair)

    def balance(self, lot_id: int, location_id: int) -> list[Decimal]:
        """[on_hand, reserved] of a lot at a location, with this batch's changes."""
        if (lot_id, location_id) not in self.balances:
            self._load_balances({(lot_id, location_id)})
        return self.balances[(lot_id, location_id)]

    def _status_at(self, lot: LotRow, at: datetime):
        """The lot's status at `at`, from its status changes."""
        later = next((old for happened_at, _, old in self.status_events.get(lot.id, ()) if happened_at > at), None)
        return status_before(lot.status, later)

    # -- deciding --------------------------------------------------------------------------------------------

    def apply(self, type_: str, actor: Actor, args: dict, at: datetime) -> dict | None:
        """Decide one mutation: its result, DomainError for a rejection, None for the domain functions."""
        handler = {"pick": self._pick, "move": self._move, "receive": self._receive}.get(type_)
        return handler(actor, args, judged_time(at)) if handler else None

    def _pick(self, actor: Actor, args: dict, at: datetime) -> dict | None:
        """picking.pick for a whole pick from stock free or reserved for the task."""
        task, qty = self.task(args["task"]), args["qty"]
        if task is None:
            raise unknown("task", args["task"])
        if args.get("short") or qty != task.view.qty:
            return None  # the rest of the task is split off or released: picking.pick
        check_quantity(qty, task.view.uom)
        lot = find_lot(self, interpret(args["scan"], self.substitute))
        where = self.location(args["location"]) if args.get("location") else None
        where_id, where_code = (where.id, where.code) if where else (task.from_id, task.view.from_location)
        check_pick_place(where_id, where_code, task.to_id)
        on_hand, reserved = self.balance(lot.id, where_id)
        lot_view = LotView(lot.id, lot.item_id, lot.code, self._status_at(lot, at).value, lot.expires_on,
                           lot.received_at)
        verdict = classify(task.view, lot_view, where_code, qty, on_hand, local_date(at, actor.tz))
        if verdict.status == REJECTED:
            raise refusal(verdict)
        applied = verdict.status == APPLIED
        if (applied and reserved < qty) or on_hand - reserved + (qty if applied else 0) < qty:
            return None  # the stock is promised to other tasks: picking.pick re-allocates them
        if not self._fits(lot.id, task.to_id, qty):
            return None
        self._add(lot.id, where_id, -qty, -qty if applied else Decimal(0))
        self._add(lot.id, task.to_id, qty, qty)
        movements = self._record(MovementType.pick, lot, qty, where_id, task.to_id, actor, at,
                                 ref=("pick_list", task.pick_list), task_id=task.id)
        status = TaskStatus.picked if applied else TaskStatus.exception
        self.tasks[task.id] = replace(task, view=replace(task.view, status=status.value))
        self.task_updates.append({"k_id": task.id, "status": status, "exception_reason": verdict.reason,
                                  "exception_message": exception_message(verdict),
                                  "picked_qty": qty, "picked_lot_id": lot.id, "picked_from_id": where_id,
                                  "picked_by_id": actor.user.id, "picked_at": at})
        return {"status": verdict.status, "reason": verdict.reason, "message": verdict.message,
                "movements": movements, "task": {"id": task.id, "status": status.value}}

    def _move(self, actor: Actor, args: dict, at: datetime) -> dict | None:
        """stock.move."""
        lot = lot_of(self, args, self.substitute)
        qty = check_quantity(args["qty"], lot.uom)
        src, dst = self.location(args["from_location"]), self.location(args["to_location"])
        check_distinct(src, dst)
        on_hand, reserved = self.balance(lot.id, src.id)
        if on_hand - reserved < qty:
            raise insufficient(lot.code, lot.uom, on_hand - reserved, src.code)
        if not self._fits(lot.id, dst.id, qty):
            return None
        self._add(lot.id, src.id, -qty, Decimal(0))
        self._add(lot.id, dst.id, qty, Decimal(0))
        movements = self._record(MovementType.move, lot, qty, src.id, dst.id, actor, at)
        return movement_result(f"Moved lot {lot.code}", movements, lot={"id": lot.id, "code": lot.code})

    def _receive(self, actor: Actor, args: dict, at: datetime) -> dict | None:
        """stock.receive of a named lot (a generated code takes the domain function)."""
        sku, code, expires_on = receipt_of(self, args, self.substitute)
        if code is None:
            return None
        if sku not in self.skus:
            self.skus[sku] = item_by_sku(self.session, sku)
        item = self.skus[sku]
        qty = check_quantity(args["qty"], item.uom)
        dst = self.location(args["location"])
        supplier = self._supplier(args["supplier"]) if args.get("supplier") else None
        check_lot_code(code)
        existing = self.lot(item.id, code)
        lot = lot_to_receive(existing, item, code, expires_on, dst, supplier, args.get("supplier_lot"), None, at,
                             actor.tz)
        if existing is None:
            values = {column: getattr(lot, column) for column in _NEW_LOT}
            lot_id = self.session.scalar(_INSERT_LOT, {**values, "item_id": item.id,
                                                       "supplier_id": supplier and supplier.id})
            existing = LotRow(lot_id, item.id, lot.code, lot.status, lot.expires_on, lot.received_at, item.uom)
            self._know(existing)
            self.balances[(lot_id, dst.id)] = [Decimal(0), Decimal(0)]  # a new lot has no stock anywhere yet
            self.missing.add((lot_id, dst.id))
        if not self._fits(existing.id, dst.id, qty):
            return None
        self._add(existing.id, dst.id, qty, Decimal(0))
        movements = self._record(MovementType.receive, existing, qty, None, dst.id, actor, at, partner=supplier,
                                 ref=("receipt", args["reference"]) if args.get("reference") else None)
        return movement_result(f"Received {qty_text(qty)} of lot {existing.code}", movements,
                               lot={"id": existing.id, "code": existing.code})

    def _supplier(self, code: str) -> Partner:
        """The active supplier with this code (the domain lookup's errors otherwise)."""
        if code not in self.suppliers:
            self.suppliers[code] = partner_by_code(self.session, code, PartnerKind.supplier)
        return self.suppliers[code]

    def _fits(self, lot_id: int, location_id: int, qty: Decimal) -> bool:
        """True when adding `qty` keeps the balance within what the database holds."""
        return self.balance(lot_id, location_id)[0] + qty <= MAX_BALANCE

    def _add(self, lot_id: int, location_id: int, on_hand: Decimal, reserved: Decimal) -> None:
        """Change a balance in memory, to be written at flush."""
        balance = self.balance(lot_id, location_id)
        balance[0] += on_hand
        balance[1] += reserved
        delta = self.deltas.setdefault((lot_id, location_id), [Decimal(0), Decimal(0)])
        delta[0] += on_hand
        delta[1] += reserved

    def _record(self, type_: MovementType, lot: LotRow, qty: Decimal, src: int | None, dst: int | None,
                actor: Actor, at: datetime, ref: tuple[str, str] | None = None, task_id: int | None = None,
                partner: Partner | None = None) -> list:
        """A movement to insert at flush; the list it returns receives its id then."""
        ids: list[int] = []
        self.movements.append(({"type": type_, "lot_id": lot.id, "qty": qty, "from_location_id": src,
                                "to_location_id": dst, "partner_id": partner and partner.id, "ref_type": ref and ref[0],
                                "ref_number": ref and ref[1], "reason": None, "actor_id": actor.user.id,
                                "device": actor.device, "happened_at": at, "task_id": task_id,
                                "reverses_id": None}, ids))
        return ids

    # -- writing ---------------------------------------------------------------------------------------------

    def flush(self, outcomes: list[dict]) -> None:
        """Write the batch's balances, tasks, movements, then the outcomes (which carry the movements' ids)."""
        now = utcnow()
        changed = [(pair, d) for pair, d in sorted(self.deltas.items()) if d[0] or d[1]]
        existing = [{"k_lot": lot, "k_location": loc, "d_on_hand": d[0], "d_reserved": d[1], "now": now}
                    for (lot, loc), d in changed if (lot, loc) not in self.missing]
        new = [{"lot_id": lot, "location_id": loc, "on_hand": d[0], "reserved": d[1], "updated_at": now}
               for (lot, loc), d in changed if (lot, loc) in self.missing]
        if existing:
            self.session.execute(_ADD, existing)
        if new:
            self.session.execute(_INSERT_BALANCES[self.dialect], new)
        self.missing.difference_update(pair for pair, _ in changed)
        self.deltas.clear()
        if self.task_updates:
            self.session.execute(_TASK, [{**row, "now": now} for row in self.task_updates])
            self.task_updates.clear()
        if self.movements:
            rows = [{**values, "recorded_at": now} for values, _ in self.movements]
            for (_, ids), movement_id in zip(self.movements, self.session.scalars(_MOVEMENTS, rows)):
                ids.append(movement_id)
            self.movements.clear()
        if outcomes:
            self.session.execute(insert(SyncOutcome), [{**row, "recorded_at": now} for row in outcomes])
            outcomes.clear()


def lot_of(finder, args: dict, substitute: str):
    """The lot a mutation names by scan or by id/code; both given must agree (else scan_mismatch)."""
    named = args.get("lot")
    if isinstance(named, int) and finder.by_id(named) is None:
        raise unknown("lot", named)
    if args.get("scan"):
        scanned = find_lot(finder, interpret(args["scan"], substitute))
        if named is not None and named not in (scanned.id, scanned.code):
            raise DomainError("scan_mismatch", f"The scan names lot {scanned.code}, the mutation {named!r}")
        return scanned
    if named is None:
        raise DomainError("invalid", "Give a scan or a lot", errors={"scan": ["Missing"]})
    return finder.by_id(named) if isinstance(named, int) else find_lot(finder, Scan(raw=named, text=named))


def receipt_of(finder, args: dict, substitute: str) -> tuple[str, str | None, date | None]:
    """(item SKU, lot code, expiry) a receive names, explicitly or by the supplier's GS1 label; both must agree."""
    item, lot, expires_on = args.get("item"), args.get("lot"), args.get("expires_on")
    if args.get("scan"):
        scan = interpret(args["scan"], substitute)
        if not scan.is_gs1:
            raise DomainError("bad_barcode", "A receipt needs the supplier's GS1 label", errors={"scan": ["Not GS1"]})
        if not (scan.gtin or scan.sku):
            raise DomainError("unknown_item", "The label names no item (no GTIN or SKU): scan the item's label",
                              errors={"scan": ["No GTIN or SKU"]})
        label_item = finder.item(scan.gtin, scan.sku)
        if label_item is None:
            raise DomainError("unknown_item", f"No item {scan.gtin or scan.sku}")
        for given, seen in ((item, label_item.sku), (lot, scan.lot), (expires_on, scan.expires_on)):
            if given is not None and seen is not None and given != seen:
                raise DomainError("scan_mismatch", "The arguments contradict the scanned label")
        item, lot, expires_on = label_item.sku, lot or scan.lot, expires_on or scan.expires_on
    if item is None:
        raise DomainError("invalid", "Give a scan or an item", errors={"item": ["Missing"]})
    return item, lot, expires_on


def movement_result(message: str, movement_ids: list, **extra) -> dict:
    """An applied mutation's result."""
    return {"status": "applied", "reason": None, "message": message, "movements": movement_ids, **extra}
