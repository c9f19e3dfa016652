"""Sync push throughput: mutations a second through POST /api/sync/push over real HTTP, against a bare-insert floor.

For each database it builds, untimed, a fresh database (SQLite: a file in a temp dir; PostgreSQL: a new
database on --pg-url, dropped at the end) with `lotwise db upgrade` and `lotwise demo`, then the work, through
the domain functions in this process: receipts of "pick lots" (expiring first, so FEFO allocates from them
alone), sales orders of one item each allocated into >= 60 % of N open pick tasks, "move lots" with plenty of
free stock, and the bench devices. Then it signs in one worker token per device, fetches the tasks, lots and
items with GET /api/sync/pull and builds N mutations: 60 % picks (each a distinct open task, its own lot's
scan: "]d201"+GTIN+"10"+lot, or "240"+SKU+GS+"10"+lot for items without a GTIN, its full quantity), 30 %
moves (scan, from the lot's home storage location to another) and 10 % receives of new lots (GS1 scan with
(17) expiry for items with a GTIN, item+lot+expires_on otherwise), shuffled, `seq` increasing per device.

Timed: the devices' pushes of --chunk (500) mutations over HTTP with `requests` sessions, from the first push
to the last answer; devices run in threads, each pushing its own share sequentially.

- SQLite: `lotwise serve` (1 worker, 8 threads): 1 device pushing N/500 pushes, and on a second copy of the
  same database 4 concurrent devices;
- PostgreSQL: `gunicorn -w 2 -k gthread --threads T` on backend.app:create_app(), 8 concurrent devices.

Every result must be applied (or flagged); afterwards the ledger is checked: movements by type and new lots
as planned, one stored outcome per mutation, every balance equal to the sum of its movements.

Floor: the rows the run wrote (new lots, movements, sync_outcome rows, and the balance rows it changed or
created, with their final values), read back and converted to their stored form (quantities as BIGINT
millionths, see backend/types.py), written by bare SQLAlchemy Core executemany in one transaction into a
copy of the database as it was before the push (same kind, same engine settings). It prints mutations/s of
each configuration, the floor's rows/s, the ratio to the floor (push time / floor time) and the targets
(SQLite >= 3,000/s and <= 3x the floor; PostgreSQL >= 1,500/s aggregate) with PASS/MISS.

--profile N then runs the push handler in this process for each database (Flask test client, no HTTP, a
fresh copy of the same set-up): per mutation type the ms, SQL statements and commits per mutation, the
statements that take the most time in the driver, and a cProfile of a mixed push: own time by package,
cumulative time of the key functions and the N most expensive functions.

Run:  .venv/bin/python bench/sync_push.py [--mutations 10000] [--only sqlite|postgresql] [--profile 25]
          [--pg-url postgresql://postgres@127.0.0.1:5432] [--pg-threads 4] [--chunk 500]
      The timed pushes are most of the run: at the ~250 mutations/s the server manages today the defaults take
      about 3 minutes on 2 cores (--profile adds about 1, a busy machine more); --mutations 5000 about half
      that, --mutations 2000 for a quick look. Exit code 1 when a result or the ledger is not as planned.
"""
from __future__ import annotations

import argparse
import cProfile
import math
import os
import pstats
import random
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from time import perf_counter
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import bindparam, column, create_engine, event, func, insert, select, table, text, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend import create_app  # noqa: E402
from backend.config import Config, _sqlalchemy_url  # noqa: E402
from backend.domain import Actor, orders, stock  # noqa: E402
from backend.domain.auth import register_device  # noqa: E402
from backend.models import (  # noqa: E402
    Balance, Item, Location, LocationKind, Lot, Movement, PickTask, SyncOutcome, User, db,
)

BIN = Path(sys.executable).parent
GS = "\x1d"
PICK, MOVE, RECEIVE = "pick", "move", "receive"
MIX = ((PICK, 0.6), (MOVE, 0.3), (RECEIVE, 0.1))
PICK_LOT_QTY = 400           # units per pick lot; lines of 1-4 units, so ~160 tasks per lot
MOVE_LOTS, MOVE_LOT_QTY = 16, 20000
ORDER_LINES = 50             # lines per sales order (one item per order)
SUPERVISOR, WORKER = ("supervisor", "supervisor"), ("worker", "worker")
TARGET_SQLITE, TARGET_RATIO, TARGET_PG = 3000, 3.0, 1500


# --- databases, CLI and servers ------------------------------------------------------------------------------

class Databases:
    """Fresh databases: SQLite files in a temp dir, or new PostgreSQL databases dropped at the end."""

    def __init__(self, tmp: Path, pg_url: str | None):
        self.tmp = tmp
        self.admin = create_engine(_sqlalchemy_url(pg_url), isolation_level="AUTOCOMMIT") if pg_url else None
        self.created: list[str] = []

    def new(self, kind: str, name: str, template: str | None = None) -> str:
        """The URL of a new database (a copy of `template`'s URL when given)."""
        if kind == "sqlite":
            path = self.tmp / f"{name}.db"
            if template:
                with sqlite3.connect(template.removeprefix("sqlite:///")) as src, sqlite3.connect(path) as dst:
                    src.backup(dst)
                src.close(), dst.close()
            return f"sqlite:///{path}"
        db_name = f"lotwise_bench_{name}_{secrets.token_hex(4)}"
        source = f' TEMPLATE "{_db_name(template)}"' if template else ""
        for attempt in range(20):  # a template must have no other sessions; autovacuum may hold one briefly
            try:
                with self.admin.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{db_name}"{source}'))
                break
            except Exception:
                if not template or attempt == 19:
                    raise
                time.sleep(0.5)
        self.created.append(db_name)
        return self.admin.url.set(database=db_name).render_as_string(hide_password=False)

    def close(self) -> None:
        """Drop the PostgreSQL databases made here."""
        if self.admin is not None:
            with self.admin.connect() as conn:
                for db_name in self.created:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
            self.admin.dispose()


