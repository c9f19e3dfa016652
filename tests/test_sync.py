"""Sync protocol v1 through the REST API (DESIGN.md § "Sync protocol v1 (contract)").

Push: one result per mutation in the order given, processing by `seq`, every mutation type, exactly once
per (device, id), invalid mutations beside valid ones, the limits, the floor's time, who may upload what,
conflicts between devices. Pull: full and incremental, removed ids, and a property test that a device
applying every incremental pull ends with what a full pull gives. Devices: registration and the
supervisor's view.
"""
from __future__ import annotations

import base64
import json
import re
import secrets
import uuid
from collections import namedtuple
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import sync.pull
from backend.domain import lots as lot_rules
from backend.domain import masterdata, picking, production, shipping
from backend.domain.auth import hash_token
from backend.domain.errors import DomainError
from backend.models import (
    ApiToken, Balance, Device, Item, Location, Lot, LotEvent, LotStatus, Movement, PickTask, Role, SyncOutcome,
    TaskStatus, User, db, utcnow,
)
from sync.batch import Batch
from tests.conftest import (
    GS, GTIN, gs1, ledger_matches_balances, order, receive, reservations_match_tasks, task, today, utc,
)

UTC = timezone.utc
REASONS = {"invalid", "bad_barcode", "unknown_item", "unknown_lot", "unknown_location", "unknown_task",
           "ambiguous_lot", "scan_mismatch", "wrong_item", "lot_expired", "lot_on_hold", "lot_recalled",
           "insufficient_stock", "over_pick", "task_closed", "forbidden"}
FLAGS = {"substitute_lot", "fefo_violation", "wrong_location"}


# --- helpers ----------------------------------------------------------------------------------

def mutation(type_: str, args: dict, seq: int, at: datetime | str | None = None, id: str | None = None) -> dict:
    """One queued mutation as a device sends it: a fresh UUID, `at` as ISO 8601 with offset (default now)."""
    at = at if at is not None else utcnow()
    return {"id": id or str(uuid.uuid4()), "seq": seq, "type": type_,
            "at": at.isoformat() if isinstance(at, datetime) else at, "args": args}


def post_push(client, headers, device: str, mutations: list, **kwargs):
    """POST /api/sync/push as it is, for tests of refusals."""
    return client.post("/api/sync/push", json={"device": device, "mutations": mutations}, headers=headers, **kwargs)


def push(client, headers, device: str, mutations: list) -> list[dict]:
    """Push and return the results: 200, one per mutation, in the order given."""
    response = post_push(client, headers, device, mutations)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert "cursor" in body
    results = body["results"]
    assert [r["id"] for r in results] == [m.get("id") if isinstance(m, dict) else None for m in mutations]
    for result in results:
        status = result["status"]
        assert status in ("applied", "flagged", "rejected", "duplicate"), result
        assert result["message"], result
        if status == "applied":
            assert result["reason"] is None and isinstance(result["movements"], list), result
        elif status == "flagged":
            assert result["reason"] in FLAGS and len(result["movements"]) == 1, result
        elif status == "rejected":
            assert result["reason"] and not result.get("movements"), result
    return results


def one(client, headers, device: str, type_: str, args: dict, seq: int = 1, **kwargs) -> dict:
    """Push a single mutation; its result."""
    [result] = push(client, headers, device, [mutation(type_, args, seq, **kwargs)])
    return result


def pull(client, headers, cursor: str | None = None, status: int = 200) -> dict:
    """GET /api/sync/pull (since `cursor`)."""
    response = client.get("/api/sync/pull", query_string={"cursor": cursor} if cursor else {}, headers=headers)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()










def label(sku: str, code: str) -> str:
    """What a lot's label scans as: GS1 DataMatrix with the GTIN, else (240) SKU + GS + (10) lot."""
    gtin = db.session.scalar(select(Item.gtin).where(Item.sku == sku))
    return f"]d201{gtin}10{code}" if gtin else f"240{sku}{GS}10{code}"










def lot_by_code(code: str, item: str | None = None) -> Lot:
    """The lot with this code (of this item)."""
    db.session.expire_all()
    query = select(Lot).where(Lot.code == code)
    if item:
        query = query.join(Item).where(Item.sku == item)
    return db.session.scalars(query).one()


def on_hand(lot_id: int, code: str) -> D:
    """On-hand of a lot at a location code (0 without a balance row)."""
    db.session.expire_all()
    row = db.session.scalar(select(Balance).join(Location).where(Balance.lot_id == lot_id, Location.code == code))
    return D(0) if row is None else row.on_hand


def counts() -> dict:
    """Row counts of every table: what a refused push must not change."""
    db.session.expire_all()
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def state() -> dict:
    """Row counts (sync bookkeeping aside), every balance, task and lot status: the whole effect of pushes."""
    db.session.expire_all()
    return {
        "counts": {k: v for k, v in counts().items() if k not in ("device", "sync_outcome")},
        "balances": sorted((b.lot_id, b.location_id, b.on_hand, b.reserved)
                           for b in db.session.scalars(select(Balance))),
        "tasks": sorted((t.id, t.status.value, t.qty, t.lot_id, t.picked_qty)
                        for t in db.session.scalars(select(PickTask))),
        "lots": sorted((lot.id, lot.code, lot.status.value) for lot in db.session.scalars(select(Lot))),
    }


def movements_of(result: dict) -> list[Movement]:
    """The movement rows a result names."""
    db.session.expire_all()
    return [db.session.get(Movement, m) for m in result["movements"]]


def outcomes(device: str) -> list[SyncOutcome]:
    """A device's stored outcomes."""
    db.session.expire_all()
    return db.session.scalars(select(SyncOutcome).join(Device, Device.id == SyncOutcome.device_id)
                              .where(Device.name == device).order_by(SyncOutcome.id)).all()


def assert_consistent() -> None:
    """The ledger equals the balances and the reservations equal what the tasks hold."""
    db.session.expire_all()
    assert ledger_matches_balances(db.session) == []
    assert reservations_match_tasks(db.session) == []


def assert_duplicate_of(again: dict, first: dict) -> None:
    """A replay's answer: `duplicate`, otherwise the first result (and the first status, where the server adds
    `original_status`)."""
    assert again["status"] == "duplicate", again
    assert again.get("original_status", first["status"]) == first["status"], again
    keep = lambda result: {k: v for k, v in result.items() if k not in ("status", "original_status")}  # noqa: E731
    assert keep(again) == keep(first)


def new_token(user: User, device: str) -> dict:
    """Authorization headers for another token of `user` bound to `device`."""
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user=user, token_hash=hash_token(token), device=device,
                            expires_at=utcnow() + timedelta(days=1)))
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


# --- fixtures ---------------------------------------------------------------------------------

@pytest.fixture(autouse=True, params=["batch", "domain-functions"])
def decided_by(request, monkeypatch) -> str:
    """Every test runs twice: with the batch deciding what it can (as in production) and with the batch
    declining everything, so that the domain functions decide each mutation; both must give the same answers."""
    if request.param == "domain-functions":
        monkeypatch.setattr(Batch, "apply", lambda self, type_, actor, args, at: None)
    return request.param


@pytest.fixture
def l1(world, actor):
    """FLOUR lot L1: 10 KGM at A-01-01, expiring in 30 days, received two days ago."""
    expires = today() + timedelta(days=30)
    lot_id = receive(actor, "L1", expires=expires, at=utcnow() - timedelta(days=2))
    return namedtuple("L1", "id expires")(lot_id, expires)


@pytest.fixture
def base(l1, boss):
    """L1 and an order of 10 whose one task expects it."""
    so = order(boss, "10")
    assert len(so.tasks) == 1 and task(so.tasks[0]).lot_id == l1.id
    return namedtuple("Base", "l1 expires order task")(l1.id, l1.expires, so, so.tasks[0])


@pytest.fixture
def worker2(users) -> dict:
    """A second worker with a token for a second handheld, HH-02."""
    user = User(username="worker2", name="Worker 2", role=Role.worker, password_hash=users["worker"].password_hash)
    db.session.add(user)
    db.session.commit()
    return new_token(user, "HH-02")


# === push: results, order ======================================================================

def test_one_result_per_mutation_in_the_order_given(client, headers, base, actor):
    """applied, flagged, rejected (with reason) and duplicate, each answered in the order the device sent."""
    receive(actor, "L2", expires=base.expires, at=utcnow() - timedelta(days=2), location="B-02-01")
    recv = mutation("receive", {"item": "EGGS", "lot": "E1", "qty": "12", "location": "RCV-1"}, 1)
    flagged = mutation("pick", {"task": base.task, "scan": "L2", "location": "B-02-01", "qty": "10"}, 2)
    rejected = mutation("move", {"lot": "E1", "from": "RCV-1", "to": "A-01-01", "qty": "13"}, 3)
    results = push(client, headers["worker"], "HH-worker", [recv, flagged, rejected, recv])
    assert [(r["status"], r["reason"]) for r in results] == [
        ("applied", None), ("flagged", "substitute_lot"), ("rejected", "insufficient_stock"),
        ("duplicate", None)]
    assert results[1]["task"] == {"id": base.task, "status": "exception"}
    assert len(results[1]["movements"]) == 1 and results[2].get("movements") in (None, [])
    assert_duplicate_of(results[3], results[0])
    assert_consistent()


