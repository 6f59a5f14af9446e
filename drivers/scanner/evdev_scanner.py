"""USB HID keyboard-wedge scanner read through evdev, grabbed so its keys never reach a screen."""

from __future__ import annotations

import errno
import select

import evdev

from drivers.errors import DeviceGone
from drivers.scanner.base import Scanner
from drivers.scanner.keymap import KeyDecoder


class EvdevScanner(Scanner):
    """Needs read access to /dev/input/event* (the input group); path best under /dev/input/by-id."""

    def __init__(self, name: str, path: str, suffix: str = "enter", key_gap: float = 0.05, grab: bool = True):
        super().__init__(name)
        self.path = path
        self.grab = grab
        self.decoder = KeyDecoder(suffix, key_gap)
        self.device: evdev.InputDevice | None = None

    def open(self) -> None:
        try:
            self.device = evdev.InputDevice(self.path)
            if self.grab:  # exclusive: the scan must not also type into whatever has focus
                self.device.grab()
        except OSError as error:
            self.close()
            raise DeviceGone(f"{self.name}: cannot open {self.path}: {error.strerror}") from None

    def read(self, timeout: float) -> list[str]:
        if self.device is None:
            raise DeviceGone(f"{self.name}: not open")
        try:
            ready, _, _ = select.select([self.device.fd], [], [], timeout)
            if not ready:
                return []
            return self.decode(self.device.read())
        except BlockingIOError:
            return []
        except OSError as error:
            if error.errno in (errno.ENODEV, errno.EBADF, errno.EIO):
                raise DeviceGone(f"{self.name}: {self.path} went away") from None
            raise

    def decode(self, events) -> list[str]:
        return [code for code in map(self.decoder.feed, events) if code is not None]

    def close(self) -> None:
        device, self.device = self.device, None
        if device is not None:
            try:
                device.close()  # closing the descriptor also ends the grab
            except OSError:
                pass
