"""Scan interpretation: what a raw camera or wedge string names (GS1 via biip, Digital Link, plain codes).

`interpret` is the one reading of a scan for every caller (scan resolution, picking, sync). The PWA's own
parser follows the same rules, proven by tests/vectors/scans.json. The rules, in order:

1. Input longer than MAX_SCAN characters is bad_barcode; leading and trailing spaces, tabs, CR and LF
   (wedge scanners' suffixes) are stripped; nothing left is bad_barcode.
2. A symbology identifier `]Xm` (AIM ISO/IEC 15424) at the start is taken off and remembered.
3. `http://` or `https://` (any case, any host) is a GS1 Digital Link URI; anything wrong in it is bad:
   a path GTIN of other than 8/12/13/14 digits, a data attribute such as (17) in the path instead of the
   query, an AI repeated in the query with different values, a check digit, a date.
4. `]C1` GS1-128, `]d2` GS1 DataMatrix, `]Q3` GS1 QR, `]e0` GS1 DataBar, `]J1` GS1 DotCode: a GS1
   element string. `]E0` EAN-13/UPC-A (12/13 digits) or UPC-E (8 digits), `]E4` EAN-8: a GTIN;
   `]I1` ITF with 14 digits: a GTIN-14 (other ITF content is a plain code).
5. Without a symbology identifier: `(` starts the bracketed HRI form; a string containing GS, or
   starting with (00)+18 digits, (01)/(02)+14 digits, or two digits and containing the substitute
   character, is a GS1 element string.
6. Anything else (including `]C0` plain Code 128, `]d1`, `]Q1`) is a plain code: a location or lot
   code. Control characters or more than 40 characters are bad_barcode. A plain code of 8, 12, 13 or
   14 ASCII digits with a valid check digit also carries the GTIN it may be (`gtin`), since an
   EAN-13 read without symbology identifier is just digits.

GS1 element strings: predefined-length AIs (GS1 General Specifications figure 7.8.4-2: 00, 01, 02,
11-17, 20, 31nn-36nn, 41n) take their fixed length; every other AI runs to the next separator (GS or the
substitute character) or the end. The maximum length of a field is never taken as its end: a missing
separator after a variable-length field makes that field absorb what follows, and if that is too long
or has characters the AI does not allow the scan is bad_barcode; if it happens to be valid (a lot
`LOT721123` from `10LOT7` + `21123`) nothing can tell, which is why labels always end (10) with GS
or put it last. Every AI biip knows is accepted and checked (check digits, dates, character sets);
the ones Lotwise uses are (00) SSCC, (01) GTIN, (02) GTIN of the contents (counts as the GTIN when
(01) is absent; both together are bad), (10) lot, (17) expiry (day 00 = last day of the month; the
century by the GS1 sliding window, 7.12), (21) serial, (240) SKU, (30)/(37) count ((37) wins),
(310n) net kg, (414) GLN of a location. An AI repeated with a different value is bad_barcode.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qs, unquote, urlsplit

from biip import ParseError
from biip.gs1_application_identifiers import _GS1_APPLICATION_IDENTIFIERS, GS1ApplicationIdentifier
from biip.gs1_digital_link_uris import _PRIMARY_IDENTIFIER_MAP, GS1DigitalLinkURI
from biip.gs1_element_strings import GS1ElementString
from biip.gtin import Gtin
from biip.upc import Upc
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain.codes import LOT_CODE_RE
from backend.domain.errors import DomainError, unknown
from backend.models import Item, Location, Lot

GS = "\x1d"
MAX_SCAN = 512  # longer input is never a Lotwise label; refused before any parsing
MAX_TEXT = 40  # the longest plain code Lotwise issues (location codes)
_EDGES = " \t\r\n"  # stripped from both ends (not str.strip(): Python counts GS as whitespace)
_SYMBOLOGY = re.compile(r"\][A-Za-z][0-9A-Za-z]")
GS1_SYMBOLOGIES = frozenset({"]C1", "]d2", "]Q3", "]e0", "]J1"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_URI = re.compile(r"https?://", re.IGNORECASE)
_KEY_FIRST = re.compile(r"00[0-9]{18}|0[12][0-9]{14}")
_GTIN_DIGITS = re.compile(r"[0-9]{8}|[0-9]{12,14}")
_HRI_AI = re.compile(r"\(([0-9]{2,4})\)")
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")


@dataclass(frozen=True)
class Scan:
    """What a scan says: GS1 data (GTIN or SKU, lot, expiry, SSCC…) or a plain code (`text`).

    A plain code of GTIN shape keeps `text` and also carries the GTIN it may be in `gtin`.
    """

    raw: str
    gtin: str | None = None
    sku: str | None = None
    lot: str | None = None
    expires_on: date | None = None
    sscc: str | None = None
    text: str | None = None
    serial: str | None = None
    count: int | None = None
    net_kg: Decimal | None = None
    gln: str | None = None
    symbology: str | None = None

    @property
    def is_gs1(self) -> bool:
        """True when the scan carried GS1 data (application identifiers, a Digital Link or an EAN/UPC)."""
        return self.text is None

    @property
    def kind(self) -> str:
        """"gs1" or "text" (a scan that is not a barcode never becomes a Scan: it raises bad_barcode)."""
        return "gs1" if self.is_gs1 else "text"


def bad(message: str) -> DomainError:
    """The error for a scan that cannot be trusted."""
    return DomainError("bad_barcode", message, errors={"scan": [message]})


def interpret(raw: str, substitute: str = "|") -> Scan:
    """Read a scan string; check digits, dates and lengths are verified, never guessed (rules: module doc).

    `substitute` holds the character(s) a wedge scanner types for GS; empty for none.
    """
    if not isinstance(raw, str) or len(raw) > MAX_SCAN:
        raise bad(f"Not a scan or longer than {MAX_SCAN} characters")
    return _read(raw, substitute if isinstance(substitute, str) else "")


# The same labels are scanned over and over (every pick of a lot, every move); a Scan is immutable.
@lru_cache(maxsize=8192)
def _read(raw: str, substitute: str) -> Scan:
    """interpret() of a string (cached; a bad barcode raises every time)."""
    value = raw.strip(_EDGES)
    if not value:
        raise bad("Empty scan")
    symbology = None
    if _SYMBOLOGY.match(value):
        symbology, value = value[:3], value[3:]
        if not value:
            raise bad(f"Symbology identifier {symbology} without data")
    separators = GS + (substitute or "")
    if _URI.match(value):
        return _digital_link(raw, value, symbology)
    if symbology in GS1_SYMBOLOGIES:
        return _from_elements(raw, _element_strings(value, separators), symbology)
    if symbology in ("]E0", "]E4") or (symbology == "]I1" and re.fullmatch(r"[0-9]{14}", value)):
        return Scan(raw=raw, gtin=_gtin_symbol(value, symbology), symbology=symbology)
    if symbology is None:
        if value.startswith("("):
            return _from_elements(raw, _hri(value), None)
        if (GS in value or _KEY_FIRST.match(value)
                or (re.match(r"[0-9]{2}", value) and any(ch in value for ch in substitute or ""))):
            return _from_elements(raw, _element_strings(value, separators), None)
    return _plain(raw, value, symbology)


def _plain(raw: str, value: str, symbology: str | None) -> Scan:
    """A plain code (location or lot), with the GTIN it may be when it has the shape of one."""
    if _CONTROL.search(value):
        raise bad("Control characters in a plain code")
    if len(value) > MAX_TEXT:
        raise bad(f"A plain code of {len(value)} characters is no location or lot code")
    gtin = None
    if _GTIN_DIGITS.fullmatch(value):
        try:
            gtin = Gtin.parse(value).as_gtin_14()
        except ParseError:
            gtin = None
    return Scan(raw=raw, text=value, gtin=gtin, symbology=symbology)


def _gtin_symbol(value: str, symbology: str) -> str:
    """The GTIN-14 of an EAN/UPC (]E0, ]E4) or ITF-14 (]I1) symbol's digits."""
    lengths = {"]E0": (8, 12, 13), "]E4": (8,), "]I1": (14,)}[symbology]
    if not re.fullmatch(r"[0-9]+", value) or len(value) not in lengths:
        raise bad(f"{symbology} data {value[:20]!r} is not an EAN/UPC/ITF-14 number")
    try:
        if symbology == "]E0" and len(value) == 8:  # UPC-E, expanded to its UPC-A
            return Upc.parse(value).as_gtin_14()
        return Gtin.parse(value).as_gtin_14()
    except ParseError as exc:
        raise bad(str(exc)) from None


