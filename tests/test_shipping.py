"""Sales orders through the REST API: allocation, picks, confirmation, shipments, customer returns, cancellation."""
from __future__ import annotations

import re
from functools import partial
from datetime import date, datetime, timedelta
from decimal import Decimal as D

import pytest

from backend.models import CustomerReturn, Lot, LotStatus, db
from tests.conftest import invariants, ok, refused, scan, snapshot, stock

STAGE = "STAGE-1"


def history(client, headers, lot_id: int) -> list[dict]:
    """A lot's movements in floor order, as GET /api/lots/<id> shows them."""
    return ok(client.get(f"/api/lots/{lot_id}", headers=headers["worker"]))["movements"]


def receive(client, headers, item: str, lot: str, qty: str, location: str = "A-01-01", **extra) -> int:
    """Receive a lot as the worker; returns its id."""
    body = {"item": item, "lot": lot, "qty": qty, "location": location, **extra}
    return ok(client.post("/api/receipts", headers=headers["worker"], json=body), 201)["lot"]["id"]


def new_order(client, headers, lines: dict[str, str]) -> dict:
    """A sales order for the corner shop, created by the supervisor."""
    return ok(client.post("/api/orders", headers=headers["supervisor"], json={
        "customer": "CUS-SHOP", "reference": "PO-4711",
        "lines": [{"item": sku, "qty": qty} for sku, qty in lines.items()]}), 201)


def allocate(client, headers, order_id: int) -> dict:
    """The supervisor allocates the order's open need to STAGE-1: the pick list and the shortfalls."""
    return ok(client.post(f"/api/orders/{order_id}/allocate", headers=headers["supervisor"],
                          json={"staging": STAGE}), 201)


def pick(client, headers, task: dict, qty: str | None = None, short: bool = False) -> dict:
    """The worker picks a task at its from-location by scanning the lot label."""
    return ok(client.post(f"/api/tasks/{task['id']}/pick", headers=headers["worker"], json={
        "scan": scan(task["item"], task["lot"]["code"]), "qty": qty or task["qty"],
        "location": task["from_location"], "short": short}))


def confirm(client, headers, pick_list_id: int) -> list[dict]:
    """The supervisor confirms every picked task of a pick list."""
    return ok(client.post(f"/api/pick-lists/{pick_list_id}/confirm", headers=headers["supervisor"]))["confirmed"]


def ship(client, headers, order_id: int, role: str = "supervisor", **body):
    """POST /api/orders/<id>/ship (the response, not checked)."""
    return client.post(f"/api/orders/{order_id}/ship", headers=headers[role], json=body)


def order_lines(client, headers, order_id: int) -> tuple[str, dict[str, dict[str, str]]]:
    """The order's status and each line's progress by SKU."""
    body = ok(client.get(f"/api/orders/{order_id}", headers=headers["worker"]))
    keys = ("qty", "open", "picked", "confirmed", "shipped", "unallocated")
    return body["status"], {line["item"]: {k: line[k] for k in keys} for line in body["lines"]}


def progress(qty, open_=0, picked=0, confirmed=0, shipped=0, unallocated=0) -> dict[str, str]:
    """A line's expected progress, as the API writes quantities."""
    values = (qty, open_, picked, confirmed, shipped, unallocated)
    return dict(zip(("qty", "open", "picked", "confirmed", "shipped", "unallocated"), map(str, values)))


def return_goods(client, headers, shipment_id: int, lot_id: int, qty: str, location: str = "QRT-1",
                 role: str = "supervisor"):
    """POST a customer return (the response, not checked)."""
    return client.post("/api/returns", headers=headers[role], json={
        "shipment": shipment_id, "lot": lot_id, "qty": qty, "location": location, "reason": "Damaged packaging"})


def picked_and_confirmed(client, headers, lines: dict[str, str]) -> tuple[dict, list[dict]]:
    """An order allocated, fully picked and confirmed: the order and its tasks."""
    order = new_order(client, headers, lines)
    pick_list = allocate(client, headers, order["id"])["pick_list"]
    for task in pick_list["tasks"]:
        pick(client, headers, task)
    assert len(confirm(client, headers, pick_list["id"])) == len(pick_list["tasks"])
    return order, pick_list["tasks"]