def test_processing_is_by_seq_even_when_given_out_of_order(client, headers, world):
    """A move listed before the receive it needs is applied because the receive has the lower seq."""
    later = utcnow() - timedelta(minutes=1)
    move = mutation("move", {"lot": "NEW-1", "from": "RCV-1", "to": "A-01-01", "qty": "4"}, 8, at=later)
    move2 = mutation("move", {"lot": "NEW-1", "from": "A-01-01", "to": "B-02-01", "qty": "4"}, 9, at=later)
    recv = mutation("receive", {"item": "EGGS", "lot": "NEW-1", "qty": "6", "location": "RCV-1"}, 7,
                    at=later - timedelta(minutes=1))
    results = push(client, headers["worker"], "HH-worker", [move2, move, recv])
    assert [r["status"] for r in results] == ["applied"] * 3
    moved, first_move, received = (movements_of(r)[0] for r in results)
    assert received.id < first_move.id < moved.id  # recorded in seq order
    lot = lot_by_code("NEW-1")
    assert (on_hand(lot.id, "RCV-1"), on_hand(lot.id, "A-01-01"), on_hand(lot.id, "B-02-01")) == (2, 0, 4)
    assert [o.seq for o in outcomes("HH-worker")] == [7, 8, 9]
    assert_consistent()


def test_a_move_with_a_lower_seq_than_its_receive_is_judged_first(client, headers, world):
    """The same two mutations with the move's seq lower: the move is judged first and finds no lot."""
    move = mutation("move", {"lot": "NEW-1", "from": "RCV-1", "to": "A-01-01", "qty": "4"}, 1)
    recv = mutation("receive", {"item": "EGGS", "lot": "NEW-1", "qty": "6", "location": "RCV-1"}, 2)
    results = push(client, headers["worker"], "HH-worker", [recv, move])
    assert [(r["status"], r["reason"]) for r in results] == [("applied", None), ("rejected", "unknown_lot")]


# === every mutation type =======================================================================

def test_receive_by_gs1_scan(client, headers, world):
    """A supplier's GS1 label gives item, lot and expiry; the receipt is recorded at the floor time."""
    expires = today() + timedelta(days=90)
    at = utcnow() - timedelta(hours=3)
    result = one(client, headers["worker"], "HH-worker", "receive",
                 {"scan": gs1("SUP-77", expires), "qty": "25.5", "location": "RCV-1", "supplier": "SUP-MILL",
                  "reference": "DN-4711"}, at=at)
    assert (result["status"], result["reason"]) == ("applied", None)
    lot = lot_by_code("SUP-77")
    assert result["lot"] == {"id": lot.id, "code": "SUP-77"}
    assert (lot.item.sku, lot.expires_on, lot.supplier.code, lot.received_at) == ("FLOUR", expires, "SUP-MILL", at)
    [movement] = movements_of(result)
    assert (movement.type.value, movement.qty, movement.to_location.code, movement.happened_at) == (
        "receive", D("25.5"), "RCV-1", at)
    assert (movement.ref_type, movement.ref_number, movement.device, movement.actor.username) == (
        "receipt", "DN-4711", "HH-worker", "worker")
    assert_consistent()


def test_receive_by_item_and_lot(client, headers, world):
    """Explicit item and lot code (and expiry) make the lot."""
    expires = today() + timedelta(days=10)
    result = one(client, headers["worker"], "HH-worker", "receive",
                 {"item": "EGGS", "lot": "E-42", "expires_on": expires.isoformat(), "qty": "30", "location": "A-01-01"})
    assert result["status"] == "applied"
    lot = lot_by_code("E-42")
    assert (lot.item.sku, lot.expires_on, on_hand(lot.id, "A-01-01")) == ("EGGS", expires, 30)
    assert_consistent()


@pytest.mark.parametrize("args", [
    {"item": "EGGS"},
    {"scan": gs1(None, today() + timedelta(days=60))},  # a label without (10)
], ids=["item", "gs1-without-lot"])
def test_receive_without_lot_returns_the_generated_code(client, headers, world, args):
    """No lot given: a code is generated (site day + 4 characters) and returned in result.lot."""
    result = one(client, headers["worker"], "HH-worker", "receive", {**args, "qty": "5", "location": "RCV-1"})
    assert result["status"] == "applied", result
    code = result["lot"]["code"]
    assert re.fullmatch(rf"{today():%y%m%d}-[2-9A-HJ-NP-Z]{{4}}", code), code
    lot = db.session.get(Lot, result["lot"]["id"])
    assert lot.code == code and on_hand(lot.id, "RCV-1") == 5
    assert_consistent()


@pytest.mark.parametrize("args,reason", [
    ({"scan": gs1("SUP-1", today() + timedelta(days=9)), "item": "EGGS"}, "scan_mismatch"),
    ({"scan": gs1("SUP-1", today() + timedelta(days=9)), "lot": "SUP-2"}, "scan_mismatch"),
    ({"scan": gs1("SUP-1", today() + timedelta(days=9)), "expires_on": (today() + timedelta(days=8)).isoformat()},
     "scan_mismatch"),
    ({"scan": "SUP-1"}, "bad_barcode"),  # a plain code is no supplier label
    ({"scan": gs1("SUP-1", gtin="04006381333931")}, "unknown_item"),
    ({"scan": "]d20109506000134353" + "10SUP-1"}, "bad_barcode"),  # check digit
    ({"item": "NOPE", "lot": "X"}, "unknown_item"),
    ({"item": "EGGS", "lot": "X", "location": "NOWHERE"}, "unknown_location"),
    ({"item": "EGGS", "lot": "X", "expires_on": (today() - timedelta(days=1)).isoformat()}, "lot_expired"),
    ({"lot": "X"}, "invalid"),  # neither scan nor item
    ({"scan": "]C100095060001234567893"}, "unknown_item"),  # a pallet's SSCC names no item
], ids=["item-vs-scan", "lot-vs-scan", "expiry-vs-scan", "plain-code", "unknown-gtin", "check-digit",
        "unknown-sku", "unknown-location", "expired", "no-item", "sscc-only"])
def test_receive_rejections(client, headers, world, args, reason):
    """Receipts that contradict the scanned label or name unknown things are rejected and record nothing."""
    before = state()
    result = one(client, headers["worker"], "HH-worker", "receive", {"qty": "5", "location": "RCV-1", **args})
    assert (result["status"], result["reason"]) == ("rejected", reason), result
    assert state() == before
    assert [(o.status, o.reason) for o in outcomes("HH-worker")] == [("rejected", reason)]
    assert_consistent()


@pytest.mark.parametrize("how", ["scan", "lot id", "lot code", "scan and agreeing lot id"])
def test_move_names_the_lot_by_scan_id_or_code(client, headers, l1, how):
    """A move finds its lot by label scan, by lot id or by lot code."""
    lot_arg = {"scan": {"scan": gs1("L1", l1.expires)}, "lot id": {"lot": l1.id}, "lot code": {"lot": "L1"},
               "scan and agreeing lot id": {"scan": "L1", "lot": l1.id}}[how]
    result = one(client, headers["worker"], "HH-worker", "move", {**lot_arg, "from": "A-01-01", "to": "B-02-01",
                                                                    "qty": "3"})
    assert (result["status"], result["lot"]) == ("applied", {"id": l1.id, "code": "L1"}), result
    [movement] = movements_of(result)
    assert (movement.type.value, movement.from_location.code, movement.to_location.code, movement.qty) == (
        "move", "A-01-01", "B-02-01", 3)
    assert (on_hand(l1.id, "A-01-01"), on_hand(l1.id, "B-02-01")) == (7, 3)
    assert_consistent()


@pytest.mark.parametrize("args,reason", [
    ({"scan": "L1", "lot": "L2"}, "scan_mismatch"),
    ({"scan": "L2", "lot": "L1"}, "scan_mismatch"),
    ({"lot": "NOPE"}, "unknown_lot"),
    ({"lot": 999999}, "unknown_lot"),
    ({"scan": "L1", "qty": "11"}, "insufficient_stock"),
    ({"scan": "L1", "to": "NOWHERE"}, "unknown_location"),
    ({"scan": "L1", "to": "A-01-01"}, "invalid"),
    ({"scan": "]d201095060001343521013"}, "unknown_lot"),
    ({}, "invalid"),  # neither scan nor lot
], ids=["scan-L1-lot-L2", "scan-L2-lot-L1", "unknown-code", "unknown-id", "too-much", "unknown-to", "same-place",
        "unknown-label-lot", "no-lot"])
def test_move_rejections(client, headers, l1, actor, args, reason):
    """Explicit lot args that contradict the scan are scan_mismatch; other refusals name their reason."""
    receive(actor, "L2", location="B-02-01")
    before = state()
    result = one(client, headers["worker"], "HH-worker", "move",
                 {"from": "A-01-01", "to": "B-02-01", "qty": "3", **args})
    assert (result["status"], result["reason"]) == ("rejected", reason), result
    assert state() == before
    assert [(o.status, o.reason) for o in outcomes("HH-worker")] == [("rejected", reason)]
    assert_consistent()


def test_pick_applied(client, headers, base):
    """The expected lot from the expected place: applied, task picked, stock held at staging."""
    result = one(client, headers["worker"], "HH-worker", "pick",
                 {"task": base.task, "scan": gs1("L1", base.expires), "location": "A-01-01", "qty": "10"})
    assert (result["status"], result["reason"], result["message"]) == ("applied", None, "Picked 10 KGM of L1")
    assert result["task"] == {"id": base.task, "status": "picked"}
    [movement] = movements_of(result)
    assert (movement.type.value, movement.task_id, movement.to_location.code, movement.device) == (
        "pick", base.task, "STAGE-1", "HH-worker")
    assert (task(base.task).status, task(base.task).picked_by.username) == (TaskStatus.picked, "worker")
    assert on_hand(base.l1, "STAGE-1") == 10
    assert_consistent()


def test_pick_partial_leaves_the_rest_open(client, headers, base):
    """Picking 4 of 10 (location omitted: the task's) applies and leaves an open task for 6."""
    result = one(client, headers["worker"], "HH-worker", "pick", {"task": base.task, "scan": "L1", "qty": "4"})
    assert result["status"] == "applied"
    open_tasks = db.session.scalars(select(PickTask).where(PickTask.status == TaskStatus.open)).all()
    assert [t.qty for t in open_tasks] == [6]
    assert_consistent()