def _fixed_length(ai: GS1ApplicationIdentifier) -> int:
    """The data length of a predefined-length AI ("N2+N14" -> 14)."""
    return int(ai.format.split("+")[1][1:])


def _element(text: str) -> GS1ElementString:
    """One element string (AI and exactly its data), checked by biip: pattern, check digit, date."""
    if text.startswith("7007") and len(text) == 16:
        # biip reads the end of a harvest date range YYMMDDYYMMDD as a time of day; check it as a date.
        _element("7006" + text[10:])
        return _element(text[:10])
    try:
        return GS1ElementString.parse(text)
    except (ParseError, ValueError) as exc:
        raise bad(str(exc)) from None


def _element_strings(data: str, separators: str) -> list[GS1ElementString]:
    """Split a GS1 element string (after any symbology identifier) into checked element strings."""
    if not _PRINTABLE_ASCII.fullmatch("".join(ch for ch in data if ch not in separators)):
        raise bad("A GS1 element string holds printable ASCII and separators only")
    elements, pos, end_of_data = [], 0, len(data)
    while pos < end_of_data:
        if data[pos] in separators:  # a separator is allowed between any two element strings
            pos += 1
            continue
        try:
            ai = GS1ApplicationIdentifier.extract(data[pos:pos + 4])
        except ParseError:
            raise bad(f"No GS1 Application Identifier at {data[pos:pos + 6]!r}") from None
        start = pos + len(ai.ai)
        if ai.separator_required:
            found = [i for i in (data.find(sep, start) for sep in separators) if i >= 0]
            end = min(found, default=end_of_data)
        else:
            end = start + _fixed_length(ai)
        elements.append(_element(ai.ai + data[start:end]))
        pos = end
    if not elements:
        raise bad("No GS1 element strings")
    return elements