@pytest.fixture
def lots(client, headers, world) -> dict[str, int]:
    """Flour in two lots (F-1 expires first) and a lot of eggs, in storage; ids by code."""
    soon, later = (date.today() + timedelta(days=20)).isoformat(), (date.today() + timedelta(days=40)).isoformat()
    return {
        "F-1": receive(client, headers, "FLOUR", "F-1", "10", expires_on=soon),
        "F-2": receive(client, headers, "FLOUR", "F-2", "10", "B-02-01", expires_on=later),
        "E-1": receive(client, headers, "EGGS", "E-1", "60"),
    }


def test_order_is_allocated_picked_confirmed_and_shipped(client, headers, lots):
    """The whole flow: FEFO pick list to staging, picks, confirmation, one shipment that empties staging."""
    order = new_order(client, headers, {"FLOUR": "12", "EGGS": "30"})
    assert order["number"].startswith("SO-") and order["status"] == "open" and order["customer"] == "CUS-SHOP"
    allocation = allocate(client, headers, order["id"])
    assert allocation["shortfalls"] == {}
    tasks = allocation["pick_list"]["tasks"]
    assert [(t["item"], t["lot"]["code"], t["from_location"], t["to_location"], t["qty"], t["status"])
            for t in tasks] == [("FLOUR", "F-1", "A-01-01", STAGE, "10", "open"),
                                ("EGGS", "E-1", "A-01-01", STAGE, "30", "open"),
                                ("FLOUR", "F-2", "B-02-01", STAGE, "2", "open")]
    assert order_lines(client, headers, order["id"])[1] == {"FLOUR": progress(12, open_=12),
                                                           "EGGS": progress(30, open_=30)}
    invariants()

    for task in tasks:
        assert pick(client, headers, task)["status"] == "applied"
    assert stock(client, headers, lots["F-2"]) == {"B-02-01": (D(8), D(0)), STAGE: (D(2), D(2))}
    assert order_lines(client, headers, order["id"])[1]["FLOUR"] == progress(12, picked=12)
    confirmed = confirm(client, headers, allocation["pick_list"]["id"])
    assert {t["confirmed_by"] for t in confirmed} == {"supervisor"} and len(confirmed) == 3
    assert order_lines(client, headers, order["id"])[1]["EGGS"] == progress(30, confirmed=30)
    invariants()

    shipment = ok(ship(client, headers, order["id"]), 201)
    assert re.fullmatch(r"DN-\d+", shipment["number"])
    assert (shipment["sales_order"], shipment["customer"]) == (order["number"], "CUS-SHOP")
    assert sorted((t["picked_lot"], t["qty"], t["shipment"]) for t in shipment["tasks"]) == [
        ("E-1", "30", shipment["number"]), ("F-1", "10", shipment["number"]), ("F-2", "2", shipment["number"])]
    fetched = ok(client.get(f"/api/shipments/{shipment['id']}", headers=headers["worker"]))
    assert fetched == shipment
    assert ok(client.get("/api/shipments", headers=headers["worker"]))["total"] == 1

    for code, qty in (("F-1", "10"), ("F-2", "2"), ("E-1", "30")):
        last = history(client, headers, lots[code])[-1]
        assert (last["type"], last["qty"], last["from_location"], last["to_location"]) == ("ship", qty, STAGE, None)
        assert (last["partner"], last["ref_type"], last["ref_number"]) == ("CUS-SHOP", "shipment", shipment["number"])
    assert stock(client, headers, lots["F-1"]) == {}
    assert stock(client, headers, lots["F-2"]) == {"B-02-01": (D(8), D(0))}
    assert stock(client, headers, lots["E-1"]) == {"A-01-01": (D(30), D(0))}
    status, lines = order_lines(client, headers, order["id"])
    assert status == "closed"
    assert lines == {"FLOUR": progress(12, shipped=12), "EGGS": progress(30, shipped=30)}
    refused(ship(client, headers, order["id"]), 409, "order_closed")
    invariants()


