"""Lot and location labels as SVG, PNG and ZPL: pure rendering, no Flask and no database.

A lot label carries a square GS1 DataMatrix and a GS1-128 with the same element string — (01) GTIN when the
item has one, else (240) SKU; (17) expiry when the lot has one; (10) lot, last — plus the item name, SKU/GTIN,
lot, expiry, quantity, received (or produced) day and the bracketed human-readable GS1 text. A location label
carries a Code 128 of the location code and the code in large text.

Every label is laid out once, in printer dots at 203 dpi (8 dots/mm, the usual Zebra resolution), as a list
of primitives (text, filled boxes, the DataMatrix module grid, the Code 128 bar pattern); the three renderers
draw that same layout:

- SVG: vector, sized in inches/millimetres (`viewBox` in dots), the symbols as paths of their modules;
- PNG: Pillow at 203 dpi, text in Pillow's bundled font (no system fonts, no network);
- ZPL: the printer draws the symbols itself from the data (^BX, ^BC) and the text in its font 0.

zxing-cpp traps (see DESIGN.md): writer options are fixed keyword arguments in this module and never come from
a request (a wrongly typed option value aborts the process); GS1 input must be the bracketed form and is not
validated by zxing-cpp, so the element string is checked with backend.domain.scans.interpret first and must
read back as exactly the lot; DataMatrix with gs1=True needs forceSquare=True to stay square (`]d2`).

Sizes: "4x6" and "2x1" (inches) thermal labels, and "sheet", the 99.1 x 67.7 mm cell of an A4 sheet of 8
(2 x 4, the common L7165 layout) used by the printable A4 page. The 2x1 lot label has no GS1-128: at the
smallest printable module (2 dots = 0.25 mm) a GS1-128 with GTIN, expiry and lot is wider than 2 inches, so
that label carries the DataMatrix and the human-readable text only.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from html import escape

import numpy as np
import zxingcpp
from PIL import Image, ImageDraw, ImageFont

from backend.domain.errors import DomainError
from backend.domain.scans import interpret

DPI = 203
GS = "\x1d"
FNC1 = None  # a token of a Code 128 / DataMatrix data stream that is FNC1, not a character
VARIABLE_LENGTH_AIS = frozenset({"10", "240"})
# GS1 AI(240): up to 30 characters from the AI(10) set ("82", GS1 General Specifications figure 7.11-1).
_AI240 = re.compile(r"^[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,30}$")
_PRINTABLE_ASCII = re.compile(r"^[\x20-\x7e]+$")
ELLIPSIS = "…"


@dataclass(frozen=True)
class LabelSize:
    """A label stock: its name, its size in printer dots at DPI, and the same in CSS units."""

    name: str
    width: int
    height: int
    css_width: str
    css_height: str


SIZES = {
    "4x6": LabelSize("4x6", 812, 1218, "4in", "6in"),
    "2x1": LabelSize("2x1", 406, 203, "2in", "1in"),
    "sheet": LabelSize("sheet", 792, 541, "99.1mm", "67.7mm"),
}
THERMAL_SIZES = ("4x6", "2x1")


@dataclass(frozen=True)
class LotLabel:
    """What a lot label says; built from the database by the caller."""

    item_name: str
    sku: str
    lot: str
    uom: str
    dated: date = field(metadata={"description": "Day received or produced, in the site's time zone"})
    gtin: str | None = None
    expires_on: date | None = None
    qty: Decimal | None = None
    produced: bool = False

    def elements(self) -> list[tuple[str, str]]:
        """The GS1 element strings in label order: (01) or (240), (17) when there is an expiry, (10) last."""
        first = ("01", self.gtin) if self.gtin else ("240", self.sku)
        expiry = [("17", self.expires_on.strftime("%y%m%d"))] if self.expires_on else []
        return [first, *expiry, ("10", self.lot)]


@dataclass(frozen=True)
class LocationLabel:
    """What a location label says."""

    code: str
    name: str = ""
    kind: str = ""


def unlabelable(message: str) -> DomainError:
    """The error for data that cannot be put on a label (422)."""
    return DomainError("unlabelable", message, errors={"label": [message]})


# --- GS1 content ------------------------------------------------------------------------------

def hri(elements: list[tuple[str, str]]) -> str:
    """The bracketed human-readable form, "(01)…(17)…(10)…" — also what zxing-cpp wants with gs1=True."""
    return "".join(f"({ai}){value}" for ai, value in elements)


def element_string(elements: list[tuple[str, str]]) -> str:
    """What a scanner transmits (without symbology identifier): GS after each variable-length field but the last."""
    parts = []
    for index, (ai, value) in enumerate(elements):
        parts.append(ai + value + (GS if ai in VARIABLE_LENGTH_AIS and index < len(elements) - 1 else ""))
    return "".join(parts)


def gs1_content(label: LotLabel) -> str:
    """The label's GS1 content in bracketed form, checked: it must read back as exactly this lot.

    zxing-cpp encodes whatever it is given, so a wrong GTIN check digit, an impossible date, an over-long lot
    or a SKU that does not fit AI(240) is refused here (422 unlabelable) instead of being printed.
    """
    if not label.gtin and not _AI240.fullmatch(label.sku or ""):
        raise unlabelable(f"SKU {label.sku!r} cannot go into GS1 AI(240) (1-30 characters of the GS1 set); "
                          "give the item a GTIN or a shorter SKU")
    content = hri(label.elements())
    try:
        scan = interpret(content)
    except DomainError as exc:
        raise unlabelable(f"Lot {label.lot!r} cannot be put into a GS1 barcode: {exc.message}") from None
    expected = (label.gtin or None, None if label.gtin else label.sku, label.lot, label.expires_on)
    if (scan.gtin, scan.sku, scan.lot, scan.expires_on) != expected:
        raise unlabelable(f"The GS1 content {content} does not read back as lot {label.lot}")
    return content


# --- symbols (zxing-cpp, options fixed here) ---------------------------------------------------

def _dark(barcode) -> np.ndarray:
    """The module grid of a symbol (True = dark), one pixel per module, without quiet zones."""
    return np.asarray(barcode.to_image(scale=1, add_quiet_zones=False)) < 128


def datamatrix(content: str) -> np.ndarray:
    """The modules of a square GS1 DataMatrix (ECC 200) of bracketed GS1 content."""
    barcode = zxingcpp.create_barcode(content, zxingcpp.BarcodeFormat.DataMatrix, gs1=True, forceSquare=True)
    cells = _dark(barcode)
    if barcode.symbology_identifier != "]d2" or cells.shape[0] != cells.shape[1]:
        raise RuntimeError(f"zxing-cpp made a {cells.shape} {barcode.symbology_identifier} DataMatrix, not square ]d2")
    return cells


def gs1_128(content: str) -> np.ndarray:
    """The bar pattern (True = bar, one entry per module) of a GS1-128 of bracketed GS1 content."""
    barcode = zxingcpp.create_barcode(content, zxingcpp.BarcodeFormat.Code128, gs1=True)
    if barcode.symbology_identifier != "]C1":
        raise RuntimeError(f"zxing-cpp made {barcode.symbology_identifier}, not a GS1-128 (]C1)")
    return _dark(barcode)[0]


def code128(text: str) -> np.ndarray:
    """The bar pattern of a plain Code 128 of printable ASCII text."""
    if not _PRINTABLE_ASCII.fullmatch(text or ""):
        raise unlabelable(f"Code {text!r} is not printable ASCII, which a Code 128 label must be")
    return _dark(zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.Code128))[0]


# --- ZPL field data -------------------------------------------------------------------------
#
# How FNC1 is written follows Zebra's knowledge article "Creating GS1 Barcodes with Zebra Printers for Data
# Matrix and Code 128 using ZPL" (supportcommunity.zebra.com, KM_Solution) and the ZPL II Programming Guide
# (^BX "Field Data (^FD) for ^BX, Quality 200"; ^BC "Code 128 Invocation Characters"):
#
# - Data Matrix: ^BXo,h,200,,,,_ — parameter g sets the escape character explicitly to "_" because the
#   firmware default differs (tilde on current firmware, underscore on V60.13.0.12); "_1" is FNC1 (first
#   position: GS1 mode; later: the separator after a variable-length field) and "_" in data is written "__".
#   The eighth parameter, aspect ratio 1, asks for a square symbol.
# - Code 128: ^BC with no mode and explicit invocation codes: ">;" start in subset C, ">8" FNC1 (after the
#   start: GS1-128; later: the separator), ">6" switch to subset B, ">5" switch to subset C; in subset B the
#   characters ZPL reserves are written ">0" (>), "><" (^) and ">=" (~). Subset C takes digit pairs only.

def zpl_datamatrix_data(elements: list[tuple[str, str]]) -> str:
    """^FD data of a GS1 DataMatrix for ^BX with escape character "_": _1 = FNC1."""
    parts = ["_1"]
    for index, (ai, value) in enumerate(elements):
        parts.append(ai + value.replace("_", "__"))
        if ai in VARIABLE_LENGTH_AIS and index < len(elements) - 1:
            parts.append("_1")
    return "".join(parts)


_ZPL_SUBSET_B = {">": ">0", "^": "><", "~": ">="}
_DIGITS = frozenset("0123456789")


def zpl_code128_data(tokens: list[str | None]) -> tuple[str, int]:
    """^FD data for ^BC with explicit subsets, and the number of symbol characters (start and data).

    `tokens` are characters and FNC1; a leading FNC1 makes it GS1-128. Digits go in subset C in pairs,
    everything else in subset B; an odd digit before a run is written in B so C never gets half a pair.
    """
    def run(at: int) -> int:
        n = 0
        while at + n < len(tokens) and tokens[at + n] in _DIGITS:
            n += 1
        return n

    out, count, i = [], 1, 0
    subset = "C" if tokens[:1] == [FNC1] or (run(0) >= 4 and run(0) % 2 == 0) else "B"
    out.append(">;" if subset == "C" else ">:")
    while i < len(tokens):
        token = tokens[i]
        if token is FNC1:
            out.append(">8")
            i += 1
        elif subset == "C":
            if run(i) >= 2:
                out.append(tokens[i] + tokens[i + 1])
                i += 2
            else:
                out.append(">6")
                subset = "B"
        elif run(i) >= 4 and run(i) % 2 == 0:
            out.append(">5")
            subset = "C"
        else:
            if not (len(token) == 1 and " " <= token <= "~"):
                raise unlabelable(f"{token!r} cannot be printed in a ZPL Code 128")
            out.append(_ZPL_SUBSET_B.get(token, token))
            i += 1
        count += 1
    return "".join(out), count


def gs1_128_tokens(elements: list[tuple[str, str]]) -> list[str | None]:
    """FNC1, then each element string, with FNC1 after a variable-length field that is not last."""
    tokens: list[str | None] = [FNC1]
    for index, (ai, value) in enumerate(elements):
        tokens.extend(ai + value)
        if ai in VARIABLE_LENGTH_AIS and index < len(elements) - 1:
            tokens.append(FNC1)
    return tokens


def code128_modules(symbol_characters: int) -> int:
    """Width in modules of a Code 128 with this many start and data characters (plus check and stop)."""
    return (symbol_characters + 1) * 11 + 13


def _zpl_text(text: str) -> str:
    """Field data for ^FH_: anything but plain printable ASCII (and _ ^ ~ \\) as hex UTF-8 bytes (^CI28)."""
    out = []
    for ch in text:
        if " " <= ch <= "~" and ch not in "_^~\\":
            out.append(ch)
        elif ch < " ":
            out.append(" ")
        else:
            out.extend(f"_{byte:02X}" for byte in ch.encode("utf-8"))
    return "".join(out)


# --- layout primitives ------------------------------------------------------------------------

@dataclass
class Text:
    """A line of text; y is its baseline; align "left" (x is the start) or "center" (within x..x+width)."""

    x: int
    y: int
    size: int
    text: str
    bold: bool = False
    align: str = "left"
    width: int = 0


@dataclass
class Box:
    """A filled black rectangle (rules)."""

    x: int
    y: int
    w: int
    h: int


@dataclass
class Matrix:
    """A 2D symbol: its module grid at `module` dots per module, and its ZPL command (after ^FO)."""

    x: int
    y: int
    module: int
    cells: np.ndarray
    zpl: str
    kind: str = "datamatrix"


@dataclass
class Bars:
    """A linear symbol: bar pattern at `module` dots, `height` tall; ZPL draws its own from `zpl` at zpl_x."""

    x: int
    y: int
    module: int
    height: int
    pattern: np.ndarray
    zpl: str
    zpl_x: int
    kind: str = "code128"


@dataclass
class Layout:
    """A label: its stock, a title and what is drawn on it."""

    size: LabelSize
    title: str
    items: list = field(default_factory=list)


# --- text measuring (Pillow's bundled font, the one the PNG uses) -------------------------------

@lru_cache(maxsize=128)
def _font(size: int) -> ImageFont.FreeTypeFont:
    """Pillow's bundled scalable font (Aileron) at `size` pixels."""
    return ImageFont.load_default(size=size)


