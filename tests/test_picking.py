"""Picking through the REST API: every reason code, scan forms, floor time, partial picks, supervisor decisions."""
from __future__ import annotations

from collections import namedtuple
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from backend.domain import masterdata
from backend.domain.picking import LotView, TaskView, classify
from backend.models import (
    Balance, Item, Location, Lot, LotStatus, Movement, MovementType, PickPolicy, PickTask, TaskStatus, db, utcnow,
)
from tests.conftest import (
    GS, GTIN, gs1, ledger_matches_balances, order, receive, reservations_match_tasks, task, today, utc, yymmdd,
)

UTC = timezone.utc


# --- helpers ----------------------------------------------------------------------------------













def internal(sku: str, lot: str, sep: str = GS) -> str:
    """An internal label for an item without GTIN: (240) SKU, GS, (10) lot."""
    return f"240{sku}{sep}10{lot}"


def pick(client, headers, task: int, scan: str, qty, **extra):
    """POST a pick for a task (`at` may be a datetime)."""
    if isinstance(extra.get("at"), datetime):
        extra["at"] = extra["at"].isoformat()
    return client.post(f"/api/tasks/{task}/pick", json={"scan": scan, "qty": str(qty), **extra}, headers=headers)




def balance(lot_id: int, code: str) -> tuple[D, D]:
    """(on_hand, reserved) of a lot at a location code; zeros when there is no row."""
    db.session.expire_all()
    row = db.session.scalar(select(Balance).join(Location).where(Balance.lot_id == lot_id, Location.code == code))
    return (D(0), D(0)) if row is None else (row.on_hand, row.reserved)


def snapshot() -> dict:
    """Row counts of every table, plus every balance, task and lot status: what a rejection must not change."""
    db.session.expire_all()
    return {
        "counts": {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables},
        "balances": sorted((b.lot_id, b.location_id, b.on_hand, b.reserved)
                           for b in db.session.scalars(select(Balance))),
        "tasks": sorted((t.id, t.status.value, t.qty, t.lot_id, t.from_location_id, t.picked_qty, t.exception_reason)
                        for t in db.session.scalars(select(PickTask))),
        "lots": sorted((lot.id, lot.status.value) for lot in db.session.scalars(select(Lot))),
    }


def assert_consistent() -> None:
    """Ledger equals balances, reservations equal what tasks hold, and nothing is reserved beyond on-hand."""
    db.session.expire_all()
    assert ledger_matches_balances(db.session) == []
    assert reservations_match_tasks(db.session) == []
    assert [b for b in db.session.scalars(select(Balance)) if b.reserved > b.on_hand] == []


def assert_rejected(client, headers, task_id: int, scan: str, qty, reason: str, **extra) -> dict:
    """The pick is refused with a 4xx JSON error naming `reason`, and nothing at all was written."""
    before = snapshot()
    response = pick(client, headers, task_id, scan, qty, **extra)
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == reason, body
    assert body["code"] == response.status_code and body["message"]
    assert snapshot() == before
    assert_consistent()
    return body


def assert_flagged(client, headers, task_id: int, scan: str, qty, reason: str, **extra) -> dict:
    """The pick is recorded (one pick movement) but waits for a supervisor: task in exception with `reason`."""
    response = pick(client, headers, task_id, scan, qty, **extra)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["status"], body["reason"]) == ("flagged", reason)
    assert body["task"]["status"] == "exception" and body["task"]["exception_reason"] == reason
    [movement_id] = body["movements"]
    movement = db.session.get(Movement, movement_id)
    assert movement.type == MovementType.pick and movement.task_id == task_id and movement.qty == D(str(qty))
    assert movement.to_location.code == "STAGE-1"
    assert task(task_id).status == TaskStatus.exception
    assert_consistent()
    return body


def assert_applied(client, headers, task_id: int, scan: str, qty, **extra) -> dict:
    """The pick is applied: task picked, one pick movement to staging."""
    response = pick(client, headers, task_id, scan, qty, **extra)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["status"], body["reason"]) == ("applied", None), body
    assert body["task"]["status"] == "picked" and len(body["movements"]) == 1
    assert_consistent()
    return body


@pytest.fixture
def base(world, actor, boss):
    """FLOUR lot L1 (10 KGM at A-01-01, expiring in 30 days) and an order of 10 whose one task expects it."""
    expires = today() + timedelta(days=30)
    received = utcnow() - timedelta(days=2)
    l1 = receive(actor, "L1", expires=expires, at=received)
    so = order(boss, "10")
    assert len(so.tasks) == 1 and task(so.tasks[0]).lot_id == l1
    return namedtuple("Base", "l1 expires received order task")(l1, expires, received, so, so.tasks[0])


# --- scan forms -------------------------------------------------------------------------------

SCAN_FORMS = {
    "datamatrix ]d2 (01)(17)(10)": lambda lot, exp: f"]d201{GTIN}17{yymmdd(exp)}10{lot}",
    "HRI with brackets": lambda lot, exp: f"(01){GTIN}(17){yymmdd(exp)}(10){lot}",
    "wedge | as GS": lambda lot, exp: f"]C101{GTIN}10{lot}|17{yymmdd(exp)}",
    "real GS, no symbology id": lambda lot, exp: f"01{GTIN}10{lot}{GS}17{yymmdd(exp)}",
    "digital link": lambda lot, exp: f"https://id.gs1.org/01/{GTIN}/10/{lot}?17={yymmdd(exp)}",
    "digital link, other host": lambda lot, exp: f"https://labels.example.com/01/{GTIN}/10/{lot}",
    "bare lot code": lambda lot, exp: lot,
}


