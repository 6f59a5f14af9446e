"""Serial ports shared by displays, drawers and the like: open, write, read, close, failures as DeviceGone."""

from __future__ import annotations

import serial

from drivers.errors import DeviceGone


class SerialTransport:
    """Needs the dialout group; 8N1 at the given baud rate."""

    def __init__(self, path: str, baudrate: int = 9600, timeout: float = 0.5):
        self.path = path
        self.baudrate = baudrate
        self.timeout = timeout
        self.port: serial.Serial | None = None

    def open(self) -> None:
        try:
            self.port = serial.Serial(self.path, self.baudrate, timeout=self.timeout, write_timeout=self.timeout)
        except (serial.SerialException, OSError) as error:
            self.port = None
            raise DeviceGone(f"cannot open {self.path}: {error}") from None

    def write(self, data: bytes) -> None:
        if self.port is None:
            self.open()
        try:
            self.port.write(data)
            self.port.flush()
        except (serial.SerialException, OSError) as error:
            self.close()
            raise DeviceGone(f"{self.path} went away: {error}") from None

    def close(self) -> None:
        port, self.port = self.port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass


class MemoryTransport:
    """The virtual devices' port: keeps every byte written, in order."""

    def __init__(self):
        self.written = bytearray()

    def open(self) -> None:
        pass

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        pass
