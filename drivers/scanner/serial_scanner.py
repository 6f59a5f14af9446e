"""A scanner on a serial port (RS-232 or USB CDC): the code, then CR, LF or both."""

from __future__ import annotations

import time

import serial

from drivers.errors import DeviceGone
from drivers.scanner.base import Scanner

SUFFIXES = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n"}


class LineDecoder:
    """Bytes in, codes out: a code ends at CR or LF (CR LF counts once); a partial code older than
    ``key_gap`` seconds when more bytes arrive is thrown away, like a keyboard wedge's stray keys."""

    def __init__(self, suffix: str = "cr", key_gap: float = 0.2, clock=time.monotonic):
        if suffix not in SUFFIXES:
            raise ValueError(f"suffix must be one of {sorted(SUFFIXES)}, not {suffix!r}")
        self.terminators = set(SUFFIXES[suffix])
        self.key_gap = key_gap
        self.clock = clock
        self.buffer = bytearray()
        self.last_byte_at = 0.0

    def feed(self, data: bytes) -> list[str]:
        now = self.clock()
        if self.buffer and now - self.last_byte_at > self.key_gap:
            self.buffer.clear()
        self.last_byte_at = now
        codes = []
        for byte in data:
            if byte in self.terminators or byte in b"\r\n":
                if self.buffer:
                    codes.append(self.buffer.decode("ascii", errors="replace"))
                    self.buffer.clear()
            else:
                self.buffer.append(byte)
        return codes


class SerialScanner(Scanner):
    """Needs the dialout group; path best under /dev/serial/by-id."""

    def __init__(self, name: str, path: str, baudrate: int = 9600, suffix: str = "cr", key_gap: float = 0.2):
        super().__init__(name)
        self.path = path
        self.baudrate = baudrate
        self.decoder = LineDecoder(suffix, key_gap)
        self.port: serial.Serial | None = None

    def open(self) -> None:
        try:
            self.port = serial.Serial(self.path, self.baudrate, timeout=0)
        except (serial.SerialException, OSError) as error:
            self.port = None
            raise DeviceGone(f"{self.name}: cannot open {self.path}: {error}") from None

    def read(self, timeout: float) -> list[str]:
        if self.port is None:
            raise DeviceGone(f"{self.name}: not open")
        try:
            self.port.timeout = timeout
            data = self.port.read(1)
            if not data:
                return []
            self.port.timeout = 0
            data += self.port.read(self.port.in_waiting or 0)
        except (serial.SerialException, OSError) as error:
            raise DeviceGone(f"{self.name}: {self.path} went away: {error}") from None
        return self.decoder.feed(data)

    def close(self) -> None:
        port, self.port = self.port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass
