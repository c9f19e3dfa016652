"""The demo data set: what `seed` creates, that it runs once only, and the `lotwise demo` command."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from biip.gtin import Gtin
from sqlalchemy import func, select

from backend.demo import DEMO_LOGINS, seed
from backend.models import (Balance, Item, Location, LocationKind, Lot, LotEvent, LotStatus, Movement, MovementType,
                            Partner, PartnerKind, User, db)
from tests.conftest import ledger_matches_balances

LOTWISE = Path(sys.executable).with_name("lotwise")


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
    supplying = set(db.session.scalars(select(Lot.supplier_id).distinct()))
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
    lots = db.session.scalars(select(Lot)).all()
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
    assert {m.type for m in db.session.scalars(select(Movement))} == {MovementType.receive, MovementType.move}
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
    assert before["user"] == 3 and before["movement"] > 0
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
        done = subprocess.run([str(LOTWISE), *args], env=env, capture_output=True, text=True, timeout=120)
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
    assert seeded_counts[0] == 3 and seeded_counts[1] > 0 and seeded_counts[2] > seeded_counts[1]
    second = lotwise("demo")
    assert "already has data; left as it is" in second and "Seeded" not in second
    assert counts() == seeded_counts
