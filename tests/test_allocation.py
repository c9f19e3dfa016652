"""Allocation: FEFO/FIFO order, splitting, shortfalls, expiry boundary, held lots, reservations, concurrency."""
import threading
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backend.domain import Actor, allocation, masterdata, orders, stock
from backend.domain.scans import interpret
from backend.models import (
    Balance, Item, Location, Lot, LotStatus, PickPolicy, PickTask, SalesOrderLine, TaskStatus, User, db,
)
from tests.conftest import ledger_matches_balances, reservations_match_tasks

UTC = timezone.utc
NOW = datetime.now(UTC)
TODAY = NOW.date()
T0 = NOW - timedelta(days=30)  # a received time comfortably in the past


def put(actor, lot, qty, location="A-01-01", item="FLOUR", at=T0, **kw) -> int:
    """Receive `qty` of a lot (domain function), commit, and return the lot id."""
    movement = stock.receive(db.session, actor, item=item, qty=D(qty), location=location, lot=lot, at=at, **kw)
    db.session.commit()
    return movement.lot_id


def new_item(sku, **kw) -> Item:
    """Create an item and commit."""
    item = masterdata.create(db.session, Item, dict(sku=sku, name=sku.title(), uom="EA") | kw)
    db.session.commit()
    return item


def create_order(client, headers, *lines, role="supervisor"):
    """POST /api/orders for CUS-SHOP with (sku, qty) lines; returns the response."""
    body = {"customer": "CUS-SHOP", "lines": [{"item": sku, "qty": str(qty)} for sku, qty in lines]}
    return client.post("/api/orders", json=body, headers=headers[role])


def order_of(client, headers, *lines) -> dict:
    """A new order's JSON (created by the supervisor)."""
    response = create_order(client, headers, *lines)
    assert response.status_code == 201, response.json
    return response.json


def allocate(client, headers, order_id, action="allocate", role="supervisor"):
    """POST /api/orders/<id>/allocate (or reallocate) to STAGE-1; returns the response."""
    return client.post(f"/api/orders/{order_id}/{action}", json={"staging": "STAGE-1"}, headers=headers[role])


def allocated(client, headers, order_id, action="allocate") -> dict:
    """Allocate an order, expecting 201; returns the JSON."""
    response = allocate(client, headers, order_id, action)
    assert response.status_code == 201, response.json
    return response.json


def tasks(order_id) -> list[tuple[str, str, D]]:
    """(lot code, from-location code, qty) of the order's open tasks, in allocation order."""
    db.session.expire_all()
    rows = db.session.scalars(select(PickTask).join(SalesOrderLine).where(
        SalesOrderLine.order_id == order_id, PickTask.status == TaskStatus.open).order_by(PickTask.id))
    return [(t.lot.code, t.from_location.code, t.qty) for t in rows]


def stock_rows(client, headers, sku="FLOUR") -> dict:
    """GET /api/stock for an item: {(lot code, location): (on_hand, reserved, free)}."""
    data = client.get(f"/api/stock?item={sku}", headers=headers["worker"]).json["data"]
    return {(r["lot"]["code"], r["location"]): (D(r["on_hand"]), D(r["reserved"]), D(r["free"])) for r in data}


def assert_consistent() -> None:
    """Reservations equal what open tasks hold, and balances equal their ledger."""
    db.session.expire_all()
    assert reservations_match_tasks(db.session) == []
    assert ledger_matches_balances(db.session) == []


# --- FEFO and FIFO ordering ----------------------------------------------------------------------

def test_fefo_takes_the_earliest_expiry_first(client, headers, world, actor):
    """Lots received in another order are allocated by expiry: earliest first, the last one partly."""
    put(actor, "LATE", 10, expires_on=TODAY + timedelta(days=60), at=T0)
    put(actor, "EARLY", 10, expires_on=TODAY + timedelta(days=10), at=T0 + timedelta(hours=1))
    put(actor, "MID", 10, expires_on=TODAY + timedelta(days=30), at=T0 + timedelta(hours=2))
    order = order_of(client, headers, ("FLOUR", 25))
    result = allocated(client, headers, order["id"])
    assert result["shortfalls"] == {}
    assert tasks(order["id"]) == [("EARLY", "A-01-01", 10), ("MID", "A-01-01", 10), ("LATE", "A-01-01", 5)]
    assert {(t["lot"]["code"], t["qty"]) for t in result["pick_list"]["tasks"]} == {
        ("EARLY", "10"), ("MID", "10"), ("LATE", "5")}
    assert_consistent()