@pytest.mark.parametrize("form", list(SCAN_FORMS))
def test_every_scan_form_picks_the_expected_lot(client, headers, base, form):
    """Each accepted scan form names the expected lot and the pick is applied."""
    body = assert_applied(client, headers["worker"], base.task, SCAN_FORMS[form]("L1", base.expires), "10")
    assert body["message"] == "Picked 10 KGM of L1"
    assert body["task"]["picked_lot"] == "L1" and body["task"]["picked_qty"] == "10"
    assert balance(base.l1, "A-01-01") == (D(0), D(0))
    assert balance(base.l1, "STAGE-1") == (D(10), D(10))


@pytest.mark.parametrize("sep", [GS, "|"])
def test_internal_label_240_sku_picks_an_item_without_gtin(client, headers, world, actor, boss, sep):
    """EGGS (no GTIN) are picked from a (240) SKU + (10) lot label, with GS or its wedge substitute."""
    eggs = receive(actor, "E1", "12", item="EGGS", expires=today() + timedelta(days=20))
    so = order(boss, "12", item="EGGS")
    body = assert_applied(client, headers["worker"], so.tasks[0], internal("EGGS", "E1", sep), "12")
    assert body["message"] == "Picked 12 EA of E1"
    assert balance(eggs, "STAGE-1") == (D(12), D(12))


# --- rejections -------------------------------------------------------------------------------

def test_unknown_task(client, headers, base):
    """A task id that does not exist is unknown_task."""
    assert_rejected(client, headers["worker"], 999999, "L1", "1", "unknown_task")


def test_picking_a_task_twice_is_task_closed(client, headers, base):
    """The second pick of the same task is task_closed and records nothing."""
    assert_applied(client, headers["worker"], base.task, gs1("L1", base.expires), "10")
    body = assert_rejected(client, headers["worker"], base.task, gs1("L1", base.expires), "10", "task_closed")
    assert "picked" in body["message"]


def test_wrong_item(client, headers, base, actor):
    """A lot of another item is wrong_item; the message names the item and lot the task needs."""
    receive(actor, "E1", "12", item="EGGS", expires=today() + timedelta(days=20))
    body = assert_rejected(client, headers["worker"], base.task, internal("EGGS", "E1"), "10", "wrong_item")
    assert "FLOUR" in body["message"] and "L1" in body["message"]


def test_expired_lot_is_refused(client, headers, base, actor):
    """A lot of the right item that expired yesterday is lot_expired (its expiry is in the message)."""
    yesterday = today() - timedelta(days=1)
    receive(actor, "LX", expires=yesterday, at=utc(yesterday - timedelta(days=5), 8))
    body = assert_rejected(client, headers["worker"], base.task, gs1("LX", yesterday), "10", "lot_expired")
    assert yesterday.isoformat() in body["message"] and "LX" in body["message"]


def test_quarantined_lot_is_on_hold(client, headers, base):
    """A lot put on hold through the API cannot be picked: lot_on_hold."""
    response = client.post(f"/api/lots/{base.l1}/quarantine", json={"reason": "lab check"},
                           headers=headers["supervisor"])
    assert response.status_code == 200, response.get_json()
    body = assert_rejected(client, headers["worker"], base.task, gs1("L1", base.expires), "10", "lot_on_hold")
    assert "L1" in body["message"]


def test_recalled_lot(client, headers, base):
    """A recalled lot (status set on the row; no recall API yet) is lot_recalled."""
    db.session.get(Lot, base.l1).status = LotStatus.recalled
    db.session.commit()
    body = assert_rejected(client, headers["worker"], base.task, "L1", "10", "lot_recalled")
    assert "RECALLED" in body["message"]


def test_insufficient_stock_at_the_scanned_location(client, headers, base, actor):
    """Asking for more than is on hand of the lot where the worker stands is insufficient_stock."""
    receive(actor, "L1", "2", location="B-02-01")
    body = assert_rejected(client, headers["worker"], base.task, "L1", "5", "insufficient_stock",
                           location="B-02-01")
    assert "Only 2 KGM of lot L1 at B-02-01" in body["message"]


def test_insufficient_stock_of_a_substitute_somewhere_else(client, headers, base, actor):
    """A substitute lot with no stock at the task's location is insufficient_stock."""
    receive(actor, "L2", expires=base.expires, at=base.received, location="B-02-01")
    assert_rejected(client, headers["worker"], base.task, "L2", "10", "insufficient_stock")


def test_units_held_by_a_flagged_pick_cannot_be_taken(client, headers, world, actor, boss):
    """Stock still reserved for a pick under decision is not bumped: scanning it is insufficient_stock."""
    expires = today() + timedelta(days=30)
    receive(actor, "L1", expires=expires, at=utcnow() - timedelta(days=2))
    first = order(boss, "10")
    receive(actor, "L2", expires=expires + timedelta(days=30), location="B-02-01")
    assert_flagged(client, headers["worker"], first.tasks[0], "L2", "10", "fefo_violation", location="B-02-01")
    receive(actor, "L5", expires=expires + timedelta(days=60), location="B-02-01")
    second = order(boss, "5")
    assert task(second.tasks[0]).lot.code == "L5"
    # L1 at A-01-01 is on hand but still held for the flagged task until the supervisor decides
    assert_rejected(client, headers["worker"], second.tasks[0], "L1", "5", "insufficient_stock",
                    location="A-01-01")


def test_over_pick(client, headers, base):
    """More than the task asks for is over_pick; the message says the most to pick."""
    body = assert_rejected(client, headers["worker"], base.task, "L1", "11", "over_pick")
    assert "10 KGM" in body["message"]


