"""The PWA judges scans with its own JavaScript (pwa/static/gs1.js, rules.js): prove it agrees with the server.

Hypothesis draws many cases (pick classifications, scans, quantities, instants); one Node process per test
evaluates the whole batch (pwa/tests/batch.mjs) and every answer must equal the Python one: classify's status,
reason and message; interpret's kind and every field; the wire's exact numbers; the site's day of an instant.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from backend.domain.errors import DomainError
from backend.domain.lots import local_date
from backend.domain.picking import LotView, TaskView, classify
from backend.domain.scans import MAX_SCAN, interpret

ROOT = Path(__file__).resolve().parent.parent
BATCH = ROOT / "pwa" / "tests" / "batch.mjs"
VECTORS = json.loads((ROOT / "tests" / "vectors" / "scans.json").read_text(encoding="utf-8"))
NODE = shutil.which("node")
GS = "\x1d"
STEP = Decimal("0.000001")
UTC = timezone.utc

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not on PATH: the PWA/server cross-check needs Node.js")


def run_js(request: dict) -> dict:
    """Evaluate a batch in one Node process (pwa/tests/batch.mjs)."""
    done = subprocess.run([NODE, str(BATCH)], input=json.dumps(request), capture_output=True, text=True,
                          encoding="utf-8", timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def collect(strategy, count: int) -> list:
    """`count` examples drawn by hypothesis (generation only: the batch runs once, afterwards)."""
    drawn = []

    @settings(max_examples=count, phases=[Phase.generate], database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def draw(example):
        drawn.append(example)

    draw()
    return drawn


def disagreements(cases: list, python: list, js: list) -> list:
    """The cases where the two answers differ, each with both answers, for the failure message."""
    assert len(python) == len(js) == len(cases)
    return [{"case": case, "python": p, "js": j} for case, p, j in zip(cases, python, js) if p != j]


def report(diffs: list, total: int) -> str:
    """A readable failure: how many differ and the first few."""
    shown = json.dumps(diffs[:5], indent=1, ensure_ascii=True, default=str)
    return f"{len(diffs)} of {total} cases differ between Python and the PWA; first ones:\n{shown}"


# --- classify ------------------------------------------------------------------------------------------------

DAYS = st.dates(min_value=date(2026, 2, 25), max_value=date(2026, 3, 3))
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30)),
                         timezone(timedelta(hours=13, minutes=45))])
MOMENTS = st.datetimes(min_value=datetime(2026, 2, 27), max_value=datetime(2026, 3, 1), timezones=ZONES)
QUANTITIES = st.one_of(
    st.decimals(min_value=STEP, max_value=Decimal(50), places=6),
    st.decimals(min_value=1, max_value=Decimal(10) ** 12, places=0),
    st.sampled_from([Decimal("0.1"), Decimal("0.2"), Decimal("0.3"), Decimal("1E+1"), Decimal("1.000"), STEP]),
)
CODES = st.sampled_from(["LOT-A42", "LOT-B7", "240115-K7QX", "L'1", 'Q"2', "x/y%z"])


def _spelled(value: Decimal, style: int) -> Decimal:
    """The same number written another way (trailing zeros, exponent) to exercise the JS decimal reader."""
    return [value, value.normalize(), value.quantize(STEP) if abs(value) < 10 ** 12 else value][style % 3]


@st.composite
def classify_cases(draw):
    """A task, a scanned lot and a pick around every boundary classify has."""
    task_qty = draw(QUANTITIES)
    on_hand = draw(st.one_of(QUANTITIES, st.sampled_from([Decimal(0), task_qty, task_qty + STEP])))
    near = [task_qty, task_qty + STEP, task_qty - STEP, on_hand, on_hand + STEP, on_hand - STEP,
            Decimal("0.1") + Decimal("0.2")]
    qty = draw(st.one_of(QUANTITIES, st.sampled_from(near)))
    expected_expiry = draw(st.one_of(st.none(), DAYS))
    expiry = draw(st.one_of(st.just(expected_expiry), st.none(), DAYS))
    expected_arrival = draw(MOMENTS)
    arrival = draw(st.one_of(st.just(expected_arrival), st.just(expected_arrival.astimezone(UTC)),
                             st.just(expected_arrival + timedelta(microseconds=1)),
                             st.just(expected_arrival - timedelta(microseconds=1)), MOMENTS))
    task = TaskView(status=draw(st.sampled_from(["open"] * 6 + ["picked", "exception", "confirmed", "cancelled"])),
                    item_id=1, item_sku="FLOUR", uom=draw(st.sampled_from(["EA", "KGM"])),
                    policy=draw(st.sampled_from(["fefo", "fifo"])), lot_id=10, lot_code="LOT-A42",
                    lot_expires_on=expected_expiry, lot_received_at=expected_arrival, from_location="A-01-03",
                    qty=task_qty)
    same_lot = draw(st.booleans())
    lot = LotView(id=10 if same_lot else draw(st.sampled_from([11, 12])),
                  item_id=draw(st.sampled_from([1, 1, 1, 1, 2])),
                  code="LOT-A42" if same_lot else draw(CODES),
                  status=draw(st.sampled_from(["available"] * 4 + ["quarantine", "recalled"])),
                  expires_on=expected_expiry if same_lot else expiry,
                  received_at=expected_arrival if same_lot else arrival)
    location = draw(st.sampled_from(["A-01-03", "A-01-03", "B-02-01"]))
    today = draw(st.one_of(DAYS, st.sampled_from([d for d in (expiry, expected_expiry) if d] or [date(2026, 3, 1)])))
    style = draw(st.integers(0, 2))
    return task, lot, location, _spelled(qty, style), _spelled(on_hand, style + 1), today


def _wire_task(task: TaskView) -> dict:
    """A TaskView as the JS classifier takes it (ISO dates and instants, decimal strings)."""
    return {"status": task.status, "item_id": task.item_id, "item_sku": task.item_sku, "uom": task.uom,
            "policy": task.policy, "lot_id": task.lot_id, "lot_code": task.lot_code,
            "lot_expires_on": task.lot_expires_on and task.lot_expires_on.isoformat(),
            "lot_received_at": task.lot_received_at.isoformat(), "from_location": task.from_location,
            "qty": str(task.qty)}


def _wire_lot(lot: LotView) -> dict:
    """A LotView as the JS classifier takes it."""
    return {"id": lot.id, "item_id": lot.item_id, "code": lot.code, "status": lot.status,
            "expires_on": lot.expires_on and lot.expires_on.isoformat(), "received_at": lot.received_at.isoformat()}


def _boundary_cases() -> list:
    """Hand-picked cases that must be in every run: every reason code and the exact-decimal trap."""
    base = TaskView("open", 1, "FLOUR", "KGM", "fefo", 10, "LOT-A42", date(2026, 3, 1),
                    datetime(2026, 2, 1, 8, tzinfo=UTC), "A-01-03", Decimal("0.3"))
    lot = LotView(10, 1, "LOT-A42", "available", date(2026, 3, 1), datetime(2026, 2, 1, 8, tzinfo=UTC))
    later = LotView(11, 1, "LOT-B7", "available", date(2026, 3, 9), datetime(2026, 2, 1, 9, tzinfo=UTC))
    earlier = LotView(12, 1, "LOT-C1", "available", date(2026, 2, 28), datetime(2026, 1, 1, 9, tzinfo=UTC))
    fifo = replace(base, policy="fifo")
    day = date(2026, 3, 1)
    point3 = Decimal("0.1") + Decimal("0.2")
    return [
        (base, lot, "A-01-03", point3, Decimal("0.3"), day),  # applied: 0.1 + 0.2 is exactly 0.3
        (base, lot, "A-01-03", Decimal("0.300001"), Decimal(5), day),  # over_pick by a millionth
        (base, lot, "A-01-03", Decimal("0.3"), Decimal("0.299999"), day),  # insufficient_stock
        (base, lot, "A-01-03", Decimal("0.3"), Decimal(1), date(2026, 3, 2)),  # lot_expired the day after
        (base, later, "A-01-03", Decimal("0.1"), Decimal(1), day),  # fefo_violation
        (base, earlier, "A-01-03", Decimal("0.1"), Decimal(1), day),  # substitute_lot
        (fifo, later, "A-01-03", Decimal("0.1"), Decimal(1), day),  # fefo_violation (arrived later)
        (fifo, earlier, "A-01-03", Decimal("0.1"), Decimal(1), day),  # substitute_lot
        (base, lot, "B-02-01", Decimal("0.1"), Decimal(1), day),  # wrong_location
        (base, LotView(10, 2, "LOT-A42", "available", None, lot.received_at), "A-01-03", STEP, STEP, day),
        (base, LotView(10, 1, "LOT-A42", "recalled", None, lot.received_at), "A-01-03", STEP, STEP, day),
        (base, LotView(10, 1, "LOT-A42", "quarantine", None, lot.received_at), "A-01-03", STEP, STEP, day),
        (replace(base, status="picked"), lot, "A-01-03", STEP, STEP, day),
    ]


def test_classify_agrees_with_the_server():
    """Every drawn pick gets the same status, reason and message from the PWA as from picking.classify."""
    cases = _boundary_cases() + collect(classify_cases(), 700)
    python = []
    for task, lot, location, qty, on_hand, today in cases:
        verdict = classify(task, lot, location, qty, on_hand, today)
        python.append({"status": verdict.status, "reason": verdict.reason, "message": verdict.message})
    wire = [{"task": _wire_task(t), "lot": _wire_lot(lot), "location": loc, "qty": str(q), "on_hand": str(h),
             "today": today.isoformat()} for t, lot, loc, q, h, today in cases]
    js = run_js({"classify": wire})["classify"]
    diffs = disagreements(wire, python, js)
    assert not diffs, report(diffs, len(cases))
    reasons = {answer["reason"] for answer in python}
    assert reasons >= {None, "task_closed", "wrong_item", "lot_recalled", "lot_on_hold", "lot_expired", "over_pick",
                       "insufficient_stock", "fefo_violation", "substitute_lot", "wrong_location"}, reasons


# --- interpret -----------------------------------------------------------------------------------------------

def scan_of(vector: dict) -> str:
    """A vector's input: scan, then repeat.text repeated repeat.times."""
    repeat = vector.get("repeat") or {"text": "", "times": 0}
    return vector["scan"] + repeat["text"] * repeat["times"]