def test_unconfirmed_picks_are_not_shipped(client, headers, lots):
    """Nothing ships before a supervisor confirms: nothing_to_ship for all, not_confirmed for listed tasks."""
    order = new_order(client, headers, {"FLOUR": "12"})
    refused(ship(client, headers, order["id"]), 409, "nothing_to_ship")
    pick_list = allocate(client, headers, order["id"])["pick_list"]
    first, second = pick_list["tasks"]
    refused(ship(client, headers, order["id"], tasks=[first["id"]]), 409, "not_confirmed")
    pick(client, headers, first)
    pick(client, headers, second)
    before = snapshot()
    refused(ship(client, headers, order["id"]), 409, "nothing_to_ship")
    body = refused(ship(client, headers, order["id"], tasks=[first["id"], second["id"]]), 409, "not_confirmed")
    assert str(first["id"]) in body["message"]
    refused(ship(client, headers, order["id"], tasks=[999999]), 409, "not_confirmed")
    assert snapshot() == before
    ok(client.post(f"/api/tasks/{first['id']}/confirm", headers=headers["supervisor"]))
    refused(ship(client, headers, order["id"], tasks=[first["id"], second["id"]]), 409, "not_confirmed")
    assert snapshot() == before
    shipment = ok(ship(client, headers, order["id"]), 201)
    assert [t["id"] for t in shipment["tasks"]] == [first["id"]]
    assert order_lines(client, headers, order["id"]) == ("open", {"FLOUR": progress(12, picked=2, shipped=10)})
    invariants()


def test_partial_shipments_close_the_order_only_when_everything_shipped(client, headers, lots):
    """Shipping some tasks, then the rest, makes two delivery notes; the order closes with the second."""
    order, tasks = picked_and_confirmed(client, headers, {"FLOUR": "12", "EGGS": "30"})
    flour = [t["id"] for t in tasks if t["item"] == "FLOUR"]
    first = ok(ship(client, headers, order["id"], tasks=flour), 201)
    assert sorted(t["id"] for t in first["tasks"]) == sorted(flour)
    assert order_lines(client, headers, order["id"]) == (
        "open", {"FLOUR": progress(12, shipped=12), "EGGS": progress(30, confirmed=30)})
    assert stock(client, headers, lots["E-1"]) == {"A-01-01": (D(30), D(0)), STAGE: (D(30), D(30))}
    refused(ship(client, headers, order["id"], tasks=flour[:1]), 409, "not_confirmed")
    invariants()

    second = ok(ship(client, headers, order["id"], tasks=None), 201)
    assert second["number"] != first["number"] and re.fullmatch(r"DN-\d+", second["number"])
    assert [t["picked_lot"] for t in second["tasks"]] == ["E-1"]
    assert order_lines(client, headers, order["id"])[0] == "closed"
    assert {m["ref_number"] for code in ("F-1", "F-2") for m in history(client, headers, lots[code])
            if m["type"] == "ship"} == {first["number"]}
    assert [m["ref_number"] for m in history(client, headers, lots["E-1"]) if m["type"] == "ship"] == [second["number"]]
    assert stock(client, headers, lots["E-1"]) == {"A-01-01": (D(30), D(0))}
    numbers = {s["number"] for s in ok(client.get("/api/shipments", headers=headers["worker"]))["data"]}
    assert numbers == {first["number"], second["number"]}
    invariants()


def test_partial_and_short_picks_leave_the_remainder_visible(client, headers, lots):
    """A partial pick leaves an open remainder task; a short pick releases it and it shows as unallocated."""
    order = new_order(client, headers, {"EGGS": "30"})
    pick_list = allocate(client, headers, order["id"])["pick_list"]
    task, = pick_list["tasks"]
    result = pick(client, headers, task, qty="20")
    assert (result["task"]["qty"], result["task"]["status"]) == ("20", "picked")
    assert order_lines(client, headers, order["id"])[1]["EGGS"] == progress(30, open_=10, picked=20)
    assert stock(client, headers, lots["E-1"]) == {"A-01-01": (D(40), D(10)), STAGE: (D(20), D(20))}
    invariants()

    rest, = [t for t in ok(client.get(f"/api/pick-lists/{pick_list['id']}", headers=headers["worker"]))["tasks"]
             if t["status"] == "open"]
    assert (rest["qty"], rest["lot"]["code"], rest["from_location"]) == ("10", "E-1", "A-01-01")
    pick(client, headers, rest, qty="6", short=True)
    assert order_lines(client, headers, order["id"])[1]["EGGS"] == progress(30, picked=26, unallocated=4)
    assert stock(client, headers, lots["E-1"]) == {"A-01-01": (D(34), D(0)), STAGE: (D(26), D(26))}
    invariants()

    confirm(client, headers, pick_list["id"])
    ok(ship(client, headers, order["id"]), 201)
    assert order_lines(client, headers, order["id"]) == ("open", {"EGGS": progress(30, shipped=26, unallocated=4)})
    again = allocate(client, headers, order["id"])
    assert again["shortfalls"] == {} and [t["qty"] for t in again["pick_list"]["tasks"]] == ["4"]
    assert order_lines(client, headers, order["id"])[1]["EGGS"] == progress(30, open_=4, shipped=26)
    invariants()


