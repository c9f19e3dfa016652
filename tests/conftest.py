"""Shared fixtures: an app per test on SQLite and (when reachable) PostgreSQL, users, tokens, master data."""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict, namedtuple
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, func, select, text
from werkzeug.security import generate_password_hash

from backend import create_app
from backend.config import Config
from backend.domain import Actor, masterdata, orders
from backend.domain import stock as stock_rules
from backend.domain.auth import hash_token
from backend.models import (
    ApiToken, Balance, Item, Location, Movement, Partner, PickTask, Role, TaskStatus, User, db, utcnow,
)

POSTGRES_URL = os.environ.get("LOTWISE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("LOTWISE_REQUIRE_POSTGRES") == "1"
PASSWORD = "secret-pw"


def _postgres_reason() -> str | None:
    """None when PostgreSQL answers, otherwise why not."""
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means: not available here
        return f"PostgreSQL not reachable at {POSTGRES_URL} ({type(exc).__name__}); set LOTWISE_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def postgres_admin_url():
    """The maintenance URL of the test PostgreSQL server, or a skip (a failure under LOTWISE_REQUIRE_POSTGRES=1)."""
    reason = _postgres_reason()
    if reason:
        if REQUIRE_POSTGRES:
            pytest.fail(reason + " and LOTWISE_REQUIRE_POSTGRES=1")
        pytest.skip(reason)
    return POSTGRES_URL


@pytest.fixture(scope="session")
def new_postgres_database(postgres_admin_url):
    """A factory of fresh PostgreSQL databases, all dropped at the end of the run."""
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    created = []

    def make() -> str:
        name = f"lotwise_test_{os.getpid()}_{secrets.token_hex(4)}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return admin.url.set(database=name).render_as_string(hide_password=False)

    yield make
    with admin.connect() as conn:
        for name in created:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path_factory):
    """One migrated database per kind for the whole run."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'lotwise.db'}"
    else:
        url = request.getfixturevalue("new_postgres_database")()
    app = make_app(url, tmp_path_factory.mktemp("instance"))
    with app.app_context():
        from flask_migrate import upgrade
        upgrade()
        db.engine.dispose()
    return url


def make_app(url: str, instance_path, **settings):
    """An app on `url` with test settings."""
    return create_app(Config(SQLALCHEMY_DATABASE_URI=url, INSTANCE_PATH=str(instance_path), TESTING=True,
                             SECRET_KEY="test", **settings))


def clear_database() -> None:
    """Empty every table (faster than re-creating the schema for each test)."""
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(text(f'DELETE FROM "{table}"'))
    db.session.commit()


@pytest.fixture
def app(database_url, tmp_path):
    """A Lotwise app inside an app context, on an empty migrated database."""
    app = make_app(database_url, tmp_path)
    with app.app_context():
        yield app
        db.session.remove()
        clear_database()
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A test client of the app."""
    return app.test_client()


@pytest.fixture(scope="session")
def password_hash():
    """One hash of PASSWORD, computed once: hashing is deliberately slow."""
    return generate_password_hash(PASSWORD)


@pytest.fixture
def users(app, password_hash) -> dict[str, User]:
    """A worker, a supervisor and an admin, all with PASSWORD."""
    rows = {role.value: User(username=role.value, name=role.value.title(), role=role, password_hash=password_hash)
            for role in Role}
    db.session.add_all(rows.values())
    db.session.commit()
    return rows


@pytest.fixture
def headers(users) -> dict[str, dict]:
    """Authorization headers per role name (tokens made directly, as sign-in would)."""
    result = {}
    for role, user in users.items():
        token = secrets.token_urlsafe(32)
        db.session.add(ApiToken(user=user, token_hash=hash_token(token), device=f"HH-{role}",
                                expires_at=utcnow() + timedelta(days=365)))
        result[role] = {"Authorization": f"Bearer {token}"}
    db.session.commit()
    return result


@pytest.fixture
def actor(users) -> Actor:
    """The worker, acting from a handheld, for domain-level tests."""
    return Actor(user=users["worker"], device="HH-01")


@pytest.fixture
def boss(users) -> Actor:
    """The supervisor, for domain-level tests."""
    return Actor(user=users["supervisor"], device="HH-02")


