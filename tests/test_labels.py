"""Labels: every symbol reads back (zxing-cpp) as exactly the lot or location it names, in SVG, PNG and ZPL,
and the printable pages hold one label per requested lot, for lots, receipts and production orders."""
from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest
import zxingcpp
from PIL import Image, ImageDraw

from backend import labels
from backend.domain.errors import DomainError
from backend.domain.scans import interpret

SVG = "{http://www.w3.org/2000/svg}"
GS = "\x1d"
FLOUR_GTIN = "09506000134352"


def gtin14(first13: str) -> str:
    """A GTIN-14 from its first 13 digits, with the GS1 check digit appended."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(first13))
    return first13 + str((10 - total % 10) % 10)


SALT_GTIN = gtin14("0950600013437")


def ok(response, status: int = 200):
    """The response, which must have `status`."""
    assert response.status_code == status, response.get_data(as_text=True)
    return response


def refused(response, status: int, error: str) -> dict:
    """The response is the JSON error shape with this status and machine code."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["code"] == status and body["error"] == error, body
    return body


@pytest.fixture
def stock(client, headers, world) -> dict:
    """Lots received through the API: with GTIN and expiry, without GTIN (240), without expiry, odd characters."""
    today = datetime.now(timezone.utc).date()
    ok(client.post("/api/items", headers=headers["admin"], json={"sku": "SALT", "name": "Sea salt, coarse",
                                                                  "uom": "KGM", "gtin": SALT_GTIN}), 201)
    receipts = {
        "flour": dict(item="FLOUR", lot="LOT-A42", qty="25", expires_on=(today + timedelta(days=120)).isoformat(),
                      reference="GRN-00001", supplier="SUP-MILL"),
        "eggs": dict(item="EGGS", lot="E-7", qty="360", expires_on=(today + timedelta(days=20)).isoformat(),
                     reference="GRN-00001"),
        "salt": dict(item="SALT", lot="S-1", qty="12.5", reference="GRN-00002"),
        "odd": dict(item="SALT", lot="Q_1>2", qty="3", reference="GRN-00003"),
    }
    out = {}
    for key, body in receipts.items():
        response = ok(client.post("/api/receipts", headers=headers["worker"], json={**body, "location": "A-01-01"}),
                      201)
        out[key] = response.get_json()
    return out


def lot_of(stock: dict, key: str) -> dict:
    """The lot of a receipt answer."""
    return stock[key]["lot"]


def get(client, headers, url: str, role: str = "worker"):
    """GET with the role's token."""
    return client.get(url, headers=headers[role])


def decode(png: bytes) -> list:
    """Every barcode zxing-cpp finds in a PNG."""
    return zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))


def names_exactly(scan_text: str, lot: dict) -> None:
    """A scan string reads (backend.domain.scans.interpret) as exactly this lot: GTIN or SKU, lot, expiry."""
    scan = interpret(scan_text)
    gtin = lot["item"]["gtin"]
    assert scan.gtin == gtin
    assert scan.sku == (None if gtin else lot["item"]["sku"])
    assert scan.lot == lot["code"]
    assert scan.expires_on == (date.fromisoformat(lot["expires_on"]) if lot["expires_on"] else None)


def transmitted(barcode) -> str:
    """What a scanner sends: symbology identifier and the raw bytes (GS separators included)."""
    return barcode.symbology_identifier + barcode.bytes.decode("latin-1")


def side_lengths(barcode) -> tuple[float, float]:
    """Width and height of a found symbol, from its corner positions."""
    p = barcode.position
    width = np.hypot(p.top_right.x - p.top_left.x, p.top_right.y - p.top_left.y)
    height = np.hypot(p.bottom_left.x - p.top_left.x, p.bottom_left.y - p.top_left.y)
    return width, height


def svg_texts(root) -> list[str]:
    """The text lines of an SVG label."""
    return [el.text or "" for el in root.iter(f"{SVG}text")]


