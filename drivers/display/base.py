"""One interface for every customer display; each command set encodes it, a transport carries the bytes."""

from __future__ import annotations

from abc import ABC, abstractmethod

from drivers import text as t

AMOUNT_KINDS = ("price", "total", "paid", "change")
LABELS = {"price": "PRICE", "total": "TOTAL", "paid": "PAID", "change": "CHANGE"}
COLUMNS = 20


class Display(ABC):
    def __init__(self, name: str, transport):
        self.name = name
        self.transport = transport

    def open(self) -> None:
        self.transport.open()
        self.transport.write(self.reset())

    def close(self) -> None:
        self.transport.close()

    def show_text(self, upper: str, lower: str = "") -> None:
        self.transport.write(self.encode_text(upper, lower))

    def show_amount(self, kind: str, fen: int, label: str | None = None) -> None:
        if kind not in AMOUNT_KINDS:
            raise ValueError(f"amount kind must be one of {AMOUNT_KINDS}, not {kind!r}")
        self.transport.write(self.encode_amount(kind, fen, label))

    def reset(self) -> bytes:
        return b"\x1b@\x0c"  # ESC @ initialise, FF clear: the same in all three command sets

    @abstractmethod
    def encode_text(self, upper: str, lower: str) -> bytes: ...

    def encode_amount(self, kind: str, fen: int, label: str | None) -> bytes:
        return self.encode_text(label or LABELS[kind], t.pad_left(t.money(fen), COLUMNS))

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc):
        self.close()


def line_bytes(text: str) -> bytes:
    """Twenty columns, measured by East Asian Width; GB18030 for the Chinese VFD fonts."""
    return t.pad_right(text, COLUMNS).encode("gb18030")
