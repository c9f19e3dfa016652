"""Ledger throughput: receive+move operations through the domain functions against a bare-insert floor.

It measures, on fresh migrated databases (SQLite in a temp dir by default):

- domain: N operations (half receives, half moves) through backend.domain.stock.receive/move with an
  Actor, one transaction per operation as the API does (and, as a second line, a commit every 100
  operations, as a batching sync endpoint might);
- floor: the same lot, movement and balance rows inserted with bare SQLAlchemy Core executemany in one
  transaction (values already converted to what the ORM stores: scaled integers, UTC timestamps),

and prints operations per second for each and the time ratio domain/floor.

Run:  .venv/bin/python bench/ledger.py [--ops 20000] [--database-url postgresql://user@host/db]
      (with --database-url, fresh databases are created on that server and dropped afterwards)
"""
from __future__ import annotations

import argparse
import cProfile
import logging
import pstats
import random
import secrets
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from time import perf_counter

from sqlalchemy import column, create_engine, func, insert, select, table, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend import create_app  # noqa: E402
from backend.config import Config, _sqlalchemy_url  # noqa: E402
from backend.domain import Actor, masterdata, stock  # noqa: E402
from backend.domain.auth import create_user  # noqa: E402
from backend.models import Balance, Item, Location, Lot, Movement, Partner, Role, User, db, utcnow  # noqa: E402

ITEMS = [dict(sku="FLOUR", name="Wheat flour", uom="KGM", shelf_life_days=180),
         dict(sku="SUGAR", name="Sugar", uom="KGM", shelf_life_days=365),
         dict(sku="EGGS", name="Eggs", uom="EA", shelf_life_days=28),
         dict(sku="BOLT-M8", name="Bolt M8", uom="EA")]
STORAGE = [f"A-{aisle:02d}-{bay:02d}" for aisle in (1, 2) for bay in range(1, 5)]
SUPPLIER, DEVICE, EXISTING_LOT_SHARE, BATCH = "SUP-MILL", "HH-01", 0.15, 100


@dataclass
class Plan:
    """The operations to run, the lots they create and the balances they leave, simulated up front."""

    ops: list = field(default_factory=list)          # (kind, kwargs, lot index, whether the op creates the lot)
    lots: list = field(default_factory=list)         # item, code, expiry, supplier of each new lot, in order
    balances: dict = field(default_factory=dict)     # (lot_index, location code) -> on hand


def make_plan(n_ops: int, seed: int = 42) -> Plan:
    """Alternate receives (new lots with explicit codes, some into existing lots) and storage-to-storage moves."""
    rng, plan, today = random.Random(seed), Plan(), date.today()
    stocked: list[tuple[int, str]] = []
    for i in range(n_ops):
        if i % 2 == 0:
            new = not plan.lots or rng.random() >= EXISTING_LOT_SHARE
            if not new:
                index = rng.randrange(len(plan.lots))
                args = dict(plan.lots[index], location=rng.choice(STORAGE), reference=f"PO-{i:06d}")
            else:
                item = rng.choice(ITEMS)
                index = len(plan.lots)
                life = item.get("shelf_life_days")
                args = dict(item=item["sku"], lot=f"L{index:06d}", location=rng.choice(STORAGE),
                            expires_on=today + timedelta(days=life) if life else None, supplier=SUPPLIER,
                            supplier_lot=f"S-{index:06d}", unit_cost=Decimal("1.25"), reference=f"PO-{i:06d}")
                plan.lots.append({k: args[k] for k in ("item", "lot", "expires_on", "supplier")})
            kgm = any(it["sku"] == args["item"] and it["uom"] == "KGM" for it in ITEMS)
            args["qty"] = Decimal(rng.randint(100, 1000)) + (Decimal("0.125") if kgm else 0)
            _add(plan, stocked, (index, args["location"]), args["qty"])
            plan.ops.append(("receive", args, index, new))
        else:
            key = rng.choice(stocked)
            while plan.balances[key] < 1:
                key = rng.choice(stocked)
            qty = Decimal(rng.randint(1, min(25, int(plan.balances[key]))))
            dst = rng.choice([code for code in STORAGE if code != key[1]])
            plan.balances[key] -= qty
            _add(plan, stocked, (key[0], dst), qty)
            plan.ops.append(("move", dict(from_location=key[1], to_location=dst, qty=qty), key[0], False))
    return plan


