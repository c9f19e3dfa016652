"""The demo data set: what `seed` creates, that it runs once only, and the `lotwise demo` command."""
from __future__ import annotations

import os
import sqlite3
import subprocess
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from biip.gtin import Gtin
from sqlalchemy import func, select

from backend.demo import DEMO_LOGINS, OPERATORS, USERS, seed
from backend.domain.genealogy import trace
from backend.domain.lots import local_date
from backend.models import (Balance, Item, Location, LocationKind, Lot, LotEvent, LotStatus, Movement, MovementType,
                            OrderStatus, Partner, PartnerKind, PickList, PickTask, ProductionOrder, SalesOrder,
                            Shipment, TaskStatus, User, db)
from tests.conftest import LOTWISE_BIN, ledger_matches_balances, reservations_match_tasks



def seeded() -> None:
    """Seed and commit, as the CLI does."""
    assert seed(db.session) is True
    db.session.commit()


def row_counts() -> dict[str, int]:
    """The number of rows in every table."""
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def test_demo_users_sign_in_with_their_names_and_see_the_lots(client):
    seeded()
    lots = db.session.scalar(select(func.count()).select_from(Lot))
    assert set(DEMO_LOGINS) == {"worker", "supervisor", "admin"}
    for username in DEMO_LOGINS:
        answer = client.post("/api/auth/token", json={"username": username, "password": username, "device": "HH-T"})
        assert answer.status_code == 200, answer.json
        assert answer.json["user"]["username"] == username and answer.json["user"]["role"] == username
        listed = client.get("/api/lots", headers={"Authorization": f"Bearer {answer.json['token']}"})
        assert listed.status_code == 200
        assert listed.json["total"] == lots > 0
        wrong = client.post("/api/auth/token", json={"username": username, "password": "wrong-pw", "device": "HH-T"})
        assert wrong.status_code == 401


def test_the_workers_pull_keeps_picks_until_shipped_or_consumed(client):
    """Picks the demo's past production runs consumed (and past shipments shipped) are settled: they leave the
    worker's pull, or a device's task list would grow for ever."""
    seeded()
    settled = {t.id for t in db.session.scalars(select(PickTask).where(PickTask.picked_by_id.isnot(None)))
               if t.settled_qty >= t.qty}
    assert settled and any(t.production_material_id for t in db.session.scalars(
        select(PickTask).where(PickTask.id.in_(settled))))
    token = client.post("/api/auth/token", json={"username": "worker", "password": "worker", "device": "HH-T"}).json
    pulled = client.get("/api/sync/pull", headers={"Authorization": f"Bearer {token['token']}"}).json
    assert pulled["tasks"] and settled.isdisjoint(task["id"] for task in pulled["tasks"])


def test_seed_does_not_commit(app):
    assert seed(db.session) is True
    db.session.rollback()
    assert row_counts() == dict.fromkeys(row_counts(), 0)


def test_items_raw_materials_have_gtins_finished_goods_do_not(app):
    seeded()
    items = db.session.scalars(select(Item)).all()
    raw = [i for i in items if i.gtin]
    finished = [i for i in items if not i.gtin]
    assert len(raw) == 5
    assert {i.uom for i in raw} == {"KGM", "EA"}
    assert [i.sku for i in raw if i.uom == "EA"] == ["RM-EGGS"]
    for item in raw:
        assert len(item.gtin) == 14 and Gtin.parse(item.gtin).as_gtin_14() == item.gtin
        assert item.shelf_life_days and item.pick_policy.value == "fefo"
    assert len(finished) >= 2
    assert all(i.uom == "EA" and i.shelf_life_days for i in finished)
    assert any("12-pack" in i.name for i in finished) and any("tin" in i.name for i in finished)