def rasterize_svg(root, scale: int = 1) -> Image.Image:
    """Draw the label's symbol paths (absolute M x y h w v h h -w z rectangles) to check they decode too."""
    _, _, width, height = (int(v) for v in root.get("viewBox").split())
    image = Image.new("L", (width * scale, height * scale), 255)
    draw = ImageDraw.Draw(image)
    for path in root.iter(f"{SVG}path"):
        for x, y, w, h in re.findall(r"M(\d+) (\d+)h(\d+)v(\d+)h-\d+z", path.get("d")):
            x, y, w, h = (int(v) * scale for v in (x, y, w, h))
            draw.rectangle([x, y, x + w - 1, y + h - 1], fill=0)
    return image


# --- PNG: the symbols decode to exactly the lot --------------------------------------------------

@pytest.mark.parametrize("key", ["flour", "eggs", "salt", "odd"])
@pytest.mark.parametrize("size", ["4x6", "2x1"])
def test_lot_png_decodes_to_exactly_the_lot(client, headers, stock, key, size):
    """The PNG's GS1 DataMatrix (square, ]d2) and GS1-128 (]C1, not on 2x1) read back as exactly the lot."""
    lot = lot_of(stock, key)
    response = ok(get(client, headers, f"/api/labels/lots/{lot['id']}.png?size={size}"))
    assert response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    assert image.size == {"4x6": (812, 1218), "2x1": (406, 203)}[size]
    assert round(image.info["dpi"][0]) == 203
    found = {b.format: b for b in decode(response.data)}
    assert set(found) == ({zxingcpp.BarcodeFormat.DataMatrix} if size == "2x1"
                          else {zxingcpp.BarcodeFormat.DataMatrix, zxingcpp.BarcodeFormat.Code128})
    matrix = found[zxingcpp.BarcodeFormat.DataMatrix]
    assert matrix.symbology_identifier == "]d2"
    width, height = side_lengths(matrix)
    assert abs(width - height) <= 2, (width, height)
    for barcode in found.values():
        names_exactly(barcode.text, lot)
        names_exactly(transmitted(barcode), lot)
    if size == "4x6":
        assert found[zxingcpp.BarcodeFormat.Code128].symbology_identifier == "]C1"


@pytest.mark.parametrize("size", ["4x6", "2x1"])
def test_location_png_decodes_to_its_code(client, headers, world, size):
    """A location label's Code 128 reads back as the location code, a plain code (]C0)."""
    response = ok(get(client, headers, f"/api/labels/locations/{world['a'].id}.png?size={size}"))
    assert response.mimetype == "image/png"
    (barcode,) = decode(response.data)
    assert (barcode.format, barcode.symbology_identifier, barcode.text) == (
        zxingcpp.BarcodeFormat.Code128, "]C0", "A-01-01")
    scan = interpret(transmitted(barcode))
    assert scan.text == "A-01-01" and not scan.is_gs1


def test_the_datamatrix_alone_is_square_for_every_kind_of_content():
    """zxing-cpp makes a rectangular GS1 DataMatrix unless forced: the module grid is square for every lot."""
    for elements in ([("01", FLOUR_GTIN), ("17", "261231"), ("10", "LOT-A42")],
                     [("240", "EGGS"), ("10", "E-7")], [("240", "X" * 30), ("17", "270101"), ("10", "L" * 20)],
                     [("01", FLOUR_GTIN), ("10", "1")]):
        cells = labels.datamatrix(labels.hri(elements))
        assert cells.shape[0] == cells.shape[1]


