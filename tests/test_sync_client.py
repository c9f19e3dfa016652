"""The batch uploader (sync/client.py and `lotwise push`) against a real `lotwise serve`.

One server for the module: a fresh SQLite file with `lotwise db upgrade` and `lotwise demo`. Every test
uses its own device and its own lot-code prefix, so the ledger can be counted per test.
"""
from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter

from backend.models import db
from sync.client import (DEFAULT_CHUNK_BYTES, MAX_PUSH_BYTES, AuthError, PushRefused, ServerUnavailable, SyncClient,
                         _body, _encode, chunked, format_summary)
from tests.conftest import LOTWISE_BIN, free_port, ledger_matches_balances, make_app

RAW_MATERIALS = ("RM-FLOUR", "RM-SUGAR", "RM-COCOA", "RM-EGGS", "RM-BUTTER")  # the demo's items with GTINs
NO_WAIT = dict(backoff_base=0.001, backoff_cap=0.01)


# --- a real server ------------------------------------------------------------------------------------------

@dataclass
class Server:
    """A running `lotwise serve` on its own SQLite file."""

    url: str
    env: dict
    db_path: Path
    log_path: Path

    def ledger(self, prefix: str) -> Counter:
        """Movements of the lots whose code starts with `prefix`, counted by type."""
        with sqlite3.connect(self.db_path, timeout=30) as conn:
            rows = conn.execute("SELECT m.type, COUNT(*) FROM movement m JOIN lot l ON l.id = m.lot_id "
                                "WHERE l.code LIKE ? GROUP BY m.type", (prefix + "%",)).fetchall()
        return Counter(dict(rows))

    def twice(self, prefix: str) -> list:
        """Lots of `prefix` with more than one movement of the same type (must be none: each is done once)."""
        with sqlite3.connect(self.db_path, timeout=30) as conn:
            return conn.execute("SELECT l.code, m.type, COUNT(*) FROM movement m JOIN lot l ON l.id = m.lot_id "
                                "WHERE l.code LIKE ? GROUP BY l.code, m.type HAVING COUNT(*) > 1",
                                (prefix + "%",)).fetchall()

    def outcomes(self, device: str) -> Counter:
        """Stored outcomes of a device's mutations, by status."""
        with sqlite3.connect(self.db_path, timeout=30) as conn:
            rows = conn.execute("SELECT o.status, COUNT(*) FROM sync_outcome o JOIN device d ON d.id = o.device_id "
                                "WHERE d.name = ? GROUP BY o.status", (device,)).fetchall()
        return Counter(dict(rows))


