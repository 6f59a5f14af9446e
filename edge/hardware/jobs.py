"""Durable print jobs: rows that survive an unplugged printer, paper out and a gateway restart.

A job is queued → printing → done. The gateway claims one (queued →
printing) only when its printer reports ready, and marks it done after the
last byte went out. A printer that fails mid-job puts the job back to
queued and the whole print-out goes again when the printer returns. A
job that cannot be printed at all (a document the layout engine refuses)
is failed. A gateway killed while printing leaves the job 'printing';
``recover`` queues it again at start: the one case where a print-out may
come twice, which the shop prefers to a lost receipt.
"""

from __future__ import annotations

import json
import uuid

from edge.db import Prepared, RowInsert, utc_now
from edge.errors import Conflict, NotFound
from edge.hardware.models import DeviceState, PrintJob

_INSERT_JOB = RowInsert(PrintJob)
_WAITING = Prepared(PrintJob.select().where((PrintJob.printer == Prepared.arg(0)) & (PrintJob.status == "queued"))
                    .order_by(PrintJob.created_at, PrintJob.id))
_CLAIM = Prepared(PrintJob.update(status="printing", attempts=PrintJob.attempts + 1, updated_at=Prepared.arg(0))
                  .where((PrintJob.id == Prepared.arg(1)) & (PrintJob.status == "queued")))
STATES = ("connected", "offline", "paper_out", "cover_open", "error")


class PrintQueue:
    def __init__(self, db):
        self.db = db

    def enqueue(self, printer: str, kind: str, document, ref: str | None = None) -> PrintJob:
        """Joins the caller's transaction, so a sale and its receipt job commit together."""
        now = utc_now()
        job = PrintJob(id=str(uuid.uuid4()), printer=printer, kind=kind, document=document.model_dump_json(),
                       ref=ref, status="queued", attempts=0, created_at=now, updated_at=now)
        with self.db.transaction():
            _INSERT_JOB.rows([job])
        return job

    def waiting(self, printer: str) -> list[PrintJob]:
        return _WAITING.all(printer)

    def claim(self, job_id: str) -> bool:
        """queued → printing; False when another worker (or an earlier run) has it already.

        Not flushed to disk before printing (synchronous NORMAL): the receipt's first byte does not wait for
        an fsync, and a claim lost to a power cut only queues the job again, like a killed gateway."""
        with self.db.transaction(durable=False):
            return _CLAIM.execute(utc_now(), job_id).rowcount == 1

    def _move(self, job_id: str, status: str, error: str | None = None, **extra) -> None:
        with self.db.transaction():
            PrintJob.update(status=status, last_error=error, updated_at=utc_now(), **extra).where(
                PrintJob.id == job_id).execute()

    def finish(self, job_id: str) -> None:
        self._move(job_id, "done", done_at=utc_now())

    def release(self, job_id: str, error: str) -> None:
        """Back to queued: the printer failed; the job prints whole when it returns."""
        self._move(job_id, "queued", error)

    def fail(self, job_id: str, error: str) -> None:
        self._move(job_id, "failed", error)

    def retry(self, job_id: str) -> PrintJob:
        """A failed job queued again by a technician (once what made it fail is mended)."""
        with self.db.transaction():
            job = PrintJob.get_or_none(PrintJob.id == job_id)
            if job is None:
                raise NotFound(f"no print job {job_id}", field="job_id")
            if job.status != "failed":
                raise Conflict(f"print job {job_id} is {job.status}; only a failed job is queued again",
                               field="job_id", code=f"job_{job.status}")
            self._move(job_id, "queued")
        return job

    @staticmethod
    def unfinished() -> list[PrintJob]:
        """Jobs queued, printing or failed, oldest first: what a technician looks at."""
        return list(PrintJob.select().where(PrintJob.status != "done").order_by(PrintJob.created_at, PrintJob.id))

    def recover(self, printers) -> int:
        """At gateway start: jobs left 'printing' by a killed gateway are queued again."""
        with self.db.transaction():
            return PrintJob.update(status="queued", last_error="gateway restarted while printing",
                                   updated_at=utc_now()).where(
                (PrintJob.status == "printing") & PrintJob.printer.in_(list(printers))).execute()

    @staticmethod
    def document(job: PrintJob) -> dict:
        return json.loads(job.document)

    # -- device states ---------------------------------------------------------

    def set_state(self, name: str, kind: str, lane: int | None, state: str, detail: str | None = None) -> bool:
        """Record a device's state; True when the state changed (a new detail alone is recorded quietly)."""
        if state not in STATES:
            raise ValueError(f"device state must be one of {STATES}, not {state!r}")
        with self.db.transaction(durable=False):
            current = DeviceState.get_or_none(DeviceState.name == name)
            if current is not None and (current.state, current.detail) == (state, detail):
                return False
            DeviceState.insert(name=name, kind=kind, lane=lane, state=state, detail=detail,
                               updated_at=utc_now()).on_conflict_replace().execute()
        return current is None or current.state != state

    @staticmethod
    def states() -> list[dict]:
        return [{"name": s.name, "kind": s.kind, "lane": s.lane, "state": s.state, "detail": s.detail,
                 "updated_at": s.updated_at} for s in DeviceState.select().order_by(DeviceState.name)]
