"""POST /api/barcodes/decode: realistic phone photos of lot labels decode to the right lot; hostile uploads get a
clear 4xx JSON error quickly and the server keeps answering."""
from __future__ import annotations

import io
import json
import random
import re
import select
import socket
import struct
import subprocess
import time
import zlib
from datetime import date, timedelta
from decimal import Decimal as D
from functools import lru_cache

import numpy as np
import pytest
import requests
import zxingcpp
from PIL import Image

from backend import decoding
from backend.domain import stock
from backend.domain.auth import issue_token
from backend.models import db
from tests.conftest import LOTWISE_BIN, free_port, lotwise, make_app, wait_until_up
from tests.photos import encode, gs1_text, label, photo

URL = "/api/barcodes/decode"
EXPIRY = date.today() + timedelta(days=120)


@pytest.fixture
def lots(world, actor) -> dict:
    """A flour lot (item with a GTIN) and an eggs lot (SKU only), each with a label text."""
    flour = stock.receive(db.session, actor, item="FLOUR", qty=D(50), location="A-01-01", lot="L2406A",
                          expires_on=EXPIRY).lot
    eggs = stock.receive(db.session, actor, item="EGGS", qty=D(360), location="B-02-01", lot="E-0042",
                         expires_on=EXPIRY).lot
    db.session.commit()
    return {"flour": gs1_text(flour.item.gtin, flour.code, flour.expires_on),
            "eggs": gs1_text(None, eggs.code, eggs.expires_on, sku=eggs.item.sku)}


def post(client, headers, data: bytes, name: str = "photo.jpg", field: str = "image", **extra):
    """Upload `data` as the multipart field `field` (the worker's token unless headers is None)."""
    form = {field: (io.BytesIO(data), name), **extra}
    return client.post(URL, data=form, headers=headers["worker"] if headers else {},
                       content_type="multipart/form-data")


def lot_codes(response) -> list[str]:
    """The lot codes the decoded barcodes name, in the order found."""
    return [b["interpretation"]["lot"]["code"] for b in response.json["barcodes"]
            if b["interpretation"]["kind"] == "lot"]


def still_serving(client, headers, lots) -> None:
    """A normal upload after a hostile one still decodes."""
    response = post(client, headers, encode(photo([lots["flour"]], seed=99)))
    assert response.status_code == 200 and "L2406A" in lot_codes(response)


# --- realistic photos --------------------------------------------------------------------------------------

PHOTOS = {  # name: (photo options, file format)
    "straight-png": (dict(), "PNG"),
    "rotated-20": (dict(angle=20), "JPEG"),
    "rotated-90-webp": (dict(angle=90), "WEBP"),
    "perspective": (dict(skew=0.25, angle=-8), "JPEG"),
    "blurred": (dict(blur=2.0), "JPEG"),
    "noisy": (dict(noise=18), "JPEG"),
    "low-contrast": (dict(contrast=(95, 150), noise=4), "JPEG"),
    "small-in-frame": (dict(module=3, with_128=False), "JPEG"),
    "everything-a-bit": (dict(angle=-35, skew=0.15, blur=1.2, noise=8, contrast=(60, 200)), "WEBP"),
}


@pytest.mark.parametrize("name", PHOTOS)
def test_a_photo_of_a_label_decodes_to_its_lot(client, headers, lots, name):
    """Each degraded photo yields the label's GS1 DataMatrix, interpreted as the flour lot."""
    options, fmt = PHOTOS[name]
    response = post(client, headers, encode(photo([lots["flour"]], seed=len(name), **options), fmt),
                    name=f"x.{fmt.lower()}")
    assert response.status_code == 200, response.json
    barcodes = response.json["barcodes"]
    matrix = [b for b in barcodes if b["format"] == "DataMatrix"]
    assert matrix, barcodes
    assert matrix[0]["symbology_identifier"] == "]d2"
    assert matrix[0]["text"] == lots["flour"]
    interpretation = matrix[0]["interpretation"]
    assert interpretation["kind"] == "lot" and interpretation["lot"]["code"] == "L2406A"
    assert interpretation["gs1"]["gtin"] == "09506000134352"
    assert interpretation["gs1"]["expires_on"] == EXPIRY.isoformat()
    assert set(lot_codes(response)) == {"L2406A"}


