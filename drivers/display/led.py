"""The 8-digit Chinese LED price display (单价/总计/收款/找零 lamps), usually 2400 baud.

The number goes out as ESC Q A digits CR; the lamp below it is set with
ESC s n on some models and STX L n on others, hence ``lamp_command``.
"""

from __future__ import annotations

from drivers import text as t
from drivers.display.base import Display

LAMPS = {"off": b"0", "price": b"1", "total": b"2", "paid": b"3", "change": b"4"}
LAMP_COMMANDS = {"esc_s": b"\x1bs", "stx_l": b"\x02L"}
DIGITS = 8


class LedDisplay(Display):
    def __init__(self, name: str, transport, lamp_command: str = "esc_s"):
        super().__init__(name, transport)
        if lamp_command not in LAMP_COMMANDS:
            raise ValueError(f"lamp_command must be one of {sorted(LAMP_COMMANDS)}, not {lamp_command!r}")
        self.lamp_prefix = LAMP_COMMANDS[lamp_command]

    def lamp(self, kind: str) -> bytes:
        return self.lamp_prefix + LAMPS[kind]

    def encode_amount(self, kind: str, fen: int, label: str | None) -> bytes:
        figure = t.money(fen)
        if sum(c.isdigit() for c in figure) + figure.startswith("-") > DIGITS:
            raise ValueError(f"{figure} does not fit the display's {DIGITS} digits")
        return b"\x1bQA" + figure.encode("ascii") + b"\r" + self.lamp(kind)

    def encode_text(self, upper: str, lower: str) -> bytes:
        """Digits only: text clears the number and every lamp (an idle display)."""
        return b"\x0c" + self.lamp("off")
