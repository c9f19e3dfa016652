"""Decode endpoint overhead: POST /api/barcodes/decode against a bare zxingcpp.read_barcodes on the same photos.

It builds N synthetic 1280x720 JPEG phone photos of lot labels (tests/photos.py: rotated, skewed, blurred,
noisy, low-contrast, small, one or two labels; every label names a real lot), then times, photo by photo and
interleaved:

- bare: Image.open on the JPEG bytes, decoded straight to grayscale (draft "L"), then zxingcpp.read_barcodes
  with the endpoint's own reader options (backend.decoding.READER_OPTIONS) -- the floor;
- endpoint: the same bytes uploaded as multipart/form-data to a real `lotwise serve` (gunicorn, gthread) on a
  free local port over HTTP keep-alive with requests, on a fresh SQLite database; the time includes HTTP,
  multipart parsing, the bearer-token check, the image checks, the decode, the interpretation of every
  barcode (database look-ups) and the JSON answer.

The JPEG decode is included in both figures; the multipart body is encoded once per photo, outside the
timings. It prints both medians (ms) and the ratio endpoint/bare (target <= 1.3x), once over every sample
and once over each photo's best round (which shows less of whatever else the machine is doing), and for
reference the medians of the JPEG decode alone and of zxing-cpp alone.

Run:  .venv/bin/python bench/decode.py [--photos 30] [--rounds 5] [--client http|test] [--profile N]
      (--client test: the Flask test client in this process instead of a server; --profile N prints the N
      most expensive functions of the endpoint under the test client)
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from time import perf_counter

import requests
import zxingcpp
from PIL import Image
from urllib3 import encode_multipart_formdata

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend import create_app  # noqa: E402
from backend.config import Config  # noqa: E402
from backend.decoding import READER_OPTIONS  # noqa: E402
from backend.domain import Actor, masterdata, stock  # noqa: E402
from backend.domain.auth import hash_token  # noqa: E402
from backend.models import ApiToken, Item, Location, Role, User, db, utcnow  # noqa: E402
from tests.photos import encode, gs1_text, photo  # noqa: E402

LOTS = [("FLOUR", "09506000134352", "L2406A"), ("FLOUR", "09506000134352", "L2406B"), ("EGGS", None, "E-0042"),
        ("EGGS", None, "E-0043")]
# Degradations cycled over the photos (each also gets its own seed, hence its own background and noise).
LOOKS = [dict(), dict(angle=20), dict(angle=90), dict(skew=0.25, angle=-8), dict(blur=2.0), dict(noise=18),
         dict(contrast=(95, 150), noise=4), dict(module=3, with_128=False),
         dict(angle=-35, skew=0.15, blur=1.2, noise=8, contrast=(60, 200))]


def make_photos(n: int, texts: list[str]) -> list[bytes]:
    """N JPEG photos (quality 85), one label each, every third one with a second label."""
    photos = []
    for i in range(n):
        rng = random.Random(i)
        look = dict(LOOKS[i % len(LOOKS)])
        labels = rng.sample(texts, 2 if i % 3 == 2 else 1)
        if len(labels) == 2:
            look["scale"] = 0.7
        photos.append(encode(photo(labels, seed=i, **look), "JPEG", quality=85))
    return photos


def seed_database(url: str, instance: Path) -> tuple[str, list[str]]:
    """Migrate a fresh database, add items, lots and a worker with a token; the token and the label texts."""
    app = create_app(Config(SQLALCHEMY_DATABASE_URI=url, INSTANCE_PATH=str(instance), SECRET_KEY="bench",
                            LOTWISE_LOG_LEVEL="WARNING"))
    texts = []
    with app.app_context():
        from flask_migrate import upgrade
        upgrade()
        s = db.session
        masterdata.create(s, Item, dict(sku="FLOUR", name="Wheat flour", uom="KGM", gtin="09506000134352",
                                        shelf_life_days=180))
        masterdata.create(s, Item, dict(sku="EGGS", name="Eggs", uom="EA", shelf_life_days=28))
        masterdata.create(s, Location, dict(code="A-01-01", kind="storage"))
        user = User(username="bench", name="Bench", role=Role.worker, password_hash="-")
        s.add(user)
        s.flush()
        token = secrets.token_urlsafe(32)
        s.add(ApiToken(user=user, token_hash=hash_token(token), device="BENCH",
                       expires_at=utcnow() + timedelta(days=1)))
        actor = Actor(user=user, device="BENCH")
        expiry = date.today() + timedelta(days=20)
        for sku, gtin, code in LOTS:
            stock.receive(s, actor, item=sku, qty=Decimal(100), location="A-01-01", lot=code, expires_on=expiry)
            texts.append(gs1_text(gtin, code, expiry, sku=sku))
        s.commit()
        db.engine.dispose()
    return token, texts


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HttpServer:
    """`lotwise serve` in a child process on a free port."""

    def __init__(self, url: str, instance: Path):
        self.port = free_port()
        env = dict(os.environ, DATABASE_URL=url, LOTWISE_INSTANCE_PATH=str(instance), SECRET_KEY="bench",
                   LOTWISE_LOG_LEVEL="WARNING")
        lotwise = Path(sys.executable).with_name("lotwise")
        self.log = open(instance / "server.log", "wb")
        self.process = subprocess.Popen([str(lotwise), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                                         "--workers", "1"],
                                        env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy from the environment, no per-request proxy look-ups
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.session.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise SystemExit(f"lotwise serve did not start; see {instance / 'server.log'}")
            time.sleep(0.1)

    def post(self, body: tuple[bytes, str], token: str) -> dict:
        """Upload one photo (a ready multipart body and its content type); the decoded JSON."""
        data, content_type = body
        response = self.session.post(f"{self.base}/api/barcodes/decode", data=data, timeout=30,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
        response.raise_for_status()
        return response.json()

    @staticmethod
    def body(data: bytes) -> tuple[bytes, str]:
        """The multipart/form-data body for a photo, encoded once, outside the timings."""
        return encode_multipart_formdata({"image": ("photo.jpg", data, "image/jpeg")})

    def close(self) -> None:
        """Stop the server (our own child, by its process)."""
        self.session.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


class TestClient:
    """The Flask test client in this process (no HTTP)."""

    def __init__(self, url: str, instance: Path):
        self.app = create_app(Config(SQLALCHEMY_DATABASE_URI=url, INSTANCE_PATH=str(instance), SECRET_KEY="bench",
                                     LOTWISE_LOG_LEVEL="WARNING"))
        self.client = self.app.test_client()

    @staticmethod
    def body(data: bytes) -> bytes:
        """The photo as it is (the test client builds the multipart body)."""
        return data

    def post(self, data: bytes, token: str) -> dict:
        """Upload one photo; the decoded JSON."""
        response = self.client.post("/api/barcodes/decode", headers={"Authorization": f"Bearer {token}"},
                                    data={"image": (io.BytesIO(data), "photo.jpg")},
                                    content_type="multipart/form-data")
        assert response.status_code == 200, response.json
        return response.json

    def close(self) -> None:
        """Nothing to stop."""


def bare(data: bytes) -> list:
    """The floor: open the JPEG, decode it to grayscale, read the barcodes with the same options."""
    image = Image.open(io.BytesIO(data))
    image.draft("L", None)
    return zxingcpp.read_barcodes(image, **READER_OPTIONS)


def gray(data: bytes) -> Image.Image:
    """The JPEG decode alone (to grayscale, loaded)."""
    image = Image.open(io.BytesIO(data))
    image.draft("L", None)
    image.load()
    return image


def timed(fn, *args) -> tuple[float, object]:
    """Seconds taken by fn(*args), and its result."""
    started = perf_counter()
    result = fn(*args)
    return perf_counter() - started, result


def main() -> None:
    """Parse the options, run the measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=30, help="number of 1280x720 JPEG photos")
    parser.add_argument("--rounds", type=int, default=5, help="times each photo is timed on each side")
    parser.add_argument("--client", choices=("http", "test"), default="http",
                        help="http: a real `lotwise serve` on a free port (default); test: Flask test client")
    parser.add_argument("--profile", type=int, metavar="N", default=0,
                        help="print the N most expensive functions of the endpoint (test client, cProfile)")
    opts = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="lotwise-bench-decode-")
    instance = Path(tmp.name)
    url = f"sqlite:///{instance / 'lotwise.db'}"
    token, texts = seed_database(url, instance)
    photos = make_photos(opts.photos, texts)
    target = (HttpServer if opts.client == "http" else TestClient)(url, instance)
    try:
        bodies = [target.body(data) for data in photos]
        for data, body in zip(photos, bodies):  # warm-up, and the endpoint finds what the bare call finds
            answer, floor = target.post(body, token), bare(data)
            assert len(answer["barcodes"]) == len(floor), (answer, floor)
            assert all(b["interpretation"]["kind"] == "lot" for b in answer["barcodes"]), answer
        times = {name: [[] for _ in photos] for name in ("bare", "endpoint", "jpeg", "zxing")}
        for _ in range(opts.rounds):
            for i, (data, body) in enumerate(zip(photos, bodies)):
                times["bare"][i].append(timed(bare, data)[0])
                times["endpoint"][i].append(timed(target.post, body, token)[0])
                took, image = timed(gray, data)
                times["jpeg"][i].append(took)
                times["zxing"][i].append(timed(lambda: zxingcpp.read_barcodes(image, **READER_OPTIONS))[0])
        found = sum(len(bare(data)) for data in photos)
        # Median of every sample, and (less sensitive to other load on the machine) the median over the photos
        # of each photo's best round.
        median = {name: statistics.median(t for per_photo in values for t in per_photo) * 1000
                  for name, values in times.items()}
        best = {name: statistics.median(min(per_photo) for per_photo in values) * 1000
                for name, values in times.items()}
        print(f"{opts.photos} JPEG photos 1280x720 ({sum(map(len, photos)) / len(photos) / 1024:.0f} KiB on "
              f"average, {found} barcodes), {opts.rounds} rounds, endpoint via "
              f"{'HTTP to lotwise serve (gunicorn)' if opts.client == 'http' else 'the Flask test client'}")
        print("                                                      median    median of best rounds")
        print(f"  bare zxingcpp.read_barcodes (JPEG decode included)  {median['bare']:7.2f} ms  {best['bare']:7.2f} ms")
        print(f"  POST /api/barcodes/decode                            {median['endpoint']:7.2f} ms  "
              f"{best['endpoint']:7.2f} ms")
        for label, figures in (("median", median), ("best rounds", best)):
            ratio = figures["endpoint"] / figures["bare"]
            verdict = "met" if ratio <= 1.3 else "NOT met"
            print(f"  ratio endpoint/bare ({label}) {ratio:.3f}x   (target <= 1.3x: {verdict})")
        print(f"  for reference (medians): JPEG decode alone {median['jpeg']:.2f} ms, zxing-cpp alone "
              f"{median['zxing']:.2f} ms, endpoint overhead {median['endpoint'] - median['bare']:+.2f} ms")
        if opts.profile:
            profiled, profile = TestClient(url, instance), cProfile.Profile()
            profile.enable()
            for data in photos:
                profiled.post(profiled.body(data), token)
            profile.disable()
            pstats.Stats(profile).sort_stats("cumulative").print_stats(opts.profile)
    finally:
        target.close()
        tmp.cleanup()


if __name__ == "__main__":
    main()
