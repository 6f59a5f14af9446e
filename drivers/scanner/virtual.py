"""A scanner fed by software: the demo's `storeedge scan` and the screens inject codes into it."""

from __future__ import annotations

import queue

from drivers.scanner.base import Scanner


class VirtualScanner(Scanner):
    def __init__(self, name: str):
        super().__init__(name)
        self.codes: queue.Queue[str] = queue.Queue()

    def inject(self, code: str) -> None:
        self.codes.put(code)

    def open(self) -> None:
        pass

    def read(self, timeout: float) -> list[str]:
        try:
            found = [self.codes.get(timeout=timeout)]
        except queue.Empty:
            return []
        while not self.codes.empty():
            found.append(self.codes.get_nowait())
        return found

    def close(self) -> None:
        pass
