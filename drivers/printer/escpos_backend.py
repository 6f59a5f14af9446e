"""Printers reached through python-escpos's connection classes: network 9100, serial, device file, USB.

python-escpos does the connecting and the raw writes and reads; this adds
what it lacks for a shop: failures as DeviceGone, DLE EOT status read
byte by byte, and no reliance on ``__del__`` to close.
"""

from __future__ import annotations

import socket

import serial
from escpos.exceptions import DeviceNotFoundError

from drivers.errors import DeviceGone
from drivers.printer import status as dle_eot
from drivers.printer.base import Printer, PrinterStatus

_IO_ERRORS = (OSError, serial.SerialException, DeviceNotFoundError, AssertionError)
# opening also meets these: pyusb without a libusb backend (ValueError), python-escpos without pyusb (RuntimeError)
_OPEN_ERRORS = (*_IO_ERRORS, ValueError, RuntimeError)


class EscposPrinter(Printer):
    """A printer whose connection is one python-escpos printer object (``connect`` builds it)."""

    can_answer = True  # a device file is write-only: no status to read
    silence_means_gone = False  # a socket reads empty only at its end; a serial port when nobody answers

    def __init__(self, name: str, connect, paper_mm: int = 80, chinese: str = "gb18030", where: str = "",
                 logo: int | str | None = None):
        super().__init__(name, paper_mm, chinese, logo)
        self.connect = connect
        self.where = where
        self.device = None
        # a printer that left DLE EOT unanswered once is not asked again until reopened: each unanswered
        # question costs the read timeout, before and after every receipt
        self.silent = False

    def open(self) -> None:
        self.close()
        device = self.connect()
        try:
            device.open()
        except _OPEN_ERRORS as error:
            device.device = None  # keeps python-escpos's __del__ from closing a half-open device
            raise DeviceGone(f"{self.name}: cannot open {self.where}: {error}") from None
        self.device = device
        self.silent = False

    def write(self, data: bytes) -> None:
        if self.device is None:
            self.open()
        try:
            self.device._raw(data)
            flush = getattr(self.device, "flush", None)
            if flush is not None:
                flush()
        except _IO_ERRORS as error:
            self.close()
            raise DeviceGone(f"{self.name}: {self.where} went away: {error}") from None

    def _ask(self, kind: int) -> int | None:
        self.device._raw(dle_eot.request(kind))
        answer = self.device._read()
        if not answer:
            if self.silence_means_gone:
                raise ConnectionResetError("the printer closed the connection")
            return None
        # the last status byte: anything before it is an answer to an earlier, timed-out question
        status_bytes = [b for b in answer if dle_eot.is_status_byte(b)]
        return status_bytes[-1] if status_bytes else None

    def status(self) -> PrinterStatus:
        if self.device is None:
            self.open()
        if not self.can_answer or self.silent:
            return PrinterStatus(answered=False)
        try:
            answers = [self._ask(kind) for kind in (dle_eot.PRINTER, dle_eot.OFFLINE_CAUSE, dle_eot.PAPER_SENSOR)]
        except (socket.timeout, TimeoutError):
            answers = [None]
        except _IO_ERRORS as error:
            self.close()
            raise DeviceGone(f"{self.name}: {self.where} went away: {error}") from None
        if None in answers:
            # connected but silent: a printer that cannot answer (or switched off behind a converter)
            self.silent = True
            return PrinterStatus(answered=False)
        return dle_eot.parse(*answers)

    def close(self) -> None:
        device, self.device = self.device, None
        if device is not None:
            try:
                device.close()
            except _IO_ERRORS:
                pass
            device.device = None


class NetworkPrinter(EscposPrinter):
    silence_means_gone = True


def network(name: str, host: str, port: int = 9100, timeout: float = 2.0, **options) -> EscposPrinter:
    from escpos.printer import Network

    return NetworkPrinter(name, lambda: Network(host, port, timeout=timeout), where=f"{host}:{port}", **options)


def serial_port(name: str, path: str, baudrate: int = 9600, timeout: float = 0.3, **options) -> EscposPrinter:
    from escpos.printer import Serial

    return EscposPrinter(name, lambda: Serial(path, baudrate=baudrate, timeout=timeout), where=path, **options)


class FilePrinter(EscposPrinter):
    can_answer = False


def device_file(name: str, path: str, **options) -> EscposPrinter:
    """/dev/usb/lp0 (the usblp kernel driver, lp group): write-only, so no status."""
    from escpos.printer import File

    return FilePrinter(name, lambda: File(path), where=path, **options)


def usb(name: str, vendor_id: int, product_id: int, **options) -> EscposPrinter:
    """Through libusb (pyusb): needs a udev rule giving the lp group the device; untested here (no USB)."""
    from escpos.printer import Usb

    return EscposPrinter(name, lambda: Usb(vendor_id, product_id, timeout=2000),
                         where=f"usb {vendor_id:04x}:{product_id:04x}", **options)
