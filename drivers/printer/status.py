"""DLE EOT real-time status: the request bytes and how to read the printer's answers."""

from __future__ import annotations

from drivers.printer.base import PrinterStatus

DLE_EOT = b"\x10\x04"
PRINTER, OFFLINE_CAUSE, PAPER_SENSOR = 1, 2, 4
FIXED_BITS = 0x12  # bits 1 and 4 are always set in every answer: anything else is not a status byte


def request(kind: int) -> bytes:
    return DLE_EOT + bytes([kind])


def is_status_byte(value: int) -> bool:
    return value & 0x93 == FIXED_BITS


def parse(printer: int, offline_cause: int, paper: int) -> PrinterStatus:
    return PrinterStatus(
        answered=True,
        online=not printer & 0x08,
        cover_open=bool(offline_cause & 0x04),
        error=bool(offline_cause & 0x40),
        paper_out=bool(paper & 0x60) or bool(offline_cause & 0x20),
        paper_near_end=bool(paper & 0x0C),
    )


def answer_bytes(online: bool = True, cover_open: bool = False, paper_out: bool = False,
                 near_end: bool = False, error: bool = False) -> dict[int, int]:
    """The answers a printer in this state gives to DLE EOT 1, 2 and 4 (what a simulated printer sends)."""
    offline = not online or cover_open or paper_out or error
    return {
        PRINTER: FIXED_BITS | (0x08 if offline else 0),
        OFFLINE_CAUSE: FIXED_BITS | (0x04 if cover_open else 0) | (0x20 if paper_out else 0) | (0x40 if error else 0),
        PAPER_SENSOR: FIXED_BITS | (0x60 if paper_out else 0) | (0x0C if near_end else 0),
    }