VECTOR_SCANS = [scan_of(v)[:560] for v in VECTORS["vectors"]]
NOISE = list("0123456789|^()[]/%?=&#:.+- \r\n\t") + [GS, "\x1e", "\x00", "L", "A", "e", "é", "ſ", "\u00a0", "😀",
                                                      "%1D", "%2F", "%E2%82%AC", "%FF", "]d2", "]C1", "]E0",
                                                      "https://", "(10)", "(01)", "17", "10", "01", "00", "240"]
SUBSTITUTES = st.sampled_from(["|", "|", "|", "^", "", "|^", "§", "😀"])


@st.composite
def mutated_vectors(draw):
    """A shared vector with a few characters or chunks inserted, deleted or replaced."""
    text = draw(st.sampled_from(VECTOR_SCANS))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "cut"]))
        piece = draw(st.sampled_from(NOISE))
        if op == "insert":
            text = text[:at] + piece + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + 1:]
        elif op == "replace":
            text = text[:at] + piece + text[at + 1:]
        else:
            text = text[:at]
    return text


def _check_digit(payload: str) -> str:
    """The GS1 mod-10 check digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(payload)))
    return str((10 - total % 10) % 10)


DIGITS = st.text("0123456789", min_size=0, max_size=20)
LOT_CHARS = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"


@st.composite
def keyed_number(draw, length: int):
    """Digits of a GTIN/SSCC/GLN field, mostly with a right check digit."""
    payload = draw(st.text("0123456789", min_size=length - 1, max_size=length - 1))
    good = draw(st.integers(0, 7)) > 0
    check = _check_digit(payload) if good else draw(st.sampled_from("0123456789"))
    return payload + check


@st.composite
def gs1_date(draw, with_time: bool = False):
    """YYMMDD with months 00-13 and days 00-32 (and sometimes a time, for the AIs that have one)."""
    month = draw(st.one_of(st.integers(1, 12), st.integers(1, 12), st.sampled_from([0, 13])))
    day = draw(st.one_of(st.integers(0, 28), st.integers(0, 28), st.sampled_from([29, 30, 31, 32])))
    text = f"{draw(st.integers(0, 99)):02d}{month:02d}{day:02d}"
    if with_time:
        text += draw(st.sampled_from(["", "00", "2359", "2400", "9999", "1260", "235959", "230060", "12"]))
    return text


def _text(alphabet: str, low: int, high: int):
    """A string of `low`..`high` characters from `alphabet`."""
    return st.text(alphabet, min_size=low, max_size=high)


ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
AI_VALUES = {
    "00": keyed_number(18), "01": keyed_number(14), "02": keyed_number(14), "03": keyed_number(14),
    "414": keyed_number(13), "410": keyed_number(13), "8017": keyed_number(18),
    "11": gs1_date(), "13": gs1_date(), "15": gs1_date(), "17": gs1_date(), "7006": gs1_date(),
    "4324": gs1_date(True), "4325": gs1_date(True), "7003": gs1_date(True), "7007": gs1_date(True),
    "7011": gs1_date(True), "8008": gs1_date(True), "4326": gs1_date(),
    "10": _text(LOT_CHARS, 1, 14), "21": _text(LOT_CHARS, 1, 14), "22": _text(LOT_CHARS, 1, 8),
    "240": _text(LOT_CHARS, 1, 12), "91": _text(LOT_CHARS, 1, 12), "235": _text(LOT_CHARS, 1, 8),
    "254": _text(LOT_CHARS, 1, 8), "30": _text("0123456789", 0, 8), "37": _text("0123456789", 1, 8),
    "3100": _text("0123456789", 6, 6), "3102": _text("0123456789", 6, 6), "3103": _text("0123456789", 6, 6),
    "3105": _text("0123456789", 6, 6), "20": _text("0123456789", 2, 2), "390": _text("0123456789", 1, 15),
    "3900": _text("0123456789", 1, 15), "3925": _text("0123456789", 4, 18), "8011": _text("0123456789", 1, 12),
    "7040": st.tuples(_text("0123456789", 1, 1), _text(LOT_CHARS, 3, 3)).map("".join),
    "8030": _text(ALNUM + "_-", 1, 20),
    "421": st.tuples(_text("0123456789", 3, 3), _text(LOT_CHARS, 1, 9)).map("".join),
    "4330": st.tuples(_text("0123456789", 6, 6), st.sampled_from(["", "-"])).map("".join),
    "253": st.tuples(keyed_number(13), _text(LOT_CHARS, 0, 5)).map("".join),
    "8003": st.tuples(st.just("0"), keyed_number(13), _text(LOT_CHARS, 0, 5)).map("".join),
    "8006": st.tuples(keyed_number(14), _text("0123456789", 4, 4)).map("".join),
    "8010": _text("ABCXYZ0189/#-", 5, 12), "4307": _text("ABZ09", 2, 2), "99": _text(LOT_CHARS, 1, 10),
}
COMMON_AIS = ["00", "01", "01", "01", "02", "10", "10", "10", "11", "15", "17", "17", "21", "240", "240", "30",
              "37", "3103", "3102", "3100", "3105", "414", "91", "7007", "8008", "4324", "7011", "253", "8003",
              "421", "4330", "7040", "8030", "390", "3900", "3925", "8006", "22", "235", "254", "8010", "8011",
              "20", "99", "05", "4307", "4326", "7003", "7006"]


@st.composite
def gs1_value(draw, ai: str):
    """A value for an AI: well-formed for it most of the time, junk sometimes."""
    if ai in AI_VALUES and draw(st.integers(0, 7)) > 0:
        return draw(AI_VALUES[ai])
    return draw(st.one_of(DIGITS, st.text(LOT_CHARS, min_size=0, max_size=24),
                          st.text(LOT_CHARS + " #|" + GS, min_size=0, max_size=8)))


@st.composite
def gs1_elements(draw):
    """1-4 (AI, value) pairs."""
    return [(ai, draw(gs1_value(ai))) for ai in draw(st.lists(st.sampled_from(COMMON_AIS), min_size=1, max_size=4))]


@st.composite
def element_strings(draw):
    """Element strings with or without symbology identifier, ended by GS, the substitute, both or nothing."""
    prefix = draw(st.sampled_from(["", "", "", "]d2", "]d2", "]C1", "]C1", "]Q3", "]e0", "]J1", "]C0", "]d1",
                                   "]E0", "]I1"]))
    parts = []
    for ai, value in draw(gs1_elements()):
        parts.append(ai + value + draw(st.sampled_from([GS, GS, GS, "|", "|", "", "^", GS + GS, "||"])))
    return prefix + draw(st.sampled_from(["", "", GS])) + "".join(parts) + draw(st.sampled_from(["", "", "\r\n", " "]))


@st.composite
def hri_strings(draw):
    """The bracketed form, with spaces around values sometimes."""
    space = draw(st.sampled_from(["", "", " "]))
    return "".join(f"({ai}){space}{value}{space}" for ai, value in draw(gs1_elements()))


HOSTS = ["id.gs1.org", "example.com", "labels.example.com:8443", "[::1]", "[v1.a]", "[1.2.3.4]",
         "[fe80::1%25eth0]", "[::ffff:1.2.3.4]", "[1:2:3:4:5:6:7:8]", "[1::2::3]", "[", "a]", "[v1]", "[::]",
         "[1:2:3:4:5:6:7::]", "[::1:2:3:4:5:6:7:8]", "[12345::]", "[1:2:3:4:5:6:1.2.3.4]", "[::01.2.3.4]", "user@h"]


def _quote(text: str, encode: bool) -> str:
    """Percent-encode everything but letters and digits, or leave as is."""
    if not encode:
        return text
    return "".join(ch if ch.isascii() and ch.isalnum() else "".join(f"%{b:02X}" for b in ch.encode()) for ch in text)


@st.composite
def digital_links(draw):
    """GS1 Digital Link URIs: hosts, path prefixes, keys, qualifiers, query attributes, percent-encoding."""
    scheme = draw(st.sampled_from(["https", "http", "HTTPS", "Https"]))
    path = draw(st.sampled_from(["", "", "/products", "/a/b"]))
    key = draw(st.sampled_from(["01", "01", "01", "01", "01", "00", "414", "8006", "253", "10", "17"]))
    key_value = draw(st.one_of(
        AI_VALUES["01"] if key == "01" else gs1_value(key),
        AI_VALUES["01"].map(lambda v: v.lstrip("0") or "0"), DIGITS))
    path += f"/{key}/{_quote(key_value, draw(st.booleans()))}"
    qualifiers = st.one_of(st.lists(st.sampled_from(["22", "10", "21", "235", "17", "254", "7040"]), max_size=3),
                           st.sampled_from([["10"], ["10", "21"], ["22", "10"], ["21"], []]))
    for ai in draw(qualifiers):
        path += f"/{ai}/{_quote(draw(gs1_value(ai)), draw(st.booleans()))}"
    path += draw(st.sampled_from(["", "", "", "", "/"]))
    query = []
    for ai in draw(st.lists(st.sampled_from(["17", "17", "10", "3103", "30", "linkType", "%31%37", "15", "x"]),
                            max_size=3)):
        query.append(f"{ai}={_quote(draw(gs1_value(ai)), draw(st.booleans()))}")
    if draw(st.integers(0, 3)) == 0:
        query += draw(st.lists(st.sampled_from(["", "17=", "17", "&", "17=26+01", "10=A+B", "10=%FF", "17=%D9%A3",
                                                "%31%37=261231", "17=261231", "3103=001250"]), max_size=2))
    host = draw(st.one_of(st.sampled_from(HOSTS), st.sampled_from(HOSTS[:3])))
    text = f"{scheme}://{host}{path}"
    if query:
        text += "?" + "&".join(query)
    return text + draw(st.sampled_from(["", "", "#frag", "#?17=261231"]))


PLAIN = st.lists(st.sampled_from(NOISE + list("ABCxyz-_Kü") + ["\x7f", "\x85", "\u200b"]), max_size=30).map("".join)
SCANS = st.tuples(st.one_of(mutated_vectors(), element_strings(), hri_strings(), digital_links(), PLAIN,
                            st.sampled_from(VECTOR_SCANS)),
                  SUBSTITUTES)


EXTRA_SCANS = [
    "A" * MAX_SCAN, "A" * (MAX_SCAN + 1), "😀" * MAX_SCAN, "😀" * (MAX_SCAN + 1), "😀" * 40, "😀" * 41,
    "httpſ://id.gs1.org/01/09506000134352", "hTtPs://id.gs1.org/01/09506000134352/10/L1",
    "https://[::1]/01/09506000134352", "https://[::1/01/09506000134352", "https://[v7.x]/01/09506000134352",
    "https://[1.2.3.4]/01/09506000134352", "https://id.gs1.org/01/09506000134352/10/L1?10=L1&10=L1",
    "https://id.gs1.org/01/09506000134352/10/L1?10=L2", "https://id.gs1.org/01/09506000134352?17=991231",
    "https://id.gs1.org/01/09506000134352?17=761231&3103=001250&37=5", "https://id.gs1.org/01/09506000134352#17",
    "https://id.gs1.org/414/0614141000005/254/A1", "https://id.gs1.org/8006/095060001343520102/10/L1",
    "]d20109506000134352177612311001", "]d20109506000134352177712311001", "]d2011950600013435917991231",
    "]E0012345678905", "]E012345670", "]E4012345678", "]I112345678901231", "]I1 12345678901231",
    "(01)09506000134352(0101)", "(10)A(B)C", "(10)A(01)09506000134352", "(3103)001250(3102)012345",
    "3103001250|3102012345", "0109506000134352|3103001250", "00006141411234567890|", "|0109506000134352",
    "]Q3https://id.gs1.org/01/09506000134352", "]C0(01)09506000134352", "09506000134352", "00000000",
    "0000000000000", "]e0\x1d\x1d", "]d2\x1d", "8008261231", "8008261231246000", "7007261231",
    "7007261231261301", "7007261231232359", "4324261231999", "43242612319999", "7011261231", "70112612312360",
    "42112345", "4330123456-", "7040A1B", "7040" + "1ABC", "8030abc_-", "8110" + "A" * 70, "8110" + "A" * 71,
]


def python_reading(raw: str, substitute: str) -> dict:
    """The server's interpretation in the PWA's terms; an exception other than bad_barcode is a server bug."""
    try:
        scan = interpret(raw, substitute)
    except DomainError as exc:
        return {"kind": "invalid", "error": exc.code}
    except Exception as exc:  # noqa: BLE001 - a crash is what this reports
        return {"kind": "crash", "error": f"{type(exc).__name__}: {exc}"}
    return {"kind": scan.kind, "raw": scan.raw, "text": scan.text, "gtin": scan.gtin, "sku": scan.sku,
            "lot": scan.lot, "expires_on": scan.expires_on and scan.expires_on.isoformat(), "sscc": scan.sscc,
            "serial": scan.serial, "count": scan.count, "net_kg": None if scan.net_kg is None else str(scan.net_kg),
            "gln": scan.gln, "symbology": scan.symbology}


def js_reading(answer: dict) -> dict:
    """The PWA's interpretation in the same terms (an invalid scan: kind and reason code only)."""
    if answer.get("kind") == "invalid":
        return {"kind": "invalid", "error": answer["error"]}
    return {key: answer.get(key, "<missing>") for key in ("kind", "raw", "text", "gtin", "sku", "lot", "expires_on",
                                                         "sscc", "serial", "count", "net_kg", "gln", "symbology")}