# --- SVG ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", ["4x6", "2x1"])
def test_lot_svg_is_well_formed_with_every_text_and_symbols_that_decode(client, headers, stock, size):
    """Well-formed standalone SVG at the label's physical size, with the lot's text, and its paths decode."""
    lot = lot_of(stock, "flour")
    response = ok(get(client, headers, f"/api/labels/lots/{lot['id']}.svg?size={size}"))
    assert response.mimetype == "image/svg+xml"
    root = ET.fromstring(response.data)
    assert root.tag == f"{SVG}svg"
    assert (root.get("width"), root.get("height")) == {"4x6": ("4in", "6in"), "2x1": ("2in", "1in")}[size]
    text = "\n".join(svg_texts(root))
    expiry = date.fromisoformat(lot["expires_on"])
    received = datetime.fromisoformat(lot["received_at"]).date().isoformat()
    hri = f"(01){FLOUR_GTIN}(17){expiry:%y%m%d}(10)LOT-A42"
    for expected in ("Wheat flour", "FLOUR", "LOT-A42", expiry.isoformat(), "25 KGM", received, hri):
        assert expected in text, (expected, text)
    if size == "4x6":
        assert FLOUR_GTIN in text
    groups = {g.get("class") for g in root.iter(f"{SVG}g")}
    assert "gs1-datamatrix" in groups and ("gs1-128" in groups) == (size == "4x6")
    found = zxingcpp.read_barcodes(rasterize_svg(root))
    assert len(found) == (2 if size == "4x6" else 1)
    for barcode in found:
        names_exactly(transmitted(barcode), lot)


def test_svg_of_a_lot_without_gtin_or_expiry_and_a_location(client, headers, stock, world):
    """(240) SKU labels show the SKU; a lot without expiry says so; a location label shows its code."""
    eggs = lot_of(stock, "eggs")
    root = ET.fromstring(ok(get(client, headers, f"/api/labels/lots/{eggs['id']}.svg")).data)
    text = "\n".join(svg_texts(root))
    assert "SKU EGGS" in text and "(240)EGGS" in text and "360 EA" in text and "GTIN" not in text
    salt = lot_of(stock, "salt")
    root = ET.fromstring(ok(get(client, headers, f"/api/labels/lots/{salt['id']}.svg")).data)
    text = "\n".join(svg_texts(root))
    assert f"(01){SALT_GTIN}(10)S-1" in text and "(17)" not in text and "none" in text and "12.5 KGM" in text
    root = ET.fromstring(ok(get(client, headers, f"/api/labels/locations/{world['a'].id}.svg")).data)
    assert "A-01-01" in svg_texts(root)
    (barcode,) = zxingcpp.read_barcodes(rasterize_svg(root))
    assert barcode.text == "A-01-01"


def test_qty_overrides_the_stock_on_hand(client, headers, stock):
    """?qty= prints that quantity; by default the lot's stock on hand."""
    lot = lot_of(stock, "flour")
    text = "\n".join(svg_texts(ET.fromstring(ok(get(client, headers, f"/api/labels/lots/{lot['id']}.svg?qty=5")).data)))
    assert "5 KGM" in text and "25 KGM" not in text


# --- ZPL ------------------------------------------------------------------------------------------

def zpl_fields(zpl: str, command: str) -> list[tuple[str, str]]:
    """(parameters, field data) of every field of one barcode command (^BX or ^BC)."""
    return re.findall(r"\^" + command + r"([^\^]*)(?:\^[^F][^\^]*)*\^FD(.*?)\^FS", zpl)


def zpl_datamatrix_scan(data: str) -> str:
    """What a scanner sends for ^BX quality 200 field data with escape "_": _1 = FNC1, __ = "_"."""
    assert data.startswith("_1"), "a GS1 DataMatrix starts with FNC1"
    out, i = [], 2
    while i < len(data):
        if data[i] == "_":
            assert data[i + 1] in "_1", data
            out.append("_" if data[i + 1] == "_" else GS)
            i += 2
        else:
            out.append(data[i])
            i += 1
    return "]d2" + "".join(out)