def test_pick_of_a_substitute_lot_is_flagged(client, headers, base, actor):
    """Another lot of the same expiry is recorded and flagged substitute_lot for a supervisor."""
    receive(actor, "L2", expires=base.expires, at=utcnow() - timedelta(days=2))
    result = one(client, headers["worker"], "HH-worker", "pick",
                 {"task": base.task, "scan": gs1("L2", base.expires), "qty": "10"})
    assert (result["status"], result["reason"]) == ("flagged", "substitute_lot")
    assert result["task"] == {"id": base.task, "status": "exception"} and len(result["movements"]) == 1
    assert (task(base.task).exception_reason, task(base.task).exception_message) == ("substitute_lot", result["message"])
    [exception] = client.get("/api/exceptions", headers=headers["supervisor"]).get_json()
    assert exception["exception_message"] == result["message"]  # what the supervisor reads: the worker's words
    [stored] = outcomes("HH-worker")
    assert (stored.status, stored.reason) == ("flagged", "substitute_lot")
    assert_consistent()


def test_pick_of_a_later_expiring_lot_is_flagged_fefo_violation(client, headers, base, actor):
    """A lot expiring later than the expected one is fefo_violation."""
    receive(actor, "L3", expires=base.expires + timedelta(days=30))
    result = one(client, headers["worker"], "HH-worker", "pick", {"task": base.task, "scan": "L3", "qty": "10"})
    assert (result["status"], result["reason"]) == ("flagged", "fefo_violation")


def test_pick_elsewhere_is_flagged_wrong_location(client, headers, base, actor):
    """The expected lot from another place is wrong_location."""
    receive(actor, "L1", location="B-02-01")
    result = one(client, headers["worker"], "HH-worker", "pick",
                 {"task": base.task, "scan": "L1", "location": "B-02-01", "qty": "10"})
    assert (result["status"], result["reason"]) == ("flagged", "wrong_location")
    assert_consistent()


@pytest.mark.parametrize("case,reason", [
    ("over", "over_pick"), ("expired", "lot_expired"), ("held", "lot_on_hold"), ("recalled", "lot_recalled"),
    ("eggs", "wrong_item"), ("no-task", "unknown_task"), ("bad", "bad_barcode"), ("no-lot", "unknown_lot"),
    ("mismatch", "scan_mismatch"), ("short", "insufficient_stock"), ("nowhere", "unknown_location"),
    ("ambiguous", "ambiguous_lot"), ("zero", "invalid"),
])
def test_pick_rejections(client, headers, base, actor, case, reason):
    """Each refusal answers its reason code; nothing is recorded but the outcome."""
    yesterday = today() - timedelta(days=1)
    scan, qty, extra, task_id = "L1", "10", {}, base.task
    if case == "over":
        qty = "11"
    elif case == "expired":
        receive(actor, "LX", expires=yesterday, at=utc(yesterday - timedelta(days=5), 8))
        scan = "LX"
    elif case in ("held", "recalled"):
        lot = db.session.get(Lot, base.l1)
        lot.status = LotStatus.quarantine if case == "held" else LotStatus.recalled
        db.session.commit()
    elif case == "eggs":
        receive(actor, "E1", "12", item="EGGS")
        scan = "E1"
    elif case == "no-task":
        task_id = 999999
    elif case == "bad":
        scan = f"]d201{GTIN}1726130110L1"  # month 13
    elif case == "no-lot":
        scan = gs1("NOPE")
    elif case == "mismatch":
        scan = gs1("L1", base.expires + timedelta(days=1))
    elif case == "short":
        receive(actor, "L1", "2", location="B-02-01")
        extra = {"location": "B-02-01"}
        qty = "5"
    elif case == "nowhere":
        extra = {"location": "NOWHERE"}
    elif case == "ambiguous":
        receive(actor, "L1", "12", item="EGGS")
    elif case == "zero":
        qty = "0"
    before = state()
    result = one(client, headers["worker"], "HH-worker", "pick", {"task": task_id, "scan": scan, "qty": qty, **extra})
    assert (result["status"], result["reason"]) == ("rejected", reason), result
    assert result["reason"] in REASONS
    assert state() == before
    assert [(o.status, o.reason) for o in outcomes("HH-worker")] == [("rejected", reason)]
    assert_consistent()
    assert_consistent()


@pytest.mark.parametrize("chunk", [100, 3])
def test_a_push_mixing_what_the_batch_decides_and_what_the_domain_functions_do(client, headers, base, monkeypatch,
                                                                              chunk):
    """Later mutations see what earlier ones did, whichever path applied them and across transaction chunks: a
    receipt then moves of the new lot, a generated-code receipt and a partial pick (domain functions) between,
    a refused move in the middle, a repeat of a task, a repeated id."""
    monkeypatch.setattr("sync.engine.CHUNK", chunk)
    expires = today() + timedelta(days=60)
    mutations = [
        mutation("receive", {"scan": gs1("L5", expires), "qty": "20", "location": "RCV-1"}, 1),
        mutation("move", {"scan": "L5", "from": "RCV-1", "to": "A-01-01", "qty": "5"}, 2),
        mutation("move", {"scan": "L5", "from": "RCV-1", "to": "B-02-01", "qty": "30"}, 3),
        mutation("receive", {"item": "EGGS", "qty": "12", "location": "RCV-1"}, 4),
        mutation("move", {"scan": "L5", "from": "RCV-1", "to": "B-02-01", "qty": "15"}, 5),
        mutation("pick", {"task": base.task, "scan": "L1", "qty": "4"}, 6),
        mutation("pick", {"task": base.task, "scan": "L1", "qty": "4"}, 7),
        mutation("move", {"scan": "L1", "from": "A-01-01", "to": "B-02-01", "qty": "1"}, 8),
        mutation("count", {"scan": "L5", "location": "A-01-01", "qty": "5"}, 9),
    ]
    mutations.append(dict(mutations[1], seq=10))
    results = push(client, headers["worker"], "HH-worker", mutations)
    assert [(r["status"], r["reason"]) for r in results] == [
        ("applied", None), ("applied", None), ("rejected", "insufficient_stock"), ("applied", None),
        ("applied", None), ("applied", None), ("rejected", "task_closed"), ("rejected", "insufficient_stock"),
        ("applied", None), ("duplicate", None)]
    assert results[2]["message"] == "Only 15 KGM of lot L5 free at RCV-1"
    assert results[7]["message"] == "Only 0 KGM of lot L1 free at A-01-01"  # the rest is the open remainder's
    assert results[9]["original_status"] == "applied" and results[9]["movements"] == results[1]["movements"]
    l5 = lot_by_code("L5").id
    assert [on_hand(l5, code) for code in ("RCV-1", "A-01-01", "B-02-01")] == [0, 5, 15]
    assert [on_hand(base.l1, code) for code in ("A-01-01", "STAGE-1")] == [6, 4]
    assert [(o.status, o.reason) for o in outcomes("HH-worker")] == [
        (r["status"], r["reason"]) for r in results[:9]]
    assert_consistent()
    again = push(client, headers["worker"], "HH-worker", mutations)
    for repeat, first in zip(again[:9], results):
        assert_duplicate_of(repeat, first)
    assert_consistent()


def test_a_substitute_promised_to_another_task_moves_that_task_on(client, headers, base, actor, boss):
    """Picking (flagged) a lot whose units another order's task holds: that task is re-allocated, here to
    nothing, so it is flagged stock_taken; balances and reservations stay right."""
    l2 = receive(actor, "L2", expires=base.expires, at=utcnow() - timedelta(days=1))
    other = order(boss, "10")
    assert task(other.tasks[0]).lot_id == l2
    result = one(client, headers["worker"], "HH-worker", "pick", {"task": base.task, "scan": "L2", "qty": "10"})
    assert (result["status"], result["reason"]) == ("flagged", "substitute_lot")
    taken = db.session.scalars(select(PickTask).where(PickTask.pick_list_id == other.pick_list)).all()
    assert [(t.status, t.exception_reason, t.qty) for t in taken] == [(TaskStatus.exception, "stock_taken", 10)]
    assert taken[0].exception_message == "Another pick took the stock of lot L2: no other stock for 10 KGM"
    assert [on_hand(l2, "A-01-01"), on_hand(l2, "STAGE-1"), on_hand(base.l1, "A-01-01")] == [0, 10, 10]
    assert_consistent()


def test_pick_of_a_closed_task_is_task_closed(client, headers, base):
    """Picking a task that was already picked is task_closed."""
    first = one(client, headers["worker"], "HH-worker", "pick", {"task": base.task, "scan": "L1", "qty": "10"})
    again = one(client, headers["worker"], "HH-worker", "pick", {"task": base.task, "scan": "L1", "qty": "10"}, seq=2)
    assert (first["status"], again["status"], again["reason"]) == ("applied", "rejected", "task_closed")


@pytest.fixture
def line(world, boss):
    """Production location LINE-1 and an order making 20 CAKE from 6 KGM FLOUR there; the order's id."""
    masterdata.create(db.session, Location, dict(code="LINE-1", kind="production"))
    masterdata.create(db.session, Item, dict(sku="CAKE", name="Cake", uom="EA", shelf_life_days=5))
    made = production.create_production_order(db.session, boss, item="CAKE", qty=D(20), location="LINE-1",
                                              materials=[{"item": "FLOUR", "qty": D(6)}])
    db.session.commit()
    return made.id