def _add(plan: Plan, stocked: list, key: tuple[int, str], qty: Decimal) -> None:
    """Add to a simulated balance, remembering new (lot, location) pairs."""
    if key not in plan.balances:
        plan.balances[key] = Decimal(0)
        stocked.append(key)
    plan.balances[key] += qty


def new_app(url: str, instance: Path):
    """A migrated app on `url` with master data (items, storage locations, a supplier, a user)."""
    app = create_app(Config(SQLALCHEMY_DATABASE_URI=url, INSTANCE_PATH=str(instance), SECRET_KEY="bench",
                            LOTWISE_LOG_LEVEL="WARNING"))
    with app.app_context():
        from flask_migrate import upgrade
        logging.disable(logging.INFO)  # alembic's progress lines
        upgrade()
        logging.disable(logging.NOTSET)
        s = db.session
        for item in ITEMS:
            masterdata.create(s, Item, item)
        for code in STORAGE:
            masterdata.create(s, Location, dict(code=code, kind="storage"))
        masterdata.create(s, Partner, dict(code=SUPPLIER, name="Mill & Co", kind="supplier"))
        create_user(s, username="worker", password="worker-pw", role=Role.worker)
        s.commit()
    return app


def run_domain(app, plan: Plan, batch: int, profile: cProfile.Profile | None = None) -> float:
    """Apply the plan through the domain functions, committing every `batch` operations; returns seconds."""
    with app.app_context():
        s = db.session
        actor = Actor(user=s.scalar(select(User).where(User.username == "worker")), device=DEVICE)
        lot_ids: list[int] = []
        if profile:
            profile.enable()
        start = perf_counter()
        for done, (kind, args, lot, new) in enumerate(plan.ops, 1):
            if kind == "receive":
                movement = stock.receive(s, actor, **args)
                if new:
                    lot_ids.append(movement.lot_id)
            else:
                stock.move(s, actor, lot=lot_ids[lot], **args)
            if done % batch == 0:
                s.commit()
        s.commit()
        elapsed = perf_counter() - start
        if profile:
            profile.disable()
        check(s, plan)
        db.engine.dispose()
    return elapsed


def check(session, plan: Plan) -> None:
    """Fail loudly unless the database holds exactly the plan's lots, movements and balances."""
    counts = (session.scalar(select(func.count()).select_from(Lot)),
              session.scalar(select(func.count()).select_from(Movement)),
              session.scalar(select(func.count()).select_from(Balance)),
              session.scalar(select(func.sum(Balance.on_hand))))
    expected = (len(plan.lots), len(plan.ops), len(plan.balances), sum(plan.balances.values()))
    assert tuple(Decimal(c) for c in counts) == expected, f"database {counts} != plan {expected}"


def floor_rows(app, plan: Plan) -> dict[str, list[dict]]:
    """The lot, movement and balance rows the domain run writes, converted to the values the driver gets."""
    with app.app_context():
        ids = {model: dict(db.session.execute(select(getattr(model, key), model.id)).all())
               for model, key in ((Item, "sku"), (Location, "code"), (Partner, "code"), (User, "username"))}
        dialect = db.engine.dialect
    now, supplier, actor = utcnow(), ids[Partner][SUPPLIER], ids[User]["worker"]
    lots = [dict(id=i + 1, item_id=ids[Item][lot["item"]], code=lot["lot"], status="available",
                 supplier_id=supplier, supplier_lot=f"S-{i:06d}", received_at=now, expires_on=lot["expires_on"],
                 unit_cost=Decimal("1.25"), created_at=now, updated_at=now) for i, lot in enumerate(plan.lots)]
    movements = []
    for kind, args, lot, _new in plan.ops:
        src = ids[Location][args["from_location"]] if kind == "move" else None
        dst = ids[Location][args["to_location" if kind == "move" else "location"]]
        movements.append(dict(
            type=kind, lot_id=lot + 1, qty=args["qty"],
            from_location_id=src, to_location_id=dst, partner_id=supplier if kind == "receive" else None,
            ref_type="receipt" if kind == "receive" else None, ref_number=args.get("reference"), reason=None,
            reverses_id=None, actor_id=actor, device=DEVICE, happened_at=now, recorded_at=now))
    balances = [dict(lot_id=lot + 1, location_id=ids[Location][code], on_hand=qty, reserved=Decimal(0),
                     updated_at=now) for (lot, code), qty in plan.balances.items()]
    return {name: _stored(model.__table__, rows, dialect)
            for name, model, rows in (("lot", Lot, lots), ("movement", Movement, movements),
                                      ("balance", Balance, balances))}


