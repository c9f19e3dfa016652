"""Production orders through the REST API: material requests, operations, consumption, output and genealogy."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from backend.models import Lot, LotStatus, db
from tests.conftest import invariants, ok, refused, scan, snapshot, stock

LINE = "LINE-1"


def gtin14(first13: str) -> str:
    """A GTIN-14 from its first 13 digits, with the GS1 check digit appended."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(first13))
    return first13 + str((10 - total % 10) % 10)


def now() -> datetime:
    """The current time in UTC, to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def setup_bakery(client, headers) -> None:
    """Items a bakery needs (created by the admin) and a production line, on top of `world`."""
    items = [
        {"sku": "SUGAR", "name": "Sugar", "uom": "KGM", "shelf_life_days": 720},
        {"sku": "BUTTER", "name": "Butter", "uom": "KGM", "gtin": gtin14("0950600013436"), "shelf_life_days": 60},
        {"sku": "DOUGH", "name": "Cookie dough", "uom": "KGM", "shelf_life_days": 5},
        {"sku": "COOKIES", "name": "Butter cookies", "uom": "EA", "shelf_life_days": 30},
        {"sku": "CHOC", "name": "Chocolate drops", "uom": "KGM"},
    ]
    for item in items:
        ok(client.post("/api/items", headers=headers["admin"], json=item), 201)
    ok(client.post("/api/locations", headers=headers["admin"], json={"code": LINE, "kind": "production"}), 201)


def receive(client, headers, item: str, lot: str, qty: str, location: str = "A-01-01", **extra) -> int:
    """Receive a raw lot from the mill as the worker; returns the lot id."""
    body = {"item": item, "lot": lot, "qty": qty, "location": location, "supplier": "SUP-MILL", **extra}
    return ok(client.post("/api/receipts", headers=headers["worker"], json=body), 201)["lot"]["id"]


def create_order(client, headers, item: str, qty: str, materials: dict[str, str], role: str = "supervisor"):
    """POST a production order on LINE-1 (the response, not checked)."""
    return client.post("/api/production-orders", headers=headers[role], json={
        "item": item, "qty": qty, "location": LINE,
        "materials": [{"item": sku, "qty": q} for sku, q in materials.items()]})


def new_order(client, headers, item: str, qty: str, materials: dict[str, str]) -> dict:
    """A production order created by the supervisor."""
    return ok(create_order(client, headers, item, qty, materials), 201)


def request_materials(client, headers, order_id: int) -> dict:
    """The supervisor's material request: the pick list to the line and its shortfalls."""
    return ok(client.post(f"/api/production-orders/{order_id}/request-materials", headers=headers["supervisor"],
                          json={}), 201)


def pick(client, headers, task: dict, qty: str | None = None) -> dict:
    """The worker picks a task at its from-location by scanning the lot label."""
    return ok(client.post(f"/api/tasks/{task['id']}/pick", headers=headers["worker"], json={
        "scan": scan(task["item"], task["lot"]["code"]), "qty": qty or task["qty"],
        "location": task["from_location"]}))


def post(client, headers, order_id: int, action: str, role: str = "worker", **body):
    """POST to /api/production-orders/<id>/<action> (the response, not checked)."""
    return client.post(f"/api/production-orders/{order_id}/{action}", headers=headers[role], json=body)


def consume(client, headers, order_id: int, lot_id: int, qty: str, location: str = LINE) -> dict:
    """The worker books consumption of an input lot."""
    return ok(post(client, headers, order_id, "consume", lot=lot_id, location=location, qty=qty), 201)


def produce(client, headers, order_id: int, qty: str, **extra) -> dict:
    """The worker books output on the line."""
    return ok(post(client, headers, order_id, "produce", qty=qty, location=LINE, **extra), 201)


def run_operation(client, headers, order_id: int, name: str, workstation: str, start: datetime, end: datetime,
                  role: str = "supervisor", operator: str | None = None) -> dict:
    """Start and end one operation with explicit floor times; returns the ended operation."""
    body = {"name": name, "workstation": workstation, "at": start.isoformat()}
    if operator:
        body["operator"] = operator
    started = ok(post(client, headers, order_id, "operations", role=role, **body), 201)
    return ok(client.post(f"/api/production-orders/operations/{started['id']}/end", headers=headers[role],
                          json={"at": end.isoformat()}))