@pytest.mark.parametrize("scan", [
    "]d2010950600013435310L1",                        # GTIN check digit 3 instead of 2
    f"]d201{GTIN}1726130110L1",                        # month 13
    f"(01){GTIN}(17)261301(10)L1",                     # month 13, HRI form
    f"]d201{GTIN}10" + "L" * 21,                       # lot longer than 20
    "https://id.gs1.org/01/09506000134353/10/L1",      # check digit, Digital Link
], ids=["check-digit", "month-13", "month-13-hri", "lot-too-long", "digital-link-check-digit"])
def test_bad_barcode(client, headers, base, scan):
    """Wrong check digits, impossible dates and over-long lots are bad_barcode, never a guess."""
    assert_rejected(client, headers["worker"], base.task, scan, "10", "bad_barcode")


@pytest.mark.parametrize("scan", [gs1("NOPE"), "NOPE", f"]d201{GTIN}17301231"],
                         ids=["gs1", "bare", "gs1-without-lot"])
def test_unknown_lot(client, headers, base, scan):
    """A lot code the item does not have (or a label without a lot) is unknown_lot."""
    assert_rejected(client, headers["worker"], base.task, scan, "10", "unknown_lot")


def test_bare_lot_code_of_two_items_is_ambiguous(client, headers, base, actor):
    """A bare code that exists for two items is ambiguous_lot; the full label still works."""
    receive(actor, "L1", "12", item="EGGS", expires=today() + timedelta(days=20))
    body = assert_rejected(client, headers["worker"], base.task, "L1", "10", "ambiguous_lot")
    assert "full label" in body["message"]
    assert_applied(client, headers["worker"], base.task, gs1("L1", base.expires), "10")


def test_unknown_item(client, headers, base):
    """A valid GTIN that no item has is unknown_item."""
    assert_rejected(client, headers["worker"], base.task, gs1("L1", gtin="04006381333931"), "10", "unknown_item")


def test_label_expiry_differing_from_the_lot_is_scan_mismatch(client, headers, base):
    """A label whose (17) contradicts the lot's expiry is scan_mismatch."""
    assert_rejected(client, headers["worker"], base.task, gs1("L1", base.expires + timedelta(days=1)), "10",
                    "scan_mismatch")


def test_unknown_location(client, headers, base):
    """A scanned location that does not exist is unknown_location."""
    assert_rejected(client, headers["worker"], base.task, "L1", "10", "unknown_location", location="NOWHERE")


@pytest.mark.parametrize("qty", ["0", "-1", "1.5"])
def test_bad_quantity_is_invalid(client, headers, world, actor, boss, qty):
    """Zero, negative, or fractional counts of a counted unit are invalid."""
    receive(actor, "E1", "12", item="EGGS", expires=today() + timedelta(days=20))
    so = order(boss, "12", item="EGGS")
    assert_rejected(client, headers["worker"], so.tasks[0], internal("EGGS", "E1"), qty, "invalid")


# --- flags ------------------------------------------------------------------------------------

def test_wrong_location_is_flagged(client, headers, base, actor):
    """The expected lot taken from another location is recorded and flagged wrong_location."""
    receive(actor, "L1", location="B-02-01")
    body = assert_flagged(client, headers["worker"], base.task, gs1("L1", base.expires), "10", "wrong_location",
                          location="B-02-01")
    assert "L1" in body["message"] and "A-01-01" in body["message"] and "B-02-01" in body["message"]
    assert balance(base.l1, "B-02-01") == (D(0), D(0))
    assert balance(base.l1, "A-01-01") == (D(10), D(10))  # still held until the supervisor decides
    assert balance(base.l1, "STAGE-1") == (D(10), D(10))


def test_same_expiry_lot_is_a_substitute(client, headers, base, actor):
    """Another lot of the same item with the same expiry (same arrival) is flagged substitute_lot."""
    l2 = receive(actor, "L2", expires=base.expires, at=base.received)
    body = assert_flagged(client, headers["worker"], base.task, gs1("L2", base.expires), "10", "substitute_lot")
    assert "L1" in body["message"] and "A-01-01" in body["message"]
    assert body["task"]["picked_lot"] == "L2" and body["task"]["lot"]["code"] == "L1"
    assert balance(l2, "STAGE-1") == (D(10), D(10))


def test_earlier_expiring_lot_is_a_substitute(client, headers, base, actor):
    """A lot expiring earlier than the expected one is no worse by FEFO: substitute_lot."""
    receive(actor, "L0", expires=base.expires - timedelta(days=10))
    assert_flagged(client, headers["worker"], base.task, "L0", "4", "substitute_lot")


def test_same_expiry_lot_that_arrived_later_is_a_substitute(client, headers, base, actor):
    """For a FEFO item only expiry counts: a same-expiry lot received later is substitute_lot."""
    receive(actor, "L2", expires=base.expires)  # received now, after L1
    assert_flagged(client, headers["worker"], base.task, gs1("L2", base.expires), "10", "substitute_lot")


def test_later_expiring_lot_is_a_fefo_violation(client, headers, base, actor):
    """A lot expiring later than the expected one is flagged fefo_violation; the message names what to take."""
    receive(actor, "L3", expires=base.expires + timedelta(days=30))
    body = assert_flagged(client, headers["worker"], base.task, "L3", "10", "fefo_violation")
    assert "expected L1 in A-01-01" in body["message"] and "expires later" in body["message"]