def _hri(value: str) -> list[GS1ElementString]:
    """The bracketed human-readable form `(01)…(17)…(10)…`; spaces around values are ignored.

    A value runs to the next `(` + 2-4 digits + `)`, so a lot code containing such a group cannot be
    written in this form.
    """
    markers = list(_HRI_AI.finditer(value))
    if not markers or markers[0].start() != 0:
        raise bad("HRI must start with an AI in brackets, e.g. (01)")
    elements = []
    for index, marker in enumerate(markers):
        ai = marker.group(1)
        if ai not in _GS1_APPLICATION_IDENTIFIERS:
            raise bad(f"Unknown GS1 Application Identifier ({ai})")
        end = markers[index + 1].start() if index + 1 < len(markers) else len(value)
        data = value[marker.end():end].strip(" ")
        if not _PRINTABLE_ASCII.fullmatch(data):
            raise bad(f"Characters not allowed in ({ai})")
        elements.append(_element(ai + data))
    return elements


def _digital_link(raw: str, value: str, symbology: str | None) -> Scan:
    """A GS1 Digital Link URI on any host: key and qualifiers in the path, attributes such as ?17= in the query."""
    if not _PRINTABLE_ASCII.fullmatch(value):
        raise bad("A Digital Link URI is printable ASCII (percent-encode the rest)")
    try:
        parts = urlsplit(value)
        repeated = [key for key, values in parse_qs(parts.query).items()
                    if key in _GS1_APPLICATION_IDENTIFIERS and len(set(values)) > 1]
        if repeated:
            raise bad(f"({repeated[0]}) appears twice with different values")
        segments = parts.path.split("/")
        key = next((i for i, segment in enumerate(segments) if segment in _PRIMARY_IDENTIFIER_MAP), None)
        if key is not None and segments[key] == "01" and key + 1 < len(segments):
            # the URI syntax allows a GTIN-8, -12, -13 or -14 only (biip would zero-fill any length)
            if not _GTIN_DIGITS.fullmatch(unquote(segments[key + 1])):
                raise bad(f"Digital Link GTIN {segments[key + 1][:20]!r} is not 8, 12, 13 or 14 digits")
        elements = list(GS1DigitalLinkURI.parse(value).element_strings)
    except (ParseError, ValueError) as exc:
        raise bad(f"Not a GS1 Digital Link: {exc}") from None
    return _from_elements(raw, elements, symbology)


