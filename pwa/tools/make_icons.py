"""One-off: draw the app icons (192 and 512 px, plain and maskable) with Pillow into pwa/static/icons.

Run `.venv/bin/python pwa/tools/make_icons.py` after changing the design; the PNGs are committed.
The mark: a white DataMatrix-like square with an L-shaped finder on the dark app colour, and a green tick.
Maskable icons keep everything inside the 80 % safe zone and fill the whole square with the background.
"""
from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "static" / "icons"
BACKGROUND = (11, 31, 51)
WHITE = (255, 255, 255)
GREEN = (31, 175, 80)
# a 10x10 module pattern: L finder on the left and bottom, clock track on top and right, some data inside
PATTERN = [
    "1010101010",
    "1101100111",
    "1011010100",
    "1100111011",
    "1010001100",
    "1111011011",
    "1001100100",
    "1110110111",
    "1011001010",
    "1111111111",
]


def draw(size: int, maskable: bool) -> Image.Image:
    scale = 4  # draw large, then downsample for smooth edges
    big = size * scale
    image = Image.new("RGB", (big, big), BACKGROUND)
    d = ImageDraw.Draw(image)
    if not maskable:  # a rounded tile on transparent-looking white corners is not needed: full-bleed square
        pass
    safe = 0.62 if maskable else 0.74  # symbol width as a share of the icon
    symbol = int(big * safe)
    module = symbol // len(PATTERN)
    symbol = module * len(PATTERN)
    x0 = (big - symbol) // 2
    y0 = (big - symbol) // 2 - int(big * 0.02)
    pad = module
    d.rounded_rectangle((x0 - pad, y0 - pad, x0 + symbol + pad, y0 + symbol + pad), radius=module, fill=WHITE)
    for r, row in enumerate(PATTERN):
        for c, bit in enumerate(row):
            if bit == "1":
                d.rectangle((x0 + c * module, y0 + r * module, x0 + (c + 1) * module - 1, y0 + (r + 1) * module - 1),
                            fill=BACKGROUND)
    # the tick badge, bottom right, overlapping the symbol's corner
    radius = int(symbol * 0.24)
    cx, cy = x0 + symbol + pad - radius // 2, y0 + symbol + pad - radius // 2
    d.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=GREEN, outline=WHITE, width=module // 2)
    w = max(4, radius // 4)
    d.line((cx - radius * 0.5, cy + radius * 0.02, cx - radius * 0.12, cy + radius * 0.4, cx + radius * 0.52,
            cy - radius * 0.38), fill=WHITE, width=w, joint="curve")
    return image.resize((size, size), Image.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        draw(size, False).save(OUT / f"icon-{size}.png", optimize=True)
        draw(size, True).save(OUT / f"maskable-{size}.png", optimize=True)
    print("icons written to", OUT)


if __name__ == "__main__":
    main()
