"""Barcodes in an uploaded photo: a safe image load with Pillow, then zxing-cpp with options fixed here.

Pure functions, no Flask and no database: the API interprets each barcode afterwards (scans.describe).

Safety rules (DESIGN.md, "Labels and barcodes"):
- only JPEG, PNG and WebP are opened, recognised from the content, never the file name or the declared type;
- the pixel count is checked from the header, before any pixel is decoded (a decompression bomb is a small
  file declaring a huge image); Pillow's own bomb check is a second line of defence;
- truncated or garbage data is an error, never a partial image (Pillow's LOAD_TRUNCATED_IMAGES stays off);
- zxing-cpp options are constants of this module: a wrongly typed option aborts the whole process, so no
  value from a request ever reaches them.
"""
from __future__ import annotations

import logging
from typing import IO

import zxingcpp
from PIL import Image, ImageOps

from backend.domain.errors import DomainError

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 50_000_000          # a 48 MP phone photo (8064x6048) still fits
MAX_SIDE = 16_384                # and no absurd strips such as 1 x 50 000 000
FORMATS = ("JPEG", "PNG", "WEBP")

# What zxing-cpp looks for: the GS1 carriers of lot labels (DataMatrix, GS1-128, DataBar, QR for GS1 Digital
# Link), retail and carton codes (EAN/UPC, ITF-14: see _trusted) and the plain codes of location labels
# (Code 128, Code 39).
# (zxing-cpp 3.x: DataBar is the whole family, Expanded and Limited included.)
_BARCODE_FORMATS = (zxingcpp.BarcodeFormat.DataMatrix, zxingcpp.BarcodeFormat.QRCode,
                    zxingcpp.BarcodeFormat.Code128, zxingcpp.BarcodeFormat.Code39, zxingcpp.BarcodeFormat.DataBar,
                    zxingcpp.BarcodeFormat.EAN13, zxingcpp.BarcodeFormat.EAN8, zxingcpp.BarcodeFormat.UPCA,
                    zxingcpp.BarcodeFormat.UPCE, zxingcpp.BarcodeFormat.ITF)
# Fixed keyword options. HRI text mode gives GS1 content as "(01)…(10)…", which scans.interpret reads.
READER_OPTIONS = dict(formats=_BARCODE_FORMATS, try_rotate=True, try_downscale=True, try_invert=True,
                      text_mode=zxingcpp.TextMode.HRI, binarizer=zxingcpp.Binarizer.LocalAverage,
                      is_pure=False, return_errors=False)