def test_a_straight_photo_gives_both_symbols_with_positions(client, headers, lots):
    """The DataMatrix and the GS1-128 both decode, each resolved, with their corners inside the frame."""
    response = post(client, headers, encode(photo([lots["flour"]], seed=3)))
    barcodes = {b["format"]: b for b in response.json["barcodes"]}
    assert set(barcodes) == {"DataMatrix", "Code128"}
    assert barcodes["Code128"]["symbology_identifier"] == "]C1"
    for barcode in barcodes.values():
        assert barcode["interpretation"]["lot"]["code"] == "L2406A"
        assert barcode["interpretation"]["lot"]["balances"][0]["location"] == "A-01-01"
        corners = barcode["position"]
        assert set(corners) == {"top_left", "top_right", "bottom_right", "bottom_left"}
        assert all(0 <= p["x"] < 1280 and 0 <= p["y"] < 720 for p in corners.values())
    assert barcodes["DataMatrix"]["position"]["bottom_left"]["y"] < barcodes["Code128"]["position"]["top_left"]["y"]


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_two_labels_in_one_frame_give_both_lots(client, headers, lots, fmt):
    """Two different labels side by side: both lots, each once per symbol."""
    image = photo([lots["flour"], lots["eggs"]], seed=7, scale=0.75)
    response = post(client, headers, encode(image, fmt))
    assert response.status_code == 200
    assert {"L2406A", "E-0042"} <= set(lot_codes(response))
    eggs = next(b for b in response.json["barcodes"] if "E-0042" in b["text"])
    assert eggs["interpretation"]["gs1"]["sku"] == "EGGS"


def test_two_rotated_blurred_labels(client, headers, lots):
    """Two labels, turned 30 degrees, small and slightly out of focus."""
    image = photo([lots["flour"], lots["eggs"]], seed=8, scale=0.6, angle=30, blur=1.0)
    response = post(client, headers, encode(image))
    assert {"L2406A", "E-0042"} <= set(lot_codes(response))


def test_exif_orientation_is_applied_so_corners_are_in_the_upright_image(client, headers, lots):
    """A phone stores the sensor's pixels and an Orientation tag; corners come back in upright coordinates."""
    upright = photo([lots["flour"]], seed=4)
    reference = {b["format"]: b["position"] for b in post(client, headers, encode(upright)).json["barcodes"]}
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what the sensor saved; tag 6 turns it back
    exif = Image.Exif()
    exif[0x0112] = 6
    response = post(client, headers, encode(stored, exif=exif.tobytes()))
    found = {b["format"]: b["position"] for b in response.json["barcodes"]}
    assert found["DataMatrix"]
    for corner, point in found["DataMatrix"].items():
        expected = reference["DataMatrix"][corner]
        assert abs(point["x"] - expected["x"]) <= 3 and abs(point["y"] - expected["y"]) <= 3, corner


def test_a_location_label_and_an_unknown_lot_are_interpreted_too(client, headers, lots):
    """Plain codes resolve as locations; a valid GS1 label of a lot we do not have says so."""
    canvas = Image.new("L", (1280, 720), 200)
    location = Image.fromarray(np.asarray(zxingcpp.create_barcode("B-02-01", zxingcpp.BarcodeFormat.Code128)
                                          .to_image(scale=4, add_quiet_zones=True)))
    canvas.paste(location.resize((location.width, 120)), (80, 80))
    canvas.paste(label(gs1_text("09506000134352", "NOPE-1", EXPIRY), module=5, with_128=False), (700, 300))
    response = post(client, headers, encode(canvas, "PNG"))
    kinds = {b["text"]: b["interpretation"] for b in response.json["barcodes"]}
    assert kinds["B-02-01"]["kind"] == "location" and kinds["B-02-01"]["location"]["code"] == "B-02-01"
    unknown = kinds[gs1_text("09506000134352", "NOPE-1", EXPIRY)]
    assert unknown["kind"] == "item" and unknown["error"] == "unknown_lot"


