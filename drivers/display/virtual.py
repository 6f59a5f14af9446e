"""The demo's customer display: what it shows, written to a text file in the data folder."""

from __future__ import annotations

from pathlib import Path

from drivers import text as t
from drivers.display.base import COLUMNS, LABELS, Display


class FileShown:
    """A transport that keeps only the two lines on show."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.lines = ["", ""]

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, lines: list[str]) -> None:
        self.lines = lines
        self.path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def close(self) -> None:
        pass


class VirtualDisplay(Display):
    def __init__(self, name: str, folder: Path):
        super().__init__(name, FileShown(Path(folder) / f"{name}.txt"))

    def open(self) -> None:
        self.transport.open()
        self.transport.write(["", ""])

    def encode_text(self, upper: str, lower: str) -> list[str]:
        return [t.pad_right(upper, COLUMNS).rstrip(), t.pad_right(lower, COLUMNS).rstrip()]

    def encode_amount(self, kind: str, fen: int, label: str | None) -> list[str]:
        return self.encode_text(label or LABELS[kind], t.pad_left(t.money(fen, sign=True), COLUMNS))