# Image types people send that we do not open, by their leading bytes, for a clear 415.
_OTHER_TYPES = ((b"GIF87a", "GIF"), (b"GIF89a", "GIF"), (b"BM", "BMP"), (b"II*\x00", "TIFF"),
                (b"MM\x00*", "TIFF"), (b"\x00\x00\x01\x00", "ICO"), (b"%PDF", "PDF"), (b"<svg", "SVG"),
                (b"<?xml", "SVG/XML"), (b"\xff\x0a", "JPEG XL"), (b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
                (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"), (b"8BPS", "Photoshop"))
_HEIF_BRANDS = {b"heic": "HEIC", b"heix": "HEIC", b"hevc": "HEIC", b"mif1": "HEIF", b"msf1": "HEIF",
                b"avif": "AVIF", b"avis": "AVIF"}
_SEND = "send a JPEG, PNG or WebP photo"


def unsupported(kind: str) -> DomainError:
    """415 for a recognised image type that is not accepted."""
    return DomainError("unsupported_image", f"{kind} images are not supported: {_SEND}", status=415)


def unreadable(why: str) -> DomainError:
    """422 for data that is not a complete JPEG, PNG or WebP image."""
    return DomainError("unreadable_image", f"{why}: {_SEND}", status=422)


def too_large(why: str) -> DomainError:
    """413 for an image over the byte or pixel limits."""
    return DomainError("image_too_large", why, status=413)


def sniff_other(head: bytes) -> str | None:
    """The name of a known, refused image type from the file's first bytes, or None."""
    for magic, name in _OTHER_TYPES:
        if head.startswith(magic):
            return name
    if head[4:8] == b"ftyp":
        return _HEIF_BRANDS.get(head[8:12], "ISO media (HEIF/MP4)")
    return None


def load_gray(stream: IO[bytes]) -> Image.Image:
    """The uploaded image as 8-bit grayscale ("L"), upright per its EXIF orientation.

    `stream` is a seekable binary file (an upload's stream or BytesIO); it is read from its start.
    Raises DomainError: unsupported_image (415), image_too_large (413) or unreadable_image (422).
    """
    stream.seek(0)
    head = stream.read(16)
    stream.seek(0)
    if not head:
        raise unreadable("The file is empty")
    try:
        image = Image.open(stream, formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_large(f"The image has too many pixels (limit {MAX_PIXELS:,})") from None
    except Exception as exc:  # Pillow raises many types on hostile headers; all mean "not one of ours"
        other = sniff_other(head)
        if other:
            raise unsupported(other) from None
        log.info("upload not identified as an image: %s: %s", type(exc).__name__, exc)
        raise unreadable("Not a readable image") from None
    width, height = image.size
    if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
        raise too_large(f"The image is {width}x{height} pixels; the limit is {MAX_PIXELS:,} pixels "
                        f"and {MAX_SIDE:,} per side")
    try:
        return _decode_gray(image)
    except Exception as exc:  # truncated or corrupt pixel data, in any of the decoders' exception types
        log.info("unreadable %s upload: %s: %s", image.format, type(exc).__name__, exc)
        raise unreadable(f"The {image.format} data is truncated or corrupt") from None


def _decode_gray(image: Image.Image) -> Image.Image:
    """Decode the pixels straight to grayscale where the codec can (JPEG), otherwise convert once."""
    if image.format in ("JPEG", "MPO"):  # MPO: a JPEG with more images after it (iPhone HDR gain maps)
        image.draft("L", None)           # libjpeg emits the luma plane directly: no RGB image at all
    image.load()
    if image.mode == "L":
        gray = image
    elif image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        gray = _flatten_on_white(image)  # transparent pixels are often black: a label PNG would vanish
    elif image.mode.startswith("I;16") or image.mode == "I":
        gray = image.point(lambda v: v / 257, "L")  # 16-bit grey: convert("L") would clip, not scale
    else:
        gray = image.convert("L")
    try:
        ImageOps.exif_transpose(gray, in_place=True)
    except Exception as exc:  # a malformed EXIF block: keep the pixels as stored
        log.info("ignoring unreadable EXIF: %s: %s", type(exc).__name__, exc)
    return gray


def _flatten_on_white(image: Image.Image) -> Image.Image:
    """Grayscale of an image with transparency, composited on white."""
    rgba = image.convert("LA")
    white = Image.new("L", rgba.size, 255)
    white.paste(rgba.getchannel("L"), mask=rgba.getchannel("A"))
    white.info = image.info
    return white


def read(gray: Image.Image) -> list[dict]:
    """Every barcode zxing-cpp finds in the grayscale image, as JSON-ready dicts.

    Each: format (zxing-cpp's name, e.g. "DataMatrix"), symbology_identifier (e.g. "]d2"), text (HRI: GS1 as
    "(01)…(10)…"), position (the four corners, in pixels of the upright image) and scan: what a scanner that
    sends AIM symbology identifiers would type, for scans.describe ("]d2" + the element string with GS).
    """
    return [{"format": code.format.name, "symbology_identifier": code.symbology_identifier, "text": code.text,
             "position": _corners(code.position), "scan": scan_string(code)}
            for code in zxingcpp.read_barcodes(gray, **READER_OPTIONS) if _trusted(code)]


def _trusted(code: zxingcpp.Barcode) -> bool:
    """False for ITF without a verified check digit: Interleaved 2 of 5 has no other guard, and a scan line
    crossing only part of an ITF-14 reads as a shorter, wrong number (e.g. 12 of its 14 digits)."""
    return code.symbology_identifier != "]I0"


def scan_string(code: zxingcpp.Barcode) -> str:
    """The symbology identifier, then the data: GS1 as its raw element string (FNC1 as GS), else the text.

    The identifier tells scans.interpret what it reads: GS1 data (]d2, ]C1, ]e0, ]Q3), a GTIN (EAN/UPC ]E0
    and ]E4, ITF-14 ]I1) or a plain code (e.g. ]C0 for a location label).
    """
    if code.content_type == zxingcpp.ContentType.GS1:
        data = code.bytes.decode("ascii", "replace")
    else:
        data = code.text
    return code.symbology_identifier + data


def _corners(position) -> dict:
    """zxing-cpp's Position as {"top_left": {"x", "y"}, …}."""
    return {corner: {"x": point.x, "y": point.y}
            for corner, point in (("top_left", position.top_left), ("top_right", position.top_right),
                                  ("bottom_right", position.bottom_right), ("bottom_left", position.bottom_left))}


def decode(stream: IO[bytes]) -> list[dict]:
    """The barcodes in an uploaded photo (see load_gray and read)."""
    return read(load_gray(stream))
