"""Cash drawers: the ESC/POS pulse through the receipt printer, or a serial trigger box."""

from __future__ import annotations

from drivers.printer.layout import drawer_pulse


class PrinterDrawer:
    """The drawer on the printer's DK port: ESC p on pin 2 or 5."""

    def __init__(self, name: str, printer, pin: int = 2, pulse_ms: int = 100):
        self.name = name
        self.printer = printer
        self.pulse = drawer_pulse(pin, pulse_ms)

    def open_drawer(self) -> None:
        with self.printer.lock:
            self.printer.write(self.pulse)


class SerialDrawer:
    """A trigger box on its own serial port (or the virtual one): any write of the trigger bytes kicks it."""

    def __init__(self, name: str, transport, trigger: bytes = drawer_pulse(2, 100)):
        self.name = name
        self.transport = transport
        self.trigger = trigger

    def open(self) -> None:
        self.transport.open()

    def close(self) -> None:
        self.transport.close()

    def open_drawer(self) -> None:
        self.transport.write(self.trigger)
