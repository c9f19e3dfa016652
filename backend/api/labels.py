"""Labels: lot and location labels as SVG, PNG and ZPL, and printable pages of many labels.

- `GET /api/labels/lots/<id>.svg|.png|.zpl?size=4x6|2x1&qty=…` — one lot label (quantity: `qty`, else the
  lot's stock on hand); `GET /api/labels/locations/<id>.svg|.png|.zpl?size=…` — one location label.
- `GET /api/labels/sheet?…` — an A4 page of labels, 8 per sheet (2 x 4 cells of 99.1 x 67.7 mm, the common
  L7165 layout), for office printers; `GET /api/labels/print?…&size=4x6|2x1` — one thermal label per page.
  Both take exactly one of: `lots=1,2,3` (a lot id may repeat for copies), `locations=4,5`, `reference=GRN-00001`
  (every lot received under that receipt reference, one label per receipt line with its quantity) or
  `production_order=MO-00001` (every lot that order produced, one label per output booking).

Auth: like every /api route these need a bearer token (any signed-in user: printing changes nothing), and
no token is ever accepted in the URL, where it would end up in browser history and proxy logs. A print
page cannot be opened in a new tab with a header, so the PWA fetches it with its `Authorization` header
and shows it from a `blob:` URL (an iframe or new window) and calls `print()`. That works because the
pages are self-contained: labels are inline SVG, the CSS is inline, there are no scripts, fonts or other
URLs to load. Images (PNG/SVG) and ZPL are fetched the same way (ZPL goes to the printer, e.g. port 9100
or Zebra Browser Print).
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Response, current_app, render_template
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from backend import labels
from backend.api import auth_required
from backend.domain.errors import DomainError, unknown
from backend.models import Location, Lot, Movement, MovementType, ProductionOrder, db
from backend.schemas import MAX_ID, ExactNumber

blp = Blueprint("labels", __name__, url_prefix="/api/labels",
                description="Lot and location labels (SVG, PNG, ZPL) and printable pages")

MAX_LABELS = 500
SHEET_CELLS = 8
_SIZE = dict(load_default="4x6", validate=validate.OneOf(labels.THERMAL_SIZES),
             metadata={"description": "Label stock in inches: 4x6 or 2x1"})


class IdList(fields.String):
    """Comma-separated database ids ("1,2,3"), at most MAX_LABELS (documented as a string)."""

    default_error_messages = {"invalid": "Give ids separated by commas, e.g. 1,2,3.",
                              "too_many": f"At most {MAX_LABELS} ids."}

    def _deserialize(self, value, attr, data, **kwargs) -> list[int]:
        """Parse and range-check each id."""
        parts = [part.strip() for part in super()._deserialize(value, attr, data, **kwargs).split(",")]
        if not all(part.isascii() and part.isdigit() and 1 <= int(part) <= MAX_ID for part in parts):
            raise self.make_error("invalid")
        if len(parts) > MAX_LABELS:
            raise self.make_error("too_many")
        return [int(part) for part in parts]


class LotLabelArgs(Schema):
    """Label stock and an optional quantity to print instead of the stock on hand."""

    size = fields.String(**_SIZE)
    qty = ExactNumber(validate=validate.Range(min=0, min_inclusive=False),
                      metadata={"description": "Quantity printed on the label (default: the lot's stock on hand)"})


class LocationLabelArgs(Schema):
    """Label stock."""

    size = fields.String(**_SIZE)


class LabelPageArgs(Schema):
    """Which labels a printable page holds: exactly one selector."""

    lots = IdList(metadata={"description": "Lot ids, e.g. 1,2,3 (repeat an id for copies)"})
    locations = IdList(metadata={"description": "Location ids"})
    reference = fields.String(validate=validate.Length(min=1, max=40),
                              metadata={"description": "Receipt reference: every lot received under it"})
    production_order = fields.String(validate=validate.Length(min=1, max=20),
                                     metadata={"description": "Production order number: every lot it produced"})

    @validates_schema
    def _one_selector(self, data, **kwargs):
        """Exactly one of lots, locations, reference, production_order."""
        given = [name for name in ("lots", "locations", "reference", "production_order") if name in data]
        if len(given) != 1:
            raise ValidationError("Give exactly one of lots, locations, reference, production_order.", "_schema")


class LabelPrintArgs(LabelPageArgs):
    """A page per thermal label."""

    size = fields.String(**_SIZE)


# --- from the database to label data -----------------------------------------------------------

def _tz() -> ZoneInfo:
    """The site's time zone (for received/produced days)."""
    return ZoneInfo(current_app.config["LOTWISE_TIMEZONE"])