def test_interpret_agrees_with_the_server():
    """Mutated vectors, random element strings, HRI, Digital Links and plain codes read the same in JS and Python."""
    cases = [(raw, VECTORS["substitute"]) for raw in VECTOR_SCANS] + collect(SCANS, 1500)
    cases += [(raw, "|") for raw in EXTRA_SCANS]
    python = [python_reading(raw, substitute) for raw, substitute in cases]
    crashes = [(raw, answer) for (raw, _), answer in zip(cases, python) if answer["kind"] == "crash"]
    assert not crashes, f"the server's interpret crashed (not bad_barcode): {crashes[:3]}"
    js = [js_reading(a) for a in run_js({"interpret": [{"raw": r, "substitute": s} for r, s in cases]})["interpret"]]
    diffs = disagreements(cases, python, js)
    assert not diffs, report(diffs, len(cases))
    kinds = [answer["kind"] for answer in python]
    assert min(kinds.count("gs1"), kinds.count("text"), kinds.count("invalid")) > 100, {k: kinds.count(k) for k in
                                                                                       set(kinds)}


def test_ai_table_is_biips():
    """gs1.js knows every AI biip knows, with the same data pattern and the same predefined length."""
    from biip.gs1_application_identifiers import _GS1_APPLICATION_IDENTIFIERS as table

    expected = {ai: [entry.pattern[1 + len(ai):-1], None if entry.separator_required
                     else int(entry.format.split("+")[1][1:])] for ai, entry in table.items()}
    assert run_js({"table": True})["table"] == expected