def _stored(model_table, rows: list[dict], dialect) -> list[dict]:
    """Rows with each value passed through its column type's bind processor (untimed)."""
    procs = {c.name: c.type.bind_processor(dialect) for c in model_table.columns}
    return [{k: procs[k](v) if procs[k] else v for k, v in row.items()} for row in rows]


def run_floor(app, plan: Plan, rows: dict[str, list[dict]]) -> float:
    """Insert the rows with bare Core executemany in one transaction, into untyped tables; returns seconds."""
    with app.app_context():
        engine = db.engine
        start = perf_counter()
        with engine.begin() as conn:
            for name, data in rows.items():
                conn.execute(insert(table(name, *map(column, data[0]))), data)
        elapsed = perf_counter() - start
        check(db.session, plan)
        engine.dispose()
    return elapsed


class Databases:
    """Fresh databases: SQLite files in a temp dir, or new databases on a server dropped afterwards."""

    def __init__(self, url: str | None):
        self.tmp = tempfile.TemporaryDirectory(prefix="lotwise-bench-")
        self.admin = create_engine(_sqlalchemy_url(url), isolation_level="AUTOCOMMIT") if url else None
        self.created: list[str] = []
        self.dialect = self.admin.dialect.name if self.admin else "sqlite"

    def new(self, name: str) -> str:
        """The URL of a new empty database."""
        if self.admin is None:
            return f"sqlite:///{Path(self.tmp.name) / name}.db"
        db_name = f"lotwise_bench_{name}_{secrets.token_hex(4)}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db_name}"'))
        self.created.append(db_name)
        return self.admin.url.set(database=db_name).render_as_string(hide_password=False)

    def close(self) -> None:
        """Drop what was created."""
        if self.admin is not None:
            with self.admin.connect() as conn:
                for db_name in self.created:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
            self.admin.dispose()
        self.tmp.cleanup()


def line(name: str, ops: int, seconds: float, floor_rate: float | None = None) -> str:
    """One result line; with the floor's rate, also how many times slower than the floor."""
    ratio = f"; ratio {floor_rate * seconds / ops:.1f}x the floor" if floor_rate else ""
    return f"{name}: {ops} ops in {seconds:.2f} s = {ops / seconds:,.0f} ops/s{ratio}"


def main() -> None:
    """Parse the options, run the three measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=20000, help="operations, half receives and half moves")
    parser.add_argument("--database-url", help="a PostgreSQL server URL to create fresh databases on "
                                               "(default: SQLite files in a temp dir)")
    parser.add_argument("--profile", type=int, metavar="N", default=0,
                        help="print the N most expensive functions of the per-operation domain run "
                             "(cProfile; slows that run, so its figure is not comparable)")
    opts = parser.parse_args()
    plan, batched_plan = make_plan(opts.ops), make_plan(max(opts.ops // 4, 2))
    dbs, profile = Databases(opts.database_url), cProfile.Profile() if opts.profile else None
    try:
        apps = {name: new_app(dbs.new(name), Path(dbs.tmp.name) / name) for name in ("floor", "domain", "batched")}
        receives = sum(op[0] == "receive" for op in plan.ops)
        print(f"{dbs.dialect}: {opts.ops} operations = {receives} receives ({len(plan.lots)} new lots) "
              f"+ {opts.ops - receives} moves, leaving {len(plan.balances)} balance rows")
        floor = run_floor(apps["floor"], plan, floor_rows(apps["floor"], plan))
        domain = run_domain(apps["domain"], plan, batch=1, profile=profile)
        batched = run_domain(apps["batched"], batched_plan, batch=BATCH)
        print(line("floor  (Core executemany, one transaction)", opts.ops, floor))
        print(line("domain (one transaction per op)", opts.ops, domain, opts.ops / floor))
        print(line(f"domain (commit every {BATCH} ops)", len(batched_plan.ops), batched, opts.ops / floor))
        if profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(opts.profile)
    finally:
        dbs.close()


if __name__ == "__main__":
    main()
