"""Synthetic but realistic photos of lot labels, for the decode tests and bench/decode.py.

A label (white card with a square GS1 DataMatrix, a GS1-128 and some text) is pasted on a textured
1280x720 background with uneven lighting, then degraded as a phone photo would be: rotation, perspective,
blur, sensor noise, low contrast, a small symbol in a large frame. Everything is seeded, so a failing
case can be reproduced exactly.
"""
from __future__ import annotations

import io

import numpy as np
import zxingcpp
from PIL import Image, ImageDraw, ImageFilter

FRAME = (1280, 720)


def gs1_text(gtin: str | None, lot: str, expires_on=None, sku: str | None = None) -> str:
    """The bracketed GS1 element string of a lot label: (01) GTIN or (240) SKU, (17) expiry, (10) lot."""
    head = f"(01){gtin}" if gtin else f"(240){sku}"
    expiry = f"(17){expires_on:%y%m%d}" if expires_on else ""
    return f"{head}{expiry}(10){lot}"


def symbol(text: str, fmt: str = "DataMatrix", module: int = 6) -> Image.Image:
    """One barcode rendered by zxing-cpp (GS1 mode, square DataMatrix), `module` pixels per module, quiet zone."""
    if fmt == "DataMatrix":
        code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.DataMatrix, gs1=True, forceSquare=True)
    elif fmt == "Code128":
        code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.Code128, gs1=True)
    else:  # a plain (non-GS1) code, e.g. a location label
        code = zxingcpp.create_barcode(text, getattr(zxingcpp.BarcodeFormat, fmt))
    image = Image.fromarray(np.asarray(code.to_image(scale=1, add_quiet_zones=True)))
    if fmt == "Code128":  # a 1D symbol: stretch the bars to a realistic height
        return image.resize((image.width * module // 2, 40 * module), Image.Resampling.NEAREST)
    return image.resize((image.width * module, image.height * module), Image.Resampling.NEAREST)


def label(text: str, *, module: int = 6, with_128: bool = True) -> Image.Image:
    """A white label card: DataMatrix on the left, human-readable text, and the GS1-128 below."""
    matrix = symbol(text, "DataMatrix", module)
    linear = symbol(text, "Code128", max(2, module // 2)) if with_128 else None
    width = max(matrix.width + 250, linear.width + 40 if linear else 0)
    height = matrix.height + 40 + (linear.height + 20 if linear else 0)
    card = Image.new("L", (width, height), 250)
    card.paste(matrix, (20, 20))
    draw = ImageDraw.Draw(card)
    for i, line in enumerate(text.replace(")(", ")\n(").split("\n")):
        draw.text((matrix.width + 35, 25 + 16 * i), line, fill=20)
    if linear:
        card.paste(linear, ((width - linear.width) // 2, matrix.height + 40))
    return card


def background(rng: np.random.Generator, size=FRAME) -> np.ndarray:
    """A textured surface (blotchy cardboard with fibres) lit unevenly, as float32 grey levels."""
    w, h = size
    coarse = Image.fromarray(rng.integers(0, 256, (h // 40 + 2, w // 40 + 2), dtype=np.uint8), "L")
    smooth = coarse.resize((w, h), Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(12))
    blotch = (np.asarray(smooth, np.float32) - 128) / 40
    grain = rng.normal(0, 1, (h, w)).astype(np.float32)
    fibre = (grain + np.roll(grain, 1, axis=1) + np.roll(grain, 2, axis=1)) / 3  # short horizontal fibres
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 1.0 - 0.35 * ((xx / w - rng.uniform(0.2, 0.8)) ** 2 + (yy / h - rng.uniform(0.2, 0.8)) ** 2)
    return (150 + 18 * blotch + 10 * fibre) * light


def _perspective_coeffs(src, dst) -> list[float]:
    """The 8 coefficients Image.transform(PERSPECTIVE) needs to map output points `dst` to input points `src`."""
    rows = []
    for (x, y), (u, v) in zip(dst, src):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    return np.linalg.solve(np.array(rows, float), np.array(src, float).ravel()).tolist()


def place(canvas: np.ndarray, card: Image.Image, *, center, angle: float = 0.0, scale: float = 1.0,
          skew: float = 0.0) -> None:
    """Paste `card` onto `canvas` (in place): scaled, rotated by `angle` degrees, perspective-skewed by `skew`."""
    card = card.convert("L")
    if scale != 1.0:
        card = card.resize((max(1, round(card.width * scale)), max(1, round(card.height * scale))),
                           Image.Resampling.LANCZOS)
    mask = Image.new("L", card.size, 255)
    if skew:
        w, h = card.size
        d = skew * min(w, h)
        dst = [(0, 0), (w, d * 0.6), (w - d, h - d * 0.3), (d * 0.4, h)]
        coeffs = _perspective_coeffs([(0, 0), (w, 0), (w, h), (0, h)], dst)
        card = card.transform(card.size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC)
        mask = mask.transform(mask.size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC)
    if angle:
        card = card.rotate(angle, Image.Resampling.BICUBIC, expand=True)
        mask = mask.rotate(angle, Image.Resampling.BICUBIC, expand=True)
    x0, y0 = round(center[0] - card.width / 2), round(center[1] - card.height / 2)
    h, w = canvas.shape
    sx0, sy0 = max(0, -x0), max(0, -y0)
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(w, x0 + card.width - sx0), min(h, y0 + card.height - sy0)
    src = np.asarray(card, np.float32)[sy0:sy0 + y1 - y0, sx0:sx0 + x1 - x0]
    alpha = np.asarray(mask, np.float32)[sy0:sy0 + y1 - y0, sx0:sx0 + x1 - x0] / 255.0
    region = canvas[y0:y1, x0:x1]
    region *= 1.0 - alpha
    region += alpha * src


def finish(canvas: np.ndarray, rng: np.random.Generator, *, blur: float = 0.0, noise: float = 3.0,
           contrast: tuple[int, int] | None = None) -> Image.Image:
    """Camera effects on the composed scene: blur, low contrast (map to [lo, hi]), sensor noise."""
    image = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8), "L")
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    pixels = np.asarray(image, np.float32)
    if contrast:
        lo, hi = contrast
        pixels = lo + pixels * ((hi - lo) / 255.0)
    pixels = pixels + rng.normal(0, noise, pixels.shape)
    gray = np.clip(pixels, 0, 255).astype(np.uint8)
    # A colour photo: a slight warm cast, as phone JPEGs are RGB.
    rgb = np.stack([gray, np.clip(gray * 0.97, 0, 255), np.clip(gray * 0.9, 0, 255)], axis=-1).astype(np.uint8)
    return Image.fromarray(rgb, "RGB")


def photo(texts: list[str], *, seed: int = 0, angle: float = 0.0, skew: float = 0.0, blur: float = 0.0,
          noise: float = 3.0, contrast=None, module: int = 6, scale: float = 1.0, with_128: bool = True,
          size=FRAME) -> Image.Image:
    """A photo of one label per text, side by side, with the given degradations."""
    rng = np.random.default_rng(seed)
    canvas = background(rng, size)
    w, h = size
    for i, text in enumerate(texts):
        center = (w * (i + 1) / (len(texts) + 1) + rng.uniform(-20, 20), h / 2 + rng.uniform(-20, 20))
        place(canvas, label(text, module=module, with_128=with_128), center=center, angle=angle, scale=scale,
              skew=skew)
    return finish(canvas, rng, blur=blur, noise=noise, contrast=contrast)


def encode(image: Image.Image, fmt: str = "JPEG", **options) -> bytes:
    """The image file bytes (JPEG quality 85 unless told otherwise)."""
    if fmt == "JPEG":
        options.setdefault("quality", 85)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()