# --- exact numbers, days, repr ------------------------------------------------------------------------------

NUMBER_TEXT = st.one_of(
    st.from_regex(r"\A[+-]?(\d{1,16}(\.\d{0,9})?|\.\d{1,9})([eE][+-]?\d{1,3})?\Z"),
    st.decimals(allow_nan=False, allow_infinity=False, places=7).map(str),
    st.decimals(min_value=-10 ** 14, max_value=10 ** 14, allow_nan=False, allow_infinity=False).map(str),
    st.sampled_from(["0.1", "0.30", " 5 ", "5\u00a0", "\u20035", "\ufeff5", "\x1c5", "5.", ".5", "1e13",
                     "9999999999999.999999", "-0", "+0.000001", "0.0000001", "0" * 40 + "1", "0" * 39 + "1", "1E+12",
                     "1e-6", "1e-7", "0e999", "1e999", "NaN", "Infinity",
                     "", "-", "1_000", "١", "1" * 41, "0x10", "1.5e3", "2.50E-3"]),
)


def _python_number(text: str):
    """What the wire's ExactNumber makes of a string: its millionths as a string, or None when it refuses."""
    from marshmallow import ValidationError

    from backend.schemas import ExactNumber

    try:
        value = ExactNumber()._deserialize(text, "qty", {})
    except ValidationError:
        return None
    return str(int(value.scaleb(6)))


