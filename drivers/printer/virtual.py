"""The demo's printer: each print-out written into the data folder as text and as a PNG preview (its bytes kept)."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from drivers.printer.base import Printer, PrinterStatus, Rendered
from drivers.printer.preview import preview


class VirtualPrinter(Printer):
    def __init__(self, name: str, folder: str | Path, paper_mm: int = 80, chinese: str = "gb18030",
                 logo: int | str | None = None):
        super().__init__(name, paper_mm, chinese, logo)
        self.folder = Path(folder)
        self.written = bytearray()
        self._numbers = itertools.count(1)

    def open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)

    def write(self, data: bytes) -> None:
        self.written += data

    def status(self) -> PrinterStatus:
        return PrinterStatus()

    def print(self, rendered: Rendered) -> Path:
        self.write(rendered.escpos)
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{self.name}-{next(self._numbers):04d}.txt"
        path.write_text("\n".join(rendered.text) + "\n", encoding="utf-8")
        preview(rendered.text, self.dots, path.with_suffix(".png"))
        return path

    def close(self) -> None:
        pass