def _stroke(size: int, bold: bool) -> int:
    """Stroke width that makes the regular bundled font look bold."""
    return max(1, size // 30) if bold else 0


def text_width(text: str, size: int, bold: bool = False) -> int:
    """Width of a line of text in dots."""
    return int(_font(size).getlength(text)) + 2 * _stroke(size, bold) if text else 0


def _truncate(text: str, width: int, size: int, bold: bool) -> str:
    """The text, cut with an ellipsis when it is wider than `width`."""
    if text_width(text, size, bold) <= width:
        return text
    while text and text_width(text + ELLIPSIS, size, bold) > width:
        text = text[:-1]
    return text.rstrip() + ELLIPSIS


def _fit(text: str, width: int, size: int, minimum: int, bold: bool = False) -> tuple[int, str]:
    """The largest size from `size` down to `minimum` at which the text fits; truncated at the minimum."""
    while size > minimum and text_width(text, size, bold) > width:
        size = max(minimum, int(size * 0.92))
    return size, _truncate(text, width, size, bold)


def _wrap(text: str, width: int, size: int, lines: int, bold: bool = False) -> list[str]:
    """Greedy word wrap into at most `lines` lines; the last one truncated with an ellipsis."""
    words, out = text.split(), []
    while words and len(out) < lines:
        line = words.pop(0)
        while words and text_width(f"{line} {words[0]}", size, bold) <= width:
            line = f"{line} {words.pop(0)}"
        out.append(line)
    if words:
        out[-1] = _truncate(f"{out[-1]} {' '.join(words)}", width, size, bold)
    return [_truncate(line, width, size, bold) for line in out] or [""]


def _hri_lines(elements: list[tuple[str, str]], width: int, size: int, minimum: int) -> tuple[int, list[str]]:
    """The human-readable GS1 text, never truncated: one line if it fits, else split between elements."""
    whole = hri(elements)
    fitted, _ = _fit(whole, width, size, minimum)
    if text_width(whole, fitted) <= width:
        return fitted, [whole]
    parts = [f"({ai}){value}" for ai, value in elements]
    split = max(1, len(parts) - 1)
    lines = ["".join(parts[:split]), "".join(parts[split:])]
    fitted = size
    while fitted > 8 and max(text_width(line, fitted) for line in lines) > width:
        fitted -= 1
    return fitted, lines


def _qty(label: LotLabel) -> str | None:
    """"25 KGM", or None when no quantity is printed."""
    if label.qty is None:
        return None
    return f"{format(Decimal(label.qty).normalize(), 'f')} {label.uom}"


# --- symbols placed on a layout -------------------------------------------------------------

def _place_datamatrix(elements, content: str, x: int, y: int, target: int, max_module: int) -> Matrix:
    """A square GS1 DataMatrix about `target` dots wide (whole dots per module)."""
    cells = datamatrix(content)
    module = max(2, min(max_module, target // cells.shape[0]))
    zpl = f"^BXN,{module},200,,,,_,1^FD{zpl_datamatrix_data(elements)}^FS"
    return Matrix(x, y, module, cells, zpl, kind="gs1-datamatrix")


def _place_bars(pattern: np.ndarray, tokens: list, left: int, right: int, y: int, height: int,
                max_module: int, kind: str) -> Bars:
    """A Code 128 centred between left and right with 10-module quiet zones, at the widest module that fits."""
    zpl_data, characters = zpl_code128_data(tokens)
    zpl_modules = code128_modules(characters)
    widest = max(len(pattern), zpl_modules)
    module = min(max_module, (right - left) // (widest + 20))
    if module < 1:
        raise DomainError("label_too_small", "The barcode does not fit this label size; use a larger one",
                          errors={"size": ["Too small for this barcode"]})
    middle = (left + right) // 2
    zpl = f"^BCN,{height},N,N,N^FD{zpl_data}^FS"
    return Bars(middle - len(pattern) * module // 2, y, module, height, pattern, zpl,
                middle - zpl_modules * module // 2, kind=kind)


# --- lot label layouts ------------------------------------------------------------------------

@dataclass(frozen=True)
class _Style:
    """Dimensions (dots) of a full lot label: fonts, symbol sizes, margins."""

    margin: int
    name: int
    name_lines: int
    ident: int
    caption: int
    lot: int
    value: int
    small: int
    dm_target: int
    dm_module: int
    bar_height: int
    bar_module: int
    hri: int


_LOT_STYLES = {
    "4x6": _Style(margin=36, name=56, name_lines=2, ident=30, caption=24, lot=64, value=46, small=34,
                  dm_target=330, dm_module=15, bar_height=260, bar_module=3, hri=30),
    "sheet": _Style(margin=24, name=36, name_lines=1, ident=22, caption=16, lot=38, value=28, small=22,
                    dm_target=176, dm_module=8, bar_height=92, bar_module=3, hri=21),
}


def lot_layout(label: LotLabel, size: str) -> Layout:
    """The layout of a lot label on a stock ("4x6", "2x1" or "sheet")."""
    content = gs1_content(label)
    stock = SIZES[size]
    if size == "2x1":
        return _lot_small(label, content, stock)
    return _lot_full(label, content, stock, _LOT_STYLES[size])


def _lot_full(label: LotLabel, content: str, stock: LabelSize, s: _Style) -> Layout:
    """Name and identifiers on top, DataMatrix beside the lot data, GS1-128 and its text at the bottom."""
    width, height, m = stock.width, stock.height, s.margin
    elements = label.elements()
    layout = Layout(stock, f"Lot {label.lot} of {label.sku}")
    items = layout.items
    y = m
    for line in _wrap(label.item_name, width - 2 * m, s.name, s.name_lines, bold=True):
        y += s.name
        items.append(Text(m, y, s.name, line, bold=True))
        y += s.name // 5
    ident = f"SKU {label.sku}" + (f"    GTIN {label.gtin}" if label.gtin else "")
    size, ident = _fit(ident, width - 2 * m, s.ident, s.ident * 2 // 3)
    y += size + s.ident // 6
    items.append(Text(m, y, size, ident))
    y += s.ident // 2
    items.append(Box(m, y, width - 2 * m, max(2, s.ident // 10)))
    y += s.ident // 2

    symbol = _place_datamatrix(elements, content, m, y + s.caption // 2, s.dm_target, s.dm_module)
    items.append(symbol)
    dm_bottom = symbol.y + symbol.cells.shape[0] * symbol.module
    x = m + symbol.cells.shape[1] * symbol.module + max(4 * symbol.module, s.margin)
    column = width - m - x
    fields = [("LOT", label.lot, s.lot, True),
              ("EXPIRY", label.expires_on.isoformat() if label.expires_on else "none", s.value, True)]
    if _qty(label):
        fields.append(("QUANTITY", _qty(label), s.value, True))
    fields.append(("PRODUCED" if label.produced else "RECEIVED", label.dated.isoformat(), s.small, False))
    for caption, value, value_size, bold in fields:
        y += s.caption
        items.append(Text(x, y, s.caption, caption))
        value_size, value = _fit(value, column, value_size, s.caption, bold)
        y += value_size + s.caption // 4
        items.append(Text(x, y, value_size, value, bold=bold))
        y += s.caption // 2
    top_free = max(y, dm_bottom) + s.caption

    hri_size, hri_text = _hri_lines(elements, width - 2 * m, s.hri, s.hri * 2 // 3)
    baseline = height - m
    for line in reversed(hri_text):
        items.append(Text(0, baseline, hri_size, line, align="center", width=width))
        baseline -= int(hri_size * 1.25)
    bar_bottom = baseline - s.hri // 3
    bar_height = min(s.bar_height, bar_bottom - top_free)
    if bar_height < s.bar_height // 2:
        raise DomainError("label_too_small", "The lot's data does not fit this label size; use a larger one",
                          errors={"size": ["Too small for this lot"]})
    items.append(_place_bars(gs1_128(content), gs1_128_tokens(elements), m // 2, width - m // 2,
                             bar_bottom - bar_height, bar_height, s.bar_module, kind="gs1-128"))
    return layout


def _lot_small(label: LotLabel, content: str, stock: LabelSize) -> Layout:
    """2x1 in: DataMatrix on the left, the lot's data on the right, the GS1 text along the bottom."""
    width, height, m = stock.width, stock.height, 12
    elements = label.elements()
    layout = Layout(stock, f"Lot {label.lot} of {label.sku}")
    items = layout.items
    hri_size, hri_text = _hri_lines(elements, width - 2 * m, 17, 11)
    baseline = height - m + 2
    for line in reversed(hri_text):
        items.append(Text(0, baseline, hri_size, line, align="center", width=width))
        baseline -= hri_size + 2
    room = baseline - hri_size - m
    symbol = _place_datamatrix(elements, content, m, m, room, 6)
    items.append(symbol)
    x = m + symbol.cells.shape[1] * symbol.module + max(3 * symbol.module, 12)
    column = width - m - x
    lines = [(label.item_name, 19, False), (f"LOT {label.lot}", 25, True),
             (f"EXP {label.expires_on.isoformat()}" if label.expires_on else "EXP none", 19, False)]
    if _qty(label):
        lines.append((f"QTY {_qty(label)}", 19, False))
    lines.append((f"{'PRD' if label.produced else 'RCV'} {label.dated.isoformat()}", 16, False))
    lines.append((f"SKU {label.sku}", 16, False))
    y = m - 2
    for text, size, bold in lines:
        size, text = _fit(text, column, size, 12, bold)
        y += size + 3
        items.append(Text(x, y, size, text, bold=bold))
    return layout


# --- location label layouts -------------------------------------------------------------------

def location_layout(label: LocationLabel, size: str) -> Layout:
    """A location label: the code in large text, its Code 128, name and kind."""
    stock = SIZES[size]
    width, height = stock.width, stock.height
    pattern = code128(label.code)
    tokens = list(label.code)
    layout = Layout(stock, f"Location {label.code}")
    items = layout.items
    big, caption, bar_module = {"4x6": (170, 40, 6), "sheet": (110, 28, 4), "2x1": (54, 16, 3)}[size]
    m = {"4x6": 36, "sheet": 24, "2x1": 12}[size]
    code_size, code_text = _fit(label.code, width - 2 * m, big, max(12, big // 6), bold=True)
    y = m + code_size
    items.append(Text(0, y, code_size, code_text, bold=True, align="center", width=width))
    details = " · ".join(part for part in (label.name, label.kind.upper()) if part)
    if details:
        details_size, details = _fit(details, width - 2 * m, caption, 12)
        y += details_size + caption // 2
        items.append(Text(0, y, details_size, details, align="center", width=width))
    top, bottom = y + (8 if size == "2x1" else caption), height - m
    bar_height = min(bottom - top, {"4x6": 520, "sheet": 240, "2x1": 200}[size])
    top = (top + bottom - bar_height) // 2
    items.append(_place_bars(pattern, tokens, 4, width - 4, top, bar_height, bar_module, kind="code128"))
    return layout


# --- renderers --------------------------------------------------------------------------------

def _runs(row: np.ndarray) -> list[tuple[int, int]]:
    """(start, length) of each run of True in a 1D array."""
    padded = np.concatenate(([False], row, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(start), int(end - start)) for start, end in zip(edges[::2], edges[1::2])]


def to_svg(layout: Layout, standalone: bool = True) -> str:
    """Self-contained SVG; `standalone=False` leaves out the XML prologue and namespace (for inline HTML)."""
    stock = layout.size
    ns = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    out = [f'<svg{ns} width="{stock.css_width}" height="{stock.css_height}" '
           f'viewBox="0 0 {stock.width} {stock.height}" role="img" aria-label="{escape(layout.title)}">',
           f"<title>{escape(layout.title)}</title>",
           f'<rect width="{stock.width}" height="{stock.height}" fill="#fff"/>',
           '<g fill="#000" shape-rendering="crispEdges">']
    for item in layout.items:
        if isinstance(item, Box):
            out.append(f'<rect x="{item.x}" y="{item.y}" width="{item.w}" height="{item.h}"/>')
        elif isinstance(item, Matrix):
            mod = item.module
            path = "".join(f"M{item.x + c * mod} {item.y + r * mod}h{n * mod}v{mod}h-{n * mod}z"
                           for r, row in enumerate(item.cells) for c, n in _runs(row))
            out.append(f'<g class="{item.kind}"><path d="{path}"/></g>')
        elif isinstance(item, Bars):
            mod = item.module
            path = "".join(f"M{item.x + c * mod} {item.y}h{n * mod}v{item.height}h-{n * mod}z"
                           for c, n in _runs(item.pattern))
            out.append(f'<g class="{item.kind}"><path d="{path}"/></g>')
    out.append("</g>")
    out.append('<g fill="#000" font-family="Helvetica, Arial, sans-serif">')
    for item in layout.items:
        if isinstance(item, Text):
            x, anchor = (item.x + item.width // 2, ' text-anchor="middle"') if item.align == "center" else (item.x, "")
            weight = ' font-weight="bold"' if item.bold else ""
            out.append(f'<text x="{x}" y="{item.y}" font-size="{item.size}"{weight}{anchor}>{escape(item.text)}</text>')
    out.append("</g></svg>")
    body = "\n".join(out)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n") if standalone else body


def to_png(layout: Layout) -> bytes:
    """PNG at 203 dpi, greyscale, drawn with Pillow."""
    stock = layout.size
    image = Image.new("L", (stock.width, stock.height), 255)
    draw = ImageDraw.Draw(image)
    for item in layout.items:
        if isinstance(item, Box):
            draw.rectangle([item.x, item.y, item.x + item.w - 1, item.y + item.h - 1], fill=0)
        elif isinstance(item, Matrix):
            block = np.kron(item.cells, np.ones((item.module, item.module), dtype=bool))
            image.paste(Image.fromarray(np.where(block, 0, 255).astype(np.uint8), "L"), (item.x, item.y))
        elif isinstance(item, Bars):
            row = np.repeat(item.pattern, item.module)
            block = np.tile(np.where(row, 0, 255).astype(np.uint8), (item.height, 1))
            image.paste(Image.fromarray(block, "L"), (item.x, item.y))
        elif isinstance(item, Text):
            stroke = _stroke(item.size, item.bold)
            x, anchor = (item.x + item.width // 2, "ms") if item.align == "center" else (item.x + stroke, "ls")
            draw.text((x, item.y), item.text, fill=0, font=_font(item.size), anchor=anchor,
                      stroke_width=stroke, stroke_fill=0)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", dpi=(DPI, DPI))
    return buffer.getvalue()


def to_zpl(layout: Layout) -> str:
    """ZPL II for a 203-dpi Zebra printer: ^XA … ^XZ, UTF-8 text (^CI28), the printer's own symbols."""
    stock = layout.size
    out = ["^XA", "^CI28", f"^PW{stock.width}", f"^LL{stock.height}", "^LH0,0"]
    for item in layout.items:
        if isinstance(item, Box):
            out.append(f"^FO{item.x},{item.y}^GB{item.w},{item.h},{min(item.w, item.h)}^FS")
        elif isinstance(item, Matrix):
            out.append(f"^FO{item.x},{item.y}{item.zpl}")
        elif isinstance(item, Bars):
            out.append(f"^FO{max(0, item.zpl_x)},{item.y}^BY{item.module}{item.zpl}")
        elif isinstance(item, Text):
            block = f"^FB{item.width},1,0,C" if item.align == "center" else ""
            out.append(f"^FT{item.x},{item.y}^A0N,{item.size},{item.size}{block}^FH_^FD{_zpl_text(item.text)}^FS")
    out.append("^XZ")
    return "\n".join(out) + "\n"


# --- the public entry points ------------------------------------------------------------------

def lot_svg(label: LotLabel, size: str = "4x6", standalone: bool = True) -> str:
    """A lot label as SVG."""
    return to_svg(lot_layout(label, size), standalone)


def lot_png(label: LotLabel, size: str = "4x6") -> bytes:
    """A lot label as PNG at 203 dpi."""
    return to_png(lot_layout(label, size))


def lot_zpl(label: LotLabel, size: str = "4x6") -> str:
    """A lot label as ZPL."""
    return to_zpl(lot_layout(label, size))


def location_svg(label: LocationLabel, size: str = "4x6", standalone: bool = True) -> str:
    """A location label as SVG."""
    return to_svg(location_layout(label, size), standalone)


def location_png(label: LocationLabel, size: str = "4x6") -> bytes:
    """A location label as PNG at 203 dpi."""
    return to_png(location_layout(label, size))


def location_zpl(label: LocationLabel, size: str = "4x6") -> str:
    """A location label as ZPL."""
    return to_zpl(location_layout(label, size))
