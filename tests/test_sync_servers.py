"""Sync protocol v1 against real server processes (DESIGN.md § "Sync protocol v1 (contract)" and
§ "Running for real"): exactly once when a server is killed mid-push, when a response is lost in transit,
and when two server instances share one PostgreSQL under contention from 20 devices.

A test that kills a server, or hangs up on one, makes its own database (a SQLite file, or a fresh PostgreSQL
database from `new_postgres_database`) with `lotwise db upgrade` and `lotwise demo`, and its own servers;
the tests that only push share one PostgreSQL database served by two `lotwise serve` instances (`pg_pair`),
each with its own devices and lot codes. Servers run in their own sessions and the fixtures kill every
process group they started, whatever happens.
"""
from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from backend.types import from_scaled
from tests.conftest import LOTWISE_BIN, free_port, ledger_matches_balances, reservations_match_tasks

BIN = Path(sys.executable).parent
GUNICORN = str(BIN / "gunicorn")
ROOT = Path(__file__).resolve().parents[1]
RAW_MATERIALS = ("RM-FLOUR", "RM-SUGAR", "RM-COCOA", "RM-EGGS", "RM-BUTTER")  # the demo's purchased items
HTTP_TIMEOUT = (10, 120)  # connect, read: no request in this module may hang the run

POSTGRES = pytest.mark.postgres


# --- databases ------------------------------------------------------------------------------------------