@pytest.fixture
def salt(world, actor, boss):
    """A FIFO item (no shelf life) with S1 received three days ago and an order whose task expects S1."""
    masterdata.create(db.session, Item, dict(sku="SALT", name="Salt", uom="KGM"))
    db.session.commit()
    s1 = receive(actor, "S1", item="SALT", at=utcnow() - timedelta(days=3))
    so = order(boss, "10", item="SALT")
    assert task(so.tasks[0]).lot_id == s1 and task(so.tasks[0]).item.pick_policy == PickPolicy.fifo
    return so


def test_fifo_lot_that_arrived_later_is_a_fefo_violation(client, headers, salt, actor):
    """For a FIFO item a lot received after the expected one is fefo_violation."""
    receive(actor, "S2", item="SALT", at=utcnow() - timedelta(days=1))
    body = assert_flagged(client, headers["worker"], salt.tasks[0], internal("SALT", "S2", "|"), "10",
                          "fefo_violation")
    assert "S1" in body["message"] and "arrived later" in body["message"]


def test_fifo_lot_that_arrived_earlier_is_a_substitute(client, headers, salt, actor):
    """For a FIFO item a lot received before the expected one is substitute_lot."""
    receive(actor, "S0", item="SALT", at=utcnow() - timedelta(days=5))
    assert_flagged(client, headers["worker"], salt.tasks[0], "S0", "10", "substitute_lot")


# --- judged at the floor's time ---------------------------------------------------------------

@pytest.fixture
def expiring(world, actor, boss):
    """Lot LD expiring yesterday (D), allocated on D to an order of 10: the offline-before-midnight case."""
    day = today() - timedelta(days=1)
    lot = receive(actor, "LD", expires=day, at=utc(day - timedelta(days=3), 9))
    so = order(boss, "10", at=utc(day, 8))
    assert task(so.tasks[0]).lot_id == lot
    return namedtuple("Expiring", "day lot order")(day, lot, so)


def test_pick_at_2330_on_the_expiry_day_is_applied(client, headers, expiring):
    """A pick done at 23:30 on the expiry day, pushed later, is valid; the ledger keeps the floor time."""
    at = utc(expiring.day, 23, 30)
    body = assert_applied(client, headers["worker"], expiring.order.tasks[0], gs1("LD", expiring.day), "4", at=at)
    assert db.session.get(Movement, body["movements"][0]).happened_at == at
    assert task(expiring.order.tasks[0]).picked_at == at
    # the remainder, picked now (the day after expiry), is refused
    [rest] = [t.id for t in db.session.scalars(select(PickTask).where(PickTask.status == TaskStatus.open))]
    assert_rejected(client, headers["worker"], rest, gs1("LD", expiring.day), "6", "lot_expired")


def test_pick_at_midnight_after_the_expiry_day_is_expired(client, headers, expiring):
    """From 00:00 of the day after expiry the lot is expired."""
    assert_rejected(client, headers["worker"], expiring.order.tasks[0], "LD", "10", "lot_expired",
                    at=utc(expiring.day + timedelta(days=1)))


def test_expiry_day_is_the_site_time_zone_day(client, headers, app, expiring):
    """The expiry day ends at midnight in the site's time zone, not in UTC."""
    late_evening_in_new_york = utc(expiring.day + timedelta(days=1), 3)  # 22:00 or 23:00 on D in New York
    app.config["LOTWISE_TIMEZONE"] = "Asia/Tokyo"  # 16:00 UTC on D is 01:00 on D+1 in Tokyo
    assert_rejected(client, headers["worker"], expiring.order.tasks[0], "LD", "10", "lot_expired",
                    at=utc(expiring.day, 16))
    app.config["LOTWISE_TIMEZONE"] = "America/New_York"
    assert_applied(client, headers["worker"], expiring.order.tasks[0], "LD", "10", at=late_evening_in_new_york)


def test_lot_quarantined_after_the_pick_is_judged_as_it_was(client, headers, base):
    """A lot put on hold after the pick happened (offline) does not make the pick wrong."""
    response = client.post(f"/api/lots/{base.l1}/quarantine", json={"reason": "lab check"},
                           headers=headers["supervisor"])
    assert response.status_code == 200
    assert_applied(client, headers["worker"], base.task, gs1("L1", base.expires), "10",
                   at=utcnow() - timedelta(hours=1))


def test_lot_quarantined_before_the_pick_is_on_hold(client, headers, base):
    """A lot put on hold before the pick's floor time is lot_on_hold, even though the pick arrives later."""
    response = client.post(f"/api/lots/{base.l1}/quarantine",
                           json={"reason": "lab check", "at": (utcnow() - timedelta(hours=2)).isoformat()},
                           headers=headers["supervisor"])
    assert response.status_code == 200
    assert_rejected(client, headers["worker"], base.task, gs1("L1", base.expires), "10", "lot_on_hold",
                    at=utcnow() - timedelta(hours=1))


def test_pick_between_hold_and_release_is_on_hold(client, headers, base):
    """Held from 3 h ago to 1 h ago: a pick 2 h ago is lot_on_hold, one now is applied."""
    sup = headers["supervisor"]
    for path, hours in (("quarantine", 3), ("release", 1)):
        response = client.post(f"/api/lots/{base.l1}/{path}", headers=sup,
                               json={"reason": "lab", "at": (utcnow() - timedelta(hours=hours)).isoformat()})
        assert response.status_code == 200, response.get_json()
    assert_rejected(client, headers["worker"], base.task, "L1", "10", "lot_on_hold", at=utcnow() - timedelta(hours=2))
    assert_applied(client, headers["worker"], base.task, "L1", "10")