def run_lotwise(env: dict, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    """Run the console script; with check, fail with its output when it fails."""
    result = subprocess.run([LOTWISE_BIN, *args], env=env, capture_output=True, text=True, timeout=timeout,
                            stdin=subprocess.DEVNULL)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@contextmanager
def lotwise_server(directory: Path):
    """`lotwise db upgrade`, `lotwise demo`, then `lotwise serve` on a free port until the block ends."""
    db_path = directory / "lotwise.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_path}", "LOTWISE_INSTANCE_PATH": str(directory)}
    for name in ("LOTWISE_PASSWORD", "LOTWISE_TOKEN", "LOTWISE_USER", "LOTWISE_SERVER"):
        env.pop(name, None)
    run_lotwise(env, "db", "upgrade")
    run_lotwise(env, "demo")
    port = free_port()
    log_path = directory / "server.log"
    with open(log_path, "w") as log:  # a file, not a pipe: nobody reads a pipe, and a full one stalls the server
        process = subprocess.Popen([LOTWISE_BIN, "serve", "--port", str(port)], env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            assert process.poll() is None, log_path.read_text()
            try:
                if requests.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            raise AssertionError("the server did not come up:\n" + log_path.read_text())
        yield Server(url=url, env=env, db_path=db_path, log_path=log_path)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One real server with the demo data for this module."""
    with lotwise_server(tmp_path_factory.mktemp("server")) as running:
        yield running


# --- exported queues ----------------------------------------------------------------------------------------

def mutation(seq: int, type_: str, args: dict, at: datetime) -> dict:
    """One queued mutation as the PWA makes it."""
    return {"id": str(uuid.uuid4()), "seq": seq, "type": type_, "at": at.isoformat(timespec="milliseconds"),
            "args": args}


def receive_and_move_queue(device: str, prefix: str, lots: int, *, bad: bool = True, shuffle: bool = True) -> dict:
    """For each new lot a receive (by item + lot) onto a dock and a move of part of it into the racks;
    with `bad`, two mutations the server must reject: an unknown item and a move of more than there is.

    The file lists them shuffled, as nothing promises an export is sorted: the client sends by `seq`.
    """
    start = datetime.now(timezone.utc) - timedelta(hours=2)
    mutations, seq = [], 0
    for n in range(lots):
        item = RAW_MATERIALS[n % len(RAW_MATERIALS)]
        dock = "DOCK-2" if item in ("RM-EGGS", "RM-BUTTER") else "DOCK-1"
        code = f"{prefix}{n:05}"
        at = start + timedelta(seconds=n)
        mutations.append(mutation(seq, "receive", {"item": item, "lot": code, "qty": "10", "location": dock,
                                                   "supplier": "SUP-MILL", "reference": f"GRN-{prefix}-{n}"}, at))
        mutations.append(mutation(seq + 1, "move", {"lot": code, "from": dock, "to": "A-01-01", "qty": "4"},
                                  at + timedelta(milliseconds=500)))
        seq += 2
    if bad:
        mutations.append(mutation(seq, "receive", {"item": "NO-SUCH-ITEM", "lot": f"{prefix}BAD", "qty": "1",
                                                   "location": "DOCK-1"}, start))
        mutations.append(mutation(seq + 1, "move", {"lot": f"{prefix}00000", "from": "A-01-01", "to": "A-01-02",
                                                    "qty": "999"}, start + timedelta(hours=1)))
    if shuffle:
        random.Random(prefix).shuffle(mutations)
    return {"device": device, "mutations": mutations, "exported_at": datetime.now(timezone.utc).isoformat()}


def write_queue(path: Path, queue: dict) -> Path:
    """The queue as the PWA exports it: a JSON file."""
    path.write_text(json.dumps(queue), encoding="utf-8")
    return path


def client(server: Server, **options) -> SyncClient:
    """A client signed in (lazily) as the demo supervisor, who may push any device's queue."""
    return SyncClient(server.url, username="supervisor", password="supervisor", **{**NO_WAIT, **options})


def progress_ids(path: Path) -> dict:
    """The ids (and outcomes) the progress file holds."""
    return json.loads(Path(str(path) + ".progress").read_text(encoding="utf-8"))["done"]


def push_cli(server: Server, path: Path, *args: str, password: str = "supervisor", user: str = "supervisor",
             **kwargs) -> subprocess.CompletedProcess:
    """`lotwise push FILE --server URL --user U` with the password from the environment."""
    env = {**server.env, "LOTWISE_PASSWORD": password}
    return run_lotwise(env, "push", str(path), "--server", server.url, "--user", user, *args, check=False, **kwargs)


# --- transports that misbehave ------------------------------------------------------------------------------

class Recording(HTTPAdapter):
    """Forwards everything; remembers the size of every push body."""

    def __init__(self):
        super().__init__()
        self.push_sizes: list[int] = []

    def send(self, request, **kwargs):
        if request.path_url.startswith("/api/sync/push"):
            self.push_sizes.append(len(request.body))
        return super().send(request, **kwargs)


class LosesResponses(Recording):
    """Forwards the first `lose` pushes to the server, which processes them, then drops the answers."""

    def __init__(self, lose: int):
        super().__init__()
        self.lose = lose

    def send(self, request, **kwargs):
        response = super().send(request, **kwargs)
        if request.path_url.startswith("/api/sync/push") and self.lose:
            self.lose -= 1
            response.content  # the server has answered: it processed the push
            response.close()
            raise requests.ConnectionError("connection reset before the answer arrived")
        return response


class Fails(Recording):
    """Answers the first pushes itself with the given HTTP statuses (never reaching the server), then forwards."""

    def __init__(self, *statuses: int, headers: dict | None = None):
        super().__init__()
        self.statuses = list(statuses)
        self.headers = headers or {}

    def send(self, request, **kwargs):
        if request.path_url.startswith("/api/sync/push") and self.statuses:
            self.push_sizes.append(len(request.body))
            response = requests.Response()
            response.status_code = self.statuses.pop(0)
            response._content = json.dumps({"code": response.status_code, "error": "unavailable",
                                            "message": "Try later", "errors": {}}).encode()
            response.headers.update({"Content-Type": "application/json", **self.headers})
            response.url, response.request = request.url, request
            return response
        return super().send(request, **kwargs)


def session_with(adapter: HTTPAdapter) -> requests.Session:
    """A requests session whose HTTP traffic goes through `adapter`."""
    session = requests.Session()
    session.mount("http://", adapter)
    return session


# --- chunking, without a server -----------------------------------------------------------------------------

def test_chunks_respect_count_and_bytes_and_keep_the_order():
    """Every range fits both limits, the ranges cover the queue in order, and an oversized one stands alone."""
    rng = random.Random(7)
    encoded = [_encode({"id": str(i), "pad": "x" * rng.choice((10, 200, 5_000, 60_000))}) for i in range(3_000)]
    encoded.insert(1_234, _encode({"id": "huge", "pad": "y" * (MAX_PUSH_BYTES + 1)}))
    ranges = list(chunked("HH-1", encoded, max_count=1000, max_bytes=DEFAULT_CHUNK_BYTES))
    assert [r[0] for r in ranges[1:]] == [r[1] for r in ranges[:-1]] and ranges[0][0] == 0
    assert ranges[-1][1] == len(encoded)
    for start, end in ranges:
        assert end - start <= 1000
        size = len(_body("HH-1", encoded[start:end]))
        assert size <= DEFAULT_CHUNK_BYTES or (end - start == 1 and encoded[start] == encoded[1_234])
    assert (1_234, 1_235) in ranges
    small = [_encode({"id": str(i)}) for i in range(2_500)]
    assert list(chunked("HH-1", small, max_count=1000, max_bytes=DEFAULT_CHUNK_BYTES)) == [
        (0, 1000), (1000, 2000), (2000, 2500)]


def test_a_4xx_other_than_429_is_not_retried():
    """A push the server refuses as a whole (400) stops at once: retrying cannot help."""
    sleeps = []
    refusing = SyncClient("http://127.0.0.1:9", token="t", session=session_with(Fails(400)), sleep=sleeps.append)
    with pytest.raises(PushRefused) as caught:
        refusing.push("HH-1", [{"id": "a"}])
    assert caught.value.status == 400 and sleeps == [] and refusing.retries == 0


# --- against the real server --------------------------------------------------------------------------------

def test_cli_uploads_2500_mutations_in_chunks_exactly_once(server, tmp_path):
    """2,500 mutations in three pushes: each applied once, the two bad ones rejected (exit code 1), a summary;
    run again → nothing sent; run again ignoring the progress file → all duplicate, nothing applied twice."""
    queue = receive_and_move_queue("HH-BULK", "BK", 1_249)
    assert len(queue["mutations"]) == 2_500
    path = write_queue(tmp_path / "hh-bulk.json", queue)

    first = push_cli(server, path, "--chunk", "1000")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "2,500 of 2,500 mutations have an outcome (3 pushes, 0 retries)" in first.stdout
    assert "applied      2,498" in first.stdout
    assert "insufficient_stock 1" in first.stdout and "unknown_item 1" in first.stdout
    assert "unknown_item — No item 'NO-SUCH-ITEM'" in first.stdout
    assert server.ledger("BK") == Counter(receive=1_249, move=1_249)
    assert server.twice("BK") == []
    assert server.outcomes("HH-BULK") == Counter(applied=2_498, rejected=2)
    assert len(progress_ids(path)) == 2_500

    again = push_cli(server, path)
    assert again.returncode == 1, again.stdout + again.stderr
    assert "(0 pushes, 0 retries)" in again.stdout
    assert "acknowledged in an earlier run" in again.stdout

    restart = push_cli(server, path, "--restart", "--chunk", "1000")
    assert restart.returncode == 1, restart.stdout + restart.stderr
    assert "duplicate (processed before, nothing done again): 2,500 — originally applied 2,498, rejected 2" \
        in restart.stdout
    assert "rejected         2" in restart.stdout
    assert server.ledger("BK") == Counter(receive=1_249, move=1_249)
    assert server.twice("BK") == []
    check_ledger_invariant(server)


def check_ledger_invariant(server: Server) -> None:
    """Every balance still equals the sum of its ledger."""
    app = make_app(server.env["DATABASE_URL"], server.env["LOTWISE_INSTANCE_PATH"])
    with app.app_context():
        try:
            assert ledger_matches_balances(db.session) == []
        finally:
            db.session.remove()
            db.engine.dispose()


def test_interrupted_upload_resumes_without_applying_anything_twice(server, tmp_path):
    """The client dies after its second push (Ctrl-C); the next run sends only the rest: exactly once."""
    path = write_queue(tmp_path / "hh-int.json", receive_and_move_queue("HH-INT", "IN", 600, bad=False))

    def dies_after_two_pushes(done, total):
        if done >= 600:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as caught:
        client(server).upload(path, chunk_size=300, progress=dies_after_two_pushes)
    assert caught.value.summary.done == 600 and not caught.value.summary.complete
    assert len(progress_ids(path)) == 600
    assert server.ledger("IN")["receive"] + server.ledger("IN")["move"] == 600

    seen = []
    summary = client(server).upload(path, chunk_size=300, progress=lambda done, total: seen.append(done))
    assert seen == [600, 900, 1_200]
    assert summary.earlier == Counter(applied=600)
    assert summary.statuses == Counter(applied=600) and summary.pushes == 2
    assert summary.complete and not summary.any_rejected
    assert server.ledger("IN") == Counter(receive=600, move=600)
    assert server.twice("IN") == []


def test_cli_killed_mid_upload_resumes_exactly_once(server, tmp_path):
    """`lotwise push` killed with SIGKILL after a push was acknowledged: its progress file is whole, and the
    same command finishes the upload with every movement once (the push in flight comes back duplicate)."""
    path = write_queue(tmp_path / "hh-kill.json", receive_and_move_queue("HH-KILL", "KL", 800, bad=False))
    state = Path(str(path) + ".progress")
    env = {**server.env, "LOTWISE_PASSWORD": "supervisor"}
    process = subprocess.Popen([LOTWISE_BIN, "push", str(path), "--server", server.url, "--user", "supervisor",
                                "--chunk", "50"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not state.exists():
            assert process.poll() is None and time.monotonic() < deadline, "no push was acknowledged"
            time.sleep(0.01)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    acknowledged = progress_ids(path)  # never torn: it is replaced atomically
    assert 50 <= len(acknowledged) < 1_600 and len(acknowledged) % 50 == 0

    resumed = push_cli(server, path, "--chunk", "50")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"acknowledged in an earlier run (from {path}.progress): {len(acknowledged):,}" in resumed.stdout
    assert "1,600 of 1,600 mutations have an outcome" in resumed.stdout
    assert server.ledger("KL") == Counter(receive=800, move=800)
    assert server.twice("KL") == []
    assert server.outcomes("HH-KILL") == Counter(applied=1_600)


def test_lost_response_is_retried_and_applied_exactly_once(server, tmp_path):
    """The server processes a push but its answer never arrives: the retry is answered duplicate (with the
    original outcome), and the ledger has each movement once."""
    path = write_queue(tmp_path / "hh-lost.json", receive_and_move_queue("HH-LOST", "LS", 150))
    transport = LosesResponses(lose=1)
    notices = []
    summary = client(server, session=session_with(transport),
                     on_retry=lambda attempt, delay, why: notices.append(why)).upload(path, chunk_size=100)
    assert len(transport.push_sizes) == 5  # four pushes, the first one sent twice
    assert transport.push_sizes[0] == transport.push_sizes[1]
    assert summary.retries == 1 and "connection reset" in notices[0]
    assert summary.statuses == Counter(duplicate=100, applied=200, rejected=2)
    assert summary.duplicates == Counter(applied=100)
    assert summary.outcomes == Counter(applied=300, rejected=2) and summary.any_rejected
    assert server.ledger("LS") == Counter(receive=150, move=150)
    assert server.twice("LS") == []
    assert "originally applied 100" in format_summary(summary)


def test_5xx_is_retried_with_growing_backoff(server, tmp_path):
    """503 twice, then the push goes through: two retries, the second waiting longer than the first."""
    path = write_queue(tmp_path / "hh-503.json", receive_and_move_queue("HH-503", "SV", 50, bad=False))
    sleeps = []
    transport = Fails(503, 503)
    summary = client(server, session=session_with(transport), sleep=sleeps.append, backoff_base=0.01,
                     backoff_cap=1.0).upload(path)
    assert summary.retries == 2 and len(sleeps) == 2
    assert 0.005 <= sleeps[0] <= 0.01 <= sleeps[1] <= 0.02
    assert summary.statuses == Counter(applied=100) and summary.pushes == 1
    assert server.ledger("SV") == Counter(receive=50, move=50)


def test_429_waits_as_the_server_asks(server, tmp_path):
    """429 with Retry-After is retried after at least that long."""
    path = write_queue(tmp_path / "hh-429.json", receive_and_move_queue("HH-429", "RA", 5, bad=False))
    sleeps = []
    summary = client(server, session=session_with(Fails(429, headers={"Retry-After": "0.5"})),
                     sleep=sleeps.append).upload(path)
    assert sleeps and sleeps[0] >= 0.5
    assert summary.statuses == Counter(applied=10)


def test_unreachable_server_exits_3_after_the_retries(server, tmp_path):
    """Nobody listens: the CLI retries, then gives up with exit code 3 and keeps what it knows."""
    path = write_queue(tmp_path / "hh-gone.json", receive_and_move_queue("HH-GONE", "GN", 5))
    result = run_lotwise({**server.env, "LOTWISE_TOKEN": "not-needed"}, "push", str(path), "--server",
                         f"http://127.0.0.1:{free_port()}", "--retries", "3", "--backoff", "0.001", check=False)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "did not answer after 4 attempts" in result.stderr
    assert result.stderr.count("retry ") == 3
    assert "0 of 12 mutations have an outcome" in result.stdout

    with pytest.raises(ServerUnavailable) as caught:
        SyncClient(f"http://127.0.0.1:{free_port()}", token="x", max_retries=2, **NO_WAIT).upload(path)
    assert caught.value.summary.done == 0


def test_wrong_password_foreign_device_and_missing_credentials_exit_2(server, tmp_path):
    """Sign-in refused → 2; a worker's token for one device pushing another device's queue → 2 (403);
    no credentials → 2; nothing applied."""
    path = write_queue(tmp_path / "hh-auth.json", receive_and_move_queue("HH-AUTH", "AU", 5))
    wrong = push_cli(server, path, password="not-the-password")
    assert wrong.returncode == 2 and "Wrong user name or password" in wrong.stderr, wrong.stderr

    token = requests.post(server.url + "/api/auth/token", timeout=10,
                          json={"username": "worker", "password": "worker", "device": "HH-WORKER"}).json()["token"]
    foreign = run_lotwise({**server.env, "LOTWISE_TOKEN": token}, "push", str(path), "--server", server.url,
                          check=False)
    assert foreign.returncode == 2 and "not HH-AUTH" in foreign.stderr, foreign.stderr
    with pytest.raises(AuthError, match="not HH-AUTH"):
        SyncClient(server.url, username="worker", password="worker", device="HH-WORKER", **NO_WAIT).upload(path)

    usage = run_lotwise(server.env, "push", str(path), "--server", server.url, check=False)
    assert usage.returncode == 2 and "--user" in usage.stderr
    no_password = subprocess.run([LOTWISE_BIN, "push", str(path), "--server", server.url, "--user", "supervisor"],
                                 env=server.env, capture_output=True, text=True, timeout=60, input="",
                                 start_new_session=True)  # no terminal to ask on: stdin, which is empty
    assert no_password.returncode == 2 and "LOTWISE_PASSWORD" in no_password.stderr, no_password.stderr
    assert server.ledger("AU") == Counter()
    assert not Path(str(path) + ".progress").exists()


def test_password_is_asked_for_when_not_in_the_environment(server, tmp_path):
    """Without LOTWISE_PASSWORD the CLI asks (hidden input; here from stdin, there being no terminal)."""
    path = write_queue(tmp_path / "hh-ask.json", receive_and_move_queue("HH-ASK", "AS", 3, bad=False))
    result = subprocess.run([LOTWISE_BIN, "push", str(path), "--server", server.url, "--user", "supervisor"],
                            env=server.env, capture_output=True, text=True, timeout=60, input="supervisor\n",
                            start_new_session=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Password for supervisor" in result.stderr and "supervisor\n" not in result.stdout
    assert server.ledger("AS") == Counter(receive=3, move=3)


def test_pushes_stay_under_2_mib_with_large_mutations(server, tmp_path):
    """Mutations with long args are split by size, not only by count: no push goes over 2 MiB, nothing is
    refused as too large, and a mutation too large for any push is reported rejected without being sent."""
    start = datetime.now(timezone.utc) - timedelta(hours=1)
    mutations = []
    for n in range(1_000):  # valid, every string at its maximum length
        mutations.append({"id": f"{n:04}-" + "i" * 59, "seq": 2 * n, "type": "receive",
                          "at": (start + timedelta(seconds=n)).isoformat(),
                          "args": {"item": "RM-FLOUR", "lot": f"LG{n:05}" + "X" * 13, "qty": "1.5",
                                   "location": "DOCK-1", "supplier": "SUP-MILL", "supplier_lot": "S" * 40,
                                   "reference": "R" * 40, "actor": "worker"}})
    for n in range(700):  # references far over the maximum: the server must still get to judge them
        mutations.append({"id": f"big-{n}", "seq": 2 * n + 1, "type": "receive", "at": start.isoformat(),
                          "args": {"item": "RM-FLOUR", "lot": f"LB{n:05}", "qty": "1", "location": "DOCK-1",
                                   "reference": "€" * 2_000}})
    mutations.append({"id": "huge", "seq": 5_000, "type": "receive", "at": start.isoformat(),
                      "args": {"item": "RM-FLOUR", "qty": "1", "location": "DOCK-1",
                               "reference": "R" * MAX_PUSH_BYTES}})
    path = write_queue(tmp_path / "hh-large.json", {"device": "HH-LARGE", "mutations": mutations})
    assert path.stat().st_size > 6 * 1024 * 1024

    transport = Recording()
    summary = client(server, session=session_with(transport)).upload(path, chunk_size=1000)
    assert transport.push_sizes and max(transport.push_sizes) <= DEFAULT_CHUNK_BYTES < MAX_PUSH_BYTES
    assert len(transport.push_sizes) >= 3  # by count alone it would be 2
    assert summary.pushes == len(transport.push_sizes) and summary.retries == 0
    assert summary.outcomes == Counter(applied=1_000, rejected=701)
    assert summary.rejected_reasons == Counter(invalid=700, too_large=1)
    assert [r.id for r in summary.rejected if r.local] == ["huge"]
    assert "huge" not in progress_ids(path)  # never acknowledged: a later run judges it again
    assert server.ledger("LG") == Counter(receive=1_000)
    assert server.ledger("LB") == Counter()
