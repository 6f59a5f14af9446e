"""Text for receipts and displays: width by East Asian Width, and GB18030 for Chinese.

python-escpos pads with len(), which counts 可口可乐 as four columns where
a printer prints eight; every alignment here measures with ``width``.
"""

from __future__ import annotations

import unicodedata

YUAN = "\uffe5"  # ￥ FULLWIDTH YEN SIGN: two bytes in GB18030; ¥ (U+00A5) takes four and prints as garbage


def char_width(char: str) -> int:
    """Columns one character takes on a Chinese printer: 2 for wide, full and ambiguous (×, ·), 0 for combining."""
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F", "A") else 1


def width(text: str) -> int:
    return sum(char_width(c) for c in text)


def clip(text: str, columns: int) -> str:
    """The longest start of text that fits in columns (a wide character never split)."""
    used, out = 0, []
    for char in text:
        used += char_width(char)
        if used > columns:
            break
        out.append(char)
    return "".join(out)


def pad_right(text: str, columns: int) -> str:
    text = clip(text, columns)
    return text + " " * (columns - width(text))


def pad_left(text: str, columns: int) -> str:
    text = clip(text, columns)
    return " " * (columns - width(text)) + text


def center(text: str, columns: int) -> str:
    text = clip(text, columns)
    left = (columns - width(text)) // 2
    return " " * left + text + " " * (columns - width(text) - left)


def spread(left: str, right: str, columns: int) -> str:
    """left and right on one line, the right end flush; the left side gives way when both do not fit."""
    right = clip(right, columns)
    return pad_right(left, columns - width(right)) + right


def wrap(text: str, columns: int) -> list[str]:
    """Lines of at most columns, broken at characters (Chinese has no spaces to break at)."""
    lines, current = [], ""
    for char in text:
        if width(current + char) > columns:
            lines.append(current)
            current = ""
        current += char
    return lines + [current] if current or not lines else lines


def is_ascii(text: str) -> bool:
    return all(ord(c) < 0x80 for c in text)


def money(fen: int, sign: bool = False) -> str:
    """Fen as yuan with two decimals; ￥ in front when sign."""
    text = f"{'-' if fen < 0 else ''}{abs(fen) // 100}.{abs(fen) % 100:02d}"
    return f"{YUAN}{text}" if sign else text
