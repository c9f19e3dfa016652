"""The scan interpreter: the shared vectors (no database), robustness, and POST /api/scan/resolve on a database."""
from __future__ import annotations

import json
import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from backend.domain import masterdata, stock
from backend.domain.errors import DomainError
from backend.domain.scans import MAX_SCAN, Scan, interpret
from backend.models import Location, db, utcnow
from tests.conftest import make_app

VECTORS_FILE = Path(__file__).parent / "vectors" / "scans.json"
VECTORS = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
FIELDS = VECTORS["fields"]
GTIN = "09506000134352"  # FLOUR's in the `world` fixture
SSCC = "006141411234567890"
GS = "\x1d"


def scan_of(vector: dict) -> str:
    """A vector's input: scan, then repeat.text repeated repeat.times."""
    repeat = vector.get("repeat") or {"text": "", "times": 0}
    return vector["scan"] + repeat["text"] * repeat["times"]


def observed(scan: str, substitute: str) -> dict:
    """The interpretation of a scan in the vectors' terms (every field, null when absent)."""
    try:
        result: Scan = interpret(scan, substitute)
    except DomainError as exc:
        return {**dict.fromkeys(FIELDS), "kind": "invalid", "error": exc.code}
    return {"kind": result.kind, "text": result.text, "gtin": result.gtin, "sku": result.sku, "lot": result.lot,
            "expires_on": result.expires_on.isoformat() if result.expires_on else None, "sscc": result.sscc,
            "serial": result.serial, "count": result.count, "net_kg": result.net_kg, "gln": result.gln,
            "error": None}


def expected(vector: dict) -> dict:
    """A vector's expectation with every unnamed field null and net_kg as a Decimal."""
    unknown_fields = set(vector["expect"]) - set(FIELDS)
    assert not unknown_fields, f"{vector['name']}: fields {unknown_fields} are not in the file's field list"
    result = {**dict.fromkeys(FIELDS), **vector["expect"]}
    if result["net_kg"] is not None:
        result["net_kg"] = Decimal(result["net_kg"])
    return result


# --- the shared vectors -----------------------------------------------------------------------

def test_vectors_file_is_well_formed():
    """Unique names, at least 40 vectors, every kind and every required case present."""
    vectors = VECTORS["vectors"]
    names = [v["name"] for v in vectors]
    assert len(names) == len(set(names)) and len(vectors) >= 40
    assert {v["expect"]["kind"] for v in vectors} == {"gs1", "text", "invalid"}
    assert all(v["expect"].get("error") == "bad_barcode" for v in vectors if v["expect"]["kind"] == "invalid")
    scans = [scan_of(v) for v in vectors]
    for needle in ("]d2", "]C1", "]Q3", "]e0", "]C0", "240", "https://id.gs1.org/", "?17=", "|", GS, "\r\n",
                   "%2F", "/21/", "(10)"):
        assert any(needle in s for s in scans), needle
    assert any(len(s) >= 4000 for s in scans)
    assert {len(v["expect"]["gtin"]) for v in vectors if v["expect"].get("gtin")} == {14}


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=[v["name"] for v in VECTORS["vectors"]])
def test_vector(vector):
    """Each vector interprets exactly as the file says."""
    substitute = vector.get("substitute", VECTORS["substitute"])
    assert observed(scan_of(vector), substitute) == expected(vector)


def test_raw_is_kept_and_symbology_reported():
    """The Scan keeps the raw input as given and names the symbology identifier it stripped."""
    raw = f"]d201{GTIN}10L1\r\n"
    scan = interpret(raw)
    assert scan.raw == raw and scan.symbology == "]d2" and scan.is_gs1
    assert interpret("A-01-01").symbology is None and not interpret("A-01-01").is_gs1


def test_empty_substitute_means_gs_only():
    """With no substitute configured only GS separates fields; `|` is then a plain character."""
    assert interpret("240EGGS|10E1", "").kind == "text"
    assert interpret(f"240EGGS{GS}10E1", "").lot == "E1"


