"""Validation of identifiers and quantities: GTINs, lot codes, units of measure."""
import re
from decimal import Decimal

from biip import ParseError
from biip.gtin import Gtin

from backend.domain.errors import DomainError

# GS1 General Specifications, figure 7.11-1: the AI(10) character set ("82").
LOT_CODE_RE = re.compile(r"^[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}$")
# UN/ECE Rec 20 codes accepted for items; the first set are counted in whole units.
WHOLE_UNITS = {"EA", "C62", "H87", "PR", "DZN", "XBX", "XCS", "XPK", "XBG", "XPX"}
MEASURED_UNITS = {"KGM", "GRM", "TNE", "LTR", "MLT", "MTR", "MTK", "MTQ", "CMT", "LBR"}
UNITS = WHOLE_UNITS | MEASURED_UNITS
MAX_QTY = Decimal(10) ** 12


def normalize_gtin(value: str) -> str:
    """Check a GTIN-8/12/13/14 (check digit included) and return it as 14 digits."""
    if not re.fullmatch(r"\d{8}|\d{12,14}", value or ""):
        raise DomainError("invalid", "A GTIN has 8, 12, 13 or 14 digits", errors={"gtin": ["Not a GTIN"]})
    try:
        return Gtin.parse(value).as_gtin_14()
    except ParseError as exc:
        raise DomainError("invalid", str(exc), errors={"gtin": [str(exc)]}) from None


def check_lot_code(code: str) -> str:
    """Refuse a lot code that could not go into a GS1 AI(10) field."""
    if not LOT_CODE_RE.fullmatch(code or ""):
        msg = "A lot code is 1-20 characters from the GS1 AI(10) set (letters, digits, !\"%&'()*+,-./:;<=>?_)"
        raise DomainError("invalid", msg, errors={"lot": [msg]})
    return code


def check_quantity(qty: Decimal, uom: str, field: str = "qty") -> Decimal:
    """Refuse a quantity that is not positive, too large, or fractional for a counted unit."""
    if not qty.is_finite() or qty <= 0 or qty > MAX_QTY:
        raise DomainError("invalid", f"{field} must be greater than 0", errors={field: ["Must be > 0"]})
    if uom in WHOLE_UNITS and qty != qty.to_integral_value():
        msg = f"{uom} is counted in whole units"
        raise DomainError("invalid", msg, errors={field: [msg]})
    return qty


def qty_text(qty: Decimal) -> str:
    """A quantity as people write it: 10, 2.5, 0.3 (no exponent, no trailing zeros)."""
    return format(qty.normalize(), "f")