def edges(trace: dict) -> dict[tuple[int, int], tuple[D, D, str]]:
    """A trace's edges as (from, to) -> (consumed, produced, order)."""
    return {(e["from"], e["to"]): (D(e["consumed"]), D(e["produced"]), e["order"]) for e in trace["edges"]}


def traced(client, headers, lot_id: int, direction: str) -> dict:
    """GET the lot's genealogy in one direction."""
    return ok(client.get(f"/api/lots/{lot_id}/trace?direction={direction}", headers=headers["worker"]))


@pytest.fixture
def bakery(client, headers, world):
    """`world` plus bakery items, LINE-1 and some raw lots; returns lot ids by code."""
    setup_bakery(client, headers)
    soon, later = (date.today() + timedelta(days=30)).isoformat(), (date.today() + timedelta(days=60)).isoformat()
    return {
        "L-F1": receive(client, headers, "FLOUR", "L-F1", "4", expires_on=soon, supplier_lot="MILL-778"),
        "L-F2": receive(client, headers, "FLOUR", "L-F2", "10", "B-02-01", expires_on=later),
        "S-1": receive(client, headers, "SUGAR", "S-1", "5"),
        "B-1": receive(client, headers, "BUTTER", "B-1", "3"),
        "E-1": receive(client, headers, "EGGS", "E-1", "24"),
    }


