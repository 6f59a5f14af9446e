"""A PNG of a print-out as the paper would show it (the virtual printer's preview): its text lines drawn with
a CJK font (drivers.printer.raster), its QR code drawn by segno."""

from __future__ import annotations

import io
from pathlib import Path

import segno
from PIL import Image

from drivers.printer.raster import LINE_DOTS, text_image

QR_MARK = "[QR "


def _qr_image(payload: str, dots: int) -> Image.Image:
    buffer = io.BytesIO()
    segno.make(payload, error="l").save(buffer, kind="png", scale=4, border=2)
    code = Image.open(io.BytesIO(buffer.getvalue())).convert("1")
    row = Image.new("1", (dots, code.height), 1)
    row.paste(code, ((dots - code.width) // 2, 0))
    return row


def preview(lines: list[str], dots: int, path: Path, font_path: str | None = None) -> Path:
    rows = [_qr_image(line[len(QR_MARK):-1], dots) if line.startswith(QR_MARK) else text_image(line, dots, font_path)
            for line in lines]
    page = Image.new("1", (dots, sum(r.height for r in rows) + LINE_DOTS), 1)
    top = LINE_DOTS // 2
    for row in rows:
        page.paste(row, (0, top))
        top += row.height
    page.save(path, format="PNG")
    return path