def test_hostile_inputs_never_crash():
    """Pathological and random inputs end in a Scan or bad_barcode, never another exception."""
    hostile = ["(" * MAX_SCAN, "(01)" * 128, "]d2" + "10" * 254, GS * MAX_SCAN, "|" * MAX_SCAN,
               "]d2" + "0" * 509, "https://" + "/01" * 168, "https://id.gs1.org/01/" + "%" * 480,
               "(01)" + "9" * 508, "240" + "|" * 509, "x" * (MAX_SCAN + 1), "]E0" + "9" * 509]
    rng = random.Random(20261124)
    alphabet = "0123456789()|%/?=&:]dCQeEI1234AaLx-\x1d\x00\r\n \u00e9"
    hostile += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(3000)]
    prefixes = ["", "]d2", "]C1", "(01)", "01", "https://id.gs1.org/01/", "240"]
    hostile += [rng.choice(prefixes) + s for s in hostile[-1000:]]
    for value in hostile:
        try:
            result = interpret(value)
        except DomainError as exc:
            assert exc.code == "bad_barcode"
        else:
            assert isinstance(result, Scan)


# --- POST /api/scan/resolve -----------------------------------------------------------------

@pytest.fixture
def stocked(world, actor):
    """FLOUR lot L1 (10 at A-01-01, 5 at B-02-01) and EGGS lot E1 (12 at A-01-01)."""
    expires = utcnow().date() + timedelta(days=60)
    for qty, where in (("10", "A-01-01"), ("5", "B-02-01")):
        stock.receive(db.session, actor, item="FLOUR", lot="L1", qty=Decimal(qty), location=where, expires_on=expires)
    stock.receive(db.session, actor, item="EGGS", lot="E1", qty=Decimal(12), location="A-01-01",
                  expires_on=expires)
    db.session.commit()
    return expires