def test_three_level_genealogy_is_derived_from_the_ledger(client, headers, bakery):
    """Raw lots -> dough -> two cookie lots: edges, quantities, operations and lots are traced both ways."""
    lots = bakery
    t = now()
    mo1 = new_order(client, headers, "DOUGH", "10", {"FLOUR": "6", "SUGAR": "2", "BUTTER": "1.5", "EGGS": "12"})
    assert mo1["number"].startswith("MO-") and mo1["status"] == "open" and mo1["location"] == LINE
    assert [(m["item"], m["qty"]) for m in mo1["materials"]] == [
        ("FLOUR", "6"), ("SUGAR", "2"), ("BUTTER", "1.5"), ("EGGS", "12")]

    request = request_materials(client, headers, mo1["id"])
    assert request["shortfalls"] == {}
    tasks = request["pick_list"]["tasks"]
    assert request["pick_list"]["production_order"] == mo1["number"]
    assert sorted((x["item"], x["lot"]["code"], x["from_location"], x["to_location"], x["qty"]) for x in tasks) == [
        ("BUTTER", "B-1", "A-01-01", LINE, "1.5"), ("EGGS", "E-1", "A-01-01", LINE, "12"),
        ("FLOUR", "L-F1", "A-01-01", LINE, "4"), ("FLOUR", "L-F2", "B-02-01", LINE, "2"),
        ("SUGAR", "S-1", "A-01-01", LINE, "2")]
    assert stock(client, headers, lots["L-F1"]) == {"A-01-01": (D(4), D(4))}
    invariants()

    for task in tasks:
        result = pick(client, headers, task)
        assert result["status"] == "applied" and result["task"]["status"] == "picked"
    assert stock(client, headers, lots["L-F2"]) == {"B-02-01": (D(8), D(0)), LINE: (D(2), D(2))}
    invariants()

    mixing = run_operation(client, headers, mo1["id"], "Mixing", "MIXER-2", t - timedelta(hours=3),
                           t - timedelta(hours=2), operator="worker")
    resting = run_operation(client, headers, mo1["id"], "Resting", "COOLROOM-1", t - timedelta(hours=2),
                            t - timedelta(hours=1), role="worker")
    assert (mixing["workstation"], mixing["operator"], resting["operator"]) == ("MIXER-2", "worker", "worker")

    for code, qty in (("L-F1", "4"), ("L-F2", "2"), ("S-1", "2"), ("B-1", "1.5"), ("E-1", "7"), ("E-1", "5")):
        movement = consume(client, headers, mo1["id"], lots[code], qty)
        assert (movement["type"], movement["from_location"], movement["to_location"]) == ("consume", LINE, None)
        assert (movement["ref_type"], movement["ref_number"], movement["qty"]) == ("production", mo1["number"], qty)
    made_at = t - timedelta(minutes=50)
    out = produce(client, headers, mo1["id"], "9.5", at=made_at.isoformat())
    dough = out["lot"]["id"]
    assert re.fullmatch(made_at.strftime("%y%m%d") + r"-[2-9A-HJKMNP-Z]{4}", out["lot"]["code"])
    assert (out["type"], out["to_location"], out["qty"], out["lot"]["sku"]) == ("produce", LINE, "9.5", "DOUGH")
    dough_lot = ok(client.get(f"/api/lots/{dough}", headers=headers["worker"]))["lot"]
    assert dough_lot["expires_on"] == (made_at.date() + timedelta(days=5)).isoformat()
    assert stock(client, headers, dough) == {LINE: (D("9.5"), D(0))}
    assert stock(client, headers, lots["E-1"]) == {"A-01-01": (D(12), D(0))}
    invariants()

    mo2 = new_order(client, headers, "COOKIES", "100", {"DOUGH": "9.5"})
    baking = run_operation(client, headers, mo2["id"], "Baking", "OVEN-3", t - timedelta(minutes=40),
                           t - timedelta(minutes=20), operator="worker")
    consume(client, headers, mo2["id"], dough, "5")
    consume(client, headers, mo2["id"], dough, "4.5")
    first = produce(client, headers, mo2["id"], "60")["lot"]
    baked_at = t - timedelta(minutes=10)
    second = produce(client, headers, mo2["id"], "40", lot="CK-0042", at=baked_at.isoformat())["lot"]
    assert second["code"] == "CK-0042" and first["code"] != "CK-0042"
    ck = ok(client.get(f"/api/lots/{second['id']}", headers=headers["worker"]))
    assert ck["lot"]["expires_on"] == (baked_at.date() + timedelta(days=30)).isoformat()
    assert [m["type"] for m in ck["movements"]] == ["produce"]
    assert stock(client, headers, dough) == {}
    invariants()

    back = traced(client, headers, second["id"], "backward")
    assert back["root"] == second["id"] and back["direction"] == "backward"
    assert {lot["id"] for lot in back["lots"]} == {second["id"], dough, *lots.values()}
    assert edges(back) == {
        (dough, second["id"]): (D("9.5"), D(40), mo2["number"]),
        (lots["L-F1"], dough): (D(4), D("9.5"), mo1["number"]),
        (lots["L-F2"], dough): (D(2), D("9.5"), mo1["number"]),
        (lots["S-1"], dough): (D(2), D("9.5"), mo1["number"]),
        (lots["B-1"], dough): (D("1.5"), D("9.5"), mo1["number"]),
        (lots["E-1"], dough): (D(12), D("9.5"), mo1["number"]),
    }
    assert len(back["edges"]) == 6
    by_id = {lot["id"]: lot for lot in back["lots"]}
    assert (by_id[lots["L-F1"]]["supplier"], by_id[lots["L-F1"]]["supplier_lot"]) == ("SUP-MILL", "MILL-778")
    assert by_id[dough]["item"]["sku"] == "DOUGH" and by_id[second["id"]]["item"]["sku"] == "COOKIES"
    orders = {o["number"]: o for o in back["orders"]}
    assert set(orders) == {mo1["number"], mo2["number"]}
    assert orders[mo1["number"]]["item"] == "DOUGH" and orders[mo2["number"]]["item"] == "COOKIES"
    ops = [(o["name"], o["workstation"], o["operator"], datetime.fromisoformat(o["started_at"]),
            datetime.fromisoformat(o["ended_at"])) for o in orders[mo1["number"]]["operations"]]
    assert ops == [("Mixing", "MIXER-2", "worker", t - timedelta(hours=3), t - timedelta(hours=2)),
                   ("Resting", "COOLROOM-1", "worker", t - timedelta(hours=2), t - timedelta(hours=1))]
    assert [(o["name"], o["workstation"], o["operator"], o["ended_at"] == baking["ended_at"])
            for o in orders[mo2["number"]]["operations"]] == [("Baking", "OVEN-3", "worker", True)]

    forward = traced(client, headers, lots["L-F1"], "forward")
    assert {lot["id"] for lot in forward["lots"]} == {lots["L-F1"], dough, first["id"], second["id"]}
    assert edges(forward) == {
        (lots["L-F1"], dough): (D(4), D("9.5"), mo1["number"]),
        (dough, first["id"]): (D("9.5"), D(60), mo2["number"]),
        (dough, second["id"]): (D("9.5"), D(40), mo2["number"]),
    }
    assert {o["number"] for o in forward["orders"]} == {mo1["number"], mo2["number"]}
    from_eggs = traced(client, headers, lots["E-1"], "forward")
    assert {first["id"], second["id"]} <= {lot["id"] for lot in from_eggs["lots"]}
    sibling = traced(client, headers, first["id"], "backward")
    assert {lot["id"] for lot in sibling["lots"]} == {first["id"], dough, *lots.values()}


