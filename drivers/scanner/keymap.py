"""Turning a keyboard wedge's key events back into the characters of a barcode.

A HID scanner types the code as key presses and ends it with Enter (or
Tab). Keys typed by a person, or the tail of a scan that was interrupted,
arrive with longer gaps between them; a gap longer than ``key_gap``
throws away what was collected so far, so stray input never becomes part
of the next code.
"""

from __future__ import annotations

from evdev import ecodes

KEY_DOWN = 1

_PLAIN = {getattr(ecodes, f"KEY_{d}"): d for d in "0123456789"}
_PLAIN.update({getattr(ecodes, f"KEY_{c}"): c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"})
_KEYPAD = {getattr(ecodes, f"KEY_KP{d}"): d for d in "0123456789"}
_PLAIN.update(_KEYPAD)
_PUNCTUATION = {  # key: (plain, with shift), US layout as scanners send it
    ecodes.KEY_MINUS: ("-", "_"), ecodes.KEY_EQUAL: ("=", "+"), ecodes.KEY_LEFTBRACE: ("[", "{"),
    ecodes.KEY_RIGHTBRACE: ("]", "}"), ecodes.KEY_SEMICOLON: (";", ":"), ecodes.KEY_APOSTROPHE: ("'", '"'),
    ecodes.KEY_GRAVE: ("`", "~"), ecodes.KEY_BACKSLASH: ("\\", "|"), ecodes.KEY_COMMA: (",", "<"),
    ecodes.KEY_DOT: (".", ">"), ecodes.KEY_SLASH: ("/", "?"), ecodes.KEY_SPACE: (" ", " "),
    ecodes.KEY_KPMINUS: ("-", "-"), ecodes.KEY_KPPLUS: ("+", "+"), ecodes.KEY_KPDOT: (".", "."),
    ecodes.KEY_KPSLASH: ("/", "/"), ecodes.KEY_KPASTERISK: ("*", "*"),
}
_SHIFTED_DIGITS = dict(zip("1234567890", "!@#$%^&*()"))
SHIFT_KEYS = {ecodes.KEY_LEFTSHIFT, ecodes.KEY_RIGHTSHIFT}
SUFFIX_KEYS = {"enter": {ecodes.KEY_ENTER, ecodes.KEY_KPENTER}, "tab": {ecodes.KEY_TAB}}


def character(code: int, shift: bool) -> str | None:
    if code in _PUNCTUATION:
        return _PUNCTUATION[code][shift]
    plain = _PLAIN.get(code)
    if plain is None:
        return None
    if not shift:
        return plain
    if code in _KEYPAD:
        return plain
    if plain.isdigit():
        return _SHIFTED_DIGITS[plain]
    return plain.upper()


class KeyDecoder:
    """Feed it evdev events; it returns a code when the suffix key completes one."""

    def __init__(self, suffix: str = "enter", key_gap: float = 0.05):
        if suffix not in SUFFIX_KEYS:
            raise ValueError(f"suffix must be one of {sorted(SUFFIX_KEYS)}, not {suffix!r}")
        self.suffix_keys = SUFFIX_KEYS[suffix]
        self.key_gap = key_gap
        self.shift = False
        self.buffer: list[str] = []
        self.last_key_at: float | None = None

    def feed(self, event) -> str | None:
        if event.type != ecodes.EV_KEY:
            return None
        if event.code in SHIFT_KEYS:
            self.shift = event.value != 0  # held (1 or repeat 2) or released (0)
            return None
        if event.value != KEY_DOWN:
            return None
        at = event.timestamp()
        if self.buffer and self.last_key_at is not None and at - self.last_key_at > self.key_gap:
            self.buffer.clear()  # the rest of an interrupted scan, or a person typing: not part of a code
        self.last_key_at = at
        if event.code in self.suffix_keys:
            code, self.buffer = "".join(self.buffer), []
            return code or None
        char = character(event.code, self.shift)
        if char is not None:
            self.buffer.append(char)
        return None
