"""Refund rules: never more than was sold, to the original tender or cash, with a manager's approval."""

from __future__ import annotations

import uuid

import peewee

from edge import audit
from edge.db import utc_now
from edge.errors import Conflict, DomainError, NotFound
from edge.money import allocate, round_half_up
from edge.outbox.events import emit
from edge.sales.models import Payment, Refund, RefundLine, RefundPayment, Sale, SaleLine
from edge.staff.service import Caller


REFUND_TO = ("original", "cash")


class RefundService:
    def __init__(self, app):
        self.app = app
        # Like SalesService.completion_listeners: (refund, sale, [(line, qty, amount)], caller) -> event data
        self.refund_listeners: list = []

    def get(self, refund_id: str) -> Refund:
        refund = Refund.get_or_none(Refund.id == refund_id)
        if refund is None:
            raise NotFound(f"no refund {refund_id}", field="refund_id")
        return refund

    def refunded(self, sale: Sale) -> dict[str, tuple[int, int]]:
        """Per sale line: (qty, amount) already refunded."""
        rows = (
            RefundLine.select(RefundLine.sale_line_id, peewee.fn.SUM(RefundLine.qty), peewee.fn.SUM(RefundLine.amount))
            .join(Refund, on=(RefundLine.refund_id == Refund.id))
            .where(Refund.sale_id == sale.id)
            .group_by(RefundLine.sale_line_id)
            .tuples()
        )
        return {line_id: (qty, amount) for line_id, qty, amount in rows}

    def refund(self, caller: Caller, sale_id: str, lines: list[dict] | None, reason: str, to: str,
               approval: dict | None) -> Refund:
        """Refund the whole remaining sale (lines=None) or the given line quantities."""
        if to not in REFUND_TO:
            raise DomainError(f"to must be one of {', '.join(REFUND_TO)}", field="to")
        with self.app.db.transaction():
            sale = self.app.sales.get(sale_id)
            if sale.status != "completed":
                raise Conflict(f"sale {sale_id} is {sale.status}; only a completed sale can be refunded",
                               field="sale_id", code=f"sale_{sale.status}")
            shift = self.app.shifts.require_current(caller.device_id)
            approver = self.app.staff.approve(approval, "a refund", caller)
            sale_lines = {l.id: l for l in self.app.sales.lines(sale)}
            done = self.refunded(sale)
            wanted = self._wanted(lines, sale_lines, done)
            if not wanted:
                raise Conflict("everything on this sale has already been refunded", field="sale_id",
                               code="fully_refunded")
            refund_lines = []
            for line_id, qty in wanted.items():
                line = sale_lines[line_id]
                done_qty, done_amount = done.get(line_id, (0, 0))
                if done_qty + qty == line.qty:
                    amount = line.total - done_amount  # the last part takes the remainder: sums stay exact
                else:
                    amount = round_half_up(line.total * qty, line.qty)
                refund_lines.append((line, qty, amount))
            everything_back = all(
                done.get(l.id, (0, 0))[0] + wanted.get(l.id, 0) == l.qty for l in sale_lines.values()
            )
            # Money back is bounded by what the customer paid (total + cash rounding): a rounded-down
            # sale must not give back the full line prices, and the last refund returns exactly the rest.
            refunded_before = Refund.select(peewee.fn.SUM(Refund.total)).where(Refund.sale_id == sale.id).scalar() or 0
            left_to_return = sale.total + sale.rounding - refunded_before
            lines_amount = sum(a for _, _, a in refund_lines)
            total = left_to_return if everything_back else min(lines_amount, left_to_return)
            payments = self._refund_payments(sale, total, to)
            refund = Refund.create(
                id=str(uuid.uuid4()), refund_no=self.app.sales.next_number(self.app.sales.business_date(), "R"),
                sale_id=sale.id, device_id=caller.device_id, shift_id=shift.id, staff_id=caller.staff_id,
                approved_by=approver.id, reason=reason, total=total, at=utc_now(),
            )
            RefundLine.insert_many([
                {"id": str(uuid.uuid4()), "refund_id": refund.id, "sale_line_id": line.id, "qty": qty, "amount": amount}
                for line, qty, amount in refund_lines
            ]).execute()
            RefundPayment.insert_many([{**p, "id": str(uuid.uuid4()), "refund_id": refund.id} for p in payments]).execute()
            for payment in payments:
                self.app.sales.tenders.get(payment["method"]).give_back(refund, payment, sale, caller)
            self.app.inventory.record([(line.product_id, qty) for line, qty, _ in refund_lines], "refund",
                                      ref=refund.id, staff_id=caller.staff_id)
            snapshot = self.as_dict(refund)
            for listener in self.refund_listeners:
                snapshot.update(listener(refund, sale, refund_lines, caller) or {})
            emit("refund.completed", {**snapshot, "store_id": self.app.config.store.id})
            audit.record("refund.completed", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="refund", entity_id=refund.id,
                         data={"sale_id": sale.id, "total": total, "approved_by": approver.id, "reason": reason})
        return refund

    @staticmethod
    def _wanted(lines: list[dict] | None, sale_lines: dict, done: dict) -> dict[str, int]:
        if lines is None:
            return {lid: l.qty - done.get(lid, (0, 0))[0] for lid, l in sale_lines.items()
                    if l.qty - done.get(lid, (0, 0))[0] > 0}
        wanted: dict[str, int] = {}
        for index, item in enumerate(lines):
            line = sale_lines.get(item["line_id"])
            if line is None:
                raise DomainError(f"line {item['line_id']} is not on this sale", field=f"lines[{index}].line_id")
            qty = item.get("qty")
            if qty is None:
                qty = line.qty - done.get(line.id, (0, 0))[0] - wanted.get(line.id, 0)
            if qty <= 0 and item.get("qty") is not None:
                raise DomainError("qty must be positive", field=f"lines[{index}].qty")
            left = line.qty - done.get(line.id, (0, 0))[0] - wanted.get(line.id, 0)
            if qty > left:
                raise DomainError(f"{line.name}: only {left} left to refund of {line.qty} sold, asked for {qty}",
                                  field=f"lines[{index}].qty", code="refund_exceeds_sale")
            if qty > 0:
                wanted[line.id] = wanted.get(line.id, 0) + qty
        return wanted

    def _refund_payments(self, sale: Sale, total: int, to: str) -> list[dict]:
        """Money back the way it came (in proportion to each tender), or all in cash."""
        if to == "cash":
            return [{"method": "cash", "amount": total, "reference": None}] if total > 0 else []
        paid = list(Payment.select().where((Payment.sale_id == sale.id) & (Payment.amount > 0))
                    .order_by(peewee.SQL("rowid")))
        # Tenders already refunded are taken into account so repeated partial refunds stay in proportion.
        before = dict(
            RefundPayment.select(RefundPayment.method, peewee.fn.SUM(RefundPayment.amount))
            .join(Refund, on=(RefundPayment.refund_id == Refund.id))
            .where(Refund.sale_id == sale.id).group_by(RefundPayment.method).tuples()
        )
        remaining = []
        for p in paid:
            taken = min(before.get(p.method, 0), p.amount)
            before[p.method] = before.get(p.method, 0) - taken
            remaining.append(p.amount - taken)
        shares = allocate(total, remaining)
        return [
            {"method": p.method, "amount": share,
             "reference": self.app.sales.tenders.get(p.method).refund_reference(p.reference)}
            for p, share in zip(paid, shares) if share > 0
        ]

    def as_dict(self, refund: Refund) -> dict:
        in_order = peewee.SQL("rowid")
        lines = RefundLine.select().where(RefundLine.refund_id == refund.id).order_by(in_order)
        payments = RefundPayment.select().where(RefundPayment.refund_id == refund.id).order_by(in_order)
        sale_lines = {l.id: l for l in SaleLine.select().where(SaleLine.sale_id == refund.sale_id)}
        return {
            "id": refund.id, "refund_no": refund.refund_no, "sale_id": refund.sale_id, "total": refund.total,
            "reason": refund.reason, "approved_by": refund.approved_by, "staff_id": refund.staff_id,
            "shift_id": refund.shift_id, "at": refund.at,
            "lines": [{"line_id": l.sale_line_id, "sku": sale_lines[l.sale_line_id].sku,
                       "name": sale_lines[l.sale_line_id].name, "qty": l.qty, "amount": l.amount} for l in lines],
            "payments": [{"method": p.method, "amount": p.amount, "reference": p.reference} for p in payments],
        }