@pytest.fixture
def world(app) -> dict:
    """Master data most tests need: two items, five locations, a supplier and a customer."""
    s = db.session
    rows = {
        "flour": masterdata.create(s, Item, dict(sku="FLOUR", name="Wheat flour", uom="KGM",
                                                 gtin="09506000134352", shelf_life_days=180)),
        "eggs": masterdata.create(s, Item, dict(sku="EGGS", name="Eggs", uom="EA", shelf_life_days=28)),
        "rcv": masterdata.create(s, Location, dict(code="RCV-1", kind="receiving")),
        "a": masterdata.create(s, Location, dict(code="A-01-01", kind="storage")),
        "b": masterdata.create(s, Location, dict(code="B-02-01", kind="storage")),
        "stage": masterdata.create(s, Location, dict(code="STAGE-1", kind="staging")),
        "qrt": masterdata.create(s, Location, dict(code="QRT-1", kind="quarantine")),
        "supplier": masterdata.create(s, Partner, dict(code="SUP-MILL", name="Mill & Co", kind="supplier")),
        "customer": masterdata.create(s, Partner, dict(code="CUS-SHOP", name="Corner Shop", kind="customer")),
    }
    s.commit()
    return rows


def ledger_matches_balances(session) -> list:
    """Balances that differ from the sum of their ledger (empty when all agree)."""
    rows = session.execute(text("""
        WITH flows AS (
            SELECT lot_id, to_location_id AS location_id, qty FROM movement WHERE to_location_id IS NOT NULL
            UNION ALL
            SELECT lot_id, from_location_id, -qty FROM movement WHERE from_location_id IS NOT NULL),
        sums AS (SELECT lot_id, location_id, SUM(qty) AS total FROM flows GROUP BY lot_id, location_id)
        SELECT COALESCE(b.lot_id, s.lot_id), COALESCE(b.location_id, s.location_id),
               COALESCE(b.on_hand, 0), COALESCE(s.total, 0)
        FROM balance b FULL OUTER JOIN sums s ON s.lot_id = b.lot_id AND s.location_id = b.location_id
        WHERE COALESCE(b.on_hand, 0) <> COALESCE(s.total, 0)""")).all()
    return rows


D = Decimal


def reservations_match_tasks(session) -> list:
    """Balances whose `reserved` differs from what the pick tasks hold (empty when all agree).

    Open tasks hold their quantity at (expected lot, from-location); picked and confirmed tasks hold what is
    not yet shipped or consumed at (picked lot, to-location); a flagged pick holds both until decided.
    """
    held = defaultdict(Decimal)
    for task in session.scalars(select(PickTask)):
        if task.status == TaskStatus.open or (task.status == TaskStatus.exception and task.picked_qty is not None):
            held[task.lot_id, task.from_location_id] += task.qty
        if task.status in (TaskStatus.picked, TaskStatus.confirmed, TaskStatus.exception) and task.picked_qty:
            held[task.picked_lot_id, task.to_location_id] += task.qty - task.settled_qty
    actual = {(b.lot_id, b.location_id): b.reserved for b in session.scalars(select(Balance))}
    keys = set(held) | set(actual)
    return sorted((key, actual.get(key, Decimal(0)), held.get(key, Decimal(0))) for key in keys
                  if actual.get(key, Decimal(0)) != held.get(key, Decimal(0)))


# --- set-up helpers shared by the picking, sync and scan tests ----------------------------------

GTIN = "09506000134352"  # FLOUR's in the `world` fixture
GS = "\x1d"
Order = namedtuple("Order", "id pick_list tasks")


def utc(day: date, hour: int = 0, minute: int = 0) -> datetime:
    """A moment of a calendar day in UTC (the test site's time zone)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=timezone.utc)


def today() -> date:
    """The site's calendar day now."""
    return utcnow().date()


def yymmdd(day: date) -> str:
    """A date as GS1 AI(17) writes it."""
    return day.strftime("%y%m%d")


def gs1(lot: str | None, expires: date | None = None, gtin: str = GTIN) -> str:
    """A GS1 DataMatrix scan ("]d2"): (01) GTIN, (17) expiry, (10) lot."""
    return f"]d201{gtin}" + (f"17{yymmdd(expires)}" if expires else "") + (f"10{lot}" if lot else "")


