"""What every scanner backend does: open, hand over the codes read, close."""

from __future__ import annotations

from abc import ABC, abstractmethod


class Scanner(ABC):
    """A barcode scanner: ``read`` returns the codes completed within the timeout (often none)."""

    def __init__(self, name: str):
        self.name = name

    @abstractmethod
    def open(self) -> None:
        """Open the device; raises DeviceGone when it is not there."""

    @abstractmethod
    def read(self, timeout: float) -> list[str]:
        """Codes scanned, waiting up to timeout seconds; raises DeviceGone when the device went away."""

    @abstractmethod
    def close(self) -> None:
        """Let go of the device; safe to call twice."""

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc):
        self.close()