def test_fefo_ties_on_expiry_broken_by_received_time_then_code(client, headers, world, actor):
    """Same expiry: the earlier received lot first; same received time too: by lot code."""
    same = TODAY + timedelta(days=20)
    put(actor, "R-LATER", 10, expires_on=same, at=T0 + timedelta(days=1))
    put(actor, "R-SOONER", 10, expires_on=same, at=T0)
    put(actor, "C-ZULU", 10, expires_on=same, at=T0 + timedelta(days=2))
    put(actor, "C-ALPHA", 10, expires_on=same, at=T0 + timedelta(days=2))
    order = order_of(client, headers, ("FLOUR", 35))
    assert allocated(client, headers, order["id"])["shortfalls"] == {}
    assert [(lot, qty) for lot, _, qty in tasks(order["id"])] == [
        ("R-SOONER", 10), ("R-LATER", 10), ("C-ALPHA", 10), ("C-ZULU", 5)]
    assert_consistent()


def test_fefo_lots_without_expiry_come_last(client, headers, world, actor):
    """A FEFO item's lot with no expiry is used after every dated lot, even when it arrived first."""
    new_item("SALT", pick_policy=PickPolicy.fefo)
    put(actor, "UNDATED", 10, item="SALT", at=T0 - timedelta(days=300))
    put(actor, "FAR", 10, item="SALT", expires_on=TODAY + timedelta(days=5 * 365))
    put(actor, "NEAR", 10, item="SALT", expires_on=TODAY + timedelta(days=400))
    assert db.session.scalar(select(Lot.expires_on).where(Lot.code == "UNDATED")) is None
    order = order_of(client, headers, ("SALT", 25))
    allocated(client, headers, order["id"])
    assert [(lot, qty) for lot, _, qty in tasks(order["id"])] == [("NEAR", 10), ("FAR", 10), ("UNDATED", 5)]
    assert_consistent()


def test_fifo_goes_by_received_time_regardless_of_expiry(client, headers, world, actor):
    """An item without shelf life is FIFO: the oldest receipt first, even when a newer lot expires sooner."""
    item = new_item("BOX")
    assert item.pick_policy == PickPolicy.fifo
    put(actor, "NEWEST", 5, item="BOX", at=T0 + timedelta(days=2), expires_on=TODAY + timedelta(days=3))
    put(actor, "OLDEST", 5, item="BOX", at=T0, expires_on=TODAY + timedelta(days=900))
    put(actor, "MIDDLE", 5, item="BOX", at=T0 + timedelta(days=1))
    order = order_of(client, headers, ("BOX", 12))
    allocated(client, headers, order["id"])
    assert [(lot, qty) for lot, _, qty in tasks(order["id"])] == [("OLDEST", 5), ("MIDDLE", 5), ("NEWEST", 2)]
    assert_consistent()


def test_a_line_splits_across_locations_of_one_lot_and_across_lots(client, headers, world, actor):
    """The first lot is taken from both its storage locations before the next lot is touched."""
    put(actor, "FIRST", 4, location="B-02-01", expires_on=TODAY + timedelta(days=9))
    put(actor, "FIRST", 3, location="A-01-01")
    put(actor, "SECOND", 10, expires_on=TODAY + timedelta(days=19))
    order = order_of(client, headers, ("FLOUR", "9.5"))
    assert allocated(client, headers, order["id"])["shortfalls"] == {}
    assert tasks(order["id"]) == [("FIRST", "A-01-01", 3), ("FIRST", "B-02-01", 4),
                                  ("SECOND", "A-01-01", D("2.5"))]
    assert_consistent()


def test_shortfall_is_reported_and_shown_as_unallocated(client, headers, world, actor):
    """What cannot be allocated is in `shortfalls` (by line id) and the order's `unallocated`."""
    put(actor, "ONLY", 6)
    order = order_of(client, headers, ("FLOUR", 10), ("EGGS", 3))
    flour, eggs = (line["id"] for line in order["lines"])
    response = allocate(client, headers, order["id"])
    assert response.status_code == 201
    assert response.json["shortfalls"] == {str(flour): "4", str(eggs): "3"}
    assert [(t["lot"]["code"], t["qty"]) for t in response.json["pick_list"]["tasks"]] == [("ONLY", "6")]
    lines = client.get(f"/api/orders/{order['id']}", headers=headers["worker"]).json["lines"]
    assert [(line["item"], line["open"], line["unallocated"]) for line in lines] == [
        ("FLOUR", "6", "4"), ("EGGS", "0", "3")]
    assert_consistent()


# --- what is never allocated ---------------------------------------------------------------------

def test_only_stock_in_active_storage_locations_is_allocated(client, headers, world, actor):
    """Receiving, staging, quarantine-kind and inactive storage locations hold stock allocation ignores."""
    lot = put(actor, "SPREAD", 20, location="RCV-1")
    for to, qty in (("STAGE-1", 3), ("QRT-1", 4), ("A-01-01", 5), ("B-02-01", 6)):
        stock.move(db.session, actor, lot=lot, from_location="RCV-1", to_location=to, qty=D(qty))
    db.session.commit()
    db.session.get(Location, world["b"].id).active = False
    db.session.commit()
    order = order_of(client, headers, ("FLOUR", 20))
    result = allocated(client, headers, order["id"])
    assert tasks(order["id"]) == [("SPREAD", "A-01-01", 5)]
    assert result["shortfalls"] == {str(order["lines"][0]["id"]): "15"}
    assert_consistent()


def test_quarantined_and_recalled_lots_are_never_allocated(client, headers, world, actor):
    """Held and recalled lots are skipped; a released lot is allocatable again."""
    held = put(actor, "HELD", 10, expires_on=TODAY + timedelta(days=5))
    recalled = put(actor, "RECALLED", 10, expires_on=TODAY + timedelta(days=6))
    put(actor, "INQRT", 10, location="QRT-1", expires_on=TODAY + timedelta(days=7))
    put(actor, "GOOD", 10, expires_on=TODAY + timedelta(days=90))
    response = client.post(f"/api/lots/{held}/quarantine", json={"reason": "lab check"},
                           headers=headers["supervisor"])
    assert response.status_code == 200
    db.session.get(Lot, recalled).status = LotStatus.recalled  # no recall API yet
    db.session.commit()
    order = order_of(client, headers, ("FLOUR", 15))
    result = allocated(client, headers, order["id"])
    assert tasks(order["id"]) == [("GOOD", "A-01-01", 10)]
    assert result["shortfalls"] == {str(order["lines"][0]["id"]): "5"}
    response = client.post(f"/api/lots/{held}/release", json={"reason": "lab ok"}, headers=headers["supervisor"])
    assert response.status_code == 200
    assert allocated(client, headers, order["id"])["shortfalls"] == {}
    assert tasks(order["id"]) == [("GOOD", "A-01-01", 10), ("HELD", "A-01-01", 5)]
    assert_consistent()


def test_expired_lots_are_not_allocated_but_one_expiring_today_is(client, headers, world, actor):
    """Through the API (site time zone UTC): expired yesterday is skipped, expiring today is used."""
    put(actor, "YESTERDAY", 10, expires_on=TODAY - timedelta(days=1), at=NOW - timedelta(days=20))
    put(actor, "TODAY", 10, expires_on=TODAY, at=NOW - timedelta(days=20))
    order = order_of(client, headers, ("FLOUR", 15))
    result = allocated(client, headers, order["id"])
    assert tasks(order["id"]) == [("TODAY", "A-01-01", 10)]
    assert result["shortfalls"] == {str(order["lines"][0]["id"]): "5"}
    assert_consistent()


# --- the expiry boundary -------------------------------------------------------------------------