def receive(actor, lot: str, qty="10", *, item="FLOUR", location="A-01-01", expires: date | None = None,
            at: datetime | None = None) -> int:
    """Receive `qty` into a lot with an explicit code through the domain (test set-up), commit; the lot's id."""
    movement = stock_rules.receive(db.session, actor, item=item, lot=lot, qty=Decimal(qty), location=location,
                             expires_on=expires, at=at)
    lot_id = movement.lot_id
    db.session.commit()
    return lot_id


def order(boss, qty, item="FLOUR", at: datetime | None = None) -> Order:
    """A one-line sales order allocated to STAGE-1 (at `at`); its id, pick list id and task ids."""
    so = orders.create_sales_order(db.session, boss, customer="CUS-SHOP", lines=[{"item": item, "qty": Decimal(qty)}])
    pick_list, _ = orders.allocate_order(db.session, boss, order=so.id, staging="STAGE-1", at=at)
    result = Order(so.id, pick_list.id, sorted(t.id for t in pick_list.tasks))
    db.session.commit()
    return result


def task(task_id: int) -> PickTask:
    """A task as the database has it now."""
    db.session.expire_all()
    return db.session.get(PickTask, task_id)


# --- helpers the REST-level order, production and shipping tests share -----------------------

def ok(response, status: int = 200):
    """The JSON body of a response that must have `status`."""
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def refused(response, status: int, error: str) -> dict:
    """The response is the JSON error shape with this status and machine code."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["code"] == status and body["error"] == error, body
    return body


def scan(sku: str, code: str) -> str:
    """What a lot label of this item and lot scans as: GS1 DataMatrix with (01), else (240) SKU."""
    db.session.expire_all()
    gtin = db.session.scalar(select(Item.gtin).where(Item.sku == sku))
    return f"]d201{gtin}10{code}" if gtin else f"240{sku}\x1d10{code}"


def invariants() -> None:
    """Every balance equals its ledger, and every reservation is held by a task."""
    db.session.expire_all()
    assert ledger_matches_balances(db.session) == []
    assert reservations_match_tasks(db.session) == []


def snapshot() -> tuple:
    """The whole stock state: number of movements and every balance row."""
    db.session.expire_all()
    balances = sorted((b.lot_id, b.location_id, b.on_hand, b.reserved) for b in db.session.scalars(select(Balance)))
    return db.session.scalar(select(func.count()).select_from(Movement)), balances


def stock(client, headers, lot_id: int) -> dict[str, tuple[D, D]]:
    """A lot's (on_hand, reserved) per location, as GET /api/lots/<id> shows it."""
    body = ok(client.get(f"/api/lots/{lot_id}", headers=headers["worker"]))
    return {b["location"]: (D(b["on_hand"]), D(b["reserved"])) for b in body["balances"]}


# =====================================================================================================
# Browser tests (the scanner PWA): real Chromium via Playwright, against a real `lotwise serve` process.
# Skipped when Chromium or Playwright is missing, failed instead under LOTWISE_REQUIRE_BROWSER=1 (CI).
# =====================================================================================================