class Database:
    """Direct SQL access to the database the servers use (never through a server)."""

    def __init__(self, url: str):
        self.url = url
        self.engine = create_engine(url, poolclass=NullPool)
        self.is_postgres = self.engine.dialect.name == "postgresql"

    def rows(self, sql: str, **params) -> list:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).all()

    def scalar(self, sql: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def outcome_rows(self, devices) -> list:
        """(device, mutation id, status, reason) of every stored outcome of these devices."""
        names = ", ".join(f"'{d}'" for d in devices)  # test-made names only
        return self.rows(f"SELECT d.name, o.mutation_id, o.status, o.reason FROM sync_outcome o "
                         f"JOIN device d ON d.id = o.device_id WHERE d.name IN ({names})")

    def duplicated_outcomes(self) -> list:
        """Mutations with more than one stored outcome (must be none: (device, id) is the key)."""
        return self.rows("SELECT device_id, mutation_id, COUNT(*) FROM sync_outcome "
                         "GROUP BY device_id, mutation_id HAVING COUNT(*) > 1")

    def movements_by_lot(self, prefix: str) -> Counter:
        """Movements of the lots whose code starts with `prefix`, counted by (lot code, type)."""
        rows = self.rows("SELECT l.code, m.type, COUNT(*) FROM movement m JOIN lot l ON l.id = m.lot_id "
                         "WHERE l.code LIKE :prefix GROUP BY l.code, m.type", prefix=prefix + "%")
        return Counter({(code, type_): n for code, type_, n in rows})

    def wait_until_no_other_connections(self, timeout: float = 20) -> None:
        """PostgreSQL: wait until the killed servers' backends have gone, so that nothing they sent can still
        commit after we look (SQLite: a killed process can commit nothing)."""
        if not self.is_postgres:
            return
        deadline = time.monotonic() + timeout
        while self.scalar("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                          "AND pid <> pg_backend_pid()"):
            assert time.monotonic() < deadline, "the killed server's database sessions did not end"
            time.sleep(0.05)

    def check_consistent(self) -> None:
        """Ledger == balances and reservations == what the tasks hold, read with a plain Session."""
        with Session(self.engine) as session:
            assert ledger_matches_balances(session) == []
            assert reservations_match_tasks(session) == []

    def dispose(self) -> None:
        self.engine.dispose()


def server_env(url: str, instance: Path) -> dict:
    """The environment of the CLI and the servers: this database, no credentials from the caller."""
    env = {**os.environ, "DATABASE_URL": url, "LOTWISE_INSTANCE_PATH": str(instance), "SECRET_KEY": "test"}
    for name in ("LOTWISE_PASSWORD", "LOTWISE_TOKEN", "LOTWISE_USER", "LOTWISE_SERVER"):
        env.pop(name, None)
    return env


def run_lotwise(env: dict, *args: str) -> None:
    """Run the console script; fail with its output when it fails."""
    result = subprocess.run([LOTWISE_BIN, *args], env=env, capture_output=True, text=True, timeout=120,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr


@dataclass
class Site:
    """A migrated database with the demo data, and the environment its servers run with."""

    db: Database
    env: dict
    directory: Path


def create_site(directory: Path, url: str) -> Site:
    """`lotwise db upgrade` and `lotwise demo` on the database at `url`."""
    env = server_env(url, directory)
    run_lotwise(env, "db", "upgrade")
    run_lotwise(env, "demo")
    return Site(Database(url), env, directory)


@pytest.fixture
def make_site(request, tmp_path):
    """A factory: a fresh database of a kind ("sqlite" or "postgresql"), migrated and seeded."""
    made = []

    def make(kind: str) -> Site:
        directory = tmp_path / f"site-{len(made)}"
        directory.mkdir()
        if kind == "sqlite":
            url = f"sqlite:///{directory / 'lotwise.db'}"
        else:
            url = request.getfixturevalue("new_postgres_database")()
        made.append(create_site(directory, url))
        return made[-1]

    yield make
    for site in made:
        site.db.dispose()


# --- server processes -------------------------------------------------------------------------------------

def command(kind: str, port: int) -> list[str]:
    """`lotwise serve` (gunicorn gthread, one process) or a plain two-process gunicorn on the app factory."""
    if kind == "serve":
        return [LOTWISE_BIN, "serve", "--port", str(port)]
    assert kind == "gunicorn"
    return [GUNICORN, "-w", "2", "-b", f"127.0.0.1:{port}", "--no-control-socket", "backend:create_app()"]


@dataclass
class ServerProcess:
    """One server, started in its own session so that its whole process group can be signalled."""

    kind: str
    env: dict
    port: int
    log_path: Path
    process: subprocess.Popen | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.starts += 1
        with open(self.log_path, "a") as log:  # a file, not a pipe: nobody reads a pipe, a full one stalls it
            log.write(f"\n=== start {self.starts} ===\n")
            log.flush()
            self.process = subprocess.Popen(command(self.kind, self.port), env=self.env, cwd=ROOT, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        deadline = time.monotonic() + 40
        while True:
            assert self.process.poll() is None, "the server exited:\n" + self.log()
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "the server did not come up:\n" + self.log()
            time.sleep(0.1)

    def signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)  # its own session: the group id is its pid
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL the master and its workers at once, as a crash or the OOM killer would."""
        self.signal_group(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Stop gracefully if it still runs; SIGKILL the group when that takes too long. Always reaps it,
        and always sweeps the group (workers of a master that died first)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        self.signal_group(signal.SIGKILL)
        self.process.wait(timeout=30)

    def log(self) -> str:
        return self.log_path.read_text()[-5000:]


class Launcher:
    """Starts servers and, at the end, stops every one it started (their process groups killed)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.started: list[ServerProcess] = []

    def __call__(self, kind: str, site: Site) -> ServerProcess:
        server = ServerProcess(kind, site.env, free_port(), self.directory / f"server-{len(self.started)}.log")
        self.started.append(server)
        return server.start()

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()


@pytest.fixture
def launch(tmp_path):
    """A factory of running servers for one test."""
    launcher = Launcher(tmp_path)
    try:
        yield launcher
    finally:
        launcher.stop_all()


@pytest.fixture(scope="module")
def pg_pair(new_postgres_database, tmp_path_factory):
    """Two `lotwise serve` instances sharing one fresh PostgreSQL database with the demo data, for the tests
    that only push (never kill): each uses its own devices and lot codes, and checks the whole database."""
    directory = tmp_path_factory.mktemp("pg-pair")
    site = create_site(directory, new_postgres_database())
    launcher = Launcher(directory)
    try:
        yield site, [launcher("serve", site), launcher("serve", site)]
    finally:
        launcher.stop_all()
        site.db.dispose()


# --- the protocol ------------------------------------------------------------------------------------------

def sign_in(server: ServerProcess, username: str, device: str) -> dict:
    """A bearer token for `username` bound to `device` (demo passwords are the user names)."""
    response = requests.post(server.url + "/api/auth/token", timeout=HTTP_TIMEOUT,
                             json={"username": username, "password": username, "device": device})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def floor_time(offset_seconds: float = 0) -> str:
    """A moment shortly before now, as a device writes it."""
    moment = datetime.now(timezone.utc) - timedelta(minutes=5) + timedelta(seconds=offset_seconds)
    return moment.isoformat(timespec="milliseconds")


def mutation(seq: int, type_: str, args: dict) -> dict:
    return {"id": str(uuid.uuid4()), "seq": seq, "type": type_, "at": floor_time(seq / 1000), "args": args}


def receives(prefix: str, n: int) -> list[dict]:
    """`n` receipts of new lots `prefix00000`…: each applied one adds exactly one movement."""
    return [mutation(i, "receive", {"item": RAW_MATERIALS[i % len(RAW_MATERIALS)], "lot": f"{prefix}{i:05}",
                                    "qty": "2", "location": "DOCK-1"}) for i in range(n)]


def push(server: ServerProcess, headers: dict, device: str, mutations: list, session=None) -> list[dict]:
    """POST /api/sync/push; 200 with one result per mutation in the order given."""
    response = (session or requests).post(server.url + "/api/sync/push", headers=headers, timeout=HTTP_TIMEOUT,
                                          json={"device": device, "mutations": mutations})
    assert response.status_code == 200, response.text[:2000]
    results = response.json()["results"]
    assert [r["id"] for r in results] == [m["id"] for m in mutations]
    return results


# === 1. a server killed in the middle of a large push =======================================================

KILL_CASES = [
    pytest.param("serve", "sqlite", "KS", id="lotwise-serve-sqlite"),
    pytest.param("serve", "postgresql", "KP", id="lotwise-serve-postgresql", marks=POSTGRES),
    pytest.param("gunicorn", "postgresql", "KG", id="gunicorn-w2-postgresql", marks=POSTGRES),
]
PUSH_SIZE = 1_000
KILL_AFTER = 250  # outcomes committed before the kill: well inside the push (about a quarter of it)


@pytest.mark.parametrize("server_kind,db_kind,prefix", KILL_CASES)
def test_server_killed_mid_push_then_replayed_applies_every_mutation_once(make_site, launch, server_kind, db_kind,
                                                                          prefix):
    """SIGKILL of the server's process group while a 1,000-mutation push is being applied; after a restart the
    same push is replayed twice: what was committed before the kill answers `duplicate` (originally applied),
    the rest is applied now, and in the end every mutation has one outcome and its one movement."""
    site = make_site(db_kind)
    db = site.db
    server = launch(server_kind, site)
    device = f"HH-KILL-{prefix}"
    headers = sign_in(server, "worker", device)
    mutations = receives(prefix, PUSH_SIZE)
    code_of = {m["id"]: m["args"]["lot"] for m in mutations}
    count_sql = ("SELECT COUNT(*) FROM sync_outcome o JOIN device d ON d.id = o.device_id "
                 "WHERE d.name = :device")

    box = {}

    def send():
        try:
            box["response"] = requests.post(server.url + "/api/sync/push", headers=headers, timeout=HTTP_TIMEOUT,
                                            json={"device": device, "mutations": mutations})
        except requests.RequestException as exc:
            box["error"] = exc

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    deadline = time.monotonic() + 90
    with db.engine.connect() as conn:  # one connection, a fresh statement (and snapshot) per poll
        while (seen := conn.execute(text(count_sql), {"device": device}).scalar()) < KILL_AFTER:
            conn.rollback()
            assert sender.is_alive(), f"the push ended before the kill: {box}"
            assert time.monotonic() < deadline, f"only {seen} outcomes after 90 s:\n{server.log()}"
            time.sleep(0.005)
    server.kill()
    sender.join(timeout=60)
    assert not sender.is_alive()
    assert "response" not in box, "the server answered the push before it was killed"
    db.wait_until_no_other_connections()

    # What the kill left: each mutation done completely (outcome + lot + movement) or not at all.
    stored = {mid: (status, reason) for _, mid, status, reason in db.outcome_rows([device])}
    assert seen <= len(stored) < PUSH_SIZE, (seen, len(stored))
    assert set(stored.values()) == {("applied", None)}, Counter(stored.values())  # none left "processing"
    before = db.movements_by_lot(prefix)
    assert before == Counter({(code_of[mid], "receive"): 1 for mid in stored})
    lots = {code for (code,) in db.rows("SELECT code FROM lot WHERE code LIKE :p", p=prefix + "%")}
    assert lots == {code_of[mid] for mid in stored}  # no lot without its receipt
    db.check_consistent()

    server.start()  # same command, same port, same database
    first = push(server, headers, device, mutations)
    for m, result in zip(mutations, first):
        assert result["lot"]["code"] == m["args"]["lot"] and len(result["movements"]) == 1, result
        if m["id"] in stored:
            assert (result["status"], result["original_status"]) == ("duplicate", "applied"), result
        else:
            assert (result["status"], result["reason"]) == ("applied", None), result
    assert Counter(r["status"] for r in first) == Counter(duplicate=len(stored), applied=PUSH_SIZE - len(stored))

    again = push(server, headers, device, mutations)
    assert all((r["status"], r["original_status"]) == ("duplicate", "applied") for r in again)
    assert [r["movements"] for r in again] == [r["movements"] for r in first]

    assert db.scalar(count_sql, device=device) == PUSH_SIZE
    assert {mid for _, mid, _, _ in db.outcome_rows([device])} == set(code_of)
    assert db.duplicated_outcomes() == []
    assert db.movements_by_lot(prefix) == Counter({(code, "receive"): 1 for code in code_of.values()})
    ids = [r["movements"][0] for r in again]
    assert len(set(ids)) == PUSH_SIZE
    names = dict(db.rows("SELECT m.id, l.code FROM movement m JOIN lot l ON l.id = m.lot_id "
                         "WHERE l.code LIKE :p", p=prefix + "%"))
    assert [names[i] for i in ids] == [m["args"]["lot"] for m in mutations]  # each result names its own movement
    db.check_consistent()


# === 2. a response lost in transit ==========================================================================

def send_and_hang_up(server: ServerProcess, headers: dict, body: bytes) -> None:
    """Send a whole HTTP request over a raw socket and close it without reading a byte of the answer."""
    head = (f"POST /api/sync/push HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Authorization: {headers['Authorization']}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head + body)
    # closed here: an orderly FIN after the request; the server's answer goes nowhere


@pytest.mark.parametrize("server_kind,db_kind,prefix", [
    pytest.param("serve", "sqlite", "LS", id="lotwise-serve-sqlite"),
    pytest.param("gunicorn", "postgresql", "LP", id="gunicorn-w2-postgresql", marks=POSTGRES),
])
def test_lost_response_then_retry_is_exactly_once(make_site, launch, server_kind, db_kind, prefix):
    """A push whose client hangs up before the answer: the server still applies it (all of it, once); the
    retry answers `duplicate` with every original result and records nothing more."""
    site = make_site(db_kind)
    db = site.db
    server = launch(server_kind, site)
    device = f"HH-LOST-{prefix}"
    headers = sign_in(server, "worker", device)
    received = receives(prefix, 150)
    moves = [mutation(150 + i, "move", {"lot": m["args"]["lot"], "from": "DOCK-1", "to": "A-01-01", "qty": "1"})
             for i, m in enumerate(received)]
    rejected = mutation(300, "move", {"lot": received[0]["args"]["lot"], "from": "DOCK-1", "to": "A-01-01",
                                      "qty": "5"})  # more than is left: stored as rejected, must stay so
    mutations = received + moves + [rejected]
    send_and_hang_up(server, headers, json.dumps({"device": device, "mutations": mutations}).encode())

    deadline = time.monotonic() + 60
    while len(rows := db.outcome_rows([device])) < len(mutations):
        assert time.monotonic() < deadline, f"{len(rows)} outcomes after 60 s:\n{server.log()}"
        time.sleep(0.05)
    assert Counter((status, reason) for _, _, status, reason in rows) == Counter(
        {("applied", None): 300, ("rejected", "insufficient_stock"): 1})
    ledger = Counter({(m["args"]["lot"], t): 1 for m in received for t in ("receive", "move")})
    assert db.movements_by_lot(prefix) == ledger

    retry = push(server, headers, device, mutations)
    assert Counter((r["status"], r["original_status"]) for r in retry) == Counter(
        {("duplicate", "applied"): 300, ("duplicate", "rejected"): 1})
    assert retry[-1]["reason"] == "insufficient_stock"
    assert all(r["lot"]["code"] == m["args"]["lot"] for m, r in zip(mutations[:-1], retry))
    assert db.movements_by_lot(prefix) == ledger
    assert len(db.outcome_rows([device])) == len(mutations) and db.duplicated_outcomes() == []
    assert requests.get(server.url + "/healthz", timeout=HTTP_TIMEOUT).status_code == 200  # still serving
    db.check_consistent()


@pytest.mark.parametrize("db_kind,prefix", [
    pytest.param("sqlite", "RS", id="one-server-sqlite"),
    pytest.param("postgresql", "RP", id="two-servers-postgresql", marks=POSTGRES),
])
def test_retry_racing_the_unanswered_push_is_exactly_once(request, make_site, launch, db_kind, prefix):
    """The client gives up waiting and retries while the first push is still being applied — behind a load
    balancer the retry lands on the other instance: both pushes run at once over the same mutations. Each
    mutation is applied by exactly one of them; the other answers `duplicate` with the same movements."""
    if db_kind == "sqlite":  # one process: "a small site needs nothing else"
        site = make_site("sqlite")
        servers = [launch("serve", site)]
    else:
        site, servers = request.getfixturevalue("pg_pair")
    db, instances = site.db, len(servers)
    device = f"HH-RACE-{prefix}"
    headers = sign_in(servers[0], "worker", device)
    mutations = receives(prefix, 400)
    answers: dict[int, list] = {}

    def send(k: int) -> None:
        answers[k] = push(servers[k % instances], headers, device, mutations)

    first = threading.Thread(target=send, args=(0,), daemon=True)
    first.start()
    deadline = time.monotonic() + 60
    while len(db.outcome_rows([device])) < 50:
        assert first.is_alive() and time.monotonic() < deadline, "the first push ended before the retry"
        time.sleep(0.01)
    retry = threading.Thread(target=send, args=(1,), daemon=True)
    retry.start()
    for thread in (first, retry):
        thread.join(timeout=120)
        assert not thread.is_alive()
    assert set(answers) == {0, 1}, "a push failed (see its assertion above)"

    overtaken = 0
    for a, b in zip(answers[0], answers[1]):
        assert sorted((a["status"], b["status"])) == ["applied", "duplicate"], (a, b)
        dup = a if a["status"] == "duplicate" else b
        assert dup["original_status"] == "applied" and a["movements"] == b["movements"] and a["lot"] == b["lot"]
        overtaken += b["status"] == "applied"
    assert 0 < Counter(r["status"] for r in answers[1])["duplicate"]  # the retry did race the first push
    print(f"\nthe retry applied {overtaken} of {len(mutations)} mutations itself")
    assert len(db.outcome_rows([device])) == len(mutations) and db.duplicated_outcomes() == []
    assert db.movements_by_lot(prefix) == Counter({(m["args"]["lot"], "receive"): 1 for m in mutations})
    db.check_consistent()


class PushRefusedWhole(Exception):
    """A push answered with an error for the whole push instead of 200 with one result per mutation."""


@POSTGRES
def test_first_uploads_of_a_new_device_at_two_servers_at_once_are_both_answered(pg_pair):
    """A supervisor's upload of a device's queue that the servers have never seen reaches both instances at
    once (a retry through the load balancer, or two people uploading the same export): both pushes must be
    answered 200, each mutation applied once and `duplicate` in the other answer."""
    site, servers = pg_pair
    db = site.db
    boss = sign_in(servers[0], "supervisor", "PC-UPLOAD")
    sessions = [requests.Session() for _ in servers]
    refused = []
    try:
        for session, server in zip(sessions, servers):  # warm connections: the two pushes leave together
            assert session.get(server.url + "/healthz", timeout=HTTP_TIMEOUT).status_code == 200
        for k in range(16):
            device = f"UP-{k:02}"
            mutations = receives(f"UP{k:02}-", 3)
            gate = threading.Barrier(2, timeout=30)
            answers = {}

            def send(i: int) -> None:
                gate.wait()
                answers[i] = sessions[i].post(servers[i].url + "/api/sync/push", headers=boss,
                                              timeout=HTTP_TIMEOUT, json={"device": device, "mutations": mutations})

            threads = [threading.Thread(target=send, args=(i,), daemon=True) for i in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
                assert not thread.is_alive()
            assert set(answers) == {0, 1}
            for response in answers.values():
                if response.status_code != 200:
                    refused.append((device, response.status_code, response.json()["error"]))
                    continue
                assert Counter(r["status"] for r in response.json()["results"]) <= Counter(applied=3, duplicate=3)
            # Whatever the answers, the database must hold each mutation once.
            assert len(db.outcome_rows([device])) == 3
            assert db.movements_by_lot(f"UP{k:02}-") == Counter(
                {(m["args"]["lot"], "receive"): 1 for m in mutations})
    finally:
        for session in sessions:
            session.close()
    assert db.duplicated_outcomes() == []
    db.check_consistent()
    if refused:
        raise PushRefusedWhole(f"{len(refused)} of 32 pushes refused whole: {refused[:3]}")


# === 3. two servers, one PostgreSQL, 20 devices =============================================================

DEVICES = [f"HH-{n:02}" for n in range(1, 21)]
PER_DEVICE = 200
PICKS_PER_DEVICE = 50
CHUNK = 50
ITEM = "CT-BOX"
LOTS = ("CT-L1", "CT-L2", "CT-L3", "CT-L4")
RACKS = ("A-03-01", "A-03-02", "A-02-02")  # storage places the contended lots move between
STAGING = "STAGE-2"
LOT_QTY = 20
ORDERS_PER_LOT = 4
ORDER_QTY = 3


def contended_stock(server: ServerProcess) -> list[dict]:
    """Through the API: a new item; four lots of 20 EA in the racks, each received with an earlier expiry
    than the ones before and then (FEFO) reserved by four one-line orders of 3 EA, so each lot has four open
    pick tasks (12 EA reserved, 8 free). The tasks as {id, lot, from, qty}."""
    admin, boss = sign_in(server, "admin", "PC-ADMIN"), sign_in(server, "supervisor", "PC-BOSS")

    def post(path, headers, body):
        response = requests.post(server.url + path, json=body, headers=headers, timeout=HTTP_TIMEOUT)
        assert response.status_code in (200, 201), response.text
        return response.json()

    post("/api/items", admin, {"sku": ITEM, "name": "Contended cookie box", "uom": "EA", "pick_policy": "fefo",
                               "shelf_life_days": 365})
    tasks = []
    for k, code in enumerate(LOTS):
        expires = (date.today() + timedelta(days=200 - 10 * k)).isoformat()
        post("/api/receipts", boss, {"item": ITEM, "lot": code, "qty": str(LOT_QTY), "location": RACKS[k % 3],
                                     "expires_on": expires})
        for _ in range(ORDERS_PER_LOT):
            order = post("/api/orders", boss, {"customer": "CUS-FRISCH",
                                               "lines": [{"item": ITEM, "qty": str(ORDER_QTY)}]})
            allocation = post(f"/api/orders/{order['id']}/allocate", boss, {"staging": STAGING})
            assert allocation["shortfalls"] == {}
            [task] = allocation["pick_list"]["tasks"]
            assert (task["lot"]["code"], task["from_location"], Decimal(task["qty"])) == (
                code, RACKS[k % 3], ORDER_QTY)
            tasks.append({"id": task["id"], "lot": code, "from": task["from_location"], "qty": str(task["qty"])})
    return tasks


def device_queue(n: int, tasks: list[dict]) -> list[dict]:
    """200 mutations of one device: moves of the contended lots between the racks (often more than is free
    there) and picks of the shared tasks with the right scan and place (most find the task already taken)."""
    rng = random.Random(4242 + n)
    kinds = ["pick"] * PICKS_PER_DEVICE + ["move"] * (PER_DEVICE - PICKS_PER_DEVICE)
    rng.shuffle(kinds)
    queue = []
    for seq, kind in enumerate(kinds):
        if kind == "pick":
            task = rng.choice(tasks)
            args = {"task": task["id"], "scan": task["lot"], "location": task["from"], "qty": task["qty"]}
        else:
            src, dst = rng.sample(RACKS, 2)
            args = {"lot": rng.choice(LOTS), "from": src, "to": dst, "qty": str(rng.randint(1, 6))}
        queue.append(mutation(seq, kind, args))
    return queue


@POSTGRES
def test_two_servers_one_postgresql_20_devices_contending(pg_pair):
    """Two `lotwise serve` instances on one PostgreSQL; 20 handhelds (HH-01..HH-20, one worker token each)
    push 200 mutations apiece in pushes of 50 to alternating servers, all at once, all on the same four lots
    and sixteen tasks: no balance goes negative, every task is picked exactly once (the other picks get
    `task_closed`), every mutation has exactly one stored outcome, the ledger equals the balances."""
    site, servers = pg_pair
    db = site.db
    open_tasks = contended_stock(servers[0])
    tokens = {device: sign_in(servers[i % 2], "worker", device) for i, device in enumerate(DEVICES)}
    queues = {device: device_queue(i, open_tasks) for i, device in enumerate(DEVICES)}

    def run(i: int, device: str) -> list[dict]:
        results = []
        with requests.Session() as session:
            queue = queues[device]
            for j, start in enumerate(range(0, len(queue), CHUNK)):
                server = servers[(i + j) % 2]
                results += push(server, tokens[device], device, queue[start:start + CHUNK], session=session)
        return results

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(DEVICES)) as pool:
        futures = {device: pool.submit(run, i, device) for i, device in enumerate(DEVICES)}
        answered = {device: future.result(timeout=240) for device, future in futures.items()}
    elapsed = time.monotonic() - started
    print(f"\n20 devices x {PER_DEVICE} mutations over 2 servers: {elapsed:.1f} s")

    # What the devices were told.
    sent = {(device, m["id"]): m for device, queue in queues.items() for m in queue}
    told = {(device, r["id"]): r for device, results in answered.items() for r in results}
    assert told.keys() == sent.keys() and len(sent) == len(DEVICES) * PER_DEVICE
    verdicts = Counter((sent[key]["type"], r["status"], r["reason"]) for key, r in told.items())
    tasks = {t["id"] for t in open_tasks}
    assert verdicts[("pick", "applied", None)] == len(tasks), verdicts
    assert set(verdicts) <= {("pick", "applied", None), ("pick", "rejected", "task_closed"),
                             ("move", "applied", None), ("move", "rejected", "insufficient_stock")}, verdicts
    print(dict(verdicts))
    assert verdicts[("move", "rejected", "insufficient_stock")] > 0 and verdicts[("move", "applied", None)] > 0

    # Every mutation exactly one stored outcome, the same verdict the device was told.
    assert db.duplicated_outcomes() == []
    stored = {(device, mid): (status, reason) for device, mid, status, reason in db.outcome_rows(DEVICES)}
    assert stored == {key: (r["status"], r["reason"]) for key, r in told.items()}

    # No balance negative; the contended lots' stock is all still there (moves) or staged (picks).
    assert db.scalar("SELECT COUNT(*) FROM balance WHERE on_hand < 0 OR reserved < 0") == 0
    totals = dict(db.rows("SELECT l.code, SUM(b.on_hand) FROM balance b JOIN lot l ON l.id = b.lot_id "
                          "WHERE l.code LIKE 'CT-%' GROUP BY l.code"))
    assert {code: from_scaled(total) for code, total in totals.items()} == {code: LOT_QTY for code in LOTS}

    # No task picked twice: one pick movement per task (none reversed), each task picked, by the device told so.
    ids = "(" + ",".join(map(str, sorted(tasks))) + ")"  # integers the server gave
    picks = db.rows("SELECT m.task_id, COUNT(*), MIN(m.device) FROM movement m WHERE m.type = 'pick' "
                    f"AND m.task_id IN {ids} AND NOT EXISTS (SELECT 1 FROM movement r WHERE r.reverses_id = m.id) "
                    "GROUP BY m.task_id")
    assert {task: n for task, n, _ in picks} == {task: 1 for task in tasks}
    assert db.scalar(f"SELECT COUNT(*) FROM movement WHERE type = 'pick' AND task_id IN {ids}") == len(tasks)
    winners = {sent[key]["args"]["task"]: key[0] for key, r in told.items()
               if sent[key]["type"] == "pick" and r["status"] == "applied"}
    assert {task: device for task, _, device in picks} == winners
    assert db.rows(f"SELECT status, COUNT(*) FROM pick_task WHERE id IN {ids} GROUP BY status") == [
        ("picked", len(tasks))]

    # Each applied move is one movement, no more.
    moved = db.scalar("SELECT COUNT(*) FROM movement m JOIN lot l ON l.id = m.lot_id "
                      "WHERE m.type = 'move' AND l.code LIKE 'CT-%'")
    assert moved == verdicts[("move", "applied", None)]
    db.check_consistent()
    assert elapsed < 150, f"the contention run took {elapsed:.0f} s"
