"""Barcode scanners: one interface, backends for a USB HID keyboard wedge (evdev), a serial port and a virtual one."""

from drivers.scanner.base import Scanner

__all__ = ["Scanner"]
