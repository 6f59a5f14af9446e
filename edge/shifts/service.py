"""Shift rules: one open shift per terminal; cash is accounted for at close."""

from __future__ import annotations

import json
import uuid

import peewee

from edge import audit
from edge.db import Prepared, utc_now
from edge.errors import Conflict, DomainError, NotFound
from edge.money import MAX_AMOUNT
from edge.outbox.events import emit
from edge.sales.models import Payment, Refund, RefundPayment, Sale
from edge.shifts.models import CashMovement, Shift
from edge.staff.service import Caller


CASH_MOVEMENT_KINDS = ("in", "out", "no_sale")
_OPEN_SHIFT = Prepared(Shift.select().where((Shift.device_id == Prepared.arg(0)) & (Shift.status == "open")))


class ShiftService:
    def __init__(self, app):
        self.app = app
        # Money other domains take at the till outside sales (stored-value top-ups): each is
        # (shift) -> (name, section); the section's "cash" counts in the drawer's expected cash.
        self.report_sections: list = []
        # called inside the closing transaction with (shift, Z report, caller): the printed Z report
        self.close_listeners: list = []
        # called inside the transaction of each cash movement with (shift, movement, caller): the drawer opens
        self.cash_listeners: list = []

    def current(self, device_id: int) -> Shift | None:
        return _OPEN_SHIFT.first(device_id)

    def require_current(self, device_id: int) -> Shift:
        shift = self.current(device_id)
        if shift is None:
            raise Conflict("no open shift on this terminal: open one first (POST /api/v1/shifts)",
                           code="no_open_shift")
        return shift

    def get(self, shift_id: str) -> Shift:
        shift = Shift.get_or_none(Shift.id == shift_id)
        if shift is None:
            raise NotFound(f"no shift {shift_id}", field="shift_id")
        return shift

    @staticmethod
    def recent(status: str | None, limit: int) -> list[Shift]:
        query = Shift.select().order_by(Shift.opened_at.desc()).limit(limit)
        return list(query.where(Shift.status == status) if status else query)

    def open(self, caller: Caller, opening_float: int) -> Shift:
        if not 0 <= opening_float <= MAX_AMOUNT:
            raise DomainError(f"opening_float must be from 0 to {MAX_AMOUNT} fen", field="opening_float")
        with self.app.db.transaction():
            if self.current(caller.device_id) is not None:
                raise Conflict("this terminal already has an open shift; close it first", code="shift_open")
            shift = Shift.create(
                id=str(uuid.uuid4()), device_id=caller.device_id, lane=caller.device.lane,
                opened_by=caller.staff_id, opened_at=utc_now(), opening_float=opening_float, status="open",
            )
            audit.record("shift.opened", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="shift", entity_id=shift.id, data={"opening_float": opening_float})
        return shift

    def cash_movement(self, shift_id: str, caller: Caller, kind: str, amount: int, reason: str,
                      approval: dict | None = None) -> CashMovement:
        if kind not in CASH_MOVEMENT_KINDS:
            raise DomainError(f"kind must be one of {', '.join(CASH_MOVEMENT_KINDS)}", field="kind")
        with self.app.db.transaction():
            shift = self._own_open_shift(shift_id, caller)
            approver = None
            if kind == "no_sale":
                approver = self.app.staff.approve(approval, "opening the drawer without a sale", caller)
                amount = 0
            elif amount <= 0:
                raise DomainError("amount must be positive", field="amount")
            movement = CashMovement.create(
                id=str(uuid.uuid4()), shift_id=shift.id, kind=kind, amount=amount, reason=reason,
                staff_id=caller.staff_id, approved_by=approver.id if approver else None, at=utc_now(),
            )
            audit.record("drawer.no_sale" if kind == "no_sale" else f"shift.cash_{kind}",
                         staff_id=caller.staff_id, device_id=caller.device_id, entity="shift", entity_id=shift.id,
                         data={"amount": amount, "reason": reason, "approved_by": movement.approved_by})
            for listener in self.cash_listeners:
                listener(shift, movement, caller)
        return movement

    def _own_open_shift(self, shift_id: str, caller: Caller) -> Shift:
        shift = self.get(shift_id)
        if shift.device_id != caller.device_id:
            raise Conflict("this shift belongs to another terminal", field="shift_id")
        if shift.status != "open":
            raise Conflict("this shift is already closed", field="shift_id", code="shift_closed")
        return shift

    def close(self, shift_id: str, caller: Caller, counted_cash: int) -> dict:
        """Close with the counted cash: the Z report, with expected, counted and variance."""
        with self.app.db.transaction():
            shift = self._own_open_shift(shift_id, caller)
            if self.app.sales.current(caller.device_id) is not None:
                raise Conflict("a sale is still open on this terminal: complete, suspend or void it first",
                               field="shift_id", code="sale_open")
            report = self.report(shift)
            expected = report["cash"]["expected"]
            shift.status = "closed"
            shift.closed_by = caller.staff_id
            shift.closed_at = utc_now()
            shift.counted_cash = counted_cash
            shift.expected_cash = expected
            shift.variance = counted_cash - expected
            # the figures are the X report's; closing adds who, when and the count
            report.update(kind="Z", closed_by=shift.closed_by, closed_at=shift.closed_at)
            report["cash"].update(counted=counted_cash, variance=shift.variance)
            shift.report = json.dumps(report, ensure_ascii=False)
            shift.save()
            emit("shift.closed", report)
            for listener in self.close_listeners:
                listener(shift, report, caller)
            audit.record("shift.closed", staff_id=caller.staff_id, device_id=caller.device_id, entity="shift",
                         entity_id=shift.id, data={"expected": expected, "counted": counted_cash,
                                                   "variance": shift.variance})
        return report

    def report(self, shift: Shift) -> dict:
        """The X report (while open) or the figures of a Z report: all from the ledgers."""
        sales = Sale.select().where((Sale.shift_id == shift.id) & (Sale.status == "completed"))
        totals = sales.select(
            peewee.fn.COUNT(Sale.id), peewee.fn.COALESCE(peewee.fn.SUM(Sale.subtotal), 0),
            peewee.fn.COALESCE(peewee.fn.SUM(Sale.discount_total), 0),
            peewee.fn.COALESCE(peewee.fn.SUM(Sale.rounding), 0),
            peewee.fn.COALESCE(peewee.fn.SUM(Sale.total), 0),
        ).tuples().get()
        count, gross, discounts, rounding, net = totals
        tenders = dict(
            Payment.select(Payment.method, peewee.fn.SUM(Payment.amount))
            .join(Sale, on=(Payment.sale_id == Sale.id))
            .where((Sale.shift_id == shift.id) & (Sale.status == "completed"))
            .group_by(Payment.method).tuples()
        )
        refund_rows = Refund.select().where(Refund.shift_id == shift.id)
        refunds_by_tender = dict(
            RefundPayment.select(RefundPayment.method, peewee.fn.SUM(RefundPayment.amount))
            .join(Refund, on=(RefundPayment.refund_id == Refund.id))
            .where(Refund.shift_id == shift.id)
            .group_by(RefundPayment.method).tuples()
        )
        voids = Sale.select().where((Sale.shift_id == shift.id) & (Sale.status == "voided")).count()
        movements = dict(
            CashMovement.select(CashMovement.kind, peewee.fn.SUM(CashMovement.amount))
            .where(CashMovement.shift_id == shift.id).group_by(CashMovement.kind).tuples()
        )
        no_sales = CashMovement.select().where(
            (CashMovement.shift_id == shift.id) & (CashMovement.kind == "no_sale")).count()
        cash_in, cash_out = movements.get("in", 0), movements.get("out", 0)
        sections = dict(section(shift) for section in self.report_sections)
        other_cash = {name: section["cash"] for name, section in sections.items()}
        expected = (shift.opening_float + tenders.get("cash", 0) - refunds_by_tender.get("cash", 0)
                    + cash_in - cash_out + sum(other_cash.values()))
        return {
            "kind": "X" if shift.status == "open" else "Z",
            "shift_id": shift.id, "device_id": shift.device_id, "lane": shift.lane,
            "opened_by": shift.opened_by, "opened_at": shift.opened_at,
            "closed_by": shift.closed_by, "closed_at": shift.closed_at,
            "sales": {"count": count, "gross": gross, "discounts": discounts, "rounding": rounding, "net": net},
            "tenders": tenders,
            "refunds": {"count": refund_rows.count(), "total": sum(refunds_by_tender.values()),
                        "tenders": refunds_by_tender},
            "voids": voids,
            "no_sale_opens": no_sales,
            # each paid-in, paid-out and no-sale with its reason: the Z report says why the drawer moved
            "cash_movements": [{"kind": m.kind, "amount": m.amount, "reason": m.reason, "at": m.at,
                                "staff_id": m.staff_id, "approved_by": m.approved_by}
                               for m in CashMovement.select().where(CashMovement.shift_id == shift.id)
                               .order_by(CashMovement.at, CashMovement.id)],
            **sections,
            "cash": {"opening_float": shift.opening_float, "sales": tenders.get("cash", 0),
                     "refunds": refunds_by_tender.get("cash", 0), "cash_in": cash_in, "cash_out": cash_out,
                     **other_cash, "expected": expected, "counted": shift.counted_cash, "variance": shift.variance},
        }