def test_trace_of_a_raw_lot_never_used_is_just_the_lot(client, headers, bakery):
    """A lot with no production history traces to itself, with no edges or orders; unknown lots are 404."""
    for direction in ("backward", "forward"):
        body = traced(client, headers, bakery["S-1"], direction)
        assert ([lot["id"] for lot in body["lots"]], body["edges"], body["orders"]) == ([bakery["S-1"]], [], [])
    refused(client.get("/api/lots/999999/trace", headers=headers["worker"]), 404, "unknown_lot")
    refused(client.get(f"/api/lots/{bakery['S-1']}/trace?direction=up", headers=headers["worker"]), 422, "invalid")


def test_consuming_held_expired_or_recalled_lots_is_refused(client, headers, bakery):
    """Quarantined, expired and recalled lots on the line cannot be consumed, and a refusal changes nothing."""
    order = new_order(client, headers, "DOUGH", "10", {"FLOUR": "6"})
    long_ago = now() - timedelta(days=10)
    held = receive(client, headers, "FLOUR", "L-HOLD", "5", LINE)
    ok(client.post(f"/api/lots/{held}/quarantine", headers=headers["supervisor"], json={"reason": "Mould"}))
    expired = receive(client, headers, "FLOUR", "L-OLD", "5", LINE, at=long_ago.isoformat(),
                      expires_on=(long_ago.date() + timedelta(days=5)).isoformat())
    recalled = receive(client, headers, "FLOUR", "L-RCL", "5", LINE)
    db.session.get(Lot, recalled).status = LotStatus.recalled
    db.session.commit()
    before = snapshot()
    for lot_id, error in ((held, "lot_on_hold"), (expired, "lot_expired"), (recalled, "lot_recalled")):
        refused(post(client, headers, order["id"], "consume", lot=lot_id, location=LINE, qty="1"), 409, error)
    assert snapshot() == before
    fine = receive(client, headers, "FLOUR", "L-OK", "5", LINE)
    assert consume(client, headers, order["id"], fine, "1")["qty"] == "1"
    invariants()


def test_consuming_an_item_that_is_not_a_material_is_refused(client, headers, bakery):
    """Only the order's material items can be consumed; the refusal leaves the ledger untouched."""
    order = new_order(client, headers, "DOUGH", "10", {"FLOUR": "6"})
    chocolate = receive(client, headers, "CHOC", "CH-1", "2", LINE)
    before = snapshot()
    body = refused(post(client, headers, order["id"], "consume", lot=chocolate, location=LINE, qty="1"),
                   409, "wrong_item")
    assert "CHOC" in body["message"]
    assert snapshot() == before
    assert stock(client, headers, chocolate) == {LINE: (D(2), D(0))}
    invariants()


