"""Text as a raster image (GS v 0) for printers without a Chinese font.

Needs a TrueType font with Chinese glyphs (Noto Sans CJK, WenQuanYi);
``font_path`` names it, else the usual Debian locations are tried, else
Pillow's built-in font (which has no Chinese glyphs: boxes).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from drivers.text import char_width

CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
LINE_DOTS = 24  # font A is 12 × 24 dots: a raster line as tall as a text line
CELL_DOTS = 12  # one column; a wide character takes two, as the printer's own font does


@lru_cache(maxsize=4)
def font(font_path: str | None = None):
    for path in ([font_path] if font_path else []) + list(CANDIDATES):
        if Path(path).exists():
            return ImageFont.truetype(path, LINE_DOTS - 4)
    return ImageFont.load_default(size=LINE_DOTS - 4)


def text_image(text: str, dots: int, font_path: str | None = None) -> Image.Image:
    """The line drawn character by character on the printer's column grid, so columns still line up."""
    image = Image.new("1", (dots, LINE_DOTS), 1)
    draw, face, column = ImageDraw.Draw(image), font(font_path), 0
    for char in text:
        draw.text((column * CELL_DOTS, 1), char, font=face, fill=0)
        column += char_width(char)
    return image


def raster_bytes(image: Image.Image) -> bytes:
    """GS v 0 m xL xH yL yH d…: one bit per dot, 1 = black, rows of whole bytes."""
    width_bytes = (image.width + 7) // 8
    black = image.convert("1").point(lambda v: 0 if v else 1, mode="1")  # PIL's 1 is white
    padded = Image.new("1", (width_bytes * 8, image.height), 0)
    padded.paste(black, (0, 0))
    data = padded.tobytes()
    return (b"\x1dv0\x00" + width_bytes.to_bytes(2, "little") + image.height.to_bytes(2, "little") + data)


@lru_cache(maxsize=8)
def _logo(path: str, mtime: float, dots: int) -> bytes:
    image = Image.open(path).convert("L")
    if image.width > dots:  # never wider than the paper
        image = image.resize((dots, max(1, image.height * dots // image.width)))
    centred = Image.new("L", (dots, image.height), 255)
    centred.paste(image, ((dots - image.width) // 2, 0))
    return raster_bytes(centred.convert("1"))


def logo_bytes(path: str, dots: int) -> bytes:
    """The logo file as GS v 0, converted once per file version and paper width."""
    return _logo(path, Path(path).stat().st_mtime, dots)