def test_allocation_shortfall_is_reported_not_hidden(client, headers, lots):
    """More ordered than in stock: the pick list takes what there is and the rest is unallocated."""
    order = new_order(client, headers, {"EGGS": "100"})
    line_id = order["lines"][0]["id"]
    allocation = allocate(client, headers, order["id"])
    assert allocation["shortfalls"] == {str(line_id): "40"}
    assert [t["qty"] for t in allocation["pick_list"]["tasks"]] == ["60"]
    assert order_lines(client, headers, order["id"])[1]["EGGS"] == progress(100, open_=60, unallocated=40)
    invariants()


def test_customer_return_goes_to_quarantine_against_the_shipment(client, headers, lots):
    """A return is a `return` movement into quarantine linked to the shipment; never more than shipped."""
    order, _ = picked_and_confirmed(client, headers, {"FLOUR": "10"})
    shipment = ok(ship(client, headers, order["id"]), 201)
    returned = ok(return_goods(client, headers, shipment["id"], lots["F-1"], "3"), 201)
    assert re.fullmatch(r"RT-\d+", returned["number"]) and returned["reason"] == "Damaged packaging"
    db.session.expire_all()
    assert db.session.get(CustomerReturn, returned["id"]).shipment.number == shipment["number"]
    movement = returned["movement"]
    assert (movement["type"], movement["qty"], movement["from_location"], movement["to_location"]) == (
        "return", "3", None, "QRT-1")
    assert (movement["partner"], movement["ref_type"], movement["ref_number"], movement["reason"]) == (
        "CUS-SHOP", "return", returned["number"], "Damaged packaging")
    assert stock(client, headers, lots["F-1"]) == {"QRT-1": (D(3), D(0))}
    invariants()

    before = snapshot()
    assert "location" in refused(return_goods(client, headers, shipment["id"], lots["F-1"], "1", "A-01-01"),
                                 422, "invalid")["errors"]
    refused(return_goods(client, headers, shipment["id"], lots["F-1"], "7.5"), 409, "over_return")
    refused(return_goods(client, headers, shipment["id"], lots["F-2"], "1"), 409, "over_return")
    refused(return_goods(client, headers, 999999, lots["F-1"], "1"), 422, "unknown_shipment")
    refused(return_goods(client, headers, shipment["id"], lots["F-1"], "1", role="worker"), 403, "forbidden")
    assert snapshot() == before

    second = ok(return_goods(client, headers, shipment["id"], lots["F-1"], "7"), 201)
    assert second["number"] != returned["number"]
    refused(return_goods(client, headers, shipment["id"], lots["F-1"], "0.001"), 409, "over_return")
    moves = history(client, headers, lots["F-1"])
    assert [(m["type"], m["qty"], m["ref_number"]) for m in moves] == [
        ("receive", "10", None), ("pick", "10", moves[1]["ref_number"]), ("ship", "10", shipment["number"]),
        ("return", "3", returned["number"]), ("return", "7", second["number"])]
    assert stock(client, headers, lots["F-1"]) == {"QRT-1": (D(10), D(0))}
    invariants()


def test_cancelling_an_order_with_only_open_tasks_releases_reservations(client, headers, lots):
    """Cancel cancels the open tasks and frees their stock; a cancelled order takes no more work."""
    order = new_order(client, headers, {"FLOUR": "12", "EGGS": "30"})
    pick_list = allocate(client, headers, order["id"])["pick_list"]
    assert stock(client, headers, lots["F-1"]) == {"A-01-01": (D(10), D(10))}
    cancelled = ok(client.post(f"/api/orders/{order['id']}/cancel", headers=headers["supervisor"]))
    assert cancelled["status"] == "cancelled"
    tasks = ok(client.get(f"/api/pick-lists/{pick_list['id']}", headers=headers["worker"]))["tasks"]
    assert {t["status"] for t in tasks} == {"cancelled"}
    assert stock(client, headers, lots["F-1"]) == {"A-01-01": (D(10), D(0))}
    assert stock(client, headers, lots["F-2"]) == {"B-02-01": (D(10), D(0))}
    assert stock(client, headers, lots["E-1"]) == {"A-01-01": (D(60), D(0))}
    refused(client.post(f"/api/orders/{order['id']}/cancel", headers=headers["supervisor"]), 409, "order_closed")
    refused(client.post(f"/api/orders/{order['id']}/allocate", headers=headers["supervisor"],
                        json={"staging": STAGE}), 409, "order_closed")
    refused(ship(client, headers, order["id"]), 409, "order_closed")
    refused(client.post(f"/api/tasks/{tasks[0]['id']}/pick", headers=headers["worker"], json={
        "scan": scan(tasks[0]["item"], tasks[0]["lot"]["code"]), "qty": tasks[0]["qty"]}), 409, "task_closed")
    invariants()