def test_future_at_counts_as_now(client, headers, world, actor, boss):
    """A floor time in the future is judged (and recorded) as now: a lot expiring today is still valid."""
    lot = receive(actor, "LT", expires=today(), at=utcnow() - timedelta(days=1))
    so = order(boss, "10")
    before = utcnow()
    body = assert_applied(client, headers["worker"], so.tasks[0], "LT", "10", at=utcnow() + timedelta(days=3))
    happened = db.session.get(Movement, body["movements"][0]).happened_at
    assert before <= happened <= utcnow()
    assert balance(lot, "STAGE-1") == (D(10), D(10))


def test_future_at_sees_a_hold_made_now(client, headers, base):
    """A hold recorded now applies to a pick dated in the future (judged as now)."""
    client.post(f"/api/lots/{base.l1}/quarantine", json={"reason": "lab"}, headers=headers["supervisor"])
    assert_rejected(client, headers["worker"], base.task, "L1", "10", "lot_on_hold", at=utcnow() + timedelta(days=1))


# --- partial and short picks ------------------------------------------------------------------

def test_partial_pick_leaves_an_open_remainder(client, headers, base):
    """Picking 2.5 of 10 leaves a new open task for 7.5 of the same lot and location, still reserved."""
    body = assert_applied(client, headers["worker"], base.task, "L1", "2.5")
    assert body["task"]["qty"] == "2.5"
    rest = db.session.scalars(select(PickTask).where(PickTask.status == TaskStatus.open)).all()
    assert [(t.qty, t.lot_id, t.from_location.code, t.pick_list_id) for t in rest] == [
        (D("7.5"), base.l1, "A-01-01", base.order.pick_list)]
    assert balance(base.l1, "A-01-01") == (D("7.5"), D("7.5"))
    assert_applied(client, headers["worker"], rest[0].id, "L1", "7.5")
    line = client.get(f"/api/orders/{base.order.id}", headers=headers["worker"]).get_json()["lines"][0]
    assert (line["picked"], line["open"], line["unallocated"]) == ("10", "0", "0")


def test_short_pick_releases_the_rest(client, headers, base):
    """A short pick takes what is there and releases the rest; the order shows it unallocated."""
    body = assert_applied(client, headers["worker"], base.task, "L1", "4", short=True)
    assert body["task"]["qty"] == "4"
    assert db.session.scalar(select(func.count()).select_from(PickTask)) == 1
    assert balance(base.l1, "A-01-01") == (D(6), D(0))
    line = client.get(f"/api/orders/{base.order.id}", headers=headers["worker"]).get_json()["lines"][0]
    assert (line["qty"], line["picked"], line["open"], line["unallocated"]) == ("10", "4", "0", "6")


def test_partial_flagged_pick_leaves_the_remainder_on_the_expected_lot(client, headers, base, actor):
    """A partial substitute pick is flagged for what was taken; the rest stays open on the expected lot."""
    receive(actor, "L2", expires=base.expires, at=base.received)
    assert_flagged(client, headers["worker"], base.task, "L2", "3", "substitute_lot")
    [rest] = db.session.scalars(select(PickTask).where(PickTask.status == TaskStatus.open)).all()
    assert (rest.qty, rest.lot_id) == (D(7), base.l1)
    assert balance(base.l1, "A-01-01") == (D(10), D(10))


# --- supervisor: confirmation and exceptions ---------------------------------------------------

def test_picked_tasks_await_confirmation(client, headers, base):
    """GET /api/tasks?status=picked lists picks to confirm; confirming one makes it confirmed once."""
    sup = headers["supervisor"]
    assert client.get("/api/tasks?status=picked", headers=sup).get_json()["data"] == []
    assert_applied(client, headers["worker"], base.task, "L1", "10")
    listed = client.get("/api/tasks?status=picked", headers=sup).get_json()
    assert [t["id"] for t in listed["data"]] == [base.task] and listed["total"] == 1
    response = client.post(f"/api/tasks/{base.task}/confirm", headers=sup)
    assert response.status_code == 200
    [confirmed] = response.get_json()["confirmed"]
    assert (confirmed["status"], confirmed["confirmed_by"]) == ("confirmed", "supervisor")
    assert client.get("/api/tasks?status=picked", headers=sup).get_json()["data"] == []
    again = client.post(f"/api/tasks/{base.task}/confirm", headers=sup)
    assert (again.status_code, again.get_json()["error"]) == (409, "not_picked")
    assert client.post("/api/tasks/999999/confirm", headers=sup).status_code == 404
    assert balance(base.l1, "STAGE-1") == (D(10), D(10))
    assert_consistent()


def test_confirm_pick_list_confirms_picked_tasks_and_leaves_exceptions(client, headers, world, actor, boss):
    """Confirming a pick list confirms its picked tasks; flagged ones wait for a decision, open ones stay."""
    expires = today() + timedelta(days=30)
    receive(actor, "L1", expires=expires, at=utcnow() - timedelta(days=3))
    receive(actor, "L2", expires=expires + timedelta(days=1), at=utcnow() - timedelta(days=3))
    receive(actor, "L3", "5", expires=expires + timedelta(days=2), at=utcnow() - timedelta(days=3))
    receive(actor, "L9", expires=expires + timedelta(days=90), location="B-02-01")
    so = order(boss, "25")
    t1, t2, t3 = so.tasks
    assert [task(t).lot.code for t in so.tasks] == ["L1", "L2", "L3"]
    assert_applied(client, headers["worker"], t1, "L1", "10")
    assert_flagged(client, headers["worker"], t2, "L9", "10", "fefo_violation", location="B-02-01")
    response = client.post(f"/api/pick-lists/{so.pick_list}/confirm", headers=headers["supervisor"])
    assert response.status_code == 200
    assert [t["id"] for t in response.get_json()["confirmed"]] == [t1]
    assert [task(t).status for t in so.tasks] == [TaskStatus.confirmed, TaskStatus.exception, TaskStatus.open]
    exceptions = client.get("/api/exceptions", headers=headers["supervisor"]).get_json()
    assert [(t["id"], t["exception_reason"], t["picked_lot"]) for t in exceptions] == [(t2, "fefo_violation", "L9")]
    assert_consistent()