def test_consume_and_produce(client, headers, l1, line):
    """Material moved to the line is consumed by scan; output is produced as a new lot (code generated)."""
    results = push(client, headers["worker"], "HH-worker", [
        mutation("move", {"scan": "L1", "from": "A-01-01", "to": "LINE-1", "qty": "6"}, 1),
        mutation("consume", {"order": line, "scan": gs1("L1", l1.expires), "location": "LINE-1", "qty": "6"}, 2),
        mutation("produce", {"order": line, "qty": "12", "location": "LINE-1"}, 3),
        mutation("produce", {"order": line, "lot": "CAKE-B2", "qty": "8", "location": "LINE-1"}, 4),
    ])
    assert [r["status"] for r in results] == ["applied"] * 4, results
    consumed = movements_of(results[1])[0]
    assert (consumed.type.value, consumed.lot_id, consumed.qty, consumed.from_location.code, consumed.to_location) == (
        "consume", l1.id, 6, "LINE-1", None)
    assert results[1]["lot"] == {"id": l1.id, "code": "L1"}
    made = db.session.get(Lot, results[2]["lot"]["id"])
    assert re.fullmatch(rf"{today():%y%m%d}-\w{{4}}", made.code) and made.code == results[2]["lot"]["code"]
    assert (made.item.sku, made.production_order_id, made.expires_on) == ("CAKE", line, today() + timedelta(days=5))
    assert results[3]["lot"]["code"] == "CAKE-B2"
    assert [m.type.value for r in results[2:] for m in movements_of(r)] == ["produce", "produce"]
    assert (on_hand(l1.id, "LINE-1"), on_hand(made.id, "LINE-1")) == (0, 12)
    assert_consistent()


def test_consume_of_picked_material_settles_its_reservation(client, headers, l1, line, boss):
    """Material requested for the order, picked to the line and consumed there: the hold is released."""
    pick_list, shortfalls = production.request_materials(db.session, boss, order=line)
    db.session.commit()
    [material_task] = [t.id for t in pick_list.tasks]
    assert shortfalls == {}
    results = push(client, headers["worker"], "HH-worker", [
        mutation("pick", {"task": material_task, "scan": "L1", "qty": "6"}, 1),
        mutation("consume", {"order": line, "scan": "L1", "location": "LINE-1", "qty": "4"}, 2),
        mutation("consume", {"order": line, "scan": "L1", "location": "LINE-1", "qty": "2"}, 3),
        mutation("consume", {"order": line, "scan": "L1", "location": "LINE-1", "qty": "1"}, 4),
    ])
    assert [(r["status"], r["reason"]) for r in results] == [
        ("applied", None), ("applied", None), ("applied", None), ("rejected", "insufficient_stock")]
    assert task(material_task).settled_qty == 6
    assert (on_hand(l1.id, "LINE-1"), on_hand(l1.id, "A-01-01")) == (0, 4)
    assert_consistent()


@pytest.mark.parametrize("args,reason", [
    ({"scan": "L1", "qty": "7"}, "insufficient_stock"),
    ({"scan": "E1", "qty": "1"}, "wrong_item"),
    ({"scan": "NOPE", "qty": "1"}, "unknown_lot"),
    ({"scan": "L1", "qty": "1", "order": 999999}, "unknown_order"),
], ids=["too-much", "not-a-material", "unknown-lot", "unknown-order"])
def test_consume_rejections(client, headers, l1, line, actor, args, reason):
    """Consumption of what is not there, not a material or not known is rejected."""
    receive(actor, "E1", "5", item="EGGS", location="LINE-1")
    one(client, headers["worker"], "HH-worker", "move", {"scan": "L1", "from": "A-01-01", "to": "LINE-1", "qty": "6"})
    result = one(client, headers["worker"], "HH-worker", "consume",
                 {"order": line, "location": "LINE-1", **args}, seq=2)
    assert (result["status"], result["reason"]) == ("rejected", reason), result
    assert on_hand(l1.id, "LINE-1") == 6
    assert_consistent()


def test_count(client, headers, l1):
    """A count sets on-hand to what was counted (an adjusting movement); a matching count moves nothing."""
    results = push(client, headers["worker"], "HH-worker", [
        mutation("count", {"scan": gs1("L1", l1.expires), "location": "A-01-01", "qty": "8"}, 1),
        mutation("count", {"lot": l1.id, "location": "A-01-01", "qty": "8"}, 2),
        mutation("count", {"lot": "L1", "location": "B-02-01", "qty": "1"}, 3),
    ])
    assert [r["status"] for r in results] == ["applied"] * 3
    [adjust] = movements_of(results[0])
    assert (adjust.type.value, adjust.qty, adjust.from_location.code, adjust.reason) == (
        "adjust", 2, "A-01-01", "count")
    assert results[1]["movements"] == []
    [found] = movements_of(results[2])
    assert (found.to_location.code, found.qty) == ("B-02-01", 1)
    assert (on_hand(l1.id, "A-01-01"), on_hand(l1.id, "B-02-01")) == (8, 1)
    events = db.session.scalars(select(LotEvent).where(LotEvent.kind == "count").order_by(LotEvent.id)).all()
    assert [(e.old_value, e.new_value) for e in events] == [("10", "8"), ("8", "8"), ("0", "1")]
    assert_consistent()


@pytest.mark.parametrize("args,reason", [
    ({"scan": "L1", "lot": "L2"}, "scan_mismatch"),
    ({"scan": gs1("L1", today() + timedelta(days=30)), "lot": 999999}, "unknown_lot"),
    ({"lot": "L1", "qty": "-1"}, "invalid"),
    ({"lot": "L1", "location": "NOWHERE"}, "unknown_location"),
], ids=["scan-vs-lot", "unknown-lot-id", "negative", "unknown-location"])
def test_count_rejections(client, headers, l1, actor, args, reason):
    """A count whose lot arg contradicts its scan is scan_mismatch."""
    receive(actor, "L2")
    result = one(client, headers["worker"], "HH-worker", "count", {"location": "A-01-01", "qty": "3", **args})
    assert (result["status"], result["reason"]) == ("rejected", reason), result
    assert on_hand(l1.id, "A-01-01") == 10
    assert_consistent()


# === exactly once ==============================================================================

def ledger() -> list[tuple]:
    """The ledger as a multiset, free of ids: what happened, to which lot, where, when, by whom."""
    db.session.expire_all()
    rows = [(m.type.value, m.lot.item.sku, _generated(m.lot.code), m.from_location and m.from_location.code,
             m.to_location and m.to_location.code, m.qty, m.happened_at, m.actor.username, m.device)
            for m in db.session.scalars(select(Movement))]
    return sorted(rows, key=repr)


def _generated(code: str) -> str:
    """Generated lot codes differ from run to run; they compare as one placeholder."""
    return "<generated>" if re.fullmatch(r"\d{6}-\w{4}", code) else code


def balances() -> dict:
    """On-hand by (lot code, location code), zero rows left out."""
    db.session.expire_all()
    rows = db.session.execute(select(Lot.code, Location.code, Balance.on_hand).join(Lot).join(Location)
                              .where(Balance.on_hand != 0)).all()
    return sorted((_generated(lot), location, qty) for lot, location, qty in rows)


def queue(start: datetime) -> list[dict]:
    """A device's queue of nine mutations, one of them rejected (too much moved)."""
    def m(seq, type_, **args):
        return mutation(type_, args, seq, at=start + timedelta(seconds=seq))
    expires = (today() + timedelta(days=40)).isoformat()
    return [
        m(1, "receive", item="FLOUR", lot="OV1", expires_on=expires, qty="10", location="RCV-1"),
        m(2, "move", lot="OV1", **{"from": "RCV-1", "to": "A-01-01"}, qty="4"),
        m(3, "receive", item="EGGS", lot="OV2", qty="12", location="RCV-1"),
        m(4, "move", lot="OV2", **{"from": "RCV-1", "to": "B-02-01"}, qty="12"),
        m(5, "count", lot="OV1", location="A-01-01", qty="3"),
        m(6, "move", scan="OV1", **{"from": "RCV-1", "to": "A-01-01"}, qty="6"),
        m(7, "receive", item="EGGS", qty="5", location="A-01-01"),
        m(8, "move", lot="OV2", **{"from": "B-02-01", "to": "A-01-01"}, qty="100"),
        m(9, "move", lot="OV1", **{"from": "A-01-01", "to": "B-02-01"}, qty="9"),
    ]


PUSHES = {  # which mutations of the queue go into each push, in the order sent
    "once": [range(9)],
    "three times": [range(9)] * 3,
    "overlapping halves": [range(0, 5), range(2, 9)],
    "overlapping, shuffled, retried": [[3, 0, 1, 2], [8, 7, 6, 5, 4, 3, 2], range(9), [5, 1], range(9)],
    "one at a time, twice": [[i] for i in range(9)] * 2,
}


@pytest.mark.parametrize("pattern", list(PUSHES))
def test_repeated_and_overlapping_pushes_leave_the_ledger_as_one_push(client, headers, world, pattern):
    """Whatever the retries and overlaps, the ledger is the one-push ledger; repeats answer duplicate."""
    mutations = queue(utcnow() - timedelta(hours=1))
    first: dict[str, dict] = {}
    for indexes in PUSHES[pattern]:
        sent = [mutations[i] for i in indexes]
        for m, result in zip(sent, push(client, headers["worker"], "HH-worker", sent)):
            if m["id"] in first:
                assert_duplicate_of(result, first[m["id"]])
            else:
                assert result["status"] != "duplicate"
                first[m["id"]] = result
    statuses = [first[m["id"]]["status"] for m in mutations]
    assert statuses == ["applied"] * 7 + ["rejected", "applied"], statuses
    assert first[mutations[7]["id"]]["reason"] == "insufficient_stock"
    at = [datetime.fromisoformat(m["at"]) for m in mutations]
    w = ("worker", "HH-worker")
    assert ledger() == sorted([
        ("receive", "FLOUR", "OV1", None, "RCV-1", 10, at[0], *w),
        ("move", "FLOUR", "OV1", "RCV-1", "A-01-01", 4, at[1], *w),
        ("receive", "EGGS", "OV2", None, "RCV-1", 12, at[2], *w),
        ("move", "EGGS", "OV2", "RCV-1", "B-02-01", 12, at[3], *w),
        ("adjust", "FLOUR", "OV1", "A-01-01", None, 1, at[4], *w),
        ("move", "FLOUR", "OV1", "RCV-1", "A-01-01", 6, at[5], *w),
        ("receive", "EGGS", "<generated>", None, "A-01-01", 5, at[6], *w),
        ("move", "FLOUR", "OV1", "A-01-01", "B-02-01", 9, at[8], *w),
    ], key=repr)
    assert balances() == [("<generated>", "A-01-01", 5), ("OV1", "B-02-01", 9), ("OV2", "B-02-01", 12)]
    assert sorted(o.mutation_id for o in outcomes("HH-worker")) == sorted(m["id"] for m in mutations)
    assert_consistent()