D_DAY = date(2026, 6, 15)


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/Los_Angeles", "Pacific/Auckland"])
def test_expiry_day_is_pickable_until_local_midnight(world, actor, zone):
    """A lot expiring on D is a candidate at 23:59:59 local on D and not at 00:00 local on D+1."""
    tz = ZoneInfo(zone)
    lot = put(actor, "EDGE", 10, expires_on=D_DAY, at=datetime(2026, 6, 1, tzinfo=UTC))
    flour = db.session.get(Item, world["flour"].id)
    last = datetime(2026, 6, 15, 23, 59, 59, 999999, tzinfo=tz).astimezone(UTC)
    midnight = datetime(2026, 6, 16, 0, 0, tzinfo=tz).astimezone(UTC)
    assert [c.lot_id for c in allocation.candidates(db.session, flour, last, tz)] == [lot]
    assert allocation.candidates(db.session, flour, midnight, tz) == []
    parts, short = allocation.allocate(db.session, flour, D(4), midnight, tz)
    assert (parts, short) == ([], D(4))
    parts, short = allocation.allocate(db.session, flour, D(4), last, tz)
    assert [(c.lot_id, qty) for c, qty in parts] == [(lot, D(4))] and short == 0
    assert db.session.get(Balance, (lot, world["a"].id)).reserved == D(4)
    db.session.rollback()


def test_the_same_moment_is_day_d_in_utc_and_d_plus_1_in_auckland(world, users):
    """Allocating an order at 12:00 UTC on D: a UTC site still picks the lot, an Auckland site (UTC+12) does not."""
    utc, auckland = Actor(user=users["supervisor"]), Actor(user=users["supervisor"], tz=ZoneInfo("Pacific/Auckland"))
    put(utc, "EDGE", 10, expires_on=D_DAY, at=datetime(2026, 6, 1, tzinfo=UTC))
    moment = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
    assert moment.astimezone(ZoneInfo("Pacific/Auckland")).date() == D_DAY + timedelta(days=1)
    first = orders.create_sales_order(db.session, utc, customer="CUS-SHOP", lines=[{"item": "FLOUR", "qty": D(3)}])
    second = orders.create_sales_order(db.session, utc, customer="CUS-SHOP", lines=[{"item": "FLOUR", "qty": D(3)}])
    _, short = orders.allocate_order(db.session, auckland, order=first.id, staging="STAGE-1", at=moment)
    assert short == {first.lines[0].id: D(3)}
    _, short = orders.allocate_order(db.session, utc, order=second.id, staging="STAGE-1", at=moment)
    assert short == {}
    db.session.commit()
    assert_consistent()


@pytest.mark.parametrize("yymm, last_day", [
    ("2402", date(2024, 2, 29)),  # leap year
    ("2502", date(2025, 2, 28)),
    ("2504", date(2025, 4, 30)),  # 30-day month
    ("2512", date(2025, 12, 31)),
])
def test_gs1_day_00_means_month_end_and_that_day_is_pickable(world, actor, yymm, last_day):
    """AI(17) YYMM00 is the last day of the month; the lot is allocatable on it and not the next day."""
    scan = interpret("]d2" + "01" + "09506000134352" + "17" + yymm + "00" + "10" + "GS1-END")
    assert (scan.gtin, scan.lot, scan.expires_on) == ("09506000134352", "GS1-END", last_day)
    tz = ZoneInfo("Europe/Berlin")
    lot = put(actor, scan.lot, 5, expires_on=scan.expires_on, at=datetime(last_day.year, last_day.month, 1,
                                                                          tzinfo=UTC))
    flour = db.session.get(Item, world["flour"].id)
    on_day = datetime.combine(last_day, datetime.min.time(), tz).replace(hour=23, minute=59)
    next_day = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tz)
    assert [c.lot_id for c in allocation.candidates(db.session, flour, on_day, tz)] == [lot]
    assert allocation.candidates(db.session, flour, next_day, tz) == []
    db.session.rollback()


# --- reservations --------------------------------------------------------------------------------