@pytest.fixture
def substituted(client, headers, base, actor):
    """The base task picked with substitute lot L2 (flagged); returns (base, L2's id, the pick movement id)."""
    l2 = receive(actor, "L2", expires=base.expires, at=base.received)
    body = assert_flagged(client, headers["worker"], base.task, "L2", "10", "substitute_lot")
    return base, l2, body["movements"][0]


def test_approve_keeps_the_substitute_and_releases_the_expected_lot(client, headers, substituted):
    """Approve: task confirmed, the expected lot's reservation released, the picked lot held at staging."""
    base, l2, _ = substituted
    response = client.post(f"/api/tasks/{base.task}/approve", json={"reason": "same batch quality"},
                           headers=headers["supervisor"])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["status"], body["decision"], body["decision_reason"], body["decided_by"]) == (
        "confirmed", "approved", "same batch quality", "supervisor")
    assert body["picked_lot"] == "L2" and body["confirmed_by"] == "supervisor"
    assert balance(base.l1, "A-01-01") == (D(10), D(0))
    assert balance(l2, "A-01-01") == (D(0), D(0))
    assert balance(l2, "STAGE-1") == (D(10), D(10))
    assert client.get("/api/exceptions", headers=headers["supervisor"]).get_json() == []
    again = client.post(f"/api/tasks/{base.task}/approve", json={"reason": "x"}, headers=headers["supervisor"])
    assert (again.status_code, again.get_json()["error"]) == (409, "not_an_exception")
    assert_consistent()


def test_reject_reverses_the_pick_and_reopens_the_task(client, headers, substituted):
    """Reject: a reversing movement brings the stock back; the task is open with its original reservation."""
    base, l2, pick_movement = substituted
    response = client.post(f"/api/tasks/{base.task}/reject", json={"reason": "take L1"},
                           headers=headers["supervisor"])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["status"], body["decision"], body["picked_lot"], body["picked_qty"]) == (
        "open", "rejected", None, None)
    [reversal] = db.session.scalars(select(Movement).where(Movement.reverses_id.is_not(None))).all()
    assert (reversal.reverses_id, reversal.lot_id, reversal.qty, reversal.task_id) == (
        pick_movement, l2, D(10), base.task)
    assert (reversal.from_location.code, reversal.to_location.code) == ("STAGE-1", "A-01-01")
    assert balance(l2, "A-01-01") == (D(10), D(0))
    assert balance(l2, "STAGE-1") == (D(0), D(0))
    assert balance(base.l1, "A-01-01") == (D(10), D(10))
    assert_consistent()
    assert_applied(client, headers["worker"], base.task, gs1("L1", base.expires), "10")


def test_decisions_need_a_reason(client, headers, substituted):
    """Approve and reject without a reason are invalid and change nothing."""
    base = substituted[0]
    before = snapshot()
    for path, body in (("approve", {}), ("reject", {"reason": ""}), ("approve", {"reason": "   "})):
        response = client.post(f"/api/tasks/{base.task}/{path}", json=body, headers=headers["supervisor"])
        assert (response.status_code, response.get_json()["error"]) == (422, "invalid")
    assert snapshot() == before


def test_worker_may_not_confirm_or_decide(client, headers, substituted):
    """A worker gets 403 on confirm, list confirm, approve, reject and the exceptions queue; nothing changes."""
    base = substituted[0]
    worker = headers["worker"]
    before = snapshot()
    for response in (client.post(f"/api/tasks/{base.task}/confirm", headers=worker),
                     client.post(f"/api/pick-lists/{base.order.pick_list}/confirm", headers=worker),
                     client.post(f"/api/tasks/{base.task}/approve", json={"reason": "x"}, headers=worker),
                     client.post(f"/api/tasks/{base.task}/reject", json={"reason": "x"}, headers=worker),
                     client.get("/api/exceptions", headers=worker)):
        assert (response.status_code, response.get_json()["error"]) == (403, "forbidden")
    assert snapshot() == before
    assert client.get("/api/exceptions", headers=headers["admin"]).status_code == 200


def test_supervisor_can_pick(client, headers, base):
    """A supervisor may pick too; the task records who picked."""
    body = assert_applied(client, headers["supervisor"], base.task, "L1", "10")
    assert body["task"]["picked_by"] == "supervisor"


# --- a substitution takes stock another task was counting on ----------------------------------

@pytest.fixture
def two_orders(world, actor, boss):
    """L1 and L2 (same expiry and arrival, 10 each at A-01-01): order A's task expects L1, order B's L2."""
    expires = today() + timedelta(days=30)
    received = utcnow() - timedelta(days=2)
    l1 = receive(actor, "L1", expires=expires, at=received)
    l2 = receive(actor, "L2", expires=expires, at=received)
    a, b = order(boss, "10"), order(boss, "10")
    assert (task(a.tasks[0]).lot_id, task(b.tasks[0]).lot_id) == (l1, l2)
    return namedtuple("Two", "l1 l2 expires a b")(l1, l2, expires, a, b)