def zpl_code128_scan(data: str) -> str:
    """What a scanner sends for ^BC field data with Zebra's invocation codes (subsets tracked strictly)."""
    starts = {">9": "A", ">:": "B", ">;": "C"}
    subset, i, out, gs1 = starts[data[:2]], 2, [], False
    specials = {"0": ">", "<": "^", "=": "~"}
    while i < len(data):
        if data[i] == ">":
            code = data[i + 1]
            i += 2
            if code == "8":
                if i == 4:
                    gs1 = True
                else:
                    out.append(GS)
            elif code in "56":
                subset = {"5": "C", "6": "B"}[code]
            elif subset == "B" and code in specials:
                out.append(specials[code])
            else:
                raise AssertionError(f"unexpected invocation code >{code}")
        elif subset == "C":
            pair = data[i:i + 2]
            assert len(pair) == 2 and pair.isdigit(), f"subset C takes digit pairs: {data!r} at {i}"
            out.append(pair)
            i += 2
        else:
            assert data[i] not in "^~"
            out.append(data[i])
            i += 1
    return ("]C1" if gs1 else "]C0") + "".join(out)


def zpl_text(data: str) -> str:
    """Field data of ^FH_ text: _XX hex bytes back to UTF-8."""
    return re.sub(rb"_([0-9A-F]{2})", lambda m: bytes([int(m.group(1), 16)]), data.encode()).decode()


@pytest.mark.parametrize("key", ["flour", "eggs", "salt", "odd"])
@pytest.mark.parametrize("size", ["4x6", "2x1"])
def test_lot_zpl_is_structured_and_carries_the_gs1_data_with_fnc1(client, headers, stock, key, size):
    """^XA…^XZ; ^BX (ECC 200, escape "_", square) with _1 FNC1 first and after a variable field that is not
    last; ^BC starting >;>8 with >8 separators; both decode to exactly the lot; the HRI text and lot printed."""
    lot = lot_of(stock, key)
    response = ok(get(client, headers, f"/api/labels/lots/{lot['id']}.zpl?size={size}"))
    assert response.mimetype == "text/plain"
    assert "attachment" in response.headers["Content-Disposition"]
    zpl = response.get_data(as_text=True)
    assert zpl.startswith("^XA\n") and zpl.rstrip().endswith("^XZ") and zpl.count("^XA") == zpl.count("^XZ") == 1
    assert "^CI28" in zpl and f"^PW{ {'4x6': 812, '2x1': 406}[size]}" in zpl
    assert zpl.count("^FD") == zpl.count("^FS") - zpl.count("^GB")

    expiry = f"17{date.fromisoformat(lot['expires_on']):%y%m%d}" if lot["expires_on"] else ""
    first = f"01{lot['item']['gtin']}" if lot["item"]["gtin"] else f"240{lot['item']['sku']}_1"
    (dm_params, dm_data), = zpl_fields(zpl, "BX")
    assert re.fullmatch(r"N,\d+,200,,,,_,1", dm_params)
    assert dm_data == "_1" + first + expiry + "10" + lot["code"].replace("_", "__")
    names_exactly(zpl_datamatrix_scan(dm_data), lot)

    linear = zpl_fields(zpl, "BC")
    if size == "2x1":
        assert linear == []
    else:
        (bc_params, bc_data), = linear
        assert re.fullmatch(r"N,\d+,N,N,N", bc_params) and bc_data.startswith(">;>8")
        assert bc_data.count(">8") == (1 if lot["item"]["gtin"] else 2)
        names_exactly(zpl_code128_scan(bc_data), lot)

    texts = [zpl_text(data) for data in re.findall(r"\^FH_\^FD(.*?)\^FS", zpl)]
    hri = ("(01)" + lot["item"]["gtin"] if lot["item"]["gtin"] else f"(240){lot['item']['sku']}") + (
        f"(17){expiry[2:]}" if expiry else "") + f"(10){lot['code']}"
    assert hri in texts
    assert any(lot["code"] in text for text in texts if text != hri)