def resolve(client, headers, scan: str) -> dict:
    """POST a scan; a scan is always answered with 200."""
    response = client.post("/api/scan/resolve", json={"scan": scan}, headers=headers["worker"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def yymmdd(day: date) -> str:
    """A date as AI(17) writes it."""
    return day.strftime("%y%m%d")


@pytest.mark.parametrize("form", ["datamatrix", "hri", "digital link", "wedge"])
def test_lot_resolves_to_item_status_expiry_and_stock(client, headers, stocked, form):
    """A lot label in any form names the lot with its item, status, expiry and stock per location."""
    scan = {"datamatrix": f"]d201{GTIN}17{yymmdd(stocked)}10L1",
            "hri": f"(01){GTIN}(17){yymmdd(stocked)}(10)L1",
            "digital link": f"https://id.gs1.org/01/{GTIN}/10/L1?17={yymmdd(stocked)}",
            "wedge": f"01{GTIN}10L1|17{yymmdd(stocked)}\r\n"}[form]
    body = resolve(client, headers, scan)
    assert body["kind"] == "lot" and body["error"] is None
    lot = body["lot"]
    assert (lot["code"], lot["status"], lot["expires_on"]) == ("L1", "available", stocked.isoformat())
    assert lot["item"]["sku"] == "FLOUR" and body["item"]["sku"] == "FLOUR"
    assert [(b["location"], Decimal(b["on_hand"])) for b in lot["balances"]] == [
        ("A-01-01", Decimal(10)), ("B-02-01", Decimal(5))]
    assert body["gs1"]["gtin"] == GTIN and body["gs1"]["lot"] == "L1"
    assert body["gs1"]["expires_on"] == stocked.isoformat()


def test_internal_label_and_bare_lot_code(client, headers, stocked):
    """(240) SKU + (10) lot, (10) alone and a bare lot code all name EGGS' lot E1."""
    for scan in (f"]C1240EGGS{GS}10E1", "240EGGS|10E1", "(10)E1", "E1"):
        body = resolve(client, headers, scan)
        assert body["kind"] == "lot", (scan, body)
        assert (body["lot"]["code"], body["item"]["sku"]) == ("E1", "EGGS")


def test_location_codes(client, headers, stocked):
    """A location code, plain or as ]C0 Code 128 with a wedge suffix, names the location."""
    for scan in ("A-01-01", "]C0A-01-01", "A-01-01\r\n"):
        body = resolve(client, headers, scan)
        assert body["kind"] == "location" and body["location"]["code"] == "A-01-01", (scan, body)


def test_location_by_gln(client, headers, world):
    """A (414) GLN names the location that has it."""
    masterdata.create(db.session, Location, dict(code="DOCK-9", kind="receiving", gln="0614141000005"))
    db.session.commit()
    body = resolve(client, headers, "]C14140614141000005")
    assert body["kind"] == "location" and body["location"]["code"] == "DOCK-9"


def test_sscc(client, headers, stocked):
    """An SSCC alone is reported as such; a pallet label with GTIN and lot names the lot."""
    body = resolve(client, headers, f"]C100{SSCC}")
    assert body["kind"] == "sscc" and body["gs1"]["sscc"] == SSCC
    body = resolve(client, headers, f"]C100{SSCC}02{GTIN}3710{GS}10L1")
    assert body["kind"] == "lot" and body["lot"]["code"] == "L1"
    assert (body["gs1"]["sscc"], body["gs1"]["count"]) == (SSCC, 10)


def test_unknown_lot_of_a_known_gtin_is_the_item(client, headers, stocked):
    """A label of a known GTIN with a lot Lotwise does not have, or no lot at all, names the item."""
    for scan in (f"]d201{GTIN}10NOPE", f"]E0{GTIN[1:]}", GTIN[1:], f"https://id.gs1.org/01/{GTIN}"):
        body = resolve(client, headers, scan)
        assert body["kind"] == "item" and body["item"]["sku"] == "FLOUR", (scan, body)
        assert body["error"] == "unknown_lot"


def test_unknown_everything(client, headers, stocked):
    """A plain code that is neither location nor lot, and a GTIN Lotwise does not know, are unknown."""
    body = resolve(client, headers, "hello world")
    assert (body["kind"], body["error"]) == ("unknown", "unknown_lot")
    body = resolve(client, headers, "]d20100000096385074" + "10L1")
    assert (body["kind"], body["error"]) == ("unknown", "unknown_item")


def test_bare_lot_code_of_two_items_is_ambiguous(client, headers, stocked, actor):
    """A bare lot code that exists for two items is ambiguous_lot; the full label still resolves."""
    stock.receive(db.session, actor, item="EGGS", lot="L1", qty=Decimal(6), location="A-01-01",
                  expires_on=stocked)
    db.session.commit()
    body = resolve(client, headers, "L1")
    assert (body["kind"], body["error"]) == ("unknown", "ambiguous_lot")
    assert "full label" in body["message"]
    body = resolve(client, headers, f"]d201{GTIN}10L1")
    assert body["kind"] == "lot" and body["item"]["sku"] == "FLOUR"


def test_label_expiry_differing_from_the_lot_is_reported(client, headers, stocked):
    """A label whose (17) differs from the lot's expiry is not the lot: scan_mismatch."""
    body = resolve(client, headers, f"]d201{GTIN}17{yymmdd(stocked + timedelta(days=1))}10L1")
    assert body["error"] == "scan_mismatch"


@pytest.mark.parametrize("scan", [
    f"]d201{GTIN[:-1]}3" + "10L1",                   # check digit
    f"]d201{GTIN}17261301" + "10L1",                 # month 13
    f"]d201{GTIN}10" + "L" * 21,                     # lot over 20 characters
    f"]C100{SSCC[:-1]}1",                            # SSCC check digit
    "https://id.gs1.org/01/09506000134353/10/L1",    # Digital Link check digit
    "A-01\x0701",                                    # control character
    "   ",                                           # whitespace
    "A" * 4000,                                      # 4,000 characters
], ids=["check-digit", "month-13", "lot-21", "sscc", "digital-link", "control", "whitespace", "4000"])
def test_invalid_scans_are_an_answer(client, headers, stocked, scan):
    """A scan that is not a trustworthy barcode is 200 with kind invalid and bad_barcode, not an HTTP error."""
    body = resolve(client, headers, scan)
    assert (body["kind"], body["error"], body["gs1"]) == ("invalid", "bad_barcode", None)
    assert body["message"]


def test_configured_substitute_is_honoured(database_url, tmp_path, client, headers, stocked):
    """An app configured with another GS substitute splits on it, and `|` is then an ordinary character."""
    other = make_app(database_url, tmp_path / "other", LOTWISE_GS_SUBSTITUTE="^")
    try:
        with other.app_context():
            caret = other.test_client()
            body = caret.post("/api/scan/resolve", json={"scan": "240EGGS^10E1"}, headers=headers["worker"])
            assert body.status_code == 200 and body.get_json()["kind"] == "lot"
            body = caret.post("/api/scan/resolve", json={"scan": "240EGGS|10E1"}, headers=headers["worker"]).get_json()
            assert body["kind"] == "unknown" and body["gs1"] is None
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
    # the default app still reads `|` and not `^`
    assert resolve(client, headers, "240EGGS|10E1")["kind"] == "lot"
    assert resolve(client, headers, "240EGGS^10E1")["kind"] == "unknown"
