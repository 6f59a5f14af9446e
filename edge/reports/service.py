"""The reports service: keeps the summaries fresh, answers the reports, keeps the sales targets."""

from __future__ import annotations

import logging
import threading
import uuid

from edge import audit
from edge.db import utc_now
from edge.errors import DomainError, NotFound
from edge.outbox.events import emit
from edge.reports.models import SalesTarget
from edge.reports.queries import Period, Reports
from edge.reports.summaries import Summaries
from edge.staff.models import Staff
from edge.staff.service import Caller

log = logging.getLogger("storeedge.reports")

ROLES = ("salesperson", "cashier")
REFRESH_SECONDS = 60  # the web process folds new sales in this often, so a report seldom waits for it


class ReportsService:
    def __init__(self, app):
        self.app = app
        self.summaries = Summaries(app)
        self.reports = Reports(app)
        self._timer: threading.Event | None = None

    def period(self, first: str | None, last: str | None) -> Period:
        return Period.parse(first, last, self.app.today())

    def fresh(self) -> Reports:
        """The reports, after folding in whatever was sold since the last refresh."""
        self.summaries.refresh()
        return self.reports

    # -- the timer ------------------------------------------------------------------

    def start_background(self, interval: float = REFRESH_SECONDS) -> None:
        """In the web process: refresh the summaries every interval seconds, off the checkout's path."""
        if self._timer is not None:
            return
        self._timer = stop = threading.Event()

        def loop():
            while not stop.wait(interval):
                try:
                    self.summaries.refresh()
                except Exception:
                    log.exception("refreshing the report summaries failed; the next round tries again")

        threading.Thread(target=loop, name="reports-refresh", daemon=True).start()

    def stop_background(self) -> None:
        if self._timer is not None:
            self._timer.set()
            self._timer = None

    # -- sales targets ----------------------------------------------------------------

    def set_target(self, caller: Caller, staff_id: int, role: str, first: str, last: str, amount: int) -> SalesTarget:
        """Set (or replace) one person's target for a period; a manager's decision, audited and sent to HQ."""
        if role not in ROLES:
            raise DomainError(f"role must be one of {', '.join(ROLES)}", field="role")
        if amount <= 0:
            raise DomainError("a target must be a positive amount of fen", field="amount")
        period = self.period(first, last)
        with self.app.db.transaction():
            if not Staff.select().where(Staff.id == staff_id).exists():
                raise NotFound(f"no staff member {staff_id}", field="staff_id")
            target = SalesTarget.get_or_none(
                (SalesTarget.staff_id == staff_id) & (SalesTarget.role == role)
                & (SalesTarget.period_from == period.bounds[0]) & (SalesTarget.period_to == period.bounds[1]))
            before = target.amount if target else None
            if target is None:
                target = SalesTarget(id=str(uuid.uuid4()), staff_id=staff_id, role=role,
                                     period_from=period.bounds[0], period_to=period.bounds[1])
            target.amount, target.set_by, target.set_at = amount, caller.staff_id, utc_now()
            target.save(force_insert=before is None)
            data = {**self.target_dict(target), "before": before, "store_id": self.app.config.store.id}
            emit("sales_target.set", data)
            audit.record("sales_target.set", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="sales_target", entity_id=target.id, data=data)
        return target

    @staticmethod
    def target_dict(target: SalesTarget) -> dict:
        return {"id": target.id, "staff_id": target.staff_id, "role": target.role, "from": target.period_from,
                "to": target.period_to, "amount": target.amount, "set_by": target.set_by, "set_at": target.set_at}

    def targets(self, period: Period) -> list[dict]:
        """Targets whose period overlaps the given one, each with its progress over its own period."""
        reports = self.fresh()
        found = (SalesTarget.select(SalesTarget, Staff.name).join(Staff, on=(Staff.id == SalesTarget.staff_id))
                 .where((SalesTarget.period_from <= period.bounds[1]) & (SalesTarget.period_to >= period.bounds[0]))
                 .order_by(SalesTarget.period_from, SalesTarget.role, SalesTarget.staff_id))
        answer = []
        for target in found:
            own = Period.parse(target.period_from, target.period_to, self.app.today())
            net = reports.net_sales(target.staff_id, target.role, own)
            answer.append({**self.target_dict(target), "name": target.staff.name, "net": net,
                           "progress": round(net / target.amount, 4)})
        return answer