def test_exact_numbers_agree_with_the_wire():
    """parseDecimal accepts and refuses what the server's ExactNumber does, and reads the same exact value."""
    texts = collect(NUMBER_TEXT, 800)
    python = [_python_number(text) for text in texts]
    js = run_js({"decimal": texts})["decimal"]
    diffs = disagreements(texts, python, js)
    assert not diffs, report(diffs, len(texts))


TIMEZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Auckland", "Pacific/Kiritimati",
             "America/St_Johns", "Australia/Lord_Howe", "Pacific/Chatham", "Pacific/Pago_Pago"]
INSTANTS = st.one_of(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31), timezones=ZONES),
    st.builds(lambda day, zone, minutes: datetime.combine(day, datetime.min.time(), ZoneInfo(zone))
              + timedelta(minutes=minutes),
              st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)), st.sampled_from(TIMEZONES),
              st.sampled_from([-31, -30, -1, 0, 1, 29, 30, 24 * 60 - 30, 24 * 60 + 30])),
)


def test_site_day_agrees_with_local_date():
    """siteDay gives the site's calendar day of an instant as lots.local_date does, in many time zones."""
    cases = collect(st.tuples(INSTANTS, st.sampled_from(TIMEZONES)), 800)
    python = [local_date(at, ZoneInfo(zone)).isoformat() for at, zone in cases]
    js = run_js({"siteDay": [{"at": at.isoformat(), "timezone": zone} for at, zone in cases]})["siteDay"]
    diffs = disagreements([(at.isoformat(), zone) for at, zone in cases], python, js)
    assert not diffs, report(diffs, len(cases))


