"""Scan interpretation: what a raw camera or wedge string names (GS1 via biip, Digital Link, plain codes)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import biip
from biip import ParseConfig
from biip.gs1_messages import GS1Message
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain.codes import LOT_CODE_RE
from backend.domain.errors import DomainError, unknown
from backend.models import Item, Location, Lot

GS = "\x1d"
MAX_SCAN = 512
_SYMBOLOGY = re.compile(r"^\][A-Za-z][0-9A-Za-z]")


@dataclass(frozen=True)
class Scan:
    """What a scan says: GS1 data (GTIN or SKU, lot, expiry, SSCC) or a plain code."""

    raw: str
    gtin: str | None = None
    sku: str | None = None
    lot: str | None = None
    expires_on: date | None = None
    sscc: str | None = None
    text: str | None = None

    @property
    def is_gs1(self) -> bool:
        """True when the scan carried GS1 application identifiers."""
        return self.text is None


def bad(message: str) -> DomainError:
    """The error for a scan that cannot be trusted."""
    return DomainError("bad_barcode", message, errors={"scan": [message]})


def interpret(raw: str, substitute: str = "|") -> Scan:
    """Read a scan string; check digits, dates and lengths are verified, never guessed."""
    if not raw or len(raw) > MAX_SCAN:
        raise bad("Empty or over-long scan")
    value = raw.strip("\r\n")
    if value.startswith("(") or _looks_like_gs1(value) or "://" in value:
        return _gs1(value, substitute)
    if any(ord(ch) < 32 for ch in value):
        raise bad("Control characters in a plain code")
    return Scan(raw=raw, text=value)


def _looks_like_gs1(value: str) -> bool:
    """Symbology identifier of a GS1 symbol, or a GS1 element string starting with a common AI."""
    if _SYMBOLOGY.match(value):
        return value[:3] in ("]d2", "]C1", "]Q3", "]e0", "]J1")
    return bool(re.match(r"^(01\d{14}|00\d{18}|02\d{14}|240)", value))


def _gs1(value: str, substitute: str) -> Scan:
    """GS1 element string (with or without symbology id and GS), HRI with brackets, or Digital Link."""
    try:
        if value.startswith("("):
            message = GS1Message.parse_hri(value)
        else:
            separators = [GS] + ([substitute] if substitute else [])
            result = biip.parse(value, config=ParseConfig(separator_chars=separators))
            message = result.gs1_message or result.gs1_digital_link_uri
            if message is None:
                raise bad(result.gs1_message_error or result.gs1_digital_link_uri_error or "Not a GS1 code")
    except biip.ParseError as exc:
        raise bad(str(exc)) from None
    fields = {}
    for element in message.element_strings:
        if element.gtin_error or element.sscc_error:
            raise bad(element.gtin_error or element.sscc_error)
        if element.ai.ai == "17" and element.date is None:
            raise bad(f"Impossible expiry date {element.value}")
        fields[element.ai.ai] = element
    lot = fields.get("10")
    if lot is not None and not LOT_CODE_RE.fullmatch(lot.value):
        raise bad(f"Lot {lot.value!r} is not a valid GS1 lot")
    return Scan(raw=value, gtin=fields["01"].value if "01" in fields else None,
                sku=fields["240"].value if "240" in fields else None, lot=lot.value if lot else None,
                expires_on=fields["17"].date if "17" in fields else None,
                sscc=fields["00"].value if "00" in fields else None)


def resolve_lot(session: Session, scan: Scan) -> Lot:
    """The lot a scan names: by GTIN or SKU plus lot code, or by a bare lot code when it is unambiguous."""
    if scan.is_gs1:
        if scan.lot is None:
            raise DomainError("unknown_lot", "The scan names no lot (AI 10)", errors={"scan": ["No lot"]})
        item = session.scalar(select(Item).where(Item.gtin == scan.gtin) if scan.gtin
                              else select(Item).where(Item.sku == scan.sku))
        if item is None:
            raise unknown("item", scan.gtin or scan.sku)
        lot = session.scalar(select(Lot).where(Lot.item_id == item.id, Lot.code == scan.lot))
        if lot is None:
            raise unknown("lot", scan.lot)
        if scan.expires_on and lot.expires_on and scan.expires_on != lot.expires_on:
            raise DomainError("scan_mismatch", f"Label expiry {scan.expires_on} differs from lot {lot.code}'s "
                              f"{lot.expires_on}")
        return lot
    lots = session.scalars(select(Lot).where(Lot.code == scan.text).limit(2)).all()
    if not lots:
        raise unknown("lot", scan.text)
    if len(lots) > 1:
        raise DomainError("ambiguous_lot", f"Lot code {scan.text} exists for several items: scan the full label")
    return lots[0]


def describe(session: Session, raw: str, substitute: str = "|") -> dict:
    """What a scan is — lot, location, SSCC, item or unknown — with its GS1 data, for any caller.

    A bad barcode is reported (kind "invalid" with the reason), never guessed; a bare code is looked up
    as a location first, then as a lot.
    """
    try:
        scan = interpret(raw, substitute)
    except DomainError as exc:
        return {"kind": "invalid", "error": exc.code, "message": exc.message, "gs1": None}
    result = {"kind": "unknown", "gs1": _gs1_fields(scan) if scan.is_gs1 else None, "error": None, "message": None}
    if scan.text is not None:
        location = session.scalar(select(Location).where(Location.code == scan.text))
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
            "expires_on": scan.expires_on.isoformat() if scan.expires_on else None}


def _item_of(session: Session, scan: Scan) -> Item | None:
    """The item a GS1 scan names by GTIN or SKU, if any."""
    if scan.gtin:
        return session.scalar(select(Item).where(Item.gtin == scan.gtin))
    if scan.sku:
        return session.scalar(select(Item).where(Item.sku == scan.sku))
    return None