def test_cancelling_an_order_with_picked_stock_is_refused(client, headers, lots):
    """Picked (or confirmed) stock must be shipped or put back first: cancel is refused and changes nothing."""
    order = new_order(client, headers, {"FLOUR": "12"})
    first, _ = allocate(client, headers, order["id"])["pick_list"]["tasks"]
    pick(client, headers, first)
    before = snapshot()
    refused(client.post(f"/api/orders/{order['id']}/cancel", headers=headers["supervisor"]), 409, "picks_outstanding")
    assert snapshot() == before
    assert order_lines(client, headers, order["id"]) == ("open", {"FLOUR": progress(12, open_=2, picked=10)})
    invariants()


def test_a_lot_held_or_recalled_after_confirmation_does_not_ship(client, headers, lots):
    """Ship re-checks the lots: a quarantined or recalled lot blocks the shipment, which changes nothing."""
    order, _ = picked_and_confirmed(client, headers, {"EGGS": "10"})
    ok(client.post(f"/api/lots/{lots['E-1']}/quarantine", headers=headers["supervisor"], json={"reason": "Cracks"}))
    before = snapshot()
    refused(ship(client, headers, order["id"]), 409, "lot_on_hold")
    ok(client.post(f"/api/lots/{lots['E-1']}/release", headers=headers["supervisor"], json={"reason": "Checked"}))
    db.session.get(Lot, lots["E-1"]).status = LotStatus.recalled
    db.session.commit()
    refused(ship(client, headers, order["id"]), 409, "lot_recalled")
    assert snapshot() == before
    assert order_lines(client, headers, order["id"]) == ("open", {"EGGS": progress(10, confirmed=10)})
    invariants()


def test_an_approved_substitute_ships_the_lot_actually_picked(client, headers, lots):
    """A flagged pick of another lot, once approved, ships that lot; the expected lot's reservation is gone."""
    order = new_order(client, headers, {"FLOUR": "5"})
    pick_list = allocate(client, headers, order["id"])["pick_list"]
    task, = pick_list["tasks"]
    assert task["lot"]["code"] == "F-1"
    result = ok(client.post(f"/api/tasks/{task['id']}/pick", headers=headers["worker"], json={
        "scan": scan("FLOUR", "F-2"), "qty": "5", "location": "B-02-01"}))
    assert (result["status"], result["reason"], result["task"]["status"]) == ("flagged", "fefo_violation", "exception")
    invariants()
    refused(ship(client, headers, order["id"]), 409, "nothing_to_ship")
    ok(client.post(f"/api/tasks/{task['id']}/approve", headers=headers["supervisor"], json={"reason": "F-1 damp"}))
    shipment = ok(ship(client, headers, order["id"]), 201)
    assert [(t["lot"]["code"], t["picked_lot"]) for t in shipment["tasks"]] == [("F-1", "F-2")]
    assert [m["type"] for m in history(client, headers, lots["F-1"])] == ["receive"]
    assert history(client, headers, lots["F-2"])[-1]["ref_number"] == shipment["number"]
    assert stock(client, headers, lots["F-1"]) == {"A-01-01": (D(10), D(0))}
    assert stock(client, headers, lots["F-2"]) == {"B-02-01": (D(5), D(0))}
    refused(return_goods(client, headers, shipment["id"], lots["F-1"], "1"), 409, "over_return")
    ok(return_goods(client, headers, shipment["id"], lots["F-2"], "5"), 201)
    invariants()


def test_a_recalled_lot_can_still_come_back(client, headers, lots):
    """Returns are how a recall gets stock back: a recalled lot's return is accepted into quarantine."""
    order, _ = picked_and_confirmed(client, headers, {"EGGS": "12"})
    shipment = ok(ship(client, headers, order["id"]), 201)
    db.session.get(Lot, lots["E-1"]).status = LotStatus.recalled
    db.session.commit()
    assert ok(return_goods(client, headers, shipment["id"], lots["E-1"], "12"), 201)["movement"]["qty"] == "12"
    assert stock(client, headers, lots["E-1"]) == {"A-01-01": (D(48), D(0)), "QRT-1": (D(12), D(0))}
    invariants()


