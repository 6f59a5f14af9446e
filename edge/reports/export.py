"""CSV for Excel: UTF-8 with a byte-order mark (so Excel reads the Chinese), money in yuan."""

from __future__ import annotations

import csv
import io

BOM = "\ufeff"


def yuan_text(fen: int | None) -> str:
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def to_csv(report: dict) -> str:
    """One header line (money columns marked 元), then one line per row."""
    money = set(report["money"])
    columns = report["columns"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([f"{column} (元)" if column in money else column for column in columns])
    for row in report["rows"]:
        writer.writerow([yuan_text(row[c]) if c in money else _plain(row[c]) for c in columns])
    return BOM + out.getvalue()


def _plain(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