CHROMIUM = os.environ.get("LOTWISE_CHROMIUM", "/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("LOTWISE_REQUIRE_BROWSER") == "1"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
LOTWISE_BIN = str(Path(sys.executable).with_name("lotwise"))
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


# --- the `lotwise` command and a server it starts ---------------------------------------------------

@pytest.fixture
def env(tmp_path) -> dict:
    """An environment pointing Lotwise at a fresh SQLite file and instance folder."""
    return {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "LOTWISE_INSTANCE_PATH": str(tmp_path)}


def lotwise(env: dict, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    """Run the console script and fail with its output when it fails."""
    result = subprocess.run([LOTWISE_BIN, *args], env=env, input=input, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def wait_until_up(url: str, process: subprocess.Popen, verify: bool | str = True) -> None:
    """Poll /healthz until the server answers (or died)."""
    for _ in range(100):
        assert process.poll() is None, process.stdout.read()
        try:
            if requests.get(url + "/healthz", timeout=1, verify=verify).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("server did not come up")


def _skip_or_fail(reason: str):
    if REQUIRE_BROWSER:
        pytest.fail(reason + " and LOTWISE_REQUIRE_BROWSER=1")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def playwright_instance():
    """The Playwright driver, or a skip (a failure under LOTWISE_REQUIRE_BROWSER=1)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_or_fail("Playwright is not installed (pip install -e '.[test]')")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _skip_or_fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set LOTWISE_CHROMIUM)")
    playwright = sync_playwright().start()
    yield playwright
    playwright.stop()


@pytest.fixture(scope="session")
def browser(playwright_instance):
    """One headless Chromium for the session (fresh contexts per test)."""
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    """A `lotwise serve` process on a free port, with the demo data on its own SQLite file."""

    url: str
    database_url: str
    env: dict
    log_path: Path
    process: subprocess.Popen | None = None

    def log(self) -> str:
        return self.log_path.read_text()[-5000:] if self.log_path.exists() else ""

    def engine(self):
        """A SQLAlchemy engine on the server's database (read the ledger directly)."""
        from sqlalchemy.pool import NullPool
        return create_engine(self.database_url, poolclass=NullPool)

    def login(self, username: str, device: str = "TEST-API") -> dict:
        """Authorization headers of a fresh token (demo passwords are the user names)."""
        answer = requests.post(self.url + "/api/auth/token", timeout=30,
                               json={"username": username, "password": username, "device": device})
        assert answer.status_code == 200, answer.text
        return {"Authorization": "Bearer " + answer.json()["token"]}

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=15)


def start_live_server(directory: Path, **settings: str) -> LiveServer:
    """Migrate a fresh SQLite database, seed the demo data and serve it (`lotwise serve`)."""
    directory.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite:///{directory / 'lotwise.db'}"
    env = {**os.environ, "DATABASE_URL": database_url, "LOTWISE_INSTANCE_PATH": str(directory),
           "SECRET_KEY": "test", **settings}
    for name in ("LOTWISE_PASSWORD", "LOTWISE_TOKEN", "LOTWISE_USER", "LOTWISE_SERVER"):
        env.pop(name, None)
    for args in (("db", "upgrade"), ("demo",)):
        done = subprocess.run([LOTWISE_BIN, *args], env=env, capture_output=True, text=True, timeout=180,
                              stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stdout + done.stderr
    port = free_port()
    server = LiveServer(f"http://127.0.0.1:{port}", database_url, env, directory / "server.log")
    with open(server.log_path, "a") as log:
        server.process = subprocess.Popen([LOTWISE_BIN, "serve", "--port", str(port)], env=env, stdout=log,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 40
    while True:
        assert server.process.poll() is None, "lotwise serve exited:\n" + server.log()
        try:
            if requests.get(server.url + "/healthz", timeout=2).status_code == 200:
                return server
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise AssertionError("lotwise serve did not come up:\n" + server.log())
        time.sleep(0.1)


@pytest.fixture
def live_server(tmp_path):
    """A real `lotwise serve` with the demo data on a fresh SQLite file, stopped after the test."""
    server = start_live_server(tmp_path / "server")
    yield server
    server.stop()


@dataclass
class Profiles:
    """Opens persistent Chromium contexts (a user-data dir each, reopenable) and closes them all at the end."""

    playwright: object
    directory: Path
    opened: list = field(default_factory=list)

    def open(self, name: str = "profile", *, extra_args: list[str] = (), **options):
        """launch_persistent_context on <tmp>/<name>: the same name reopens the same profile (IndexedDB, caches,
        service worker). Options go to Playwright (viewport, permissions…); 360x740 by default."""
        options.setdefault("viewport", {"width": 360, "height": 740})
        options.setdefault("service_workers", "allow")
        context = self.playwright.chromium.launch_persistent_context(
            str(self.directory / name), executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args], **options)
        self.opened.append(context)
        return context

    def close_all(self) -> None:
        for context in self.opened:
            try:
                context.close()
            except Exception:  # already closed
                pass


@pytest.fixture
def profiles(playwright_instance, tmp_path):
    """A factory of persistent browser contexts on profiles under the test's tmp dir."""
    made = Profiles(playwright_instance, tmp_path / "profiles")
    yield made
    made.close_all()


def save_artifact(source: Path, name: str | None = None) -> Path:
    """Copy a file the test made (a screenshot) to tests/artifacts/ (gitignored) for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / (name or source.name)
    shutil.copyfile(source, target)
    return target
