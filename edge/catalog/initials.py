"""Pinyin initials (拼音首字母) of a product name, for the cashier's search: 可口可乐 330ml → kkkl330ml.

Worked out once when a product is written and stored (indexed) with it, never per query. Phrases pick
their common reading (可口可乐 → kkkl, 银行 → yh); letters and digits stay as they are, lower case; spaces
and punctuation go.
"""

from __future__ import annotations

from pypinyin import Style, lazy_pinyin


def initials(name: str) -> str:
    letters = lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default", strict=False)
    return "".join(ch for part in letters for ch in part.lower() if ch.isascii() and ch.isalnum())