def test_location_zpl_carries_its_code_in_code_128(client, headers, world):
    """A location label's ^BC holds exactly its code (plain Code 128) and prints it in large text."""
    zpl = ok(get(client, headers, f"/api/labels/locations/{world['stage'].id}.zpl")).get_data(as_text=True)
    assert zpl.startswith("^XA") and zpl.rstrip().endswith("^XZ") and "^BX" not in zpl
    (params, data), = zpl_fields(zpl, "BC")
    assert zpl_code128_scan(data) == "]C0STAGE-1"
    assert "STAGE-1" in [zpl_text(d) for d in re.findall(r"\^FH_\^FD(.*?)\^FS", zpl)]


def test_zpl_code128_escapes_what_zpl_reserves_and_pairs_digits():
    """>, ^ and ~ use Zebra's invocation codes; digit runs go to subset C in pairs only."""
    for text in ("A>B^C~D", "12345", "1234", "X123456Y7", "9", "A-01-01", "007>>_"):
        data, _ = labels.zpl_code128_data(list(text))
        assert "^" not in data and "~" not in data
        assert zpl_code128_scan(data) == "]C0" + text


# --- printable pages ------------------------------------------------------------------------------

def page_checks(response, page_css: str) -> str:
    """A self-contained printable HTML page: 200, text/html, @page CSS, no external URLs."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "@page" in html and page_css in html
    assert "http://" not in html and "https://" not in html and "<script" not in html
    return html


def test_a4_sheet_has_one_label_per_requested_lot(client, headers, stock):
    """The A4 sheet holds one inline SVG label per requested lot (repeats are copies), 8 per sheet."""
    ids = [lot_of(stock, key)["id"] for key in ("flour", "eggs", "salt", "odd")]
    wanted = ids + ids + [ids[0], ids[0]]
    html = page_checks(get(client, headers, "/api/labels/sheet?lots=" + ",".join(map(str, wanted))),
                       "size: A4")
    assert re.findall(r'data-lot="(\d+)"', html) == [str(i) for i in wanted]
    assert html.count("<svg") == len(wanted) == 10
    assert html.count('class="sheet"') == 2
    assert "LOT-A42" in html and "Q_1&gt;2" in html


@pytest.mark.parametrize("size, css", [("4x6", "size: 4in 6in"), ("2x1", "size: 2in 1in")])
def test_thermal_pages_have_one_label_per_page(client, headers, stock, size, css):
    """One label per page at the thermal label's size."""
    ids = [lot_of(stock, key)["id"] for key in ("flour", "eggs")]
    html = page_checks(get(client, headers, f"/api/labels/print?size={size}&lots={ids[0]},{ids[1]}"), css)
    assert re.findall(r'<section class="label" data-lot="(\d+)"', html) == [str(i) for i in ids]
    assert html.count("<svg") == 2 and "break-after: page" in html


def test_location_labels_on_a_sheet(client, headers, world):
    """Location labels print on the same pages."""
    ids = [world[key].id for key in ("a", "b", "stage")]
    html = page_checks(get(client, headers, "/api/labels/sheet?locations=" + ",".join(map(str, ids))), "size: A4")
    assert re.findall(r'data-location="(\d+)"', html) == [str(i) for i in ids]
    assert "B-02-01" in html


def test_receipt_answer_links_to_a_working_label(client, headers, world):
    """The receive answer's lot carries its label link, and the link serves the label."""
    body = ok(client.post("/api/receipts", headers=headers["worker"], json={
        "item": "FLOUR", "qty": "40", "location": "RCV-1", "reference": "GRN-77"}), 201).get_json()
    lot = body["lot"]
    assert lot["label"] == f"/api/labels/lots/{lot['id']}.svg"
    response = ok(get(client, headers, lot["label"]))
    assert response.mimetype == "image/svg+xml"
    assert lot["code"] in svg_texts(ET.fromstring(response.data))
    png = ok(get(client, headers, lot["label"].replace(".svg", ".png"))).data
    assert {b.text for b in decode(png)} == {f"(01){FLOUR_GTIN}(17){date.fromisoformat(lot['expires_on']):%y%m%d}"
                                            f"(10){lot['code']}"}


