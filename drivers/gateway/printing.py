"""One worker per printer: prints its queued jobs in order, each once, and only when the printer is ready."""

from __future__ import annotations

import logging
import threading

from drivers.errors import DeviceGone
from drivers.printer.document import Receipt, TextPage
from drivers.printer.layout import render
from edge.logs import fields

log = logging.getLogger("storeedge.gateway.printing")


def document_of(data: dict):
    return TextPage.model_validate(data) if data.get("kind") == "text" else Receipt.model_validate(data)


class PrinterWorker:
    def __init__(self, printer, jobs, report, retry_seconds: float = 2.0, on_done=None):
        self.printer = printer
        self.jobs = jobs
        self.report = report  # report(name, state, detail)
        self.retry_seconds = retry_seconds
        self.on_done = on_done or (lambda job, ok: None)
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._open = False
        self._thread = threading.Thread(target=self._run, name=f"printer-{printer.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()
        self._thread.join(timeout=5)
        self.printer.close()

    def _run(self) -> None:
        with self.printer.lock:
            self.ready()  # the state is known from the start, not from the first receipt
        while not self._stop.is_set():
            try:
                with self.printer.lock:
                    worked = self.work()
            except Exception:
                log.exception("printer %s: unexpected failure", self.printer.name, extra=fields(device=self.printer.name))
                worked = False
            if not worked:
                self.wake.wait(self.retry_seconds)
            self.wake.clear()

    def ready(self) -> bool:
        """Opens the printer if need be and asks its status; reports what it found."""
        try:
            if not self._open:
                self.printer.open()
                self._open = True
            status = self.printer.status()
        except DeviceGone as error:
            self._gone(str(error))
            return False
        if status.answered and not status.ready:
            self.report(self.printer.name, "error" if status.problem == "offline" else status.problem, None)
            return False
        self.report(self.printer.name, "connected", None)
        return True

    def _gone(self, detail: str) -> None:
        self.printer.close()
        self._open = False
        self.report(self.printer.name, "offline", detail)

    def work(self) -> bool:
        """Prints what is waiting; False when the printer could not take it (try again later)."""
        waiting = self.jobs.waiting(self.printer.name)
        if not waiting:
            return True
        if not self.ready():
            return False
        for job in waiting:
            if self._stop.is_set():
                return True
            if not self.jobs.claim(job.id):
                continue
            try:
                rendered = render(document_of(self.jobs.document(job)), self.printer.paper_mm, self.printer.chinese,
                                  logo=self.printer.logo)
            except Exception as error:  # a document that cannot be laid out will never print: failed
                self.jobs.fail(job.id, f"cannot lay out: {error}")
                self.on_done(job, False)
                continue
            try:
                self.printer.print(rendered)
                # asked again after the last byte: a printer that went away mid-job (its buffer took
                # the bytes, the paper never saw them) does not answer, and the job goes again whole
                self.printer.status()
            except DeviceGone as error:
                self.jobs.release(job.id, str(error))
                self._gone(str(error))
                return False
            self.jobs.finish(job.id)
            self.on_done(job, True)
        return True