def test_a_return_cannot_happen_before_its_shipment(client, headers, lots):
    """A return dated before the shipment it belongs to is refused."""
    order, _ = picked_and_confirmed(client, headers, {"EGGS": "12"})
    shipment = ok(ship(client, headers, order["id"]), 201)
    before = snapshot()
    response = client.post("/api/returns", headers=headers["supervisor"], json={
        "shipment": shipment["id"], "lot": lots["E-1"], "qty": "1", "location": "QRT-1", "reason": "Broken",
        "at": (datetime.fromisoformat(shipment["shipped_at"]) - timedelta(days=1)).isoformat()})
    assert response.status_code in (409, 422), response.get_data(as_text=True)
    assert snapshot() == before


def test_workers_pick_but_cannot_confirm_ship_or_plan(client, headers, lots):
    """Confirming, shipping, creating, allocating and cancelling orders need a supervisor (403 for a worker)."""
    refused(client.post("/api/orders", headers=headers["worker"], json={
        "customer": "CUS-SHOP", "lines": [{"item": "EGGS", "qty": "1"}]}), 403, "forbidden")
    order = new_order(client, headers, {"EGGS": "10"})
    refused(client.post(f"/api/orders/{order['id']}/allocate", headers=headers["worker"], json={"staging": STAGE}),
            403, "forbidden")
    pick_list = allocate(client, headers, order["id"])["pick_list"]
    task, = pick_list["tasks"]
    assert pick(client, headers, task)["task"]["picked_by"] == "worker"
    before = snapshot()
    refused(client.post(f"/api/tasks/{task['id']}/confirm", headers=headers["worker"]), 403, "forbidden")
    refused(client.post(f"/api/pick-lists/{pick_list['id']}/confirm", headers=headers["worker"]), 403, "forbidden")
    confirm(client, headers, pick_list["id"])
    refused(ship(client, headers, order["id"], role="worker"), 403, "forbidden")
    refused(client.post(f"/api/orders/{order['id']}/cancel", headers=headers["worker"]), 403, "forbidden")
    assert snapshot() == before
    assert ok(ship(client, headers, order["id"], role="admin"), 201)["customer"] == "CUS-SHOP"
    invariants()


def test_orders_are_validated(client, headers, lots):
    """An order needs a known customer (not a supplier), known items, whole units where counted, a staging lane."""
    post = partial(client.post, "/api/orders", headers=headers["supervisor"])
    refused(post(json={"customer": "SUP-MILL", "lines": [{"item": "EGGS", "qty": "1"}]}), 422, "unknown_customer")
    refused(post(json={"customer": "CUS-SHOP", "lines": [{"item": "NOPE", "qty": "1"}]}), 422, "unknown_item")
    refused(post(json={"customer": "CUS-SHOP", "lines": [{"item": "EGGS", "qty": "1.5"}]}), 422, "invalid")
    refused(post(json={"customer": "CUS-SHOP", "lines": []}), 422, "invalid")
    order = new_order(client, headers, {"EGGS": "1"})
    body = refused(client.post(f"/api/orders/{order['id']}/allocate", headers=headers["supervisor"],
                               json={"staging": "A-01-01"}), 422, "invalid")
    assert "staging" in body["errors"]
    refused(ship(client, headers, 999999), 404, "unknown_order")
    refused(client.get("/api/shipments/999999", headers=headers["worker"]), 404, "unknown_shipment")
    invariants()


def test_return_response_names_the_shipment(client, headers, lots):
    """The recorded return answers with the delivery note number of the shipment it came back from."""
    order, _ = picked_and_confirmed(client, headers, {"EGGS": "10"})
    shipment = ok(ship(client, headers, order["id"]), 201)
    returned = ok(return_goods(client, headers, shipment["id"], lots["E-1"], "2"), 201)
    assert returned["shipment"] == shipment["number"]


def test_trace_of_a_shipped_lot_names_the_shipment_and_customer(client, headers, lots):
    """A recall needs to know who received a lot: the trace lists its shipments with their customers."""
    order, _ = picked_and_confirmed(client, headers, {"EGGS": "10"})
    shipment = ok(ship(client, headers, order["id"]), 201)
    trace = ok(client.get(f"/api/lots/{lots['E-1']}/trace?direction=forward", headers=headers["worker"]))
    assert [(s["document"], s["partner"]["code"]) for s in trace["shipments"]] == [(shipment["number"], "CUS-SHOP")]
