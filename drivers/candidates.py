"""What a technician can map in [[devices]]: stable device paths and USB printers by vendor:product id."""

from __future__ import annotations

from pathlib import Path

USB_PRINTER_CLASS = "07"


def _links(folder: str, pattern: str = "*") -> list[str]:
    return sorted(str(p) for p in Path(folder).glob(pattern)) if Path(folder).is_dir() else []


def usb_printers(sys_root: str = "/sys/bus/usb/devices") -> list[str]:
    """'vvvv:pppp product' for every USB device with a printer-class interface."""
    found = []
    root = Path(sys_root)
    if not root.is_dir():
        return found
    for device in sorted(root.iterdir()):
        vendor = device / "idVendor"
        if not vendor.exists():
            continue
        classes = {(i / "bInterfaceClass").read_text().strip() for i in device.glob(f"{device.name}:*")
                   if (i / "bInterfaceClass").exists()}
        if USB_PRINTER_CLASS in classes:
            product = (device / "product").read_text().strip() if (device / "product").exists() else ""
            found.append(f"{vendor.read_text().strip()}:{(device / 'idProduct').read_text().strip()} {product}".strip())
    return found


def candidates() -> dict[str, list[str]]:
    return {
        "scanners (evdev)": _links("/dev/input/by-id", "*-event-kbd"),
        "serial ports": _links("/dev/serial/by-id"),
        "printer device files": _links("/dev/usb", "lp*"),
        "USB printers (vendor_id:product_id)": usb_printers(),
    }
