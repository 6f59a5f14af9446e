"""2×20 VFD pole displays: the Epson ESC/POS customer display set and the CD5220 set."""

from __future__ import annotations

from drivers.display.base import Display, line_bytes


class EpsonDisplay(Display):
    """US $ x y moves the cursor (column x, row y, from 1); text overwrites from there."""

    def encode_text(self, upper: str, lower: str) -> bytes:
        return b"\x1f$\x01\x01" + line_bytes(upper) + b"\x1f$\x01\x02" + line_bytes(lower)


class Cd5220Display(Display):
    """ESC Q A text CR writes the upper line, ESC Q B text CR the lower one."""

    def encode_text(self, upper: str, lower: str) -> bytes:
        return b"\x1bQA" + line_bytes(upper) + b"\r" + b"\x1bQB" + line_bytes(lower) + b"\r"
