"""Receipt printers: one interface (write bytes, report status) over python-escpos's connection classes."""

from drivers.printer.base import Printer, PrinterStatus

__all__ = ["Printer", "PrinterStatus"]