def _lot_label(lot: Lot, qty=None) -> labels.LotLabel:
    """What lot's label says; the quantity is `qty`, else the stock on hand (none printed when zero)."""
    if qty is None:
        qty = lot.on_hand or None
    return labels.LotLabel(item_name=lot.item.name, sku=lot.item.sku, gtin=lot.item.gtin, lot=lot.code,
                           uom=lot.item.uom, dated=lot.received_at.astimezone(_tz()).date(),
                           expires_on=lot.expires_on, qty=qty, produced=lot.production_order_id is not None)


def _location_label(location: Location) -> labels.LocationLabel:
    """What a location's label says."""
    return labels.LocationLabel(code=location.code, name=location.name or "", kind=location.kind.value)


def _lot(lot_id: int) -> Lot:
    """The lot, or 404."""
    lot = db.session.get(Lot, lot_id)
    if lot is None:
        raise unknown("lot", lot_id, status=404)
    return lot


def _location(location_id: int) -> Location:
    """The location, or 404."""
    location = db.session.get(Location, location_id)
    if location is None:
        raise unknown("location", location_id, status=404)
    return location


def _selected(args: dict) -> list[tuple[str, int, object]]:
    """(kind, id, label data) of every label a page asks for, in order."""
    if "lots" in args:
        return [("lot", lot_id, _lot_label(_lot(lot_id))) for lot_id in args["lots"]]
    if "locations" in args:
        return [("location", loc_id, _location_label(_location(loc_id))) for loc_id in args["locations"]]
    if "reference" in args:
        movements = _movements(MovementType.receive, "receipt", args["reference"])
        if not movements:
            raise DomainError("unknown_receipt", f"No receipt with reference {args['reference']!r}", status=404)
    else:
        number = args["production_order"]
        if db.session.scalar(select(ProductionOrder.id).where(ProductionOrder.number == number)) is None:
            raise unknown("production_order", number, status=404)
        movements = _movements(MovementType.produce, "production", number)
        if not movements:
            raise DomainError("nothing_produced", f"{number} has produced no lots yet", status=404)
    return [("lot", m.lot_id, _lot_label(m.lot, m.qty)) for m in movements]


def _movements(kind: MovementType, ref_type: str, ref_number: str) -> list[Movement]:
    """The receipt or production lines booked under a document, in the order they were recorded."""
    rows = db.session.scalars(select(Movement).where(
        Movement.type == kind, Movement.ref_type == ref_type, Movement.ref_number == ref_number,
        Movement.reverses_id.is_(None)).order_by(Movement.id).limit(MAX_LABELS + 1)).all()
    if len(rows) > MAX_LABELS:
        raise DomainError("too_many_labels", f"More than {MAX_LABELS} labels; print them in parts")
    return rows


def _svg(kind: str, data, size: str) -> str:
    """Inline SVG markup of one label for an HTML page."""
    if kind == "lot":
        return labels.lot_svg(data, size, standalone=False)
    return labels.location_svg(data, size, standalone=False)


# --- responses ---------------------------------------------------------------------------------

_TYPES = {"svg": "image/svg+xml", "png": "image/png", "zpl": "text/plain; charset=utf-8"}


def _send(body, fmt: str, name: str) -> Response:
    """A label file, shown inline (ZPL as a download), never cached by shared caches."""
    response = Response(body, mimetype=_TYPES[fmt].split(";")[0], content_type=_TYPES[fmt])
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in name)
    disposition = "attachment" if fmt == "zpl" else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{safe}.{fmt}"'
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _lot_file(lot_id: int, args: dict, fmt: str) -> Response:
    """A lot label in one format."""
    lot = _lot(lot_id)
    data = _lot_label(lot, args.get("qty"))
    render = {"svg": labels.lot_svg, "png": labels.lot_png, "zpl": labels.lot_zpl}[fmt]
    return _send(render(data, args["size"]), fmt, f"lot-{lot.item.sku}-{lot.code}-{args['size']}")