def test_allocation_reserves_and_a_second_order_cannot_get_the_same_units(client, headers, world, actor):
    """The first order's units are reserved (stock shows reserved/free); the second gets only the rest."""
    put(actor, "L1", 10)
    first = order_of(client, headers, ("FLOUR", 6))
    second = order_of(client, headers, ("FLOUR", 6))
    assert allocated(client, headers, first["id"])["shortfalls"] == {}
    assert stock_rows(client, headers) == {("L1", "A-01-01"): (D(10), D(6), D(4))}
    result = allocated(client, headers, second["id"])
    assert result["shortfalls"] == {str(second["lines"][0]["id"]): "2"}
    assert tasks(second["id"]) == [("L1", "A-01-01", 4)]
    assert stock_rows(client, headers) == {("L1", "A-01-01"): (D(10), D(10), D(0))}
    third = order_of(client, headers, ("FLOUR", 1))
    assert allocated(client, headers, third["id"])["shortfalls"] == {str(third["lines"][0]["id"]): "1"}
    assert_consistent()


def test_cancel_releases_the_reservations(client, headers, world, actor):
    """Cancelling an order cancels its open tasks and frees its units for the next order."""
    put(actor, "L1", 10)
    first = order_of(client, headers, ("FLOUR", 7))
    allocated(client, headers, first["id"])
    response = client.post(f"/api/orders/{first['id']}/cancel", headers=headers["supervisor"])
    assert response.status_code == 200 and response.json["status"] == "cancelled"
    assert tasks(first["id"]) == []
    assert stock_rows(client, headers) == {("L1", "A-01-01"): (D(10), D(0), D(10))}
    assert allocate(client, headers, first["id"]).status_code == 409
    second = order_of(client, headers, ("FLOUR", 10))
    assert allocated(client, headers, second["id"])["shortfalls"] == {}
    assert_consistent()


def test_new_stock_fills_the_shortfall_by_allocate_again_or_reallocate(client, headers, world, actor):
    """Allocating again takes only the open need; reallocating redoes the whole need by FEFO."""
    put(actor, "OLD", 4, expires_on=TODAY + timedelta(days=40))
    order = order_of(client, headers, ("FLOUR", 10))
    line = str(order["lines"][0]["id"])
    assert allocated(client, headers, order["id"])["shortfalls"] == {line: "6"}
    put(actor, "NEW", 3, expires_on=TODAY + timedelta(days=50))
    assert allocated(client, headers, order["id"])["shortfalls"] == {line: "3"}
    assert tasks(order["id"]) == [("OLD", "A-01-01", 4), ("NEW", "A-01-01", 3)]
    put(actor, "SOONER", 10, expires_on=TODAY + timedelta(days=20))
    assert allocated(client, headers, order["id"], "reallocate")["shortfalls"] == {}
    assert tasks(order["id"]) == [("SOONER", "A-01-01", 10)]
    lines = client.get(f"/api/orders/{order['id']}", headers=headers["worker"]).json["lines"]
    assert (lines[0]["open"], lines[0]["unallocated"]) == ("10", "0")
    assert {key: value[1] for key, value in stock_rows(client, headers).items()} == {
        ("SOONER", "A-01-01"): 10, ("OLD", "A-01-01"): 0, ("NEW", "A-01-01"): 0}
    assert_consistent()


def test_allocation_needs_a_staging_location(client, headers, world, actor):
    """Allocating to a storage location is refused and reserves nothing."""
    put(actor, "L1", 10)
    order = order_of(client, headers, ("FLOUR", 2))
    response = client.post(f"/api/orders/{order['id']}/allocate", json={"staging": "A-01-01"},
                           headers=headers["supervisor"])
    assert response.status_code == 422 and response.json["errors"] == {"staging": ["Not staging"]}
    assert stock_rows(client, headers)[("L1", "A-01-01")][1] == 0
    assert_consistent()


def test_worker_cannot_create_or_allocate_orders_supervisor_can(client, headers, world, actor):
    """Creating and allocating orders needs the supervisor role; workers may read them."""
    put(actor, "L1", 10)
    assert create_order(client, headers, ("FLOUR", 1), role="worker").status_code == 403
    order = order_of(client, headers, ("FLOUR", 1))
    assert allocate(client, headers, order["id"], role="worker").status_code == 403
    assert allocate(client, headers, order["id"], action="reallocate", role="worker").status_code == 403
    assert tasks(order["id"]) == []
    assert allocate(client, headers, order["id"]).status_code == 201
    assert client.get(f"/api/orders/{order['id']}", headers=headers["worker"]).status_code == 200
    assert_consistent()