def test_partners_have_addresses_and_both_phone_numbers(app):
    seeded()
    partners = db.session.scalars(select(Partner)).all()
    suppliers = [p for p in partners if p.kind == PartnerKind.supplier]
    customers = [p for p in partners if p.kind == PartnerKind.customer]
    assert len(suppliers) == 3 and len(customers) >= 4
    for p in partners:
        assert all([p.street, p.postal_code, p.city, p.contact, p.email, p.phone, p.phone_after_hours]), p.code
        assert len(p.country) == 2 and p.phone != p.phone_after_hours
    supplying = set(db.session.scalars(select(Lot.supplier_id).where(Lot.supplier_id.is_not(None)).distinct()))
    assert supplying == {p.id for p in suppliers}


def test_locations_cover_every_kind(app):
    seeded()
    codes = {kind: set(db.session.scalars(select(Location.code).where(Location.kind == kind))) for kind in LocationKind}
    assert {"A-01-01", "A-03-02"} <= codes[LocationKind.storage]
    assert codes[LocationKind.staging] == {"STAGE-1", "STAGE-2"}
    assert codes[LocationKind.production] == {"LINE-1", "LINE-2"}
    assert codes[LocationKind.quarantine] == {"QRT-1"}
    assert codes[LocationKind.receiving]


def test_lots_are_received_from_suppliers_through_the_ledger(app):
    seeded()
    now = datetime.now(timezone.utc)
    lots = db.session.scalars(select(Lot).where(Lot.production_order_id.is_(None))).all()
    assert len(lots) >= 10
    for sku in ("RM-FLOUR", "RM-SUGAR", "RM-EGGS", "RM-COCOA", "RM-BUTTER"):
        expiries = {lot.expires_on for lot in lots if lot.item.sku == sku}
        assert len(expiries) >= 2, sku
    receipts = db.session.scalars(select(Movement).where(Movement.type == MovementType.receive)).all()
    assert sorted(m.lot_id for m in receipts) == sorted(lot.id for lot in lots)
    for lot in lots:
        assert lot.item.gtin and lot.supplier is not None and lot.supplier_lot
        assert isinstance(lot.unit_cost, Decimal) and lot.unit_cost > 0
        assert now - timedelta(days=35) < lot.received_at < now
    spread = max(lot.received_at for lot in lots) - min(lot.received_at for lot in lots)
    assert spread.days >= 14
    assert {m.type for m in db.session.scalars(select(Movement))} == {
        MovementType.receive, MovementType.move, MovementType.pick, MovementType.consume, MovementType.produce,
        MovementType.ship}
    made = db.session.scalars(select(Lot).where(Lot.production_order_id.is_not(None))).all()
    assert made and all(lot.supplier is None and lot.item.gtin is None for lot in made)
    assert ledger_matches_balances(db.session) == []


def test_an_expired_lot_a_quarantined_lot_and_stock_in_storage(app, client):
    seeded()
    today = datetime.now(timezone.utc).date()
    expired = db.session.scalars(select(Lot).where(Lot.expires_on < today)).all()
    assert len(expired) == 1
    assert expired[0].expires_on < today and expired[0].received_at.date() <= expired[0].expires_on
    assert db.session.scalar(select(func.sum(Balance.on_hand)).where(Balance.lot_id == expired[0].id)) > 0

    held = db.session.scalars(select(Lot).where(Lot.status == LotStatus.quarantine)).all()
    assert len(held) == 1
    event = db.session.scalar(select(LotEvent).where(LotEvent.lot_id == held[0].id, LotEvent.kind == "status"))
    assert event.new_value == "quarantine" and event.reason.strip()
    held_at = {b.location.code for b in db.session.scalars(select(Balance).where(
        Balance.lot_id == held[0].id, Balance.on_hand > 0))}
    assert held_at == {"QRT-1"}

    stored = db.session.scalars(select(Balance).join(Location).where(
        Location.kind == LocationKind.storage, Balance.on_hand > 0)).all()
    assert len({b.location_id for b in stored}) >= 6
    assert all(isinstance(b.on_hand, Decimal) for b in stored)
    assert ledger_matches_balances(db.session) == []

    token = client.post("/api/auth/token", json={"username": "worker", "password": "worker", "device": "HH-T"}).json
    auth = {"Authorization": f"Bearer {token['token']}"}
    listed = client.get("/api/lots?status=quarantine", headers=auth).json
    assert [lot["code"] for lot in listed["data"]] == [held[0].code]
    listed = client.get(f"/api/lots?expiring_before={today.isoformat()}", headers=auth).json
    assert [lot["code"] for lot in listed["data"]] == [expired[0].code]


