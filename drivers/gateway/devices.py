"""Scanners read in their own threads and reopened after hotplug; displays and drawers reopened on use."""

from __future__ import annotations

import logging
import threading

from drivers.errors import DeviceGone

log = logging.getLogger("storeedge.gateway.devices")


class ScannerWorker:
    """Reads one scanner; gone → offline, reopened every ``reopen_seconds`` until it is back."""

    def __init__(self, scanner, on_scan, report, reopen_seconds: float = 1.0):
        self.scanner = scanner
        self.on_scan = on_scan
        self.report = report
        self.reopen_seconds = reopen_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"scanner-{scanner.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.scanner.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.scanner.open()
            except DeviceGone as error:
                self.report(self.scanner.name, "offline", str(error))
                self._stop.wait(self.reopen_seconds)
                continue
            self.report(self.scanner.name, "connected", None)
            try:
                while not self._stop.is_set():
                    for code in self.scanner.read(0.2):
                        self.on_scan(self.scanner.name, code)
            except DeviceGone as error:
                self.report(self.scanner.name, "offline", str(error))
            finally:
                self.scanner.close()


class OnDemand:
    """A display or drawer: opened when first used, and again after a failure (the next use after a replug)."""

    def __init__(self, device, report):
        self.device = device
        self.report = report
        self._open = False
        self._lock = threading.Lock()

    def use(self, action) -> bool:
        with self._lock:
            try:
                if not self._open:
                    opener = getattr(self.device, "open", None)
                    if opener is not None:
                        opener()
                    self._open = True
                action(self.device)
            except DeviceGone as error:
                self._open = False
                close = getattr(self.device, "close", None)
                if close is not None:
                    close()
                self.report(self.device.name, "offline", str(error))
                return False
            self.report(self.device.name, "connected", None)
            return True