def test_labels_for_a_whole_receipt(client, headers, stock):
    """?reference= gives one label per line received under that reference, with the quantity received."""
    html = page_checks(get(client, headers, "/api/labels/sheet?reference=GRN-00001"), "size: A4")
    assert re.findall(r'data-lot="(\d+)"', html) == [str(lot_of(stock, k)["id"]) for k in ("flour", "eggs")]
    assert "25 KGM" in html and "360 EA" in html and "Labels of receipt GRN-00001" in html
    html = page_checks(get(client, headers, "/api/labels/print?size=2x1&reference=GRN-00002"), "size: 2in 1in")
    assert re.findall(r'data-lot="(\d+)"', html) == [str(lot_of(stock, "salt")["id"])]
    refused(get(client, headers, "/api/labels/sheet?reference=GRN-NOPE"), 404, "unknown_receipt")


def test_labels_for_a_whole_production_run(client, headers, stock):
    """?production_order= gives one label per output booking of the order, marked as produced."""
    ok(client.post("/api/items", headers=headers["admin"], json={
        "sku": "DOUGH", "name": "Cookie dough", "uom": "KGM", "shelf_life_days": 5}), 201)
    ok(client.post("/api/locations", headers=headers["admin"], json={"code": "LINE-1", "kind": "production"}), 201)
    order = ok(client.post("/api/production-orders", headers=headers["supervisor"], json={
        "item": "DOUGH", "qty": "10", "location": "LINE-1", "materials": [{"item": "FLOUR", "qty": "6"}]}),
        201).get_json()
    refused(get(client, headers, f"/api/labels/sheet?production_order={order['number']}"), 404, "nothing_produced")
    made = [ok(client.post(f"/api/production-orders/{order['id']}/produce", headers=headers["worker"],
                           json={"qty": qty, "location": "LINE-1", **extra}), 201).get_json()
            for qty, extra in (("4", {"lot": "D-7"}), ("2.5", {}))]
    html = page_checks(get(client, headers, f"/api/labels/sheet?production_order={order['number']}"), "size: A4")
    assert re.findall(r'data-lot="(\d+)"', html) == [str(m["lot"]["id"]) for m in made]
    assert "PRODUCED" in html and "4 KGM" in html and "2.5 KGM" in html
    png = ok(get(client, headers, f"/api/labels/lots/{made[0]['lot']['id']}.png")).data
    assert {interpret(b.text).lot for b in decode(png)} == {"D-7"}
    refused(get(client, headers, "/api/labels/sheet?production_order=MO-99999"), 404, "unknown_production_order")


# --- errors ---------------------------------------------------------------------------------------

def test_unknown_lot_or_location_is_404_json(client, headers, stock):
    """Unknown ids are 404 in the JSON error shape, on files and pages alike."""
    for fmt in ("svg", "png", "zpl"):
        refused(get(client, headers, f"/api/labels/lots/999999.{fmt}"), 404, "unknown_lot")
        refused(get(client, headers, f"/api/labels/locations/999999.{fmt}"), 404, "unknown_location")
    refused(get(client, headers, f"/api/labels/sheet?lots={lot_of(stock, 'flour')['id']},999999"), 404,
            "unknown_lot")


def test_bad_query_arguments_are_422(client, headers, stock):
    """A size that is not offered, a bad quantity, no or two selectors, bad id lists: 422 JSON."""
    lot_id = lot_of(stock, "flour")["id"]
    body = refused(get(client, headers, f"/api/labels/lots/{lot_id}.png?size=3x5"), 422, "invalid")
    assert "size" in body["errors"]
    refused(get(client, headers, f"/api/labels/lots/{lot_id}.svg?size=sheet"), 422, "invalid")
    refused(get(client, headers, f"/api/labels/lots/{lot_id}.zpl?qty=-1"), 422, "invalid")
    refused(get(client, headers, f"/api/labels/lots/{lot_id}.zpl?qty=abc"), 422, "invalid")
    refused(get(client, headers, "/api/labels/print?lots=1&size=A4"), 422, "invalid")
    refused(get(client, headers, "/api/labels/sheet"), 422, "invalid")
    refused(get(client, headers, f"/api/labels/sheet?lots={lot_id}&reference=GRN-00001"), 422, "invalid")
    for bad in ("abc", "1,,2", "0", "-1", str(2**63), ",".join(["1"] * 501)):
        refused(get(client, headers, f"/api/labels/sheet?lots={bad}"), 422, "invalid")