def test_material_shortfalls_are_reported_and_requested_again(client, headers, bakery):
    """A material request reports what it could not allocate; a later request allocates only the open need."""
    order = new_order(client, headers, "DOUGH", "20", {"FLOUR": "20"})
    material_id = order["materials"][0]["id"]
    first = request_materials(client, headers, order["id"])
    assert first["shortfalls"] == {str(material_id): "6"}
    assert sorted((t["lot"]["code"], t["qty"]) for t in first["pick_list"]["tasks"]) == [("L-F1", "4"), ("L-F2", "10")]
    receive(client, headers, "FLOUR", "L-F3", "10", "B-02-01")
    second = request_materials(client, headers, order["id"])
    assert second["shortfalls"] == {}
    assert [(t["lot"]["code"], t["qty"]) for t in second["pick_list"]["tasks"]] == [("L-F3", "6")]
    assert second["pick_list"]["number"] != first["pick_list"]["number"]
    invariants()


def test_consume_and_produce_are_checked(client, headers, bakery):
    """More than free stock, an unknown lot, a bad quantity or lot code, or a closed order are refused."""
    order = new_order(client, headers, "DOUGH", "10", {"FLOUR": "6", "EGGS": "4"})
    flour = receive(client, headers, "FLOUR", "L-LINE", "3", LINE)
    eggs = receive(client, headers, "EGGS", "E-LINE", "6", LINE)
    before = snapshot()
    refused(post(client, headers, order["id"], "consume", lot=flour, location=LINE, qty="3.5"), 409,
            "insufficient_stock")
    refused(post(client, headers, order["id"], "consume", lot=flour, location="A-01-01", qty="1"), 409,
            "insufficient_stock")
    refused(post(client, headers, order["id"], "consume", lot=eggs, location=LINE, qty="1.5"), 422, "invalid")
    refused(post(client, headers, order["id"], "consume", lot=999999, location=LINE, qty="1"), 422, "unknown_lot")
    refused(post(client, headers, order["id"], "consume", lot=flour, location="NOWHERE", qty="1"), 422,
            "unknown_location")
    refused(post(client, headers, order["id"], "produce", qty="0", location=LINE), 422, "invalid")
    refused(post(client, headers, order["id"], "produce", qty="1", location=LINE, lot="BAD CODE"), 422, "invalid")
    refused(post(client, headers, 999999, "consume", lot=flour, location=LINE, qty="1"), 404, "unknown_order")
    assert snapshot() == before
    ok(post(client, headers, order["id"], "close", role="supervisor"))
    refused(post(client, headers, order["id"], "consume", lot=flour, location=LINE, qty="1"), 409, "order_closed")
    refused(post(client, headers, order["id"], "produce", qty="1", location=LINE), 409, "order_closed")
    assert snapshot() == before
    invariants()


def test_explicit_output_lot_codes(client, headers, bakery):
    """An order can add to its own explicit output lot, but not to another order's lot of the same code."""
    first = new_order(client, headers, "DOUGH", "10", {"FLOUR": "6"})
    second = new_order(client, headers, "DOUGH", "10", {"FLOUR": "6"})
    one = produce(client, headers, first["id"], "4", lot="D-7")["lot"]
    again = produce(client, headers, first["id"], "2.5", lot="D-7")["lot"]
    assert one["id"] == again["id"]
    assert stock(client, headers, one["id"]) == {LINE: (D("6.5"), D(0))}
    before = snapshot()
    refused(post(client, headers, second["id"], "produce", qty="1", location=LINE, lot="D-7"), 409, "lot_conflict")
    assert snapshot() == before
    invariants()


def test_output_cannot_be_produced_already_expired(client, headers, bakery):
    """Producing a lot whose expiry is before the production day is refused, like receiving one."""
    order = new_order(client, headers, "DOUGH", "10", {"FLOUR": "6"})
    before = snapshot()
    response = post(client, headers, order["id"], "produce", qty="1", location=LINE,
                    expires_on=(date.today() - timedelta(days=3)).isoformat())
    assert response.status_code in (409, 422), response.get_data(as_text=True)
    assert response.get_json()["error"] == "lot_expired"
    assert snapshot() == before