def test_the_same_push_three_times_changes_nothing_more(client, headers, base, actor):
    """Second and third push of a batch (a pick among them) answer duplicate with the first results."""
    receive(actor, "L2", expires=base.expires, at=utcnow() - timedelta(days=2), location="B-02-01")
    batch = [
        mutation("pick", {"task": base.task, "scan": "L2", "location": "B-02-01", "qty": "10"}, 1),
        mutation("receive", {"item": "EGGS", "lot": "E7", "qty": "3", "location": "RCV-1"}, 2),
        mutation("move", {"lot": "E7", "from": "RCV-1", "to": "B-02-01", "qty": "2"}, 3),
        mutation("count", {"lot": "L1", "location": "B-02-01", "qty": "2"}, 4),
        {"id": str(uuid.uuid4()), "seq": 5, "type": "move", "at": utcnow().isoformat(), "args": {"qty": "x"}},
    ]
    first = push(client, headers["worker"], "HH-worker", batch)
    after_one = (state(), ledger())
    assert [r["status"] for r in first] == ["flagged", "applied", "applied", "applied", "rejected"]
    for _ in range(2):
        again = push(client, headers["worker"], "HH-worker", batch)
        for result, original in zip(again, first):
            assert_duplicate_of(result, original)
        assert (state(), ledger()) == after_one
    assert len(outcomes("HH-worker")) == 5
    assert_consistent()


def test_a_replayed_rejection_stays_rejected_when_it_would_now_succeed(client, headers, l1, actor):
    """A move refused for lack of stock is not retried by a replay after stock arrived: same answer."""
    move = mutation("move", {"lot": "L1", "from": "B-02-01", "to": "A-01-01", "qty": "5"}, 1)
    [first] = push(client, headers["worker"], "HH-worker", [move])
    assert first["reason"] == "insufficient_stock"
    receive(actor, "L1", "5", location="B-02-01")
    before = state()
    [again] = push(client, headers["worker"], "HH-worker", [move])
    assert_duplicate_of(again, first)
    assert state() == before


def test_the_same_id_twice_in_one_push_is_applied_once(client, headers, world):
    """Within one push a repeated id is a duplicate of its first occurrence."""
    recv = mutation("receive", {"item": "EGGS", "lot": "E1", "qty": "6", "location": "RCV-1"}, 1)
    results = push(client, headers["worker"], "HH-worker", [recv, recv, dict(recv, seq=2)])
    assert [r["status"] for r in results] == ["applied", "duplicate", "duplicate"]
    assert on_hand(lot_by_code("E1").id, "RCV-1") == 6


def test_one_outcome_per_mutation_and_device(client, headers, l1):
    """Every mutation id has exactly one stored outcome per device; the same id from another device is another
    mutation (applied again)."""
    shared = str(uuid.uuid4())
    mine = [mutation("move", {"lot": "L1", "from": "A-01-01", "to": "B-02-01", "qty": "1"}, 1, id=shared),
            mutation("move", {"lot": "L1", "from": "A-01-01", "to": "B-02-01", "qty": "99"}, 2),
            mutation("move", {"lot": "L1", "from": "A-01-01", "to": "B-02-01", "qty": "zero"}, 3)]
    for _ in range(3):
        push(client, headers["worker"], "HH-worker", mine)
    [other] = push(client, headers["supervisor"], "HH-supervisor",
                   [mutation("move", {"lot": "L1", "from": "A-01-01", "to": "B-02-01", "qty": "2"}, 1, id=shared)])
    assert other["status"] == "applied"
    rows = db.session.execute(select(Device.name, SyncOutcome.mutation_id, SyncOutcome.status)
                              .join(Device, Device.id == SyncOutcome.device_id)).all()
    assert sorted(rows) == sorted([("HH-worker", shared, "applied"), ("HH-worker", mine[1]["id"], "rejected"),
                                   ("HH-worker", mine[2]["id"], "rejected"), ("HH-supervisor", shared, "applied")])
    assert on_hand(l1.id, "B-02-01") == 3
    assert_consistent()


# === malformed mutations and limits ============================================================

def _without(key: str, in_args: bool = False):
    """Spoil a mutation by leaving out a key (of its args)."""
    def spoil(m: dict) -> dict:
        (m["args"] if in_args else m).pop(key)
        return m
    return spoil


def _with(in_args: bool = False, **changes):
    """Spoil a mutation by setting keys (of its args)."""
    def spoil(m: dict) -> dict:
        (m["args"] if in_args else m).update(changes)
        return m
    return spoil


