"""Customer displays: 2×20 VFD pole displays (Epson ESC/POS, CD5220) and the 8-digit Chinese LED price display."""

from drivers.display.base import AMOUNT_KINDS, Display

__all__ = ["AMOUNT_KINDS", "Display"]
