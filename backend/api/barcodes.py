"""Barcodes in a photo: POST /api/barcodes/decode (multipart field `image`: JPEG, PNG or WebP, at most 10 MB)."""
from functools import wraps

from flask import current_app, request
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import Schema
from werkzeug.exceptions import RequestEntityTooLarge

from backend import decoding
from backend.api import auth_required
from backend.domain import scans
from backend.models import db
from backend.schemas import DecodeResultSchema

blp = Blueprint("barcodes", __name__, url_prefix="/api/barcodes", description="Barcodes in photos")


class DecodeInSchema(Schema):
    """The photo, as multipart/form-data."""

    image = Upload(required=True, metadata={"description": "JPEG, PNG or WebP, at most 10 MB"})


def upload_limit(max_bytes: int):
    """Allow bodies up to `max_bytes` on this route (the app-wide limit is smaller); refuse larger ones with a
    413 before their data is read, from Content-Length, or as soon as a chunked body passes the limit."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            request.max_content_length = max_bytes
            try:
                request.files  # noqa: B018 - parse the form now, under this limit
            except RequestEntityTooLarge:
                raise decoding.too_large(f"The upload is over {max_bytes // 2**20} MB") from None
            return view(*args, **kwargs)
        return wrapper
    return decorator


@blp.post("/decode")
@auth_required()
@upload_limit(decoding.MAX_UPLOAD_BYTES)
@blp.arguments(DecodeInSchema, location="files")
@blp.response(200, DecodeResultSchema)
def decode(files):
    """Every barcode in a photo with its format, symbology identifier, text, corners and what it names.

    An image without a readable barcode gives 200 with an empty list. Refused: other image types (415),
    over 10 MB or 50 megapixels (413), truncated or non-image data (422).
    """
    found = decoding.decode(files["image"].stream)
    substitute, seen = current_app.config["LOTWISE_GS_SUBSTITUTE"], {}
    for barcode in found:  # a label's DataMatrix and GS1-128 carry the same GS1 data: interpret it once
        gs1 = barcode["symbology_identifier"] in scans.GS1_SYMBOLOGIES
        key = ("gs1", barcode["text"]) if gs1 else barcode["scan"]
        if key not in seen:
            seen[key] = scans.describe(db.session, barcode["scan"], substitute)
        barcode["interpretation"] = seen[key]
    return {"barcodes": found}