MALFORMED = {  # name: (how to spoil a valid receive, the field the errors name, is the rejection stored?)
    "missing args": (_without("args"), "args", True),
    "args not an object": (_with(args=["EGGS"]), "args", True),
    "missing qty": (_without("qty", in_args=True), "qty", True),
    "qty not a number": (_with(qty="ten", in_args=True), "qty", True),
    "qty with 7 places": (_with(qty="1.0000001", in_args=True), "qty", True),
    "zero qty": (_with(qty="0", in_args=True), "qty", True),
    "fractional eggs": (_with(qty="1.5", in_args=True), "qty", True),
    "unknown arg": (_with(colour="red", in_args=True), "colour", True),
    "naive at": (_with(at="2026-01-05T10:00:00"), "at", True),
    "at not a time": (_with(at="yesterday"), "at", True),
    "unknown type": (_with(type="teleport"), "type", True),
    "seq a string": (_with(seq="7"), "seq", True),
    "missing id": (_without("id"), "id", False),
    "id too long": (_with(id="x" * 65), "id", False),
    "not an object": (lambda m: "receive 12 eggs", None, False),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_one_malformed_mutation_is_invalid_and_the_rest_apply(client, headers, world, case):
    """The malformed mutation is rejected `invalid` with field errors; the ones around it apply."""
    spoil, field, stored = MALFORMED[case]
    bad = mutation("receive", {"item": "EGGS", "lot": "BAD", "qty": "1", "location": "RCV-1"}, 2)
    bad = spoil(bad)
    batch = [mutation("receive", {"item": "EGGS", "lot": "E1", "qty": "1", "location": "RCV-1"}, 1), bad,
             mutation("receive", {"item": "EGGS", "lot": "E3", "qty": "3", "location": "RCV-1"}, 3)]
    results = push(client, headers["worker"], "HH-worker", batch)
    assert [r["status"] for r in results] == ["applied", "rejected", "applied"]
    assert results[1]["reason"] == "invalid" and results[1]["errors"], results[1]
    if field:
        assert field in results[1]["errors"], results[1]["errors"]
    assert {lot.code for lot in db.session.scalars(select(Lot))} == {"E1", "E3"}
    assert len(outcomes("HH-worker")) == (3 if stored else 2)
    if stored:  # a replay of a stored rejection answers the same
        assert_duplicate_of(push(client, headers["worker"], "HH-worker", [bad])[0], results[1])


def test_1001_mutations_are_refused_whole(client, headers, world):
    """Over 1,000 mutations: a JSON error and nothing applied (not even the first thousand)."""
    batch = [mutation("receive", {"item": "EGGS", "lot": "E1", "qty": "1", "location": "RCV-1"}, i)
             for i in range(1, 1002)]
    before = counts()
    response = post_push(client, headers["worker"], "HH-worker", batch)
    assert response.status_code in (400, 413, 422), response.status_code
    body = response.get_json()
    assert body["code"] == response.status_code and body["error"] and body["message"], body
    assert "mutations" in body["errors"]
    assert counts() == before


def _padded(client, headers, size: int, batch: list):
    """A valid push padded with JSON whitespace to exactly `size` bytes."""
    text = json.dumps({"device": "HH-worker", "mutations": batch})
    return client.post("/api/sync/push", data=text + " " * (size - len(text)), content_type="application/json",
                       headers=headers)


def test_a_body_over_2_mib_is_refused_whole(client, headers, world):
    """2 MiB is accepted; one byte more is a 413 JSON error and nothing is applied."""
    batch = [mutation("receive", {"item": "EGGS", "lot": "E1", "qty": "1", "location": "RCV-1"}, 1)]
    before = counts()
    response = _padded(client, headers["worker"], 2 * 1024 * 1024 + 1, batch)
    assert response.status_code == 413, response.get_data(as_text=True)[:200]
    body = response.get_json()
    assert (body["code"], body["error"]) == (413, "request_entity_too_large") and body["message"]
    assert counts() == before
    response = _padded(client, headers["worker"], 2 * 1024 * 1024, batch)
    assert response.status_code == 200 and response.get_json()["results"][0]["status"] == "applied"


def test_the_push_body_itself_must_be_valid(client, headers, world):
    """No device, mutations not a list, or not JSON: a JSON error, nothing applied."""
    before = counts()
    for body in ({"mutations": []}, {"device": "HH-worker", "mutations": {"a": 1}}, {"device": "HH-worker"}):
        response = client.post("/api/sync/push", json=body, headers=headers["worker"])
        assert response.status_code in (400, 422) and response.get_json()["error"] == "invalid", body
    response = client.post("/api/sync/push", data="[1, 2", content_type="application/json", headers=headers["worker"])
    assert response.status_code == 400 and response.get_json()["code"] == 400
    assert client.post("/api/sync/push", json={"device": "HH-worker", "mutations": []}).status_code == 401
    assert counts() == before
    assert push(client, headers["worker"], "HH-worker", []) == []


# === judged at the floor's time ================================================================

@pytest.fixture
def expiring(world, actor, boss):
    """Lot LD expiring yesterday (D), allocated on D to an order of 10: the offline-before-midnight case."""
    day = today() - timedelta(days=1)
    lot = receive(actor, "LD", expires=day, at=utc(day - timedelta(days=3), 9))
    so = order(boss, "10", at=utc(day, 8))
    assert task(so.tasks[0]).lot_id == lot
    return namedtuple("Expiring", "day lot task")(day, lot, so.tasks[0])


def test_pick_before_midnight_on_the_expiry_day_pushed_the_next_day_is_applied(client, headers, expiring):
    """Picked offline at 23:59 on the expiry day, pushed today: applied, and the ledger keeps the floor time."""
    at = utc(expiring.day, 23, 59)
    result = one(client, headers["worker"], "HH-worker", "pick",
                 {"task": expiring.task, "scan": gs1("LD", expiring.day), "qty": "10"}, at=at)
    assert (result["status"], result["reason"]) == ("applied", None), result
    assert movements_of(result)[0].happened_at == at and task(expiring.task).picked_at == at
    assert db.session.scalars(select(SyncOutcome)).one().happened_at == at
    assert_consistent()


def test_pick_after_midnight_following_the_expiry_day_is_lot_expired(client, headers, expiring):
    """The same pick done at 00:00 the day after expiry is lot_expired."""
    result = one(client, headers["worker"], "HH-worker", "pick", {"task": expiring.task, "scan": "LD", "qty": "10"},
                 at=utc(expiring.day + timedelta(days=1)))
    assert (result["status"], result["reason"]) == ("rejected", "lot_expired")


def test_a_future_at_is_judged_as_now(client, headers, world, actor, boss):
    """`at` three days ahead (a wrong device clock): judged and recorded as now, so a lot expiring today is
    still valid and the ledger never holds a time later than the server's clock."""
    receive(actor, "LT", expires=today(), at=utcnow() - timedelta(days=1))
    so = order(boss, "10")
    pushed = utcnow()
    results = push(client, headers["worker"], "HH-worker", [
        mutation("pick", {"task": so.tasks[0], "scan": "LT", "qty": "10"}, 1, at=utcnow() + timedelta(days=3)),
        mutation("receive", {"item": "EGGS", "lot": "EF", "qty": "1", "location": "RCV-1"}, 2,
                 at=utcnow() + timedelta(days=3)),
    ])
    assert [r["status"] for r in results] == ["applied", "applied"], results
    for result in results:
        [movement] = movements_of(result)
        assert pushed <= movement.happened_at <= utcnow()
    assert lot_by_code("EF").received_at <= utcnow()


def test_status_is_judged_at_the_floor_time(client, headers, base):
    """A lot put on hold after an offline pick happened does not spoil the pick; a pick after the hold does."""
    sup = headers["supervisor"]
    response = client.post(f"/api/lots/{base.l1}/quarantine", headers=sup,
                           json={"reason": "lab", "at": (utcnow() - timedelta(hours=1)).isoformat()})
    assert response.status_code == 200, response.get_json()
    late = one(client, headers["worker"], "HH-worker", "pick", {"task": base.task, "scan": "L1", "qty": "4"},
               at=utcnow() - timedelta(minutes=30))
    early = one(client, headers["worker"], "HH-worker", "pick", {"task": base.task, "scan": "L1", "qty": "4"},
                seq=2, at=utcnow() - timedelta(hours=2))
    assert (late["status"], late["reason"]) == ("rejected", "lot_on_hold")
    assert (early["status"], early["reason"]) == ("applied", None)
    assert_consistent()


# === who =======================================================================================

def test_supervisor_uploads_the_queue_another_user_recorded(client, headers, base, users):
    """A supervisor's token pushes HH-worker's queue; the movements are the worker's, from HH-worker."""
    results = push(client, headers["supervisor"], "HH-worker", [
        mutation("receive", {"item": "EGGS", "lot": "E1", "qty": "6", "location": "RCV-1", "actor": "worker"}, 1),
        mutation("pick", {"task": base.task, "scan": "L1", "qty": "10", "actor": "worker"}, 2),
        mutation("move", {"lot": "E1", "from": "RCV-1", "to": "A-01-01", "qty": "6"}, 3),  # the supervisor's own
    ])
    assert [r["status"] for r in results] == ["applied"] * 3
    made = [m for r in results for m in movements_of(r)]
    assert [(m.actor.username, m.device) for m in made] == [
        ("worker", "HH-worker"), ("worker", "HH-worker"), ("supervisor", "HH-worker")]
    assert task(base.task).picked_by.username == "worker"
    rows = outcomes("HH-worker")
    assert [(o.actor_id, o.pushed_by_id) for o in rows] == [
        (users["worker"].id, users["supervisor"].id), (users["worker"].id, users["supervisor"].id),
        (users["supervisor"].id, users["supervisor"].id)]
    # the worker's own device later pushes the same queue: already done
    again = push(client, headers["worker"], "HH-worker", [mutation("receive", {}, 1, id=results[0]["id"])])
    assert_duplicate_of(again[0], results[0])
    assert_consistent()


def test_a_worker_may_not_push_another_devices_queue(client, headers, l1):
    """A worker's token is bound to its device: another device's queue is a 403 JSON error, nothing applied."""
    before = counts()
    response = post_push(client, headers["worker"], "HH-supervisor",
                         [mutation("move", {"lot": "L1", "from": "A-01-01", "to": "B-02-01", "qty": "1"}, 1)])
    assert response.status_code == 403
    body = response.get_json()
    assert (body["code"], body["error"]) == (403, "forbidden") and body["message"]
    assert counts() == before


def test_a_worker_may_not_record_in_someone_elses_name(client, headers, l1):
    """args.actor naming another user from a worker's token is rejected `forbidden`; naming oneself is fine."""
    results = push(client, headers["worker"], "HH-worker", [
        mutation("move", {"lot": "L1", "from": "A-01-01", "to": "B-02-01", "qty": "1", "actor": "supervisor"}, 1),
        mutation("move", {"lot": "L1", "from": "A-01-01", "to": "B-02-01", "qty": "2", "actor": "worker"}, 2),
    ])
    assert [(r["status"], r["reason"]) for r in results] == [("rejected", "forbidden"), ("applied", None)]
    assert on_hand(l1.id, "B-02-01") == 2  # the forbidden move of 1 left no trace
    assert [(m.actor.username, m.qty) for m in db.session.scalars(select(Movement).where(Movement.type == "move"))] == [
        ("worker", 2)]
    assert_consistent()


def test_a_supervisor_may_not_upload_in_the_name_of_an_unknown_user(client, headers, l1):
    """args.actor naming nobody (or an inactive user) is rejected and records nothing."""
    db.session.add(User(username="gone", role=Role.worker, password_hash="x", active=False))
    db.session.commit()
    before = state()
    results = push(client, headers["supervisor"], "HH-worker", [
        mutation("move", {"lot": "L1", "from": "A-01-01", "to": "B-02-01", "qty": "1", "actor": name}, seq)
        for seq, name in ((1, "nobody"), (2, "gone"))])
    assert [r["status"] for r in results] == ["rejected", "rejected"], results
    assert state() == before


# === conflicts between devices =================================================================

def test_two_devices_pick_the_same_task_the_second_gets_task_closed(client, headers, base, worker2):
    """The server's commit order decides: the second device's pick of the task is task_closed."""
    first = one(client, headers["worker"], "HH-worker", "pick", {"task": base.task, "scan": "L1", "qty": "10"})
    second = one(client, worker2, "HH-02", "pick", {"task": base.task, "scan": "L1", "qty": "10"},
                 at=utcnow() - timedelta(minutes=5))  # done earlier on the floor, but committed second
    assert (first["status"], second["status"], second["reason"]) == ("applied", "rejected", "task_closed")
    assert task(base.task).picked_by.username == "worker"
    assert_consistent()


def test_two_devices_take_the_last_units_the_second_gets_insufficient_stock(client, headers, l1, worker2):
    """Two devices each move the last 10 units: the second is insufficient_stock."""
    args = {"scan": "L1", "from": "A-01-01", "to": "B-02-01", "qty": "10"}
    first = one(client, headers["worker"], "HH-worker", "move", args)
    second = one(client, worker2, "HH-02", "move", {**args, "to": "RCV-1"})
    assert (first["status"], second["status"], second["reason"]) == ("applied", "rejected", "insufficient_stock")
    assert (on_hand(l1.id, "B-02-01"), on_hand(l1.id, "RCV-1")) == (10, 0)
    assert_consistent()


def test_a_pick_takes_units_another_device_moved_away(client, headers, base, worker2):
    """Reserved units cannot be moved away from under an open task; the pick still succeeds."""
    moved = one(client, worker2, "HH-02", "move", {"scan": "L1", "from": "A-01-01", "to": "B-02-01", "qty": "1"})
    picked = one(client, headers["worker"], "HH-worker", "pick", {"task": base.task, "scan": "L1", "qty": "10"})
    assert (moved["reason"], picked["status"]) == ("insufficient_stock", "applied")
    assert_consistent()


# === pull ======================================================================================

KINDS = ("items", "locations", "lots", "tasks")


def by_id(rows: list[dict]) -> dict[int, dict]:
    """Rows keyed by id."""
    return {row["id"]: row for row in rows}


def test_full_pull_gives_everything_a_device_needs_offline(client, headers, base, actor):
    """Without a cursor: active items and locations, stocked lots with status/expiry/stock, open tasks."""
    receive(actor, "E1", "12", item="EGGS", location="B-02-01")
    masterdata.create(db.session, Location, dict(code="OLD-1", kind="storage", active=False))
    db.session.commit()
    body = pull(client, headers["worker"])
    assert body["full"] is True and body["cursor"] and body["removed"] == {}
    app_config = client.application.config
    assert body["site"] == {"timezone": app_config["LOTWISE_TIMEZONE"], "currency": app_config["LOTWISE_CURRENCY"],
                            "gs_substitute": app_config["LOTWISE_GS_SUBSTITUTE"]}
    assert [i["sku"] for i in body["items"]] == ["FLOUR", "EGGS"]
    assert by_id(body["items"])[1] == {"id": 1, "sku": "FLOUR", "name": "Wheat flour", "gtin": GTIN, "uom": "KGM",
                                       "pick_policy": "fefo", "shelf_life_days": 180}
    assert [loc["code"] for loc in body["locations"]] == ["RCV-1", "A-01-01", "B-02-01", "STAGE-1", "QRT-1"]
    assert {(lot["code"], lot["status"], lot["expires_on"]) for lot in body["lots"]} == {
        ("L1", "available", base.expires.isoformat()), ("E1", "available", (today() + timedelta(days=28)).isoformat())}
    assert by_id(body["lots"])[base.l1]["stock"] == {"A-01-01": "10"}
    [open_task] = body["tasks"]
    assert {k: open_task[k] for k in ("id", "status", "lot", "lot_code", "from", "to", "qty", "picked_qty")} == {
        "id": base.task, "status": "open", "lot": base.l1, "lot_code": "L1", "from": "A-01-01", "to": "STAGE-1",
        "qty": "10", "picked_qty": None}
    assert open_task["pick_list"].startswith("PL-") and open_task["pick_list_id"] == base.order.pick_list


def test_incremental_pull_shows_what_pushes_changed(client, headers, base, actor, boss, worker2):
    """After pushes, a pull with the earlier cursor: the new lot, changed stock, the user's own pick with its
    new status, another user's pick and an emptied lot among the removed ids."""
    receive(actor, "L9", "3", expires=base.expires + timedelta(days=60), location="B-02-01")
    other = order(boss, "3")  # takes L9 (L1 is all reserved)
    assert task(other.tasks[0]).lot.code == "L9"
    e0 = receive(actor, "E0", "4", item="EGGS", location="B-02-01")
    full = pull(client, headers["worker"])
    assert e0 in by_id(full["lots"])
    cursor = full["cursor"]
    results = push(client, headers["worker"], "HH-worker", [
        mutation("receive", {"item": "EGGS", "lot": "E5", "qty": "12", "location": "RCV-1"}, 1),
        mutation("move", {"lot": "E5", "from": "RCV-1", "to": "A-01-01", "qty": "5"}, 2),
        mutation("pick", {"task": base.task, "scan": "L1", "qty": "10"}, 3),
        mutation("count", {"lot": "E0", "location": "B-02-01", "qty": "0"}, 4),  # none left: the lot is gone
    ])
    assert [r["status"] for r in results] == ["applied"] * 4
    assert one(client, worker2, "HH-02", "pick", {"task": other.tasks[0], "scan": "L9", "qty": "3"})["status"] == (
        "applied")
    body = pull(client, headers["worker"], cursor)
    assert body["full"] is False and body["cursor"] != cursor
    lots = {lot["code"]: lot for lot in body["lots"]}
    assert lots["E5"]["stock"] == {"RCV-1": "7", "A-01-01": "5"}
    assert lots["L1"]["stock"] == {"STAGE-1": "10"}  # moved to staging by the pick
    assert lots["L9"]["stock"] == {"STAGE-1": "3"}
    mine = by_id(body["tasks"])[base.task]
    assert (mine["status"], mine["picked_qty"]) == ("picked", "10")
    assert other.tasks[0] in body["removed"]["tasks"]  # picked by someone else: no longer the worker's business
    assert e0 in body["removed"]["lots"] and e0 not in by_id(body["lots"])
    # the worker's pick of L1 confirmed and shipped later: the emptied lot and the shipped task go away
    cursor = body["cursor"]
    picking.confirm_one(db.session, boss, task=base.task)
    db.session.commit()
    shipping.ship(db.session, boss, order=base.order.id)
    db.session.commit()
    body = pull(client, headers["worker"], cursor)
    assert base.l1 in body["removed"]["lots"] and base.l1 not in by_id(body["lots"])
    assert base.task in body["removed"]["tasks"]
    assert_consistent()


def test_incremental_pull_removes_deactivated_master_data_and_held_status_shows(client, headers, l1, users, boss):
    """Deactivated items and locations are removed; a status change reaches the device."""
    cursor = pull(client, headers["worker"])["cursor"]
    eggs = db.session.scalar(select(Item.id).where(Item.sku == "EGGS"))
    qrt = db.session.scalar(select(Location.id).where(Location.code == "QRT-1"))
    masterdata.update(db.session, Item, eggs, {"active": False})
    masterdata.update(db.session, Location, qrt, {"active": False})
    lot_rules.set_status(db.session, boss, lot=l1.id, status=LotStatus.quarantine, reason="lab")
    db.session.commit()
    body = pull(client, headers["worker"], cursor)
    assert eggs in body["removed"]["items"] and qrt in body["removed"]["locations"]
    assert by_id(body["lots"])[l1.id]["status"] == "quarantine"
    full = pull(client, headers["worker"])
    assert eggs not in by_id(full["items"]) and qrt not in by_id(full["locations"])


@pytest.mark.parametrize("cursor", ["garbage!", "djJ8MjAyNi0wMS0wMVQwMDowMDowMCswMDowMA==",  # v2|…
                                    "djF8bm90IGEgdGltZQ==", "x" * 201])  # v1|not a time; too long
def test_a_bad_cursor_is_a_400_json_error(client, headers, world, cursor):
    """A cursor this server did not make: 400 invalid_cursor (pull again without one)."""
    response = client.get("/api/sync/pull", query_string={"cursor": cursor}, headers=headers["worker"])
    body = response.get_json()
    assert response.status_code in (400, 422), body
    assert body["code"] == response.status_code and body["error"] in ("invalid_cursor", "invalid")
    if len(cursor) <= 200:
        assert (response.status_code, body["error"]) == (400, "invalid_cursor")


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00"],
                         ids=["year-1", "far-future"])
