"""What every printer backend does: open, write ESC/POS bytes, report its status, close."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass

PAPER = {58: (32, 384), 80: (48, 576)}  # paper width mm: (font A columns, dots per line)


@dataclass(frozen=True)
class PrinterStatus:
    """What DLE EOT told; answered False when the printer cannot answer (a device file, no status)."""

    answered: bool = True
    online: bool = True
    paper_out: bool = False
    paper_near_end: bool = False
    cover_open: bool = False
    error: bool = False

    @property
    def ready(self) -> bool:
        return self.online and not (self.paper_out or self.cover_open or self.error)

    @property
    def problem(self) -> str | None:
        """The state a shop assistant can fix, named as the device state reports it."""
        for flag in ("cover_open", "paper_out", "error"):
            if getattr(self, flag):
                return flag
        return None if self.online else "offline"


@dataclass(frozen=True)
class Rendered:
    """One print-out: the bytes a real printer gets and the text a person (or the virtual printer) reads."""

    escpos: bytes
    text: list[str]


class Printer(ABC):
    def __init__(self, name: str, paper_mm: int = 80, chinese: str = "gb18030", logo: int | str | None = None):
        if paper_mm not in PAPER:
            raise ValueError(f"paper width must be one of {sorted(PAPER)} mm, not {paper_mm}")
        self.name = name
        self.paper_mm = paper_mm
        self.columns, self.dots = PAPER[paper_mm]
        self.logo = logo  # NV image number, or an image file sent as raster
        self.chinese = chinese  # "gb18030": the printer's own Chinese font (FS &); "raster": Chinese as images
        # held by whoever writes: a drawer pulse must not land in the middle of a receipt
        self.lock = threading.RLock()

    @abstractmethod
    def open(self) -> None:
        """Connect; raises DeviceGone when the printer is not there."""

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Send bytes; raises DeviceGone when the printer went away mid-way."""

    @abstractmethod
    def status(self) -> PrinterStatus:
        """Ask the printer (DLE EOT); raises DeviceGone when it does not answer at all."""

    @abstractmethod
    def close(self) -> None:
        """Let go of the connection; safe to call twice."""

    def print(self, rendered: Rendered) -> None:
        self.write(rendered.escpos)

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc):
        self.close()
