"""Devices built from the config's [[devices]] sections: the backend named there, or the virtual one."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from drivers.display.led import LedDisplay
from drivers.display.vfd import Cd5220Display, EpsonDisplay
from drivers.display.virtual import VirtualDisplay
from drivers.drawer import PrinterDrawer, SerialDrawer
from drivers.printer import escpos_backend
from drivers.printer.virtual import VirtualPrinter
from drivers.scanner.evdev_scanner import EvdevScanner
from drivers.scanner.serial_scanner import SerialScanner
from drivers.scanner.virtual import VirtualScanner
from drivers.transport import MemoryTransport, SerialTransport

DISPLAYS = {"epson": EpsonDisplay, "cd5220": Cd5220Display}
DEFAULT_BAUD = 9600
LED_BAUD = 2400  # the Chinese LED price displays' usual rate


@dataclass
class Devices:
    """Every configured device by name, and the lane each one serves."""

    scanners: dict = field(default_factory=dict)
    printers: dict = field(default_factory=dict)
    drawers: dict = field(default_factory=dict)
    displays: dict = field(default_factory=dict)
    lanes: dict[str, int | None] = field(default_factory=dict)

    def all(self) -> dict:
        return {**self.scanners, **self.printers, **self.drawers, **self.displays}

    def for_lane(self, kind: str, lane: int | None):
        """The lane's own device of this kind, else one serving no particular lane."""
        group = getattr(self, kind + "s")
        mine = [d for name, d in group.items() if self.lanes.get(name) == lane]
        shared = [d for name, d in group.items() if self.lanes.get(name) is None]
        return (mine or shared or [None])[0]


def scanner(section):
    if section.backend == "virtual":
        return VirtualScanner(section.name)
    if section.backend == "evdev":
        return EvdevScanner(section.name, section.path, section.suffix or "enter", section.key_gap_ms / 1000,
                            section.grab)
    return SerialScanner(section.name, section.path, section.baudrate or DEFAULT_BAUD,
                         section.suffix or "cr", max(section.key_gap_ms / 1000, 0.2))


def printer(section, data_dir: Path):
    options = {"paper_mm": section.paper_mm, "chinese": section.chinese,
               "logo": section.logo_nv if section.logo_nv is not None else section.logo}
    backend = section.backend
    if backend == "virtual":
        return VirtualPrinter(section.name, Path(data_dir) / "receipts", **options)
    if backend == "network":
        return escpos_backend.network(section.name, section.host, section.port or 9100, **options)
    if backend == "serial":
        return escpos_backend.serial_port(section.name, section.path, section.baudrate or DEFAULT_BAUD, **options)
    if backend == "file":
        return escpos_backend.device_file(section.name, section.path, **options)
    return escpos_backend.usb(section.name, section.vendor_id, section.product_id, **options)


def _transport(section, baudrate: int):
    if section.backend == "virtual":
        return MemoryTransport()
    return SerialTransport(section.path, section.baudrate or baudrate)


def drawer(section, printers: dict):
    if section.printer is not None:
        return PrinterDrawer(section.name, printers[section.printer], section.pin, section.pulse_ms)
    return SerialDrawer(section.name, _transport(section, DEFAULT_BAUD))


def display(section, data_dir: Path):
    if section.backend == "virtual":
        return VirtualDisplay(section.name, Path(data_dir) / "displays")
    if section.protocol == "led8":
        return LedDisplay(section.name, _transport(section, LED_BAUD), section.lamp_command)
    return DISPLAYS[section.protocol](section.name, _transport(section, DEFAULT_BAUD))


def build(sections, data_dir: Path) -> Devices:
    devices = Devices()
    for section in sections:
        devices.lanes[section.name] = section.lane
        if section.kind == "scanner":
            devices.scanners[section.name] = scanner(section)
        elif section.kind == "printer":
            devices.printers[section.name] = printer(section, data_dir)
        elif section.kind == "display":
            devices.displays[section.name] = display(section, data_dir)
    for section in sections:  # drawers last: one may pulse through a printer declared after it
        if section.kind == "drawer":
            devices.drawers[section.name] = drawer(section, devices.printers)
    return devices