def test_labels_need_a_token(client, stock, world):
    """Like every /api route: 401 without a bearer token (no token in the URL either)."""
    lot_id = lot_of(stock, "flour")["id"]
    for url in (f"/api/labels/lots/{lot_id}.svg", f"/api/labels/locations/{world['a'].id}.png",
                f"/api/labels/sheet?lots={lot_id}", f"/api/labels/print?lots={lot_id}"):
        refused(client.get(url), 401, "unauthorized")


def test_data_that_cannot_be_a_gs1_label_is_refused_not_printed(client, headers, world):
    """A SKU that cannot go into AI(240) or a non-ASCII location code: 422, never a wrong barcode."""
    ok(client.post("/api/items", headers=headers["admin"], json={"sku": "SKU WITH SPACE", "name": "Odd",
                                                                  "uom": "EA"}), 201)
    lot = ok(client.post("/api/receipts", headers=headers["worker"], json={
        "item": "SKU WITH SPACE", "lot": "X1", "qty": "1", "location": "A-01-01"}), 201).get_json()["lot"]
    for fmt in ("svg", "png", "zpl"):
        refused(get(client, headers, f"/api/labels/lots/{lot['id']}.{fmt}"), 422, "unlabelable")
    location = ok(client.post("/api/locations", headers=headers["admin"], json={"code": "LAGER-Ä1",
                                                                                "kind": "storage"}), 201).get_json()
    refused(get(client, headers, f"/api/labels/locations/{location['id']}.png"), 422, "unlabelable")


def test_gs1_content_is_validated_before_zxing_encodes_it():
    """zxing-cpp does not validate GS1: a wrong check digit or an over-long lot never reaches it."""
    base = dict(item_name="Flour", sku="FLOUR", uom="KGM", dated=date(2026, 1, 2), qty=Decimal(1))
    assert labels.gs1_content(labels.LotLabel(lot="A1", gtin=FLOUR_GTIN, expires_on=date(2026, 2, 28), **base)) == (
        f"(01){FLOUR_GTIN}(17)260228(10)A1")
    for bad in (dict(lot="A1", gtin=FLOUR_GTIN[:-1] + "3"), dict(lot="L" * 21, gtin=FLOUR_GTIN),
                dict(lot="A1", gtin=None, sku="S" * 31), dict(lot="A B", gtin=FLOUR_GTIN)):
        label = labels.LotLabel(**{**base, **bad})
        with pytest.raises(DomainError) as caught:
            labels.lot_png(label)
        assert caught.value.code == "unlabelable"


def test_longest_codes_still_fit_and_decode():
    """A 30-character SKU, a 20-character lot and an expiry: the 4x6 and sheet labels still decode."""
    label = labels.LotLabel(item_name="A very long item name " * 8, sku="S" * 30, lot="L" * 20, uom="KGM",
                            dated=date(2026, 1, 2), expires_on=date(2027, 1, 31), qty=Decimal("123456.789"))
    for size in ("4x6", "sheet", "2x1"):
        found = decode(labels.to_png(labels.lot_layout(label, size)))
        assert len(found) == (1 if size == "2x1" else 2), size
        for barcode in found:
            scan = interpret(transmitted(barcode))
            assert (scan.sku, scan.lot, scan.expires_on) == ("S" * 30, "L" * 20, date(2027, 1, 31))