def test_consumption_releases_reservations_of_picked_material(client, headers, bakery):
    """Material picked to the line stays reserved for its order until consumed, then the reservation goes."""
    order = new_order(client, headers, "DOUGH", "10", {"FLOUR": "3"})
    task, = request_materials(client, headers, order["id"])["pick_list"]["tasks"]
    assert (task["lot"]["code"], task["qty"]) == ("L-F1", "3")
    pick(client, headers, task)
    assert stock(client, headers, bakery["L-F1"]) == {"A-01-01": (D(1), D(0)), LINE: (D(3), D(3))}
    invariants()

    other = new_order(client, headers, "DOUGH", "5", {"FLOUR": "1"})
    refused(post(client, headers, other["id"], "consume", lot=bakery["L-F1"], location=LINE, qty="1"), 409,
            "insufficient_stock")

    consume(client, headers, order["id"], bakery["L-F1"], "2")
    assert stock(client, headers, bakery["L-F1"]) == {"A-01-01": (D(1), D(0)), LINE: (D(1), D(1))}
    invariants()
    consume(client, headers, order["id"], bakery["L-F1"], "1")
    assert stock(client, headers, bakery["L-F1"]) == {"A-01-01": (D(1), D(0))}
    invariants()


def test_consuming_beyond_the_picked_quantity_uses_free_stock(client, headers, bakery):
    """Consumption first settles the order's own picked reservation, then takes free stock on the line."""
    order = new_order(client, headers, "DOUGH", "10", {"FLOUR": "2"})
    task, = request_materials(client, headers, order["id"])["pick_list"]["tasks"]
    pick(client, headers, task)
    ok(client.post("/api/moves", headers=headers["worker"], json={
        "lot": bakery["L-F1"], "from": "A-01-01", "to": LINE, "qty": "1"}), 201)
    assert stock(client, headers, bakery["L-F1"]) == {"A-01-01": (D(1), D(0)), LINE: (D(3), D(2))}
    consume(client, headers, order["id"], bakery["L-F1"], "3")
    assert stock(client, headers, bakery["L-F1"]) == {"A-01-01": (D(1), D(0))}
    invariants()


def test_closing_an_order_releases_unpicked_material_tasks(client, headers, bakery):
    """Close cancels open material tasks and frees their reservations; picks stay; running operations end."""
    order = new_order(client, headers, "DOUGH", "10", {"FLOUR": "6", "SUGAR": "2"})
    pick_list = request_materials(client, headers, order["id"])["pick_list"]
    by_lot = {task["lot"]["code"]: task for task in pick_list["tasks"]}
    pick(client, headers, by_lot["L-F1"])
    ok(post(client, headers, order["id"], "operations", name="Mixing", workstation="MIXER-2"), 201)
    assert stock(client, headers, bakery["S-1"]) == {"A-01-01": (D(5), D(2))}
    assert stock(client, headers, bakery["L-F2"]) == {"B-02-01": (D(10), D(2))}

    closed = ok(post(client, headers, order["id"], "close", role="supervisor"))
    assert closed["status"] == "closed"
    assert all(op["ended_at"] for op in closed["operations"])
    after = {t["lot"]["code"]: t["status"] for t in ok(client.get(
        f"/api/pick-lists/{pick_list['id']}", headers=headers["worker"]))["tasks"]}
    assert after == {"L-F1": "picked", "L-F2": "cancelled", "S-1": "cancelled"}
    assert stock(client, headers, bakery["S-1"]) == {"A-01-01": (D(5), D(0))}
    assert stock(client, headers, bakery["L-F2"]) == {"B-02-01": (D(10), D(0))}
    assert stock(client, headers, bakery["L-F1"]) == {LINE: (D(4), D(0))}
    refused(post(client, headers, order["id"], "close", role="supervisor"), 409, "order_closed")
    refused(post(client, headers, order["id"], "request-materials", role="supervisor"), 409, "order_closed")
    invariants()