def test_a_well_formed_cursor_for_an_impossible_moment_is_invalid(client, headers, l1, moment):
    """A v1 cursor this server cannot have made (before its time, after its clock) is 400 invalid_cursor."""
    cursor = base64.urlsafe_b64encode(f"v1|{moment}".encode()).decode()
    response = client.get("/api/sync/pull", query_string={"cursor": cursor}, headers=headers["worker"])
    assert (response.status_code, response.get_json()["error"]) == (400, "invalid_cursor"), response.get_json()


def test_pull_needs_a_token(client, world):
    """No token, no data."""
    response = client.get("/api/sync/pull")
    assert (response.status_code, response.get_json()["error"]) == (401, "unauthorized")


# --- property: incremental pulls converge to a full pull ---------------------------------------

STORAGE = ("A-01-01", "B-02-01", "RCV-1", "C-03-01")
SKUS = ("FLOUR", "EGGS", "SALT")
operations = st.one_of(
    st.tuples(st.just("receive"), st.sampled_from(SKUS), st.sampled_from(STORAGE), st.integers(1, 12)),
    st.tuples(st.just("move"), st.integers(0, 99), st.sampled_from(STORAGE), st.integers(1, 12)),
    st.tuples(st.just("order"), st.sampled_from(SKUS), st.integers(1, 15)),
    st.tuples(st.just("pick"), st.integers(0, 99), st.sampled_from(("worker", "supervisor")),
              st.sampled_from(("all", "part", "other lot"))),
    st.tuples(st.just("decide"), st.integers(0, 99), st.booleans()),
    st.tuples(st.just("status"), st.integers(0, 99)),
    st.tuples(st.just("item active"), st.sampled_from(SKUS), st.booleans()),
    st.tuples(st.just("location active"), st.sampled_from(STORAGE), st.booleans()),
    st.just(("pull",)),
)


SEED = [("receive", "FLOUR", "A-01-01", 10), ("receive", "EGGS", "B-02-01", 12), ("receive", "SALT", "C-03-01", 8),
        ("order", "FLOUR", 4), ("order", "EGGS", 6)]  # so that every example has stock and tasks to work on