OTHER_SYMBOLS = {  # format: (content, symbology identifier, expected kind)
    "DataBarExpanded": ("(01)09506000134352(10)L2406A(17){expiry}", "]e0", "lot"),  # (10) before (17): a GS
    "QRCode": ("https://id.gs1.org/01/09506000134352/10/L2406A?17={expiry}", "]Q1", "lot"),  # Digital Link
    "EAN13": ("9506000134352", "]E0", "item"),  # the retail GTIN alone names the item
    "ITF": ("19506000134359", "]I1", "unknown"),  # a carton GTIN (indicator 1) we do not have
}


@pytest.mark.parametrize("fmt", OTHER_SYMBOLS)
def test_other_symbols_are_interpreted_by_their_symbology(client, headers, lots, fmt):
    """GS1 DataBar Expanded, a GS1 Digital Link QR code, EAN-13 and ITF-14: each read as its symbology says."""
    content, symbology, kind = OTHER_SYMBOLS[fmt]
    code = zxingcpp.create_barcode(content.format(expiry=f"{EXPIRY:%y%m%d}"), getattr(zxingcpp.BarcodeFormat, fmt))
    symbol = Image.fromarray(np.asarray(code.to_image(scale=3, add_quiet_zones=True)))
    if symbol.height < 60:  # linear symbols come out one pixel high
        symbol = symbol.resize((symbol.width, 150))
    canvas = Image.new("L", (1280, 720), 190)
    canvas.paste(symbol, ((1280 - symbol.width) // 2, (720 - symbol.height) // 2))
    response = post(client, headers, encode(canvas.rotate(12, fillcolor=190)))
    [barcode] = response.json["barcodes"]
    assert barcode["symbology_identifier"] == symbology
    assert barcode["interpretation"]["kind"] == kind, barcode
    if kind == "lot":
        assert barcode["interpretation"]["lot"]["code"] == "L2406A"
    else:
        assert barcode["interpretation"]["gs1"]["gtin"] == content.rjust(14, "0")
    if kind == "item":
        assert barcode["interpretation"]["item"]["sku"] == "FLOUR"


def test_a_jpeg_with_a_second_image_is_read(client, headers, lots):
    """Phones append images to a JPEG (MPF: HDR gain maps, depth); Pillow calls that MPO; the first is read."""
    image = photo([lots["flour"]], seed=13, angle=10)
    data = encode(image, "MPO", save_all=True, append_images=[image.resize((320, 180))])
    codes = lot_codes(post(client, headers, data))
    assert codes and set(codes) == {"L2406A"}


def test_a_transparent_label_png_is_read_on_white(client, headers, lots):
    """Label PNGs with a transparent background (black on nothing) are composited on white, not on black."""
    card = label(lots["flour"], module=6, with_128=False)
    ink = np.asarray(card) < 128
    rgba = np.zeros((*ink.shape, 4), np.uint8)
    rgba[..., 3] = np.where(ink, 255, 0)  # black ink, fully transparent paper
    response = post(client, headers, encode(Image.fromarray(rgba, "RGBA"), "PNG"), name="label.png")
    assert lot_codes(response) == ["L2406A"]


def test_a_16_bit_greyscale_png_is_scaled_not_clipped(client, headers, lots):
    """16-bit grey PNGs are scaled to 8 bits (a plain convert would turn everything above 255 white)."""
    grey = np.asarray(photo([lots["flour"]], seed=5).convert("L"), np.uint16) * 257
    response = post(client, headers, encode(Image.fromarray(grey), "PNG"))
    assert "L2406A" in lot_codes(response)


def test_a_photo_without_barcodes_gives_an_empty_list(client, headers, lots):
    """No barcode is not an error: 200 with an empty list."""
    response = post(client, headers, encode(photo([], seed=6)))
    assert response.status_code == 200 and response.json == {"barcodes": []}


def test_request_data_never_reaches_the_reader_options(client, headers, lots, monkeypatch):
    """zxing-cpp always gets the options fixed in code, whatever the form carries."""
    seen = []
    real = zxingcpp.read_barcodes

    def spy(image, **options):
        seen.append(options)
        return real(image, **options)

    monkeypatch.setattr(zxingcpp, "read_barcodes", spy)
    response = post(client, headers, encode(photo([lots["flour"]], seed=9)),
                    formats="banana", text_mode="999", try_rotate="yes please", binarizer=[1, 2])
    assert response.status_code == 200 and "L2406A" in lot_codes(response)
    assert seen == [decoding.READER_OPTIONS]


# --- hostile uploads ------------------------------------------------------------------------------------------

def _png(width: int, height: int, rows) -> bytes:
    """A 1-bit greyscale PNG of the given size from an iterator of compressed-row chunks."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(rows)) + chunk(b"IEND", b"")


@lru_cache(maxsize=None)
def png_bomb(width: int, height: int) -> bytes:
    """A complete, valid PNG of width x height white pixels that compresses to a tiny file."""
    packer = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * ((width + 7) // 8)

    def rows():
        for start in range(0, height, 1000):
            yield packer.compress(row * min(1000, height - start))
        yield packer.flush()
    return _png(width, height, rows())


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header is patched to claim width x height."""
    data = bytearray(encode(Image.new("RGB", (64, 64), "white")))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _truncated(fmt: str) -> bytes:
    data = encode(photo([], seed=1), fmt)
    return data[: len(data) * 2 // 3]


HOSTILE = {  # name: (bytes factory, file name, status, error code)
    "random-bytes": (lambda: random.Random(1).randbytes(200_000), "photo.jpg", 422, "unreadable_image"),
    "empty-file": (lambda: b"", "photo.jpg", 422, "unreadable_image"),
    "truncated-png": (lambda: _truncated("PNG"), "photo.png", 422, "unreadable_image"),
    "truncated-jpeg": (lambda: _truncated("JPEG"), "photo.jpg", 422, "unreadable_image"),
    "truncated-webp": (lambda: _truncated("WEBP"), "photo.webp", 422, "unreadable_image"),
    "png-header-only": (lambda: encode(Image.new("L", (8, 8)), "PNG")[:33], "photo.png", 422, "unreadable_image"),
    "gif": (lambda: encode(Image.new("L", (64, 64)), "GIF"), "photo.jpg", 415, "unsupported_image"),
    "bmp": (lambda: encode(Image.new("RGB", (64, 64)), "BMP"), "photo.png", 415, "unsupported_image"),
    "tiff": (lambda: encode(Image.new("RGB", (64, 64)), "TIFF"), "photo.jpg", 415, "unsupported_image"),
    "heic-brand": (lambda: b"\x00\x00\x00\x18ftypheic" + bytes(64), "photo.heic", 415, "unsupported_image"),
    "png-bomb-30000-squared": (lambda: png_bomb(30_000, 30_000), "bomb.png", 413, "image_too_large"),
    "png-bomb-over-our-limit": (lambda: png_bomb(8_000, 8_000), "bomb.png", 413, "image_too_large"),
    "png-strip": (lambda: png_bomb(40_000, 10), "strip.png", 413, "image_too_large"),
    "jpeg-bomb": (lambda: jpeg_declaring(60_000, 60_000), "bomb.jpg", 413, "image_too_large"),
    "jpeg-over-our-limit": (lambda: jpeg_declaring(9_000, 6_000), "big.jpg", 413, "image_too_large"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_images_get_a_clear_4xx_quickly(client, headers, lots, name):
    """Each hostile upload: the stated status and error code in the JSON error shape, fast, and no crash."""
    factory, filename, status, code = HOSTILE[name]
    data = factory()
    started = time.perf_counter()
    response = post(client, headers, data, name=filename)
    assert time.perf_counter() - started < 3
    assert response.status_code == status, response.json
    assert response.json["code"] == status and response.json["error"] == code
    assert response.json["message"]
    still_serving(client, headers, lots)


def test_the_bombs_are_real_images(lots):
    """The bombs are not just bad headers: the file is small, yet it declares (and holds) that many pixels."""
    bomb = png_bomb(30_000, 30_000)
    assert len(bomb) < 200_000
    with Image.open(io.BytesIO(png_bomb(8_000, 8_000))) as image:
        assert image.size == (8_000, 8_000)
        image.load()  # decodes fine when asked to: it is the pixel count that is refused


class Endless(io.RawIOBase):
    """A multipart body of `size` bytes (a file part of zeros) that is never held in memory; `sent` counts
    the bytes read. Seekable only because the test client measures the stream's length."""

    def __init__(self, size: int, boundary: str = "b0und"):
        self.head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"big.jpg\"\r\n"
                     f"Content-Type: image/jpeg\r\n\r\n").encode()
        self.size, self.pos, self.sent = size, 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.pos = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence] + offset
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buffer) -> int:
        n = max(0, min(len(buffer), self.size - self.pos))
        chunk = self.head[self.pos:self.pos + n]
        buffer[:n] = chunk + bytes(n - len(chunk))
        self.pos += n
        self.sent += n
        return n


def test_a_50_mb_upload_is_refused_before_it_is_read(client, headers, lots):
    """Content-Length over 10 MB: 413 at once, having read (almost) nothing of the body."""
    body = Endless(50 * 2**20)
    started = time.perf_counter()
    response = client.post(URL, input_stream=body, content_length=body.size, headers=headers["worker"],
                           content_type="multipart/form-data; boundary=b0und")
    assert time.perf_counter() - started < 2
    assert response.status_code == 413 and response.json["error"] == "image_too_large"
    assert body.sent < 2**20
    still_serving(client, headers, lots)


def test_a_chunked_upload_is_cut_off_at_the_limit(client, headers, lots):
    """No Content-Length (chunked): reading stops with 413 just past 10 MB, not at 50 MB."""
    body = Endless(50 * 2**20)
    response = client.post(URL, input_stream=body, headers=headers["worker"],
                           content_type="multipart/form-data; boundary=b0und",
                           environ_overrides={"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True})
    assert response.status_code == 413 and response.json["error"] == "image_too_large"
    assert body.sent < 11 * 2**20
    still_serving(client, headers, lots)


def test_an_image_just_under_10_mb_is_accepted(client, headers, lots):
    """A noisy PNG of about 9.5 MB is within the limit and decodes."""
    image = photo([lots["flour"]], seed=10, noise=0, size=(2600, 1700))
    pixels = np.asarray(image).copy()
    rng = np.random.default_rng(1)
    for rows in (slice(0, 500), slice(1200, 1700)):  # incompressible texture above and below the label
        pixels[rows] = rng.integers(0, 256, pixels[rows].shape, dtype=np.uint8)
    data = encode(Image.fromarray(pixels), "PNG", compress_level=1)
    assert 8 * 2**20 < len(data) < decoding.MAX_UPLOAD_BYTES - 2**16
    response = post(client, headers, data, name="big.png")
    assert response.status_code == 200 and "L2406A" in lot_codes(response)


@pytest.mark.parametrize("case", ["wrong-field", "no-file", "two-files", "json", "raw-jpeg"])
def test_malformed_requests_get_4xx_json(client, headers, lots, case):
    """Missing or misnamed field, or a body that is not multipart: 4xx JSON errors; an extra file is ignored."""
    jpeg = encode(photo([lots["flour"]], seed=11))
    auth = headers["worker"]
    if case == "wrong-field":
        response = post(client, headers, jpeg, field="photo")
    elif case == "no-file":
        response = client.post(URL, data={"note": "hi"}, headers=auth, content_type="multipart/form-data")
    elif case == "two-files":
        response = client.post(URL, headers=auth, content_type="multipart/form-data",
                               data={"image": (io.BytesIO(jpeg), "a.jpg"), "other": (io.BytesIO(jpeg), "b.jpg")})
    elif case == "json":
        response = client.post(URL, json={"image": "aGVsbG8="}, headers=auth)
    else:
        response = client.post(URL, data=jpeg, headers=auth, content_type="image/jpeg")
    if case == "two-files":  # other fields are ignored, as webargs does for files
        assert response.status_code == 200 and lot_codes(response)
        return
    assert 400 <= response.status_code < 500
    assert set(response.json) == {"code", "error", "message", "errors"}
    still_serving(client, headers, lots)


def test_sign_in_is_required(client, headers, lots):
    """No token: 401 before the upload is looked at."""
    response = post(client, None, encode(photo([lots["flour"]], seed=12)))
    assert response.status_code == 401 and response.json["error"] == "unauthorized"


# --- a real server (gunicorn via `lotwise serve`) -------------------------------------------------------------

def _http_head(token: str, length: int | None) -> bytes:
    """Request line and headers of a multipart upload to the decode route (chunked when length is None)."""
    size = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (f"POST {URL} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: multipart/form-data; boundary=b0und\r\n{size}\r\n\r\n").encode()


def _response(sock: socket.socket) -> tuple[int, dict]:
    """Status and JSON body of the answer on `sock`."""
    data = b""
    while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < int(
            re.search(rb"content-length: (\d+)", data, re.I).group(1)):
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_a_real_server_refuses_huge_uploads_early_and_keeps_serving(env):
    """`lotwise serve`: a declared 50 MB upload gets its 413 after a few hundred KB were sent; a chunked one
    after about 10 MB; then the same server still decodes a photo."""
    lotwise(env, "db", "upgrade")
    app = make_app(env["DATABASE_URL"], env["LOTWISE_INSTANCE_PATH"])
    with app.app_context():
        from backend.domain import Actor, masterdata
        from backend.models import Item, Location, Role
        from backend.domain.auth import create_user
        masterdata.create(db.session, Item, dict(sku="FLOUR", name="Flour", uom="KGM", gtin="09506000134352"))
        masterdata.create(db.session, Location, dict(code="A-01-01", kind="storage"))
        user = create_user(db.session, username="w", password="secret-pw", role=Role.worker)
        lot = stock.receive(db.session, Actor(user=user, device="t"), item="FLOUR", qty=D(5), location="A-01-01",
                            lot="L2406A", expires_on=EXPIRY).lot
        text = gs1_text(lot.item.gtin, lot.code, lot.expires_on)
        token, _ = issue_token(db.session, username="w", password="secret-pw", device="t", ttl=timedelta(hours=1))
        db.session.commit()
        db.engine.dispose()
    port = free_port()
    server = subprocess.Popen([LOTWISE_BIN, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    part = Endless(0).head
    try:
        wait_until_up(f"http://127.0.0.1:{port}", server)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:  # declared size
            sock.sendall(_http_head(token, 50 * 2**20) + part + bytes(256 * 1024))
            status, body = _response(sock)
            assert status == 413 and body["error"] == "image_too_large"
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:  # chunked, no size
            sock.sendall(_http_head(token, None) + f"{len(part):x}\r\n".encode() + part + b"\r\n")
            sent, block = 0, bytes(256 * 1024)
            try:
                while sent < 50 * 2**20 and not select.select([sock], [], [], 0)[0]:
                    sock.sendall(f"{len(block):x}\r\n".encode() + block + b"\r\n")
                    sent += len(block)
            except (BrokenPipeError, ConnectionResetError):
                pass
            status, body = _response(sock)
            assert status == 413 and body["error"] == "image_too_large"
            assert sent < 30 * 2**20  # the limit plus what the socket buffers held, far from 50 MB
        answer = requests.post(f"http://127.0.0.1:{port}{URL}", headers={"Authorization": f"Bearer {token}"},
                               files={"image": ("p.jpg", encode(photo([text], seed=1)), "image/jpeg")}, timeout=30)
        assert answer.status_code == 200 and answer.json()["barcodes"][0]["interpretation"]["kind"] == "lot"
        assert server.poll() is None
    finally:
        server.terminate()
        server.wait(timeout=30)