def test_second_seed_changes_nothing(app):
    seeded()
    before = row_counts()
    assert before["user"] == len(USERS) + len(OPERATORS) and before["movement"] > 0
    assert seed(db.session) is False
    assert not db.session.new and not db.session.dirty
    db.session.commit()
    assert row_counts() == before


def test_seed_leaves_a_database_with_any_user_alone(app):
    from backend.domain.auth import create_user
    from backend.models import Role

    create_user(db.session, username="someone", password="someone-pw", role=Role.worker)
    db.session.commit()
    before = row_counts()
    assert seed(db.session) is False
    db.session.commit()
    assert row_counts() == before
    assert db.session.scalars(select(User.username)).all() == ["someone"]


def test_cli_demo_seeds_once(tmp_path):
    database = tmp_path / "demo.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "LOTWISE_INSTANCE_PATH": str(tmp_path)}

    def lotwise(*args: str) -> str:
        done = subprocess.run([LOTWISE_BIN, *args], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def counts() -> tuple[int, int, int]:
        with sqlite3.connect(database) as conn:
            return tuple(conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in ("user", "lot", "movement"))

    lotwise("db", "upgrade")
    assert counts() == (0, 0, 0)
    first = lotwise("demo")
    assert "Seeded the demo data." in first
    assert "worker / worker, supervisor / supervisor, admin / admin" in first
    seeded_counts = counts()
    assert seeded_counts[0] == len(USERS) + len(OPERATORS) and seeded_counts[1] > 0
    assert seeded_counts[2] > seeded_counts[1]
    assert not any(username in first for username, _ in OPERATORS)
    second = lotwise("demo")
    assert "already has data; left as it is" in second and "Seeded" not in second
    assert counts() == seeded_counts


def sign_in(client, username: str) -> dict:
    """Authorization headers for a demo login."""
    answer = client.post("/api/auth/token", json={"username": username, "password": username, "device": "HH-T"})
    assert answer.status_code == 200, answer.json
    return {"Authorization": f"Bearer {answer.json['token']}"}


def movements(**where) -> list[Movement]:
    """Movements matching column values, in floor-time order."""
    query = select(Movement).filter_by(**where).order_by(Movement.happened_at, Movement.id)
    return db.session.scalars(query).all()


def test_two_past_production_runs_on_named_machines_by_named_operators(app):
    seeded()
    now = datetime.now(timezone.utc)
    runs = db.session.scalars(select(ProductionOrder).where(ProductionOrder.status == OrderStatus.closed)
                              .order_by(ProductionOrder.id)).all()
    assert len(runs) == 2
    assert {run.location.code for run in runs} == {"LINE-1", "LINE-2"}
    operators = set()
    for run in runs:
        steps = sorted(run.operations, key=lambda op: op.started_at)
        assert len(steps) >= 2
        for step, following in zip(steps, steps[1:] + [None]):
            assert step.workstation.strip() and step.workstation not in ("LINE-1", "LINE-2")
            assert step.started_at < step.ended_at < now - timedelta(hours=12)
            assert following is None or step.ended_at <= following.started_at
            operators.add(step.operator)
        picks = movements(type=MovementType.pick, ref_number=run_pick_list(run).number)
        consumed = movements(type=MovementType.consume, ref_number=run.number)
        produced = movements(type=MovementType.produce, ref_number=run.number)
        assert {m.lot.item.sku for m in consumed} == {m.item.sku for m in run.materials} >= {"RM-FLOUR", "RM-EGGS"}
        assert sorted((m.lot_id, m.qty) for m in picks) == sorted((m.lot_id, m.qty) for m in consumed)
        assert max(m.happened_at for m in picks) < steps[0].started_at <= min(m.happened_at for m in consumed)
        assert max(m.happened_at for m in consumed) < min(m.happened_at for m in produced) <= steps[-1].ended_at
        for task in run_pick_list(run).tasks:
            assert task.status == TaskStatus.confirmed and task.picked_by.username == "worker"
            assert task.confirmed_by.username == "supervisor" and task.picked_at < task.confirmed_at
            assert task.settled_qty == task.qty
        assert run.created_at < steps[0].started_at and run.due_on == local_date(steps[0].started_at, ZoneInfo("UTC"))
    named = {(user.username, user.name) for user in operators}
    assert len(named) >= 3 and all(name.strip() for _, name in named)
    assert {username for username, _ in named} <= {username for username, _ in OPERATORS}
    assert db.session.scalar(select(func.count()).select_from(Balance).join(Location).where(
        Location.kind == LocationKind.production, Balance.on_hand != 0)) == 0


def run_pick_list(run: ProductionOrder) -> PickList:
    """The one material pick list of a production run."""
    return db.session.scalars(select(PickList).where(PickList.production_order_id == run.id)).one()


def test_finished_lots_trace_back_to_the_raw_material_lots_they_were_made_from(app):
    seeded()
    made = db.session.scalars(select(Lot).where(Lot.production_order_id.is_not(None))).all()
    assert len(made) == 2 and len({lot.item.sku for lot in made}) == 2
    for lot in made:
        graph = trace(db.session, lot.id, "backward")
        inputs = [found for found in graph["lots"] if found.id != lot.id]
        assert inputs and all(found.supplier is not None and found.item.gtin for found in inputs)
        order = db.session.get(ProductionOrder, lot.production_order_id)
        assert {found.item.sku for found in inputs} == {m.item.sku for m in order.materials}
        assert {edge["to"] for edge in graph["edges"]} == {lot.id}
        assert {edge["from"] for edge in graph["edges"]} == {found.id for found in inputs}
        assert [o.number for o in graph["orders"]] == [order.number]
        stored = db.session.scalars(select(Balance).join(Location).where(
            Balance.lot_id == lot.id, Balance.on_hand > 0)).all()
        assert stored and {b.location.kind for b in stored} == {LocationKind.storage}
        assert lot.expires_on > datetime.now(timezone.utc).date()
    eggs = db.session.scalar(select(Lot).where(Lot.code == "LH-E0931"))
    forward = trace(db.session, eggs.id, "forward")
    assert any(found.production_order_id for found in forward["lots"])


def test_shipments_to_several_customers_in_the_past(app):
    seeded()
    now = datetime.now(timezone.utc)
    shipments = db.session.scalars(select(Shipment)).all()
    assert len({s.customer.code for s in shipments}) >= 3
    for shipment in shipments:
        assert shipment.sales_order.status == OrderStatus.closed
        assert shipment.customer_id == shipment.sales_order.customer_id
        assert shipment.shipped_at.date() < now.date()  # on an earlier day than seeding, whatever the hour
        shipped = movements(type=MovementType.ship, ref_number=shipment.number)
        assert shipped and all(m.partner_id == shipment.customer_id and m.happened_at == shipment.shipped_at
                               for m in shipped)
        assert {m.lot.production_order_id is not None for m in shipped} == {True}
        for task in shipment.tasks:
            assert task.to_location.code in ("STAGE-1", "STAGE-2")
            assert task.picked_at < task.confirmed_at < shipment.shipped_at
            made_at = movements(type=MovementType.produce, lot_id=task.picked_lot_id)[0].happened_at
            assert made_at < task.picked_at
        assert sum(t.qty for t in shipment.tasks) == sum(line.qty for line in shipment.sales_order.lines)
    assert ledger_matches_balances(db.session) == []
    assert reservations_match_tasks(db.session) == []


def assert_floor_time_history_is_consistent(tz: ZoneInfo) -> None:
    """Replayed in floor-time order the ledger never goes negative; no lot is used unusable or before it exists."""
    now = datetime.now(timezone.utc)
    running = defaultdict(Decimal)
    for m in movements():
        assert m.happened_at <= now
        assert m.happened_at >= m.lot.received_at, (m.type, m.lot.code)
        if m.from_location_id:
            running[m.lot_id, m.from_location_id] -= m.qty
            assert running[m.lot_id, m.from_location_id] >= 0, (m.type, m.lot.code, m.happened_at)
        if m.to_location_id:
            running[m.lot_id, m.to_location_id] += m.qty
        if m.type in (MovementType.pick, MovementType.consume, MovementType.ship):
            assert m.lot.expires_on is None or local_date(m.happened_at, tz) <= m.lot.expires_on
    assert ledger_matches_balances(db.session) == []
    assert reservations_match_tasks(db.session) == []


def test_the_history_happens_in_a_consistent_order(app):
    seeded()
    assert_floor_time_history_is_consistent(ZoneInfo("UTC"))


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_the_history_is_consistent_at_a_site_far_from_utc(app, zone):
    assert seed(db.session, ZoneInfo(zone)) is True
    db.session.commit()
    assert_floor_time_history_is_consistent(ZoneInfo(zone))
    assert db.session.scalar(select(func.count()).select_from(PickTask).where(PickTask.status == TaskStatus.open))


def test_todays_open_pick_lists_can_be_picked_confirmed_and_shipped_at_once(app, client):
    seeded()
    today = datetime.now(timezone.utc).date()
    open_tasks = db.session.scalars(select(PickTask).where(PickTask.status == TaskStatus.open)).all()
    lists = {task.pick_list for task in open_tasks}
    sales = {pick_list.sales_order for pick_list in lists if pick_list.sales_order}
    assert len(sales) >= 2 and all(order.requested_on == today for order in sales)
    planned = [pick_list.production_order for pick_list in lists if pick_list.production_order]
    assert len(planned) == 1 and planned[0].due_on == today and planned[0].status == OrderStatus.open
    assert all(pick_list.created_at.date() >= today - timedelta(days=1) for pick_list in lists)

    worker, supervisor = sign_in(client, "worker"), sign_in(client, "supervisor")
    listed = client.get("/api/tasks?status=open", headers=worker)
    assert listed.status_code == 200 and listed.json["total"] == len(open_tasks)

    order = min(sales, key=lambda o: (len(o.lines), o.id))
    tasks = db.session.scalars(select(PickTask).join(PickList).where(PickList.sales_order_id == order.id)).all()
    for task in tasks:
        scan = f"240{task.item.sku}|10{task.lot.code}"  # an internal label typed by a wedge scanner
        picked = client.post(f"/api/tasks/{task.id}/pick", headers=worker,
                             json={"scan": scan, "qty": str(task.qty), "location": task.from_location.code})
        assert picked.status_code == 200, picked.json
        assert picked.json["status"] == "applied" and picked.json["task"]["status"] == "picked"
        confirmed = client.post(f"/api/tasks/{task.id}/confirm", headers=supervisor)
        assert confirmed.status_code == 200, confirmed.json
    shipped = client.post(f"/api/orders/{order.id}/ship", headers=supervisor, json={})
    assert shipped.status_code == 201, shipped.json
    assert shipped.json["customer"] == order.customer.code
    assert {t["id"] for t in shipped.json["tasks"]} == {t.id for t in tasks}
    db.session.expire_all()
    assert db.session.get(SalesOrder, order.id).status == OrderStatus.closed
    assert ledger_matches_balances(db.session) == []
    assert reservations_match_tasks(db.session) == []