def _from_elements(raw: str, elements: list[GS1ElementString], symbology: str | None) -> Scan:
    """A Scan from checked element strings; refuses check-digit errors, conflicts and impossible values."""
    fields: dict[str, GS1ElementString] = {}
    for element in elements:
        error = element.gtin_error or element.sscc_error or element.gln_error
        if error:
            raise bad(error)
        if not element.value.isascii():
            raise bad(f"({element.ai.ai}) holds characters outside ASCII")
        code = element.ai.ai
        if code in fields and fields[code].value != element.value:
            raise bad(f"({code}) appears twice with different values")
        fields[code] = element
    if "01" in fields and "02" in fields:
        raise bad("(01) and (02) cannot be in one barcode")
    if "17" in fields and fields["17"].date is None:
        raise bad(f"Impossible expiry date {fields['17'].value}")
    lot = fields["10"].value if "10" in fields else None
    if lot is not None and not LOT_CODE_RE.fullmatch(lot):
        raise bad(f"Lot {lot!r} is not a valid GS1 lot")
    key = fields.get("01") or fields.get("02")
    count = fields.get("37") or fields.get("30")
    if count is not None and not count.value:
        raise bad(f"({count.ai.ai}) without a count")
    weight = next((e for code, e in fields.items() if code.startswith("310")), None)
    return Scan(raw=raw, gtin=key.value if key else None, sku=fields["240"].value if "240" in fields else None,
                lot=lot, expires_on=fields["17"].date if "17" in fields else None,
                sscc=fields["00"].value if "00" in fields else None,
                serial=fields["21"].value if "21" in fields else None,
                count=int(count.value) if count is not None else None,
                net_kg=weight.decimal if weight is not None else None,
                gln=fields["414"].value if "414" in fields else None, symbology=symbology)


class LotFinder:
    """Where resolve_lot looks things up: the database (a batch may prefetch the same answers)."""

    def __init__(self, session: Session):
        self.session = session

    def item(self, gtin: str | None, sku: str | None) -> Item | None:
        """The item with this GTIN (or, without one, this SKU)."""
        return self.session.scalar(select(Item).where(Item.gtin == gtin) if gtin else select(Item).where(Item.sku == sku))

    def lot(self, item_id: int, code: str) -> Lot | None:
        """The item's lot with this code."""
        return self.session.scalar(select(Lot).where(Lot.item_id == item_id, Lot.code == code))

    def lots(self, code: str) -> list[Lot]:
        """Up to two lots of any item with this code (two means ambiguous)."""
        return self.session.scalars(select(Lot).where(Lot.code == code).limit(2)).all()

    def by_id(self, lot_id: int) -> Lot | None:
        """The lot with this id."""
        return self.session.get(Lot, lot_id)


