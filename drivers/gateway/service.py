"""The gateway: devices from the config, supervised; scans up to web; print, drawer and display commands down.

It is the only process that opens device files. Print jobs live in the
store database (queued by web with the sale); the gateway works them and
is told over the link when there is something new, and looks for itself
at start and every ``print_retry_seconds``, so no job waits on a lost
message.
"""

from __future__ import annotations

import logging

from drivers import factory
from drivers.gateway.devices import OnDemand, ScannerWorker
from drivers.gateway.link import WebLink
from drivers.gateway.printing import PrinterWorker
from edge.field.tls import loopback_context, loopback_url
from edge.hardware.token import gateway_token
from edge.logs import fields

log = logging.getLogger("storeedge.gateway")


class Gateway:
    def __init__(self, store, devices: factory.Devices | None = None, url: str | None = None):
        self.store = store
        self.config = store.config
        settings = self.config.gateway
        self.devices = devices or factory.build(self.config.devices, store.data_dir)
        self.kinds = {s.name: s.kind for s in self.config.devices}
        self._reported: dict[str, tuple] = {}
        self.jobs = store.hardware.jobs
        url = url or settings.url or loopback_url(self.config.web, "/ws/gateway", websocket=True)
        self.link = WebLink(url, gateway_token(store), self.on_message, settings.reopen_seconds,
                            ssl_context=loopback_context(self.config.web.cert_file) if self.config.web.tls else None)
        self.printers = {name: PrinterWorker(printer, self.jobs, self.report, settings.print_retry_seconds,
                                             self._job_done)
                         for name, printer in self.devices.printers.items()}
        self.scanners = [ScannerWorker(scanner, self.on_scan, self.report, settings.reopen_seconds)
                         for scanner in self.devices.scanners.values()]
        self.displays = {name: OnDemand(d, self.report) for name, d in self.devices.displays.items()}
        self.drawers = {name: OnDemand(d, self.report) for name, d in self.devices.drawers.items()}

    # -- running ------------------------------------------------------------------------------

    def start(self) -> None:
        recovered = self.jobs.recover(self.printers)
        if recovered:
            log.warning("%d print job(s) interrupted by the last stop are queued again", recovered)
        for worker in [*self.printers.values(), *self.scanners]:
            worker.start()
        for device in [*self.displays.values(), *self.drawers.values()]:
            device.use(lambda _: None)  # opened now, so its state is known before the first sale
        self.link.start()

    def stop(self) -> None:
        self.link.stop()
        for worker in [*self.scanners, *self.printers.values()]:
            worker.stop()
        for device in [*self.displays.values(), *self.drawers.values()]:
            close = getattr(device.device, "close", None)
            if close is not None:
                close()

    def alive(self) -> bool:
        """Every worker thread still runs (the watchdog pings only then: a dead loop gets the gateway restarted)."""
        return all(worker._thread.is_alive() for worker in [self.link, *self.scanners, *self.printers.values()])

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- up ---------------------------------------------------------------------------------------

    def report(self, name: str, state: str, detail: str | None) -> None:
        if self._reported.get(name) == (state, detail):
            return  # most reports repeat the last one (a display used at every scan): no database read
        self._reported[name] = (state, detail)
        lane = self.devices.lanes.get(name)
        if self.jobs.set_state(name, self.kinds.get(name, "printer"), lane, state, detail):
            log.info("%s: %s%s", name, state, f" ({detail})" if detail else "",
                     extra=fields(device=name, device_state=state, lane=lane))
            self.link.send({"type": "device.state", "name": name, "kind": self.kinds.get(name), "lane": lane,
                            "state": state, "detail": detail})

    def on_scan(self, scanner_name: str, code: str) -> None:
        self.link.send({"type": "scan", "device": scanner_name, "lane": self.devices.lanes.get(scanner_name),
                        "code": code})

    def _job_done(self, job, ok: bool) -> None:
        self.link.send({"type": "job.done" if ok else "job.failed", "job_id": job.id, "printer": job.printer,
                        "ref": job.ref})

    # -- down -------------------------------------------------------------------------------------

    def on_message(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "hello":
            self.wake_printers()
        elif kind == "print":
            self.wake_printers(message.get("printer"))
        elif kind == "sale.completed":
            self.sale_completed(message)
        elif kind == "drawer":
            self.open_drawer(message.get("lane"))
        elif kind == "display":
            self.show(message.get("lane"), message.get("text"), message.get("amount"))

    def wake_printers(self, name: str | None = None) -> None:
        for printer_name, worker in self.printers.items():
            if name is None or name == printer_name:
                worker.wake.set()

    def sale_completed(self, message: dict) -> None:
        """The receipt prints; the drawer opens for cash; the customer sees the change (or the total)."""
        lane = message.get("lane")
        if message.get("cash"):  # first: the cashier makes change while the receipt prints
            self.open_drawer(lane)
        self.wake_printers(message.get("printer"))
        kind, label = ("change", "找零 CHANGE") if message.get("change") else ("total", "合计 TOTAL")
        self.show(lane, [label, f"{message[kind] / 100:.2f}"], {"kind": kind, "fen": message[kind]})

    def _for_lane(self, kind: str, lane) -> OnDemand | None:
        device = self.devices.for_lane(kind, lane)
        group = self.displays if kind == "display" else self.drawers
        return group.get(device.name) if device is not None else None

    def open_drawer(self, lane) -> bool:
        drawer = self._for_lane("drawer", lane)
        return drawer is not None and drawer.use(lambda d: d.open_drawer())

    def show(self, lane, text: list[str] | None, amount: dict | None) -> bool:
        display = self._for_lane("display", lane)
        if display is None:
            return False
        if amount is not None:
            return display.use(lambda d: d.show_amount(amount["kind"], amount["fen"], (text or [None])[0]))
        upper, lower = ((text or []) + ["", ""])[:2]
        return display.use(lambda d: d.show_text(upper, lower))