def test_taken_stock_is_reallocated(client, headers, two_orders, actor):
    """Order A picks B's lot as a substitute: B's task now points at other free stock, reserved there."""
    l3 = receive(actor, "L3", expires=two_orders.expires + timedelta(days=5), location="B-02-01")
    assert_flagged(client, headers["worker"], two_orders.a.tasks[0], "L2", "10", "substitute_lot")
    b_task = task(two_orders.b.tasks[0])
    assert (b_task.status, b_task.lot_id, b_task.from_location.code, b_task.qty) == (
        TaskStatus.open, l3, "B-02-01", D(10))
    assert balance(l3, "B-02-01") == (D(10), D(10))
    assert balance(two_orders.l2, "A-01-01") == (D(0), D(0))
    assert_applied(client, headers["worker"], b_task.id, "L3", "10")


def test_taken_stock_is_flagged_stock_taken_when_none_is_left(client, headers, two_orders):
    """With no other stock, B's task goes to the exceptions queue as stock_taken and B shows it unallocated."""
    assert_flagged(client, headers["worker"], two_orders.a.tasks[0], "L2", "10", "substitute_lot")
    b_task = task(two_orders.b.tasks[0])
    assert (b_task.status, b_task.exception_reason, b_task.picked_qty) == (TaskStatus.exception, "stock_taken", None)
    queue = client.get("/api/exceptions", headers=headers["supervisor"]).get_json()
    assert {(t["id"], t["exception_reason"]) for t in queue} == {
        (two_orders.a.tasks[0], "substitute_lot"), (b_task.id, "stock_taken")}
    line = client.get(f"/api/orders/{two_orders.b.id}", headers=headers["worker"]).get_json()["lines"][0]
    assert (line["open"], line["unallocated"]) == ("0", "10")
    no_pick = client.post(f"/api/tasks/{b_task.id}/reject", json={"reason": "x"}, headers=headers["supervisor"])
    assert (no_pick.status_code, no_pick.get_json()["error"]) == (409, "no_pick")
    dropped = client.post(f"/api/tasks/{b_task.id}/approve", json={"reason": "customer informed"},
                          headers=headers["supervisor"])
    assert dropped.status_code == 200 and dropped.get_json()["status"] == "cancelled"
    assert_consistent()


def test_taken_stock_partly_reallocated_rest_flagged(client, headers, two_orders, actor):
    """Only 6 other units free: B gets an open task for 6 elsewhere and a stock_taken exception for 4."""
    l3 = receive(actor, "L3", "6", expires=two_orders.expires + timedelta(days=5), location="B-02-01")
    assert_flagged(client, headers["worker"], two_orders.a.tasks[0], "L2", "10", "substitute_lot")
    b_tasks = db.session.scalars(select(PickTask).where(PickTask.pick_list_id == two_orders.b.pick_list)
                                 .order_by(PickTask.id)).all()
    assert [(t.status, t.qty, t.exception_reason) for t in b_tasks] == [
        (TaskStatus.open, D(6), None), (TaskStatus.exception, D(4), "stock_taken")]
    assert (b_tasks[0].lot_id, b_tasks[0].from_location.code) == (l3, "B-02-01")
    line = client.get(f"/api/orders/{two_orders.b.id}", headers=headers["worker"]).get_json()["lines"][0]
    assert (line["open"], line["unallocated"]) == ("6", "4")
    assert balance(l3, "B-02-01") == (D(6), D(6))


def test_reallocation_after_a_late_offline_pick_never_uses_expired_stock(client, headers, world, actor, boss):
    """Stock taken by a pick done yesterday (pushed today) is re-allocated only to lots valid today."""
    yesterday = today() - timedelta(days=1)
    received = utc(yesterday - timedelta(days=3), 8)
    expires = today() + timedelta(days=30)
    receive(actor, "L1", expires=expires, at=received)
    receive(actor, "L2", expires=expires, at=received)
    receive(actor, "LY", expires=yesterday, at=received, location="B-02-01")  # valid yesterday, expired now
    a, b = order(boss, "10"), order(boss, "10")
    assert_flagged(client, headers["worker"], a.tasks[0], "L2", "10", "substitute_lot", at=utc(yesterday, 22))
    b_task = task(b.tasks[0])
    assert b_task.lot.code != "LY"
    assert (b_task.status, b_task.exception_reason) == (TaskStatus.exception, "stock_taken")


def test_picking_from_the_staging_location_itself_is_refused(client, headers, base, actor):
    """Scanning the task's to-location as where the stock is taken from is a 4xx rejection that writes nothing."""
    receive(actor, "L1", "10", location="STAGE-1")
    before = snapshot()
    response = pick(client, headers["worker"], base.task, "L1", "5", location="STAGE-1")
    assert 400 <= response.status_code < 500, response.get_json()
    assert snapshot() == before
    assert_consistent()


# --- the pure classifier ----------------------------------------------------------------------

EXP = date(2030, 6, 30)
ARRIVED = datetime(2030, 1, 10, 8, tzinfo=UTC)
TODAY = date(2030, 3, 1)


def task_view(**changes) -> TaskView:
    """A FEFO task for 10 KGM of FLOUR lot L1 (id 10) at A-01-01."""
    values = dict(status="open", item_id=1, item_sku="FLOUR", uom="KGM", policy="fefo", lot_id=10, lot_code="L1",
                  lot_expires_on=EXP, lot_received_at=ARRIVED, from_location="A-01-01", qty=D(10))
    return TaskView(**(values | changes))


def lot_view(**changes) -> LotView:
    """Lot L1 (id 10) of the task's item, available."""
    values = dict(id=10, item_id=1, code="L1", status="available", expires_on=EXP, received_at=ARRIVED)
    return LotView(**(values | changes))