def resolve_lot(session: Session, scan: Scan) -> Lot:
    """The lot a scan names: by GTIN or SKU plus lot code, or by a bare lot code when it is unambiguous."""
    return find_lot(LotFinder(session), scan)


def find_lot(finder, scan: Scan):
    """resolve_lot's rule over any finder (see LotFinder); DomainError with the reason when none fits."""
    if scan.is_gs1 and (scan.gtin or scan.sku):
        if scan.lot is None:
            raise DomainError("unknown_lot", "The scan names no lot (AI 10)", errors={"scan": ["No lot"]})
        item = finder.item(scan.gtin, scan.sku)
        if item is None:
            raise unknown("item", scan.gtin or scan.sku)
        lot = finder.lot(item.id, scan.lot)
        if lot is None:
            raise unknown("lot", scan.lot)
        if scan.expires_on and lot.expires_on and scan.expires_on != lot.expires_on:
            raise DomainError("scan_mismatch", f"Label expiry {scan.expires_on} differs from lot {lot.code}'s "
                              f"{lot.expires_on}")
        return lot
    code = scan.lot if scan.is_gs1 else scan.text
    if code is None:
        raise DomainError("unknown_lot", "The scan names no lot (AI 10)", errors={"scan": ["No lot"]})
    lots = finder.lots(code)
    if not lots:
        raise unknown("lot", code)
    if len(lots) > 1:
        raise DomainError("ambiguous_lot", f"Lot code {code} exists for several items: scan the full label")
    return lots[0]


def describe(session: Session, raw: str, substitute: str = "|") -> dict:
    """What a scan is — lot, location, SSCC, item or unknown — with its GS1 data, for any caller.

    A bad barcode is reported (kind "invalid" with the reason), never guessed; a plain code is looked up
    as a location first, then as a lot, then (when it has the shape of one) as an item's GTIN; a GS1
    (414) GLN without a lot as a location.
    """
    try:
        scan = interpret(raw, substitute)
    except DomainError as exc:
        return {"kind": "invalid", "error": exc.code, "message": exc.message, "gs1": None}
    result = {"kind": "unknown", "gs1": _gs1_fields(scan) if scan.is_gs1 else None, "error": None, "message": None}
    location = None
    if scan.text is not None:
        location = session.scalar(select(Location).where(Location.code == scan.text))
    elif scan.gln and not scan.lot:
        location = session.scalar(select(Location).where(Location.gln == scan.gln))
    if location is not None:
        return {**result, "kind": "location", "location": location}
    if scan.sscc and not scan.lot:
        return {**result, "kind": "sscc"}
    try:
        lot = resolve_lot(session, scan)
    except DomainError as exc:
        item = _item_of(session, scan)
        kind = "item" if item is not None and exc.code == "unknown_lot" else "unknown"
        return {**result, "kind": kind, "item": item, "error": exc.code, "message": exc.message}
    return {**result, "kind": "lot", "lot": lot, "item": lot.item}


def _gs1_fields(scan: Scan) -> dict:
    """The GS1 data of a scan, as JSON-ready values."""
    return {"gtin": scan.gtin, "sku": scan.sku, "lot": scan.lot, "sscc": scan.sscc,
            "expires_on": scan.expires_on.isoformat() if scan.expires_on else None,
            "serial": scan.serial, "count": scan.count,
            "net_kg": str(scan.net_kg) if scan.net_kg is not None else None, "gln": scan.gln,
            "symbology": scan.symbology}


def _item_of(session: Session, scan: Scan) -> Item | None:
    """The item a scan names by GTIN or SKU (or a plain code's GTIN shape), if any."""
    if scan.gtin:
        return session.scalar(select(Item).where(Item.gtin == scan.gtin))
    if scan.sku:
        return session.scalar(select(Item).where(Item.sku == scan.sku))
    return None