# --- concurrency (PostgreSQL) --------------------------------------------------------------------

ROUNDS = 5


def _allocate_in_thread(app, order_id: int, user_id: int, barrier, results: dict) -> None:
    """Allocate one order in its own app context and session, starting with the other thread."""
    with app.app_context():
        try:
            actor = Actor(user=db.session.get(User, user_id), device=f"HH-{order_id}")
            db.session.commit()
            barrier.wait(timeout=30)
            _, shortfalls = orders.allocate_order(db.session, actor, order=order_id, staging="STAGE-1")
            db.session.commit()
            results[order_id] = shortfalls
        except Exception as exc:  # reported in the main thread
            db.session.rollback()
            results[order_id] = exc
        finally:
            db.session.remove()


def test_concurrent_allocations_never_promise_the_same_units(app, client, headers, world, users, database_url):
    """Two orders racing for the last 10 units: one is fully allocated, the other short by all of it."""
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent allocation needs PostgreSQL row locks; SQLite serialises all writers")
    user_id = users["supervisor"].id
    for round_ in range(ROUNDS):
        supervisor = Actor(user=db.session.get(User, user_id))
        put(supervisor, f"R{round_}", 6, location="A-01-01")
        put(supervisor, f"R{round_}", 4, location="B-02-01")
        pair = [order_of(client, headers, ("FLOUR", 10)) for _ in range(2)]
        lines = {o["id"]: o["lines"][0]["id"] for o in pair}
        db.session.commit()
        db.session.close()  # pass ids, hold no transaction while the threads run
        barrier, results = threading.Barrier(2), {}
        threads = [threading.Thread(target=_allocate_in_thread, args=(app, oid, user_id, barrier, results))
                   for oid in lines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(isinstance(r, Exception) for r in results.values()), results
        outcome = sorted((len(short), oid, short) for oid, short in results.items())
        (_, full, none_short), (_, short_id, short) = outcome
        assert none_short == {} and short == {lines[short_id]: D(10)}, f"round {round_}: {results}"
        assert tasks(full) == [(f"R{round_}", "A-01-01", 6), (f"R{round_}", "B-02-01", 4)]
        assert tasks(short_id) == []
        assert all(b.reserved <= b.on_hand for b in db.session.scalars(select(Balance)))
        assert_consistent()


def _reserve_in_thread(app, item_id: int, barrier, results: list) -> None:
    """Reserve 10 of the item through allocation.allocate in its own session, starting with the other thread."""
    with app.app_context():
        try:
            item = db.session.get(Item, item_id)
            barrier.wait(timeout=30)
            parts, short = allocation.allocate(db.session, item, D(10), datetime.now(UTC), ZoneInfo("UTC"))
            db.session.commit()
            results.append((sum((qty for _, qty in parts), start=D(0)), short))
        except Exception as exc:  # reported in the main thread
            db.session.rollback()
            results.append(exc)
        finally:
            db.session.remove()


def test_concurrent_reservations_of_the_last_units_lock_the_candidates(app, world, users, database_url):
    """Two sessions reserving the last 10 units at once (no pick-list numbering in between): one gets all."""
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent allocation needs PostgreSQL row locks; SQLite serialises all writers")
    user_id, item_id = users["supervisor"].id, world["flour"].id
    for round_ in range(ROUNDS):
        supervisor = Actor(user=db.session.get(User, user_id))
        put(supervisor, f"R{round_}", 6, location="A-01-01")
        put(supervisor, f"R{round_}", 4, location="B-02-01")
        db.session.close()
        barrier, results = threading.Barrier(2), []
        threads = [threading.Thread(target=_reserve_in_thread, args=(app, item_id, barrier, results))
                   for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(results) == [(D(0), D(10)), (D(10), D(0))], f"round {round_}: {results}"
        balances = db.session.scalars(select(Balance).join(Lot).where(Lot.code == f"R{round_}")).all()
        assert sorted((b.on_hand, b.reserved) for b in balances) == [(D(4), D(4)), (D(6), D(6))]
        assert ledger_matches_balances(db.session) == []