def _location_file(location_id: int, args: dict, fmt: str) -> Response:
    """A location label in one format."""
    location = _location(location_id)
    data = _location_label(location)
    render = {"svg": labels.location_svg, "png": labels.location_png, "zpl": labels.location_zpl}[fmt]
    return _send(render(data, args["size"]), fmt, f"location-{location.code}-{args['size']}")


def _doc(content_type: str, what: str):
    """Document a non-JSON 200 response."""
    body = {"type": "string", "format": "binary"} if content_type == "image/png" else {"type": "string"}
    return blp.response(200, body, content_type=content_type, description=what)


@blp.get("/lots/<id:lot_id>.svg")
@auth_required()
@blp.arguments(LotLabelArgs, location="query")
@_doc("image/svg+xml", "The lot label as SVG")
def lot_svg(args, lot_id):
    """A lot's label as SVG: square GS1 DataMatrix, GS1-128 (not on 2x1), item, SKU/GTIN, lot, expiry, quantity."""
    return _lot_file(lot_id, args, "svg")


@blp.get("/lots/<id:lot_id>.png")
@auth_required()
@blp.arguments(LotLabelArgs, location="query")
@_doc("image/png", "The lot label as PNG at 203 dpi")
def lot_png(args, lot_id):
    """A lot's label as PNG at 203 dpi (812 x 1218 for 4x6, 406 x 203 for 2x1)."""
    return _lot_file(lot_id, args, "png")


@blp.get("/lots/<id:lot_id>.zpl")
@auth_required()
@blp.arguments(LotLabelArgs, location="query")
@_doc("text/plain", "The lot label as ZPL II for a 203-dpi Zebra printer")
def lot_zpl(args, lot_id):
    """A lot's label as ZPL II (^XA…^XZ) for a 203-dpi Zebra printer; the printer draws the symbols."""
    return _lot_file(lot_id, args, "zpl")


@blp.get("/locations/<id:location_id>.svg")
@auth_required()
@blp.arguments(LocationLabelArgs, location="query")
@_doc("image/svg+xml", "The location label as SVG")
def location_svg(args, location_id):
    """A location's label as SVG: Code 128 of its code and the code in large text."""
    return _location_file(location_id, args, "svg")


@blp.get("/locations/<id:location_id>.png")
@auth_required()
@blp.arguments(LocationLabelArgs, location="query")
@_doc("image/png", "The location label as PNG at 203 dpi")
def location_png(args, location_id):
    """A location's label as PNG at 203 dpi."""
    return _location_file(location_id, args, "png")


@blp.get("/locations/<id:location_id>.zpl")
@auth_required()
@blp.arguments(LocationLabelArgs, location="query")
@_doc("text/plain", "The location label as ZPL II for a 203-dpi Zebra printer")
def location_zpl(args, location_id):
    """A location's label as ZPL II for a 203-dpi Zebra printer."""
    return _location_file(location_id, args, "zpl")


def _page(selected, size: str, title: str, sheet: bool) -> Response:
    """The printable HTML page."""
    cells = [{"kind": kind, "id": obj_id, "svg": _svg(kind, data, size)} for kind, obj_id, data in selected]
    pages = [cells[i:i + SHEET_CELLS] for i in range(0, len(cells), SHEET_CELLS)] if sheet else [[c] for c in cells]
    stock = labels.SIZES[size]
    html = render_template("labels.html", title=title, pages=pages, sheet=sheet, stock=stock, count=len(cells))
    response = Response(html, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _title(args: dict) -> str:
    """What the page prints, for its title."""
    if "reference" in args:
        return f"Labels of receipt {args['reference']}"
    if "production_order" in args:
        return f"Labels of {args['production_order']}"
    return "Location labels" if "locations" in args else "Lot labels"


@blp.get("/sheet")
@auth_required()
@blp.arguments(LabelPageArgs, location="query")
@_doc("text/html", "A self-contained printable HTML page")
def sheet(args):
    """An A4 page of labels (8 per sheet, 99.1 x 67.7 mm) for lots, locations, a receipt or a production order."""
    return _page(_selected(args), "sheet", _title(args), sheet=True)


@blp.get("/print")
@auth_required()
@blp.arguments(LabelPrintArgs, location="query")
@_doc("text/html", "A self-contained printable HTML page")
def thermal(args):
    """One 4x6 or 2x1 in label per page for a thermal printer's driver, for the same selections as the sheet."""
    return _page(_selected(args), args["size"], _title(args), sheet=False)