def test_repr_agrees():
    """Codes are quoted in messages as Python's repr() quotes them (No lot 'L1')."""
    alphabet = list("AZaz09 -'\"\\/|") + ["\t", "\n", "\r", "\x00", "\x1d", "\x7f", "\x85", "\xa0", "\xad", "é",
                                         "ü", "\u2028", "\u200b", "\u3000", "€", "😀", "\U000e0001"]
    texts = collect(st.text(alphabet=st.sampled_from(alphabet), max_size=12), 400)
    js = run_js({"repr": texts})["repr"]
    diffs = disagreements(texts, [repr(text) for text in texts], js)
    assert not diffs, report(diffs, len(texts))


# --- judge* against the sync engine ---------------------------------------------------------------------------

class Judge:
    """One Node process answering judge* requests a line at a time (pwa/tests/batch.mjs --lines)."""

    def __init__(self):
        self.process = subprocess.Popen([NODE, str(BATCH), "--lines"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, encoding="utf-8", cwd=ROOT)

    def __call__(self, type_: str, args: dict, at: str, pull: dict) -> dict:
        """The PWA's verdict on one mutation, given what the device pulled."""
        self.process.stdin.write(json.dumps({"type": type_, "args": args, "at": at, "pull": pull}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, self.process.stderr.read()
        return json.loads(line)

    def close(self) -> None:
        """End the process."""
        self.process.stdin.close()
        self.process.wait(timeout=10)


def _world_with_tasks(actor, boss) -> dict:
    """Lots of two items in every state, and pick tasks allocated from them; names -> ids."""
    from backend.domain import orders, stock
    from backend.models import Lot, LotStatus, db, utcnow

    now = utcnow()
    day = now.date()
    ids = {}

    def receive(code, qty, item="FLOUR", location="A-01-01", expires=None, at=None):
        movement = stock.receive(db.session, actor, item=item, lot=code, qty=Decimal(qty), location=location,
                                 expires_on=expires, at=at)
        db.session.commit()
        ids[code if item == "FLOUR" else f"{item}:{code}"] = movement.lot_id

    receive("L0", "5", location="B-02-01", expires=day + timedelta(days=5))
    receive("L1", "20", expires=day + timedelta(days=10))
    receive("L2", "8", expires=day + timedelta(days=30))
    receive("LX", "4", expires=day - timedelta(days=1), at=now - timedelta(days=3))
    receive("LQ", "3", location="QRT-1", expires=day + timedelta(days=40))
    receive("LR", "3", expires=day + timedelta(days=40))
    receive("E1", "12", item="EGGS", at=now - timedelta(hours=2))
    receive("E2", "12", item="EGGS", at=now - timedelta(hours=1))
    receive("L1", "6", item="EGGS")  # the bare code L1 is ambiguous
    db.session.get(Lot, ids["LR"]).status = LotStatus.recalled
    db.session.commit()
    tasks = []
    for item, qty in (("FLOUR", "3"), ("EGGS", "2"), ("FLOUR", "4"), ("FLOUR", "1"), ("FLOUR", "1")):
        so = orders.create_sales_order(db.session, boss, customer="CUS-SHOP",
                                       lines=[{"item": item, "qty": Decimal(qty)}])
        pick_list, _ = orders.allocate_order(db.session, boss, order=so.id, staging="STAGE-1")
        tasks += sorted(t.id for t in pick_list.tasks)
        db.session.commit()
    ids["tasks"] = tasks
    return ids


def _engine_cases(ids: dict) -> list:
    """Mutations in the order they are pushed, each judged on what the device pulled just before it."""
    from backend.models import utcnow

    day = utcnow().date()
    t_l0, t_eggs, t_l0b, t_l1, t_l1b, t_l1c = ids["tasks"]

    def flour(code: str, expires: date | None = None) -> str:
        return "]d20109506000134352" + (f"17{expires:%y%m%d}" if expires else "") + f"10{code}"

    def eggs(code: str) -> str:
        return f"240EGGS{GS}10{code}"

    a, b = "A-01-01", "B-02-01"
    return [
        ("pick", {"task": t_l0, "scan": flour("L1"), "location": a, "qty": "1"}),  # fefo_violation
        ("pick", {"task": t_l0, "scan": flour("L0"), "location": b, "qty": "1"}),  # task_closed
        ("pick", {"task": t_l0b, "scan": flour("L0"), "location": b, "qty": "2"}),  # applied
        ("pick", {"task": t_l1, "scan": flour("L1"), "qty": "2.000001"}),  # over_pick
        ("pick", {"task": t_l1, "scan": flour("LX"), "location": a, "qty": "1"}),  # lot_expired
        ("pick", {"task": t_l1, "scan": eggs("E1"), "location": a, "qty": "1"}),  # wrong_item
        ("pick", {"task": t_l1, "scan": "L1", "qty": "1"}),  # ambiguous_lot
        ("pick", {"task": t_l1, "scan": flour("L1"), "location": "STAGE-1", "qty": "1"}),  # the destination
        ("pick", {"task": t_l1, "scan": flour("L1"), "location": "Z-9", "qty": "1"}),  # unknown_location
        ("pick", {"task": 999999, "scan": flour("L1"), "qty": "1"}),  # unknown_task
        ("pick", {"task": t_l1, "scan": flour("NOPE"), "qty": "1"}),  # unknown_lot
        ("pick", {"task": t_l1, "scan": flour("L1", day + timedelta(days=11)), "qty": "1"}),  # scan_mismatch
        ("pick", {"task": t_l1, "scan": "]d20109506000134353", "qty": "1"}),  # bad_barcode
        ("pick", {"task": t_l1, "scan": flour("LQ"), "location": "QRT-1", "qty": "1"}),  # lot_on_hold
        ("pick", {"task": t_l1, "scan": flour("LR"), "location": a, "qty": "1"}),  # lot_recalled
        ("pick", {"task": t_l1, "scan": flour("L1"), "location": b, "qty": "0.5"}),  # insufficient_stock
        ("pick", {"task": t_l1, "scan": flour("L1"), "qty": "0"}),  # invalid quantity
        ("pick", {"task": t_l1, "scan": flour("L1")}),  # malformed
        ("pick", {"task": t_eggs, "scan": eggs("E2"), "location": a, "qty": "1"}),  # fefo_violation (FIFO)
        ("move", {"lot": ids["L1"], "from": a, "to": b, "qty": "2"}),  # applied
        ("pick", {"task": t_l1b, "scan": flour("L1"), "location": b, "qty": "1"}),  # wrong_location
        ("pick", {"task": t_l1c, "scan": flour("L0"), "location": b, "qty": "1"}),  # substitute_lot
        ("pick", {"task": t_l1, "scan": flour("L1"), "location": a, "qty": "2"}),  # applied
        ("move", {"scan": flour("L1"), "from": a, "to": a, "qty": "1"}),  # same place
        ("move", {"lot": ids["L1"], "from": a, "to": b, "qty": "1000"}),  # insufficient_stock (reservations)
        ("move", {"lot": ids["L1"], "from": a, "to": b, "qty": "14.000001"}),  # by a millionth
        ("move", {"lot": ids["L1"], "from": a, "to": b, "qty": "14"}),  # all that is free
        ("move", {"lot": "L1", "from": a, "to": b, "qty": "1"}),  # ambiguous_lot
        ("move", {"lot": "L2", "from": a, "to": b, "qty": "1"}),  # by code
        ("move", {"lot": 999999, "from": a, "to": b, "qty": "1"}),  # unknown_lot
        ("move", {"scan": flour("L1"), "lot": ids["L2"], "from": a, "to": b, "qty": "1"}),  # scan_mismatch
        ("move", {"scan": flour("L2"), "lot": "L1", "from": a, "to": b, "qty": "1"}),  # scan_mismatch (a code)
        ("move", {"scan": eggs("E1"), "from": a, "to": b, "qty": "0.5"}),  # whole units
        ("move", {"scan": flour("LX"), "from": a, "to": "QRT-1", "qty": "1"}),  # expired lots move
        ("move", {"from": a, "to": b, "qty": "1"}),  # neither scan nor lot
        ("move", {"scan": flour("L2"), "from": a, "to": "Z-9", "qty": "1"}),  # unknown_location
        ("count", {"scan": flour("L2"), "location": a, "qty": "6.5"}),  # applied
        ("count", {"lot": ids["LQ"], "location": "QRT-1", "qty": "0"}),  # applied
        ("count", {"scan": flour("L2"), "location": a, "qty": "-1"}),  # negative
        ("count", {"scan": eggs("E1"), "location": a, "qty": "1.5"}),  # whole units
        ("count", {"scan": flour("L2"), "location": "Z-9", "qty": "1"}),  # unknown_location
        ("receive", {"scan": flour("NEW1", day + timedelta(days=100)), "location": "RCV-1", "qty": "5"}),
        ("receive", {"item": "EGGS", "lot": "E9", "location": "RCV-1", "qty": "12"}),
        ("receive", {"item": "FLOUR", "lot": "L2", "location": "RCV-1", "qty": "1.25"}),  # more of a lot
        ("receive", {"scan": "A-01-01", "location": "RCV-1", "qty": "1"}),  # not GS1
        ("receive", {"scan": "]d20100000096385074" + "10N1", "location": "RCV-1", "qty": "1"}),  # unknown_item
        ("receive", {"scan": flour("N2"), "item": "EGGS", "location": "RCV-1", "qty": "1"}),  # scan_mismatch
        ("receive", {"item": "FLOUR", "lot": "L1", "expires_on": (day + timedelta(days=11)).isoformat(),
                     "location": "RCV-1", "qty": "1"}),  # lot_conflict
        ("receive", {"scan": flour("OLD", day - timedelta(days=1)), "location": "RCV-1", "qty": "1"}),  # expired
        ("receive", {"item": "NOPE", "location": "RCV-1", "qty": "1"}),  # unknown_item
        ("receive", {"item": "EGGS", "lot": "E8", "location": "RCV-1", "qty": "1.5"}),  # whole units
        ("receive", {"item": "EGGS", "lot": "E#1", "location": "RCV-1", "qty": "1"}),  # not a GS1 lot code
        ("receive", {"item": "EGGS", "lot": "E7", "location": "Z-9", "qty": "1"}),  # unknown_location
        ("receive", {"location": "RCV-1", "qty": "1"}),  # neither scan nor item
        ("receive", {"item": "EGGS", "lot": "E6", "location": "RCV-1", "qty": "1", "expires_on": "2026-02-30"}),
    ]


def test_judgements_agree_with_the_sync_engine(client, headers, world, actor, boss):
    """On what the device pulled, judge* gives the verdict the server gives when the mutation is pushed."""
    import uuid

    from backend.models import utcnow

    ids = _world_with_tasks(actor, boss)
    judge = Judge()
    auth = headers["worker"]
    device = "HH-worker"
    diffs, seen = [], []
    try:
        for seq, (type_, args) in enumerate(_engine_cases(ids), start=1):
            pulled = client.get("/api/sync/pull", headers=auth)
            assert pulled.status_code == 200, pulled.get_data(as_text=True)
            at = utcnow().isoformat()
            js = judge(type_, args, at, pulled.get_json())
            mutation = {"id": str(uuid.uuid4()), "seq": seq, "type": type_, "at": at, "args": args}
            pushed = client.post("/api/sync/push", json={"device": device, "mutations": [mutation]}, headers=auth)
            assert pushed.status_code == 200, pushed.get_data(as_text=True)
            [server] = pushed.get_json()["results"]
            python = {"status": server["status"], "reason": server["reason"], "message": server["message"],
                      "errors": server.get("errors")}
            if python["reason"] == "bad_barcode":  # the words of a bad barcode are biip's, not the PWA's
                python["message"], python["errors"] = js.get("message"), js.get("errors")
            seen.append(python["reason"] or python["status"])
            if js != python:
                diffs.append({"case": [type_, args], "python": python, "js": js})
    finally:
        judge.close()
    assert not diffs, report(diffs, len(seen))
    assert {"applied", "fefo_violation", "substitute_lot", "wrong_location", "task_closed", "over_pick",
            "lot_expired", "wrong_item", "ambiguous_lot", "invalid", "unknown_location", "unknown_task", "unknown_lot",
            "scan_mismatch", "bad_barcode", "lot_on_hold", "lot_recalled", "insufficient_stock", "unknown_item",
            "lot_conflict"} <= set(seen), seen


# --- what the cross-check found ------------------------------------------------------------------------------

def test_server_reads_a_harvest_date_range():
    """A GS1-128 label with (01), (7007) harvest dates 2026-01-01..2026-03-31 and (10) is a valid label."""
    scan = interpret("]C10109506000134352" + f"7007260101260331{GS}10L1")
    assert (scan.gtin, scan.lot) == ("09506000134352", "L1")