def test_leftover_picked_material_is_free_again_after_close(client, headers, bakery):
    """After closing, material picked to the line but not consumed can be put back into storage."""
    order = new_order(client, headers, "DOUGH", "10", {"FLOUR": "4"})
    task, = request_materials(client, headers, order["id"])["pick_list"]["tasks"]
    pick(client, headers, task)
    consume(client, headers, order["id"], bakery["L-F1"], "3")
    ok(post(client, headers, order["id"], "close", role="supervisor"))
    ok(client.post("/api/moves", headers=headers["worker"], json={
        "lot": bakery["L-F1"], "from": LINE, "to": "A-01-01", "qty": "1"}), 201)
    invariants()


def test_operations_record_workstation_operator_and_times(client, headers, bakery):
    """An operation cannot end before it started, nor end twice; unknown operations and operators are refused."""
    order = new_order(client, headers, "DOUGH", "10", {"FLOUR": "6"})
    start = now() - timedelta(hours=1)
    op = ok(post(client, headers, order["id"], "operations", name="Mixing", workstation="MIXER-2",
                 operator="admin", at=start.isoformat()), 201)
    assert (op["operator"], op["workstation"], op["ended_at"]) == ("admin", "MIXER-2", None)
    assert datetime.fromisoformat(op["started_at"]) == start
    end_url = f"/api/production-orders/operations/{op['id']}/end"
    body = refused(client.post(end_url, headers=headers["worker"],
                               json={"at": (start - timedelta(minutes=1)).isoformat()}), 422, "invalid")
    assert "at" in body["errors"]
    assert ok(client.get(f"/api/production-orders/{order['id']}", headers=headers["worker"])
              )["operations"][0]["ended_at"] is None
    end = start + timedelta(minutes=30)
    ended = ok(client.post(end_url, headers=headers["worker"], json={"at": end.isoformat()}))
    assert datetime.fromisoformat(ended["ended_at"]) == end
    refused(client.post(end_url, headers=headers["worker"], json={}), 409, "operation_ended")
    refused(client.post("/api/production-orders/operations/999999/end", headers=headers["worker"], json={}),
            404, "unknown_operation")
    refused(post(client, headers, order["id"], "operations", name="Baking", workstation="OVEN-3",
                 operator="nobody"), 422, "unknown_operator")


def test_worker_runs_the_line_but_cannot_plan(client, headers, bakery):
    """Workers consume, produce and run operations; creating, requesting material for and closing orders is 403."""
    refused(create_order(client, headers, "DOUGH", "10", {"FLOUR": "6"}, role="worker"), 403, "forbidden")
    order = new_order(client, headers, "DOUGH", "10", {"FLOUR": "6"})
    refused(post(client, headers, order["id"], "request-materials"), 403, "forbidden")
    refused(post(client, headers, order["id"], "close"), 403, "forbidden")
    flour = receive(client, headers, "FLOUR", "L-LINE", "3", LINE)
    assert ok(post(client, headers, order["id"], "operations", name="Mixing", workstation="MIXER-2"),
              201)["operator"] == "worker"
    assert consume(client, headers, order["id"], flour, "3")["actor"] == "worker"
    assert produce(client, headers, order["id"], "2.9")["actor"] == "worker"
    refused(client.post(f"/api/production-orders/{order['id']}/consume", json={
        "lot": flour, "location": LINE, "qty": "1"}), 401, "unauthorized")
    invariants()


def test_orders_are_planned_on_a_production_location(client, headers, bakery):
    """A production order needs a production location, known items and positive quantities."""
    response = client.post("/api/production-orders", headers=headers["supervisor"], json={
        "item": "DOUGH", "qty": "10", "location": "A-01-01", "materials": [{"item": "FLOUR", "qty": "6"}]})
    assert "location" in refused(response, 422, "invalid")["errors"]
    refused(create_order(client, headers, "DOUGH", "10", {"NOPE": "6"}), 422, "unknown_item")
    refused(create_order(client, headers, "COOKIES", "2.5", {"DOUGH": "1"}), 422, "invalid")
    refused(create_order(client, headers, "DOUGH", "10", {}), 422, "invalid")
    listed = ok(client.get("/api/production-orders", headers=headers["worker"]))
    assert listed["total"] == 0