class Floor:
    """Runs random operations: pushes from two devices and office work through the domain."""

    def __init__(self, client, headers, boss):
        self.client, self.headers, self.boss = client, headers, boss
        self.seq = 0

    def push(self, who: str, type_: str, args: dict) -> dict:
        """One mutation from `who`'s own device (HH-worker or HH-supervisor)."""
        self.seq += 1
        result = one(self.client, self.headers[who], f"HH-{who}", type_, args, seq=self.seq)
        event(f"{type_}: {result['status']} {result['reason'] or ''}")
        return result

    def office(self, work) -> None:
        """Office work through the domain; a refusal changes nothing."""
        try:
            work()
            db.session.commit()
        except DomainError:
            db.session.rollback()

    def stocked(self) -> list[Balance]:
        """Balances with stock on hand, in a stable order."""
        db.session.expire_all()
        return db.session.scalars(select(Balance).where(Balance.on_hand > 0)
                                  .order_by(Balance.lot_id, Balance.location_id)).all()

    def tasks(self, status: TaskStatus) -> list[PickTask]:
        """Tasks in a status, in a stable order."""
        db.session.expire_all()
        return db.session.scalars(select(PickTask).where(PickTask.status == status).order_by(PickTask.id)).all()

    def run(self, op: tuple) -> None:
        """Do one operation; indexes pick among what exists now (modulo), so every operation is meaningful."""
        kind, *args = op
        if kind == "receive":
            sku, location, qty = args
            self.push("worker", "receive", {"item": sku, "qty": str(qty), "location": location})
        elif kind == "move" and self.stocked():
            index, to, qty = args
            balance = self.stocked()[index % len(self.stocked())]
            self.push("worker", "move", {"lot": balance.lot_id, "from": balance.location.code, "to": to,
                                         "qty": str(qty)})
        elif kind == "order":
            sku, qty = args
            self.office(lambda: order(self.boss, qty, item=sku))
        elif kind == "pick" and self.tasks(TaskStatus.open):
            index, who, how = args
            open_tasks = self.tasks(TaskStatus.open)
            row = open_tasks[index % len(open_tasks)]
            lot, where, qty = row.lot, row.from_location.code, row.qty
            if how == "part" and qty > 1:
                qty = qty // 2
            elif how == "other lot":
                others = [b for b in self.stocked() if b.lot.item_id == row.item_id and b.lot_id != row.lot_id
                          and b.location.kind.value == "storage"]
                if others:
                    lot, where, qty = others[0].lot, others[0].location.code, min(qty, others[0].on_hand)
            self.push(who, "pick", {"task": row.id, "scan": label(lot.item.sku, lot.code), "location": where,
                                    "qty": str(qty)})
        elif kind == "decide":
            index, approve = args
            flagged = [t for t in self.tasks(TaskStatus.exception) if t.picked_qty is not None]
            if flagged:
                decide = picking.approve if approve else picking.reject
                self.office(lambda: decide(db.session, self.boss, task=flagged[index % len(flagged)].id, reason="ok"))
        elif kind == "status":
            lots = db.session.scalars(select(Lot).order_by(Lot.id)).all()
            if lots:
                lot = lots[args[0] % len(lots)]
                new = LotStatus.available if lot.status == LotStatus.quarantine else LotStatus.quarantine
                self.office(lambda: lot_rules.set_status(db.session, self.boss, lot=lot.id, status=new, reason="qc"))
        elif kind == "item active":
            sku, active = args
            item_id = db.session.scalar(select(Item.id).where(Item.sku == sku))
            self.office(lambda: masterdata.update(db.session, Item, item_id, {"active": active}))
        elif kind == "location active":
            code, active = args
            location_id = db.session.scalar(select(Location.id).where(Location.code == code))
            self.office(lambda: masterdata.update(db.session, Location, location_id, {"active": active}))


def apply_pull(local: dict, body: dict) -> None:
    """What a device does with a pull: upsert rows by id, delete removed ids."""
    for kind in KINDS:
        for row in body[kind]:
            local[kind][row["id"]] = row
        for removed in body["removed"].get(kind, []):
            local[kind].pop(removed, None)


def full_copy(body: dict) -> dict:
    """A full pull as the device's local store."""
    assert body["full"] is True
    return {kind: by_id(body[kind]) for kind in KINDS}


@pytest.mark.parametrize("overlap", ["2 minutes", "none"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(ops=st.lists(operations, min_size=1, max_size=25))
def test_incremental_pulls_converge_to_a_full_pull(client, headers, world, boss, monkeypatch, overlap, ops):
    """A device applying every incremental pull ends with exactly what a fresh full pull gives.

    With OVERLAP 0 the deltas are exact, so a change that does not stamp updated_at would be missed.
    """
    if overlap == "none":
        monkeypatch.setattr(sync.pull, "OVERLAP", timedelta(0))
    if db.session.scalar(select(Location.id).where(Location.code == "C-03-01")) is None:
        masterdata.create(db.session, Location, dict(code="C-03-01", kind="storage"))
        masterdata.create(db.session, Item, dict(sku="SALT", name="Salt", uom="KGM"))
    for model in (Item, Location):  # examples share the database: start each with everything active
        for row in db.session.scalars(select(model).where(model.active.is_(False))):
            row.active = True
    db.session.commit()
    worker = headers["worker"]
    first = pull(client, worker)
    local, cursor = full_copy(first), first["cursor"]
    floor = Floor(client, headers, boss)
    for op in SEED + ops + [("pull",)]:
        if op == ("pull",):
            body = pull(client, worker, cursor)
            apply_pull(local, body)
            cursor = body["cursor"]
        else:
            floor.run(op)
    assert local == full_copy(pull(client, worker))
    assert_consistent()


# === devices ===================================================================================

def test_devices_show_last_push_last_pull_and_outcomes(client, headers, l1):
    """Supervisors see each device's last push and pull and its mutations counted by outcome."""
    started = utcnow()
    push(client, headers["worker"], "HH-worker", [
        mutation("move", {"lot": "L1", "from": "A-01-01", "to": "B-02-01", "qty": "1"}, 1),
        mutation("move", {"lot": "L1", "from": "A-01-01", "to": "B-02-01", "qty": "2"}, 2),
        mutation("move", {"lot": "L1", "from": "A-01-01", "to": "B-02-01", "qty": "99"}, 3),
        mutation("move", {"lot": "L1", "from": "A-01-01", "to": "B-02-01"}, 4),
    ])
    pull(client, headers["supervisor"])
    response = client.get("/api/devices", headers=headers["supervisor"])
    assert response.status_code == 200
    devices = {d["name"]: d for d in response.get_json()}
    assert set(devices) == {"HH-worker", "HH-supervisor"}
    hh = devices["HH-worker"]
    assert hh["outcomes"] == {"applied": 2, "rejected": 2}
    assert started <= datetime.fromisoformat(hh["last_push_at"]) <= utcnow() and hh["last_pull_at"] is None
    assert hh["last_user"] == "worker" and hh["registered_at"]
    sup = devices["HH-supervisor"]
    assert sup["outcomes"] == {} and sup["last_push_at"] is None
    assert started <= datetime.fromisoformat(sup["last_pull_at"]) <= utcnow()
    assert client.get("/api/devices", headers=headers["admin"]).status_code == 200
    forbidden = client.get("/api/devices", headers=headers["worker"])
    assert (forbidden.status_code, forbidden.get_json()["error"]) == (403, "forbidden")


def test_a_device_is_registered_on_first_sign_in(client, users):
    """POST /api/auth/token with a new device name registers it, once."""
    for _ in range(2):
        response = client.post("/api/auth/token", json={"username": "worker", "password": "secret-pw",
                                                        "device": "HH-NEW-7"})
        assert response.status_code == 200, response.get_json()
    [device] = db.session.scalars(select(Device)).all()
    assert (device.name, device.registered_by.username, device.last_push_at, device.last_pull_at) == (
        "HH-NEW-7", "worker", None, None)
    token = client.post("/api/auth/token", json={"username": "supervisor", "password": "secret-pw",
                                                 "device": "HH-sup"}).get_json()["token"]
    listed = client.get("/api/devices", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert [d["name"] for d in listed] == ["HH-NEW-7", "HH-sup"]
    assert listed[0]["outcomes"] == {} and listed[0]["last_user"] == "worker"


# === one bad mutation never blocks the ones after it ===========================================

@pytest.mark.parametrize("seq", [2**63, -(2**70)])
def test_a_malformed_mutation_with_a_huge_seq_does_not_block_the_push(client, headers, world, seq):
    """seq beyond 64 bits is `invalid`; the valid mutation after it applies."""
    results = push(client, headers["worker"], "HH-worker", [
        mutation("receive", {"item": "EGGS", "lot": "E1", "qty": "1", "location": "RCV-1"}, seq),
        mutation("receive", {"item": "EGGS", "lot": "E2", "qty": "1", "location": "RCV-1"}, 2)])
    assert [(r["status"], r["reason"]) for r in results] == [("rejected", "invalid"), ("applied", None)]
    assert "seq" in results[0]["errors"]


@pytest.mark.parametrize("spoil", [
    _with(id="M-\x00-1"), _with(reference="DN\x001", in_args=True), _with(supplier_lot="S\x001", in_args=True),
    _with(item="EG\x00GS", in_args=True), _with(type="rec\x00eive"),
], ids=["id", "reference", "supplier_lot", "item", "type"])
def test_a_nul_character_does_not_block_the_push(client, headers, world, spoil):
    """A NUL in a string (PostgreSQL cannot store or even compare one) is answered, and the rest applies."""
    bad = spoil(mutation("receive", {"item": "EGGS", "lot": "E1", "qty": "1", "location": "RCV-1"}, 1))
    response = post_push(client, headers["worker"], "HH-worker",
                         [bad, mutation("receive", {"item": "EGGS", "lot": "E2", "qty": "1", "location": "RCV-1"}, 2)])
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert results[0]["status"] in ("applied", "rejected") and results[1]["status"] == "applied"


def test_stock_beyond_what_a_balance_can_hold_is_rejected_not_fatal(client, headers, world):
    """Ten receipts of 10^12 into one lot and place: the tenth is refused, the receipt after it applies."""
    batch = [mutation("receive", {"item": "FLOUR", "lot": "BIG", "qty": "1000000000000", "location": "RCV-1"}, seq)
             for seq in range(1, 11)]
    batch.append(mutation("receive", {"item": "EGGS", "lot": "E1", "qty": "1", "location": "RCV-1"}, 11))
    results = push(client, headers["worker"], "HH-worker", batch)
    assert [r["status"] for r in results] == ["applied"] * 9 + ["rejected", "applied"]
    assert on_hand(lot_by_code("BIG").id, "RCV-1") == D(9 * 10**12)
    assert_consistent()


@pytest.mark.parametrize("type_", ["move", "count"])
def test_a_lot_code_agreeing_with_a_full_label_is_not_ambiguous(client, headers, l1, actor, type_):
    """The label (01)+(10) names FLOUR's L1; the code arg L1 agrees with it even though EGGS has an L1 too."""
    receive(actor, "L1", "12", item="EGGS")
    args = {"scan": gs1("L1", l1.expires), "lot": "L1", "qty": "1"}
    args |= {"from": "A-01-01", "to": "B-02-01"} if type_ == "move" else {"location": "A-01-01"}
    result = one(client, headers["worker"], "HH-worker", type_, args)
    assert (result["status"], result["lot"]) == ("applied", {"id": l1.id, "code": "L1"}), result