def _db_name(url: str) -> str:
    """The database name of a PostgreSQL URL."""
    return url.rsplit("/", 1)[1]


def server_env(url: str, instance: Path) -> dict:
    """The environment of the CLI and the servers for one database."""
    instance.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DATABASE_URL": url, "LOTWISE_INSTANCE_PATH": str(instance), "SECRET_KEY": "bench",
           "LOTWISE_LOG_LEVEL": "WARNING"}
    for name in ("LOTWISE_PASSWORD", "LOTWISE_TOKEN", "LOTWISE_USER", "LOTWISE_SERVER"):
        env.pop(name, None)
    return env


def lotwise(env: dict, *args: str) -> None:
    """Run the `lotwise` console script; fail with its output."""
    result = subprocess.run([str(BIN / "lotwise"), *args], env=env, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"lotwise {' '.join(args)} failed:\n{result.stdout}{result.stderr}")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running(command: list[str], env: dict, log_path: Path, port: int):
    """A server process until the block ends; yields its base URL once /healthz answers."""
    with open(log_path, "w") as log:  # a file: a pipe nobody reads would stall the server
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError("the server stopped:\n" + log_path.read_text())
            try:
                if requests.get(url + "/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            raise RuntimeError("the server did not come up:\n" + log_path.read_text())
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def lotwise_serve(env: dict, log_path: Path):
    """`lotwise serve` with its defaults (1 worker, 8 threads) on a free port."""
    port = free_port()
    return running([str(BIN / "lotwise"), "serve", "--port", str(port)], env, log_path, port)


def gunicorn(env: dict, log_path: Path, workers: int, threads: int):
    """gunicorn -k gthread on the app factory, on a free port."""
    port = free_port()
    return running([str(BIN / "gunicorn"), "-w", str(workers), "-k", "gthread", "--threads", str(threads),
                    "-b", f"127.0.0.1:{port}", "--timeout", "600", "backend.app:create_app()"], env, log_path, port)


def bench_app(url: str, instance: Path):
    """A Lotwise app on `url` in this process, configured like the server."""
    return create_app(Config(SQLALCHEMY_DATABASE_URI=_sqlalchemy_url(url), INSTANCE_PATH=str(instance),
                             SECRET_KEY="bench", LOTWISE_LOG_LEVEL="WARNING"))


# --- the work: stock, allocated orders, devices (untimed, through the domain functions) ----------------------

def device_name(index: int) -> str:
    """The name of the index-th bench device."""
    return f"BENCH-{index + 1:02d}"


def build_work(url: str, instance: Path, n_picks: int, devices: int, seed: int = 11) -> dict:
    """Pick lots, orders allocated into >= n_picks open tasks, move lots and the devices (registered now, so
    that the floor's copy of the database has them); returns what was made."""
    app = bench_app(url, instance)
    rng = random.Random(seed)
    with app.app_context():
        s = db.session
        tz = ZoneInfo(app.config["LOTWISE_TIMEZONE"])
        users = {u.username: u for u in s.scalars(select(User))}
        supervisor = Actor(user=users["supervisor"], device="BENCH-SETUP", tz=tz)
        items = s.scalars(select(Item).where(Item.active.is_(True)).order_by(Item.id)).all()
        storage = [loc.code for loc in s.scalars(select(Location).where(
            Location.kind == LocationKind.storage, Location.active.is_(True)).order_by(Location.code))]
        staging = [loc.code for loc in s.scalars(select(Location).where(
            Location.kind == LocationKind.staging).order_by(Location.code))]
        today = datetime.now(tz).date()
        # Orders of one item each; the lines' quantities decide how many pick lots each item needs.
        n_orders = math.ceil(n_picks / ORDER_LINES)
        plan = [(items[k % len(items)], [rng.randint(1, 4) for _ in range(ORDER_LINES)]) for k in range(n_orders)]
        demand = Counter()
        for item, lines in plan:
            demand[item.sku] += sum(lines)
        code_no = 0
        for item in items:  # expiring in 3 days: before every demo lot, so FEFO allocates from these alone
            for _ in range(math.ceil(demand[item.sku] / PICK_LOT_QTY)):
                stock.receive(s, supervisor, item=item.sku, lot=f"BP{code_no:05d}", qty=Decimal(PICK_LOT_QTY),
                              location=storage[code_no % len(storage)], expires_on=today + timedelta(days=3),
                              supplier="SUP-MILL", reference="BENCH")
                code_no += 1
        for n in range(MOVE_LOTS):  # expiring last: never allocated, all their stock free to move
            item = items[n % len(items)]
            stock.receive(s, supervisor, item=item.sku, lot=f"BM{n:05d}", qty=Decimal(MOVE_LOT_QTY),
                          location=storage[n % len(storage)], expires_on=today + timedelta(days=700),
                          supplier="SUP-MILL", reference="BENCH")
        s.commit()
        pick_lists = []
        for k, (item, lines) in enumerate(plan):
            order = orders.create_sales_order(s, supervisor, customer="CUS-FRISCH", reference=f"BENCH-{k}",
                                              lines=[{"item": item.sku, "qty": Decimal(q)} for q in lines])
            pick_list, shortfalls = orders.allocate_order(s, supervisor, order=order.id,
                                                          staging=staging[k % len(staging)])
            if shortfalls:
                raise RuntimeError(f"set-up: {order.number} is short of {shortfalls}")
            pick_lists.append(pick_list.number)
            s.commit()
        for index in range(devices):
            register_device(s, device_name(index), users["worker"])
        s.commit()
        tasks = s.scalar(select(func.count()).select_from(PickTask).where(PickTask.status == "open"))
        db.session.remove()
        db.engine.dispose()
    return {"pick_lists": set(pick_lists), "open_tasks": tasks, "storage": storage}


# --- what the devices know: tokens and a pull ----------------------------------------------------------------

def sign_in(http: requests.Session, url: str, credentials: tuple[str, str], device: str) -> str:
    """A bearer token for the user on the device."""
    response = http.post(url + "/api/auth/token", json={"username": credentials[0], "password": credentials[1],
                                                        "device": device}, timeout=60)
    response.raise_for_status()
    return response.json()["token"]


@dataclass
class Work:
    """From a pull: the bench's open tasks (with their scans), move lots and the items."""

    tasks: list = field(default_factory=list)        # (task id, scan, qty) in task order
    move_lots: list = field(default_factory=list)    # (scan, home location)
    items: list = field(default_factory=list)        # (sku, gtin)
    storage: list = field(default_factory=list)


def lot_scan(item: dict, code: str) -> str:
    """What a handheld reads from a lot's label: GS1 DataMatrix with the GTIN, or (240) SKU."""
    if item["gtin"]:
        return f"]d201{item['gtin']}10{code}"
    return f"240{item['sku']}{GS}10{code}"


def fetch_work(url: str, token: str, pick_lists: set, storage: list) -> Work:
    """GET /api/sync/pull (full) as the supervisor: the bench's open tasks, move lots and items."""
    response = requests.get(url + "/api/sync/pull", headers={"Authorization": f"Bearer {token}"}, timeout=300)
    response.raise_for_status()
    data = response.json()
    items = {item["id"]: item for item in data["items"]}
    work = Work(items=[(i["sku"], i["gtin"]) for i in data["items"]], storage=storage)
    for task in data["tasks"]:
        if task["pick_list"] in pick_lists and task["status"] == "open":
            work.tasks.append((task["id"], lot_scan(items[task["item"]], task["lot_code"]), task["qty"]))
    work.tasks.sort()
    for lot in data["lots"]:
        if lot["code"].startswith("BM"):
            (home, _), = lot["stock"].items()
            work.move_lots.append((lot_scan(items[lot["item"]], lot["code"]), home))
    work.move_lots.sort(key=lambda m: m[0][-7:])
    return work


# --- the queues ----------------------------------------------------------------------------------------------

def counts(n: int) -> dict[str, int]:
    """How many mutations of each type make up n (60/30/10)."""
    picks, moves = round(n * MIX[0][1]), round(n * MIX[1][1])
    return {PICK: picks, MOVE: moves, RECEIVE: n - picks - moves}


def share(total: int, parts: int, index: int) -> range:
    """The index-th of `parts` contiguous near-equal slices of range(total)."""
    return range(total * index // parts, total * (index + 1) // parts)


def make_queues(work: Work, n: int, devices: int, run: str, seed: int = 5,
                want: dict | None = None) -> list[list[dict]]:
    """Each device's mutations: its slice of the picks (contiguous tasks), moves of its own move lots and
    receives of new lots, shuffled, `seq` from 1, `at` a millisecond apart ending a little before now.

    `want` overrides the 60/30/10 counts of the n mutations (the profile pushes one type at a time)."""
    want = want or counts(n)
    if len(work.tasks) < want[PICK]:
        raise RuntimeError(f"only {len(work.tasks)} open tasks for {want[PICK]} picks")
    rng = random.Random(seed)
    today = date.today()
    queues = []
    for d in range(devices):
        lots = [lot for i, lot in enumerate(work.move_lots) if i % devices == d] \
            or [work.move_lots[d % len(work.move_lots)]]
        specs = [(PICK, work.tasks[i]) for i in share(want[PICK], devices, d)]
        specs += [(MOVE, rng.choice(lots)) for _ in share(want[MOVE], devices, d)]
        specs += [(RECEIVE, (i, rng.choice(work.items))) for i in share(want[RECEIVE], devices, d)]
        rng.shuffle(specs)
        start = datetime.now(timezone.utc) - timedelta(seconds=30) - timedelta(milliseconds=len(specs))
        queue = []
        for seq, (kind, spec) in enumerate(specs, 1):
            if kind == PICK:
                task, scan, qty = spec
                args = {"task": task, "scan": scan, "qty": qty}
            elif kind == MOVE:
                scan, home = spec
                args = {"scan": scan, "from": home, "to": rng.choice([c for c in work.storage if c != home]),
                        "qty": str(rng.randint(1, 3))}
            else:
                i, (sku, gtin) = spec
                lot, expires = f"{run}{i:06d}", today + timedelta(days=200)
                args = {"qty": str(rng.randint(5, 50)), "location": "DOCK-1", "supplier": "SUP-MILL",
                        "reference": f"GRN-{run}-{i}"}
                if gtin:
                    args["scan"] = f"]d201{gtin}17{expires:%y%m%d}10{lot}"
                else:
                    args.update(item=sku, lot=lot, expires_on=expires.isoformat())
            at = start + timedelta(milliseconds=seq)
            queue.append({"id": secrets.token_hex(16), "seq": seq, "type": kind,
                          "at": at.isoformat(timespec="milliseconds"), "args": args})
        queues.append(queue)
    return queues


# --- the timed pushes ----------------------------------------------------------------------------------------

@dataclass
class RunResult:
    """What one configuration did."""

    name: str
    mutations: int
    seconds: float
    statuses: Counter
    problems: list
    latencies: list = field(default_factory=list)  # seconds per push


def push_all(url: str, tokens: list[str], queues: list[list[dict]], chunk: int, name: str) -> RunResult:
    """Every device pushes its queue in chunks, sequentially, devices in parallel threads; timed as a whole."""
    sessions = [requests.Session() for _ in queues]
    statuses, problems, latencies, lock = Counter(), [], [], threading.Lock()
    barrier = threading.Barrier(len(queues) + 1)

    def device(index: int) -> None:
        http, queue = sessions[index], queues[index]
        headers = {"Authorization": f"Bearer {tokens[index]}"}
        barrier.wait()
        for start in range(0, len(queue), chunk):
            body = {"device": device_name(index), "mutations": queue[start:start + chunk]}
            sent = perf_counter()
            response = http.post(url + "/api/sync/push", json=body, headers=headers, timeout=600)
            latency = perf_counter() - sent
            if response.status_code != 200:
                with lock:
                    problems.append(f"{device_name(index)}: HTTP {response.status_code} {response.text[:300]}")
                return
            results = response.json()["results"]
            seen = Counter(r["status"] for r in results)
            bad = [r for r in results if r["status"] not in ("applied", "flagged")]
            wrong_order = [r["id"] for r in results] != [m["id"] for m in body["mutations"]]
            with lock:
                latencies.append(latency)
                statuses.update(seen)
                problems.extend(f"{device_name(index)}: {r['status']} {r.get('reason')}: {r.get('message')}"
                                for r in bad[:5])
                if wrong_order:
                    problems.append(f"{device_name(index)}: results not in the order given")

    threads = [threading.Thread(target=device, args=(i,)) for i in range(len(queues))]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = perf_counter()
    for thread in threads:
        thread.join()
    seconds = perf_counter() - started
    for http in sessions:
        http.close()
    return RunResult(name, sum(map(len, queues)), seconds, statuses, problems, latencies)


# --- checks and the floor's rows -----------------------------------------------------------------------------

TABLES = {"lot": Lot.__table__, "movement": Movement.__table__, "sync_outcome": SyncOutcome.__table__,
          "balance": Balance.__table__}


def snapshot(url: str) -> dict:
    """Before the push: the highest ids and every balance (to find what the push changed)."""
    engine = create_engine(_sqlalchemy_url(url))
    with engine.connect() as conn:
        state = {name: conn.scalar(select(func.coalesce(func.max(TABLES[name].c.id), 0)))
                 for name in ("lot", "movement", "sync_outcome")}
        state["balance"] = {(r.lot_id, r.location_id): (r.on_hand, r.reserved)
                            for r in conn.execute(select(Balance.__table__))}
    engine.dispose()
    return state


def check(url: str, before: dict, n: int) -> list[str]:
    """What is wrong with the ledger after the push (empty when it is as planned)."""
    want, problems = counts(n), []
    engine = create_engine(_sqlalchemy_url(url))
    m, o, lot = Movement.__table__, SyncOutcome.__table__, Lot.__table__
    with engine.connect() as conn:
        by_type = dict(conn.execute(select(m.c.type, func.count()).where(m.c.id > before["movement"])
                                    .group_by(m.c.type)).all())
        outcomes = dict(conn.execute(select(o.c.status, func.count()).where(o.c.id > before["sync_outcome"])
                                     .group_by(o.c.status)).all())
        new_lots = conn.scalar(select(func.count()).select_from(lot).where(lot.c.id > before["lot"]))
        flows = defaultdict(int)
        for lot_id, src, dst, qty in conn.execute(text(
                "SELECT lot_id, from_location_id, to_location_id, qty FROM movement")):
            if src is not None:
                flows[lot_id, src] -= qty
            if dst is not None:
                flows[lot_id, dst] += qty
        balances = dict(((lot_id, loc), on_hand) for lot_id, loc, on_hand in conn.execute(text(
            "SELECT lot_id, location_id, on_hand FROM balance")))
    engine.dispose()
    got = {getattr(t, "value", t): c for t, c in by_type.items()}
    if got != want:
        problems.append(f"movements by type {got} != planned {want}")
    if sum(outcomes.values()) != n or set(outcomes) - {"applied", "flagged"}:
        problems.append(f"stored outcomes {outcomes} != {n} applied/flagged")
    if new_lots != want[RECEIVE]:
        problems.append(f"{new_lots} new lots != {want[RECEIVE]} receives")
    off = [key for key in set(flows) | set(balances) if flows.get(key, 0) != balances.get(key, 0)]
    if off:
        problems.append(f"{len(off)} balances differ from their ledger, e.g. {off[:3]}")
    return problems


def floor_rows(url: str, before: dict) -> list[tuple[str, str, list[dict]]]:
    """The rows the push wrote, in their stored form: (table, "insert"/"update", rows)."""
    engine = create_engine(_sqlalchemy_url(url))
    dialect, out = engine.dialect, []
    with engine.connect() as conn:
        for name in ("lot", "movement", "sync_outcome"):
            t = TABLES[name]
            rows = [dict(r._mapping) for r in conn.execute(select(t).where(t.c.id > before[name]).order_by(t.c.id))]
            out.append((name, "insert", _stored(t, rows, dialect)))
        new, changed = [], []
        for r in conn.execute(select(Balance.__table__)):
            row = dict(r._mapping)
            old = before["balance"].get((r.lot_id, r.location_id))
            if old is None:
                new.append(row)
            elif old != (r.on_hand, r.reserved):
                changed.append(row)
        out.append(("balance", "insert", _stored(Balance.__table__, new, dialect)))
        out.append(("balance", "update", _stored(Balance.__table__, changed, dialect)))
    engine.dispose()
    return out


def _stored(model_table, rows: list[dict], dialect) -> list[dict]:
    """Rows with each value passed through its column type's bind processor (what the driver receives)."""
    procs = {c.name: c.type.dialect_impl(dialect).bind_processor(dialect) for c in model_table.columns}
    return [{k: procs[k](v) if procs[k] and v is not None else v for k, v in row.items()} for row in rows]


def run_floor(url: str, instance: Path, rows: list) -> tuple[float, int]:
    """Write the rows by bare Core executemany in one transaction (the server's engine settings); (s, rows)."""
    app = bench_app(url, instance)
    with app.app_context():
        engine = db.engine
        with engine.connect() as conn:  # connect (and its PRAGMAs) before the clock starts
            conn.execute(text("SELECT 1"))
        total = sum(len(data) for _, _, data in rows)
        start = perf_counter()
        with engine.begin() as conn:
            for name, how, data in rows:
                if not data:
                    continue
                if how == "insert":
                    conn.execute(insert(table(name, *map(column, data[0]))), data)
                else:
                    t = table(name, *map(column, data[0]))
                    statement = (update(t).where(t.c.lot_id == bindparam("k_lot"),
                                                 t.c.location_id == bindparam("k_location"))
                                 .values(on_hand=bindparam("v_on_hand"), reserved=bindparam("v_reserved"),
                                         updated_at=bindparam("v_updated_at")))
                    conn.execute(statement, [{"k_lot": r["lot_id"], "k_location": r["location_id"],
                                              "v_on_hand": r["on_hand"], "v_reserved": r["reserved"],
                                              "v_updated_at": r["updated_at"]} for r in data])
        seconds = perf_counter() - start
        db.session.remove()
        engine.dispose()
    return seconds, total


# --- one database kind ---------------------------------------------------------------------------------------

@dataclass
class KindResult:
    """The figures of one database kind."""

    kind: str
    runs: list
    floor_seconds: float = 0.0
    floor_rows: int = 0
    floor_detail: str = ""
    problems: list = field(default_factory=list)
    setup_seconds: float = 0.0
    profile_url: str | None = None


def prepare(dbs: Databases, kind: str, tmp: Path, picks: int, devices: int) -> tuple[str, dict, Path]:
    """A fresh database with the demo and work for `picks` picks; returns its URL, what was made, its instance."""
    instance = tmp / f"{kind}-setup"
    url = dbs.new(kind, "setup")
    env = server_env(url, instance)
    lotwise(env, "db", "upgrade")
    lotwise(env, "demo")
    made = build_work(url, instance, picks, devices)
    return url, made, instance


def run_config(url: str, kind: str, tmp: Path, made: dict, n: int, devices: int, chunk: int, name: str,
               server, before: dict) -> RunResult:
    """Start the server on `url`, sign the devices in, pull, push everything timed, stop, check the ledger."""
    env = server_env(url, tmp / f"{name}-instance")
    with server(env, tmp / f"{name}.log") as base:
        http = requests.Session()
        supervisor = sign_in(http, base, SUPERVISOR, "BENCH-SUPERVISOR")
        work = fetch_work(base, supervisor, made["pick_lists"], made["storage"])
        tokens = [sign_in(http, base, WORKER, device_name(i)) for i in range(devices)]
        http.close()
        queues = make_queues(work, n, devices, run=f"R{secrets.token_hex(2).upper()}")
        result = push_all(base, tokens, queues, chunk, name)
    result.problems += check(url, before, n)
    return result


def bench_kind(dbs: Databases, kind: str, tmp: Path, opts) -> KindResult:
    """Set up, run the configurations of one database kind, then the floor."""
    n, out = opts.mutations, KindResult(kind, [])
    started = perf_counter()
    picks = counts(n)[PICK]
    if opts.profile:
        picks = max(picks, min(opts.chunk, 300) + counts(2 * opts.profile_mutations)[PICK])
    devices = max(1, opts.sqlite_devices) if kind == "sqlite" else opts.pg_devices
    setup_url, made, _ = prepare(dbs, kind, tmp, picks, devices)
    before = snapshot(setup_url)
    floor_url = dbs.new(kind, "floor", template=setup_url)
    profile_url = dbs.new(kind, "profile", template=setup_url) if opts.profile else None
    if kind == "sqlite":
        configs = [(dbs.new(kind, "run1", template=setup_url), 1, "sqlite, lotwise serve, 1 device"),
                   (dbs.new(kind, "run4", template=setup_url), opts.sqlite_devices,
                    f"sqlite, lotwise serve, {opts.sqlite_devices} devices")]
        server = lotwise_serve
    else:
        configs = [(setup_url, opts.pg_devices, f"postgresql, gunicorn -w {opts.pg_workers} -k gthread "
                    f"--threads {opts.pg_threads}, {opts.pg_devices} devices")]
        server = lambda env, log: gunicorn(env, log, opts.pg_workers, opts.pg_threads)  # noqa: E731
    out.setup_seconds = perf_counter() - started
    print(f"{kind}: set-up {out.setup_seconds:.1f} s (demo + {made['open_tasks']} open tasks, untimed)", flush=True)
    floor_source = None
    for index, (url, devices, name) in enumerate(configs):
        result = run_config(url, kind, tmp, made, n, devices, opts.chunk, f"{kind}-{index}", server, before)
        result.name = name
        out.runs.append(result)
        print("  " + run_line(result), flush=True)
        floor_source = floor_source or url
    rows = floor_rows(floor_source, before)
    out.floor_seconds, out.floor_rows = run_floor(floor_url, tmp / f"{kind}-floor", rows)
    out.floor_detail = ", ".join(f"{len(data)} {name} {how}s" for name, how, data in rows)
    out.profile_url = profile_url
    return out


def run_line(result: RunResult, floor_rate: float | None = None) -> str:
    """One configuration's figures."""
    rate = result.mutations / result.seconds
    ratio = f"; {floor_rate / rate:.1f}x the floor" if floor_rate else ""
    statuses = ", ".join(f"{c} {s}" for s, c in sorted(result.statuses.items()))
    pushes = sorted(result.latencies)
    latency = f"; a push takes {pushes[len(pushes) // 2]:.2f} s median, {pushes[-1]:.2f} s max" if pushes else ""
    return f"{result.name}: {result.mutations} mutations in {result.seconds:.2f} s = {rate:,.0f} mutations/s" \
           f"{ratio} ({statuses}{latency})"


# --- profile of the push handler in this process --------------------------------------------------------------

class SqlCounter:
    """Counts statements (by verb), commits and time inside the driver's execute, via engine events."""

    def __init__(self, engine):
        self.statements, self.commits, self.execute_seconds = Counter(), 0, 0.0
        self.by_text = defaultdict(lambda: [0, 0.0])  # statement -> [executions, seconds in the driver]
        self._started = threading.local()
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "commit", self._commit)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self._started.t = perf_counter()
        self.statements[statement.lstrip().split(None, 1)[0].upper()] += 1

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        seconds = perf_counter() - self._started.t
        self.execute_seconds += seconds
        entry = self.by_text[statement]
        entry[0] += 1
        entry[1] += seconds

    def _commit(self, conn):
        self.commits += 1

    def reset(self) -> None:
        """Start counting afresh."""
        self.statements, self.commits, self.execute_seconds = Counter(), 0, 0.0
        self.by_text.clear()


CATEGORIES = (  # (label, test on (filename, function name)), first match wins
    ("driver: commit", lambda f, fn: "commit" in fn and ("sqlite3" in fn or "psycopg" in f + fn)),
    ("driver: execute/fetch (incl. waiting for the server; psycopg's commits too)",
     lambda f, fn: "sqlite3" in fn or "psycopg" in f + fn),
    ("SQLAlchemy ORM (flush, loading, identity map, expiry)", lambda f, fn: "sqlalchemy/orm" in f),
    ("SQLAlchemy Core (compile, statements, types)", lambda f, fn: "sqlalchemy/sql" in f),
    ("SQLAlchemy engine (execute, results, events, pool)", lambda f, fn: "sqlalchemy/" in f),
    ("marshmallow / flask-smorest (parse args, dump results)", lambda f, fn: any(
        p in f for p in ("marshmallow", "flask_smorest", "webargs", "apispec"))),
    ("biip + scan interpretation", lambda f, fn: "biip" in f or "domain/scans.py" in f),
    ("Lotwise domain (backend/domain)", lambda f, fn: "backend/domain" in f),
    ("sync engine (sync/)", lambda f, fn: "/sync/" in f),
    ("Flask / Werkzeug / JSON", lambda f, fn: any(p in f for p in ("flask", "werkzeug", "json"))
     or "json" in fn),
    ("Python stdlib & builtins (datetime, decimal, re, enum...)", lambda f, fn: True),
)


def by_category(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Own time (tottime) summed per category."""
    sums = Counter()
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        label = next(label for label, test in CATEGORIES if test(filename, name))
        sums[label] += tottime
    return sums.most_common()


CUMULATIVE = (  # functions whose cumulative time tells where a mutation's time goes
    ("sync/engine.py", "push"), ("sync/engine.py", "_apply_once"), ("sync/engine.py", "_stored"),
    ("sync/engine.py", "_actor"), ("sync/engine.py", "_parse"), ("sync/engine.py", "_pick"),
    ("sync/engine.py", "_move"), ("sync/engine.py", "_receive"), ("domain/picking.py", "pick"),
    ("domain/picking.py", "lot_view"), ("domain/picking.py", "task_view"), ("domain/stock.py", "record"),
    ("domain/stock.py", "receive"), ("domain/stock.py", "move"), ("domain/stock.py", "free_stock"),
    ("domain/scans.py", "interpret"), ("domain/scans.py", "resolve_lot"), ("domain/lookup.py", "location_by_code"),
    ("domain/lots.py", "status_at"), ("orm/session.py", "flush"),
    ("orm/session.py", "get"), ("orm/attributes.py", "__get__"), ("orm/loading.py", "load_on_ident"),
    ("orm/strategies.py", "_load_for_state"), ("orm/state.py", "_load_expired"),
    ("orm/persistence.py", "save_obj"), ("engine/base.py", "_execute_context"),
    ("sql/compiler.py", "__init__"), ("api/__init__.py", "wrapper"),
)


def profile(kind: str, url: str, tmp: Path, n: int, top: int, chunk: int) -> None:
    """The push handler in this process (Flask test client): per-type costs, then a cProfile of a mixed push."""
    app = bench_app(url, tmp / f"{kind}-profile-instance")
    client = app.test_client()
    with app.app_context():
        counter = SqlCounter(db.engine)
        pick_lists = set(db.session.scalars(text("SELECT pl.number FROM pick_list pl JOIN sales_order so ON "
                                                 "so.id = pl.sales_order_id WHERE so.reference LIKE 'BENCH-%'")))
        storage = [c for c, in db.session.execute(text("SELECT code FROM location WHERE kind = 'storage' "
                                                       "AND active ORDER BY code"))]
        db.session.remove()

    def token(credentials, device):
        response = client.post("/api/auth/token", json={"username": credentials[0], "password": credentials[1],
                                                        "device": device})
        return response.get_json()["token"]

    supervisor, worker = token(SUPERVISOR, "BENCH-SUPERVISOR"), token(WORKER, device_name(0))
    pulled = client.get("/api/sync/pull", headers={"Authorization": f"Bearer {supervisor}"}).get_json()
    items = {i["id"]: i for i in pulled["items"]}
    work = Work(items=[(i["sku"], i["gtin"]) for i in pulled["items"]], storage=storage)
    work.tasks = sorted((t["id"], lot_scan(items[t["item"]], t["lot_code"]), t["qty"]) for t in pulled["tasks"]
                        if t["pick_list"] in pick_lists and t["status"] == "open")
    work.move_lots = sorted(((lot_scan(items[lot["item"]], lot["code"]), next(iter(lot["stock"])))
                             for lot in pulled["lots"] if lot["code"].startswith("BM")), key=lambda m: m[0][-7:])
    headers = {"Authorization": f"Bearer {worker}"}

    def push(mutations) -> float:
        start = perf_counter()
        for i in range(0, len(mutations), chunk):
            response = client.post("/api/sync/push", json={"device": device_name(0),
                                                           "mutations": mutations[i:i + chunk]}, headers=headers)
            results = response.get_json()["results"]
            bad = [r for r in results if r["status"] not in ("applied", "flagged")]
            assert response.status_code == 200 and not bad, (response.status_code, bad[:3])
        return perf_counter() - start

    # One type at a time (sample mutations each), then mixed pushes: n unprofiled, n under cProfile.
    sample = min(chunk, 300)
    by_type = {}
    for only, _ in MIX:
        part = Work(tasks=work.tasks[:sample], move_lots=work.move_lots, items=work.items, storage=storage)
        by_type[only] = make_queues(part, sample, 1, run=f"P{only[0].upper()}",
                                    want={t: sample if t == only else 0 for t, _ in MIX})[0]
    rest = Work(tasks=work.tasks[sample:], move_lots=work.move_lots, items=work.items, storage=storage)
    mixed = make_queues(rest, 2 * n, 1, run="PM")[0]
    print(f"\nIn-process profile (Flask test client, {kind}, 1 device; no HTTP): {sample} mutations of one type, "
          f"then {n} mixed, in pushes of up to {chunk}")
    print(f"  {'type':8} {'ms/mutation':>11} {'SQL/mutation':>13}  {'SELECT':>6} {'INSERT':>6} {'UPDATE':>6} "
          f"{'commits':>7}  in driver execute")
    with app.app_context():
        for label, batch in (*by_type.items(), ("mixed", mixed[:n])):
            counter.reset()
            seconds = push(batch)
            k = len(batch)
            st = counter.statements
            other = sum(st.values()) - st["SELECT"] - st["INSERT"] - st["UPDATE"]
            print(f"  {label:8} {1000 * seconds / k:11.2f} {sum(st.values()) / k:13.1f}  {st['SELECT'] / k:6.1f} "
                  f"{st['INSERT'] / k:6.1f} {st['UPDATE'] / k:6.1f} {counter.commits / k:7.2f}  "
                  f"{100 * counter.execute_seconds / seconds:5.1f} %  (+{other / k:.1f} other: BEGIN...)"
                  + (f"  -> {k / seconds:,.0f} mutations/s" if label == "mixed" else ""))
        print(f"\n  The mixed push's statements by time in the driver (of {1000 * seconds / k:.2f} ms/mutation):")
        for statement, (calls, spent) in sorted(counter.by_text.items(), key=lambda e: -e[1][1])[:12]:
            print(f"  {1000 * spent / k:6.3f} ms/mutation {calls / k:5.2f}x {1e6 * spent / calls:6.0f} us  "
                  + " ".join(statement.split())[:110])
        profiled_n = n
        profiler = cProfile.Profile()
        profiler.enable()
        seconds = push(mixed[n:])
        profiler.disable()
    stats = pstats.Stats(profiler)
    total = sum(tt for (_c, _n, tt, _ct, _cl) in stats.stats.values())
    print(f"\ncProfile of a mixed push of {profiled_n} mutations ({1000 * seconds / profiled_n:.2f} ms/mutation "
          f"under the profiler, which inflates Python-heavy parts): own time by package")
    for label, tt in by_category(stats):
        print(f"  {100 * tt / total:5.1f} %  {1000 * tt / profiled_n:6.3f} ms/mutation  {label}")
    print("\nCumulative time of the key functions, ms per mutation (calls per mutation):")
    wanted = {(path, name): None for path, name in CUMULATIVE}
    for (filename, _line, name), (_cc, nc, _tt, ct, _callers) in stats.stats.items():
        for path, fn in wanted:
            if name == fn and filename.endswith(path) and (wanted[path, fn] is None or ct > wanted[path, fn][1]):
                wanted[path, fn] = (nc, ct)
    for (path, name), found in wanted.items():
        if found:
            print(f"  {1000 * found[1] / profiled_n:7.3f} ms  ({found[0] / profiled_n:5.1f} calls)  {path}:{name}")
    print(f"\nTop {top} functions by own time:")
    stats.sort_stats("tottime").print_stats(top)


# --- main ----------------------------------------------------------------------------------------------------

def main() -> None:
    """Parse the options, run each database kind, print the figures and the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutations", type=int, default=10000, help="mutations per configuration (60/30/10)")
    parser.add_argument("--chunk", type=int, default=500, help="mutations per push")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="run one database kind")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432",
                        help="PostgreSQL server to create the fresh databases on (dropped at the end)")
    parser.add_argument("--sqlite-devices", type=int, default=4, help="devices of the second SQLite line")
    parser.add_argument("--pg-devices", type=int, default=8, help="concurrent devices on PostgreSQL")
    parser.add_argument("--pg-workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--pg-threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--profile", type=int, metavar="N", default=0,
                        help="afterwards profile the push handler in-process on SQLite and print the N most "
                             "expensive functions")
    parser.add_argument("--profile-mutations", type=int, default=1000,
                        help="mutations of the profile's mixed pushes (once unprofiled, once under cProfile)")
    opts = parser.parse_args()
    if not 1 <= opts.chunk <= 1000 or opts.mutations < 10:
        parser.error("--chunk is 1..1000 and --mutations at least 10")
    kinds = [opts.only] if opts.only else ["sqlite", "postgresql"]
    started = perf_counter()
    with tempfile.TemporaryDirectory(prefix="lotwise-sync-bench-") as tmp_name:
        tmp = Path(tmp_name)
        dbs = Databases(tmp, opts.pg_url if "postgresql" in kinds else None)
        results, failed = [], False
        try:
            for kind in kinds:
                print(f"{kind}: {opts.mutations} mutations = " + ", ".join(
                    f"{c} {t}s" for t, c in counts(opts.mutations).items()) + f", pushes of {opts.chunk}",
                    flush=True)
                results.append(bench_kind(dbs, kind, tmp, opts))
            print("\nResults")
            targets = []
            for res in results:
                floor_rate = opts.mutations / res.floor_seconds
                print(f"{res.kind} floor (Core executemany, one transaction): {res.floor_rows} rows in "
                      f"{res.floor_seconds:.3f} s = {res.floor_rows / res.floor_seconds:,.0f} rows/s "
                      f"= {floor_rate:,.0f} mutations/s  [{res.floor_detail}]")
                for run in res.runs:
                    print("  " + run_line(run, floor_rate))
                    for problem in run.problems[:10]:
                        print(f"    PROBLEM: {problem}")
                    failed |= bool(run.problems)
                first = res.runs[0]
                rate = first.mutations / first.seconds
                if res.kind == "sqlite":
                    targets.append((f"SQLite, 1 device >= {TARGET_SQLITE:,} mutations/s", f"{rate:,.0f}",
                                    rate >= TARGET_SQLITE))
                    targets.append((f"SQLite, 1 device <= {TARGET_RATIO:.0f}x the floor",
                                    f"{floor_rate / rate:.1f}x", floor_rate / rate <= TARGET_RATIO))
                else:
                    targets.append((f"PostgreSQL, {opts.pg_devices} devices >= {TARGET_PG:,} mutations/s aggregate",
                                    f"{rate:,.0f}", rate >= TARGET_PG))
            print("\nTargets")
            for label, value, ok in targets:
                print(f"  {'PASS' if ok else 'MISS'}  {label}: {value}")
            print(f"\n(total {perf_counter() - started:.0f} s)", flush=True)
            for res in results if opts.profile else ():
                profile(res.kind, res.profile_url, tmp, opts.profile_mutations, opts.profile, opts.chunk)
        finally:
            dbs.close()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