def judge(task=None, lot=None, location="A-01-01", qty="10", on_hand="10", today=TODAY):
    """classify() with defaults that make an exact, applicable pick."""
    return classify(task or task_view(), lot or lot_view(), location, D(qty), D(on_hand), today)


OTHER = dict(id=11, code="L2")
LATER = datetime(2030, 2, 1, tzinfo=UTC)
EARLIER = datetime(2029, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize("task,lot,kw,reason", [
    (dict(status="picked"), dict(item_id=2, status="recalled"), {}, "task_closed"),
    (dict(status="exception"), {}, {}, "task_closed"),
    ({}, dict(item_id=2, status="recalled", expires_on=date(2000, 1, 1)), {}, "wrong_item"),
    ({}, dict(status="recalled", expires_on=date(2000, 1, 1)), {}, "lot_recalled"),
    ({}, dict(status="quarantine", expires_on=date(2000, 1, 1)), {}, "lot_on_hold"),
    ({}, dict(expires_on=date(2030, 2, 28), **OTHER), dict(qty="11", on_hand="1"), "lot_expired"),
    ({}, {}, dict(qty="11", on_hand="1"), "over_pick"),
    ({}, dict(expires_on=date(2030, 12, 31), **OTHER), dict(on_hand="9", location="B"), "insufficient_stock"),
    ({}, dict(expires_on=date(2030, 12, 31), **OTHER), dict(location="B-02-01"), "fefo_violation"),
    ({}, dict(expires_on=date(2030, 5, 31), **OTHER), dict(location="B-02-01"), "substitute_lot"),
    ({}, {}, dict(location="B-02-01"), "wrong_location"),
], ids=["closed>wrong_item", "exception-is-closed", "wrong_item>recalled", "recalled>expired", "held>expired",
        "expired>over_pick", "over_pick>insufficient", "insufficient>fefo", "lot>location(fefo)",
        "lot>location(substitute)", "wrong_location"])
def test_classify_reason_order(task, lot, kw, reason):
    """The first failing rule decides: closed, item, recalled, held, expired, over-pick, stock, lot, location."""
    verdict = judge(task_view(**task), lot_view(**lot), **kw)
    assert verdict.reason == reason
    expected = {"fefo_violation": "flagged", "substitute_lot": "flagged", "wrong_location": "flagged"}
    assert verdict.status == expected.get(reason, "rejected")


def test_classify_applies_an_exact_pick():
    """The expected lot at the expected location, within the task and stock, is applied."""
    verdict = judge(qty="2.5")
    assert (verdict.status, verdict.reason, verdict.message) == ("applied", None, "Picked 2.5 KGM of L1")


def test_classify_expiry_day_is_usable_through_its_end():
    """Usable on the expiry day itself, expired the day after."""
    assert judge(today=EXP).status == "applied"
    assert judge(today=EXP + timedelta(days=1)).reason == "lot_expired"


@pytest.mark.parametrize("policy,lot,reason", [
    ("fefo", dict(expires_on=date(2030, 7, 1)), "fefo_violation"),
    ("fefo", dict(expires_on=date(2030, 6, 29), received_at=LATER), "substitute_lot"),
    ("fefo", dict(expires_on=None), "fefo_violation"),
    ("fefo", dict(expires_on=EXP, received_at=EARLIER), "substitute_lot"),
    ("fefo", dict(expires_on=EXP), "substitute_lot"),
    ("fifo", dict(received_at=LATER, expires_on=date(2030, 3, 1)), "fefo_violation"),
    ("fifo", dict(received_at=EARLIER, expires_on=date(2031, 1, 1)), "substitute_lot"),
    ("fifo", dict(received_at=ARRIVED), "substitute_lot"),
], ids=["fefo-later", "fefo-earlier-though-arrived-later", "fefo-no-expiry", "fefo-same-expiry-arrived-earlier",
        "fefo-same-expiry-same-arrival", "fifo-later-arrival", "fifo-earlier-arrival", "fifo-same-arrival"])
def test_classify_other_lot_by_policy(policy, lot, reason):
    """Another lot is a fefo_violation when worse by the item's policy, otherwise a substitute_lot."""
    verdict = judge(task_view(policy=policy), lot_view(**OTHER, **lot))
    assert (verdict.status, verdict.reason) == ("flagged", reason)
    assert "expected L1 in A-01-01" in verdict.message


def test_classify_expected_lot_without_expiry_any_dated_lot_is_a_substitute():
    """When the expected lot has no expiry, a dated lot is no worse by FEFO (undated lots go last)."""
    verdict = judge(task_view(lot_expires_on=None), lot_view(**OTHER, received_at=LATER))
    assert verdict.reason == "substitute_lot"


def test_classify_fefo_same_expiry_arrived_later_is_a_substitute():
    """For FEFO only the expiry matters: same expiry, later arrival is substitute_lot."""
    verdict = judge(task_view(), lot_view(**OTHER, received_at=LATER))
    assert verdict.reason == "substitute_lot"


def test_classify_messages_say_what_to_do():
    """Rejection messages name the expected item/lot, the limit, or the stock there."""
    assert "FLOUR" in judge(lot=lot_view(item_id=2)).message and "L1" in judge(lot=lot_view(item_id=2)).message
    assert "at most 10 KGM" in judge(qty="12").message
    assert "Only 3 KGM of lot L1 at A-01-01" in judge(qty="5", on_hand="3").message
    assert "2030-02-28" in judge(lot=lot_view(expires_on=date(2030, 2, 28))).message
    assert "not B-02-01" in judge(location="B-02-01").message
