"""Refunds of scan payments through the provider's refund API, as durable as the payments themselves.

A refund of a scan-paid sale writes a ``payment_refund`` row (its own
out_refund_no) in the refund's transaction; once that has committed it is
sent, and every later try first asks whether an earlier one arrived, so a
crash between sending and recording never refunds twice.
"""

from __future__ import annotations

import threading
import time
import uuid

from edge import audit
from edge.db import utc_now
from edge.errors import Conflict
from edge.outbox.events import emit
from edge.payments.models import PaymentRefund, new_out_trade_no


class ProviderRefunds:
    """The refund half of PaymentService: the tender ledger's give_back and the refund driver."""

    def give_back(self, refund, payment: dict, sale, caller) -> None:
        """A refund of a scan payment: recorded as pending with its own out_refund_no, sent once committed."""
        attempt = self.get(payment["reference"])
        done = sum(r.amount for r in PaymentRefund.select().where(PaymentRefund.attempt_id == attempt.id))
        if done + payment["amount"] > attempt.amount:
            raise Conflict(f"scan payment {attempt.id} has only {attempt.amount - done} fen left to refund",
                           field="lines", code="refund_exceeds_payment")
        now = utc_now()
        row = PaymentRefund.create(id=str(uuid.uuid4()), out_refund_no=new_out_trade_no(), attempt_id=attempt.id,
                                   refund_id=refund.id, amount=payment["amount"], state="pending", created_at=now,
                                   updated_at=now, next_at=time.time())
        audit.record("payment.refund_requested", staff_id=caller.staff_id, device_id=caller.device_id,
                     entity="payment_refund", entity_id=row.id,
                     data={"attempt_id": attempt.id, "refund_id": refund.id, "amount": row.amount,
                           "out_refund_no": row.out_refund_no})
        self.app.db.after_commit(lambda: self.kick_refund(row.id))

    def kick_refund(self, refund_row_id: str) -> None:
        if self.background:
            threading.Thread(target=self.drive_refund, args=(refund_row_id,), daemon=True).start()

    def drive_refund(self, refund_row_id: str) -> PaymentRefund:
        """Send the refund (asking first whether an earlier try arrived) until the provider settles it."""
        key = f"refund:{refund_row_id}"
        with self._lock:
            if key in self._driving:
                return PaymentRefund.get_by_id(refund_row_id)
            self._driving.add(key)
        try:
            while True:
                row = PaymentRefund.get_by_id(refund_row_id)
                if row.state != "pending":
                    return row
                time.sleep(max(0.0, row.next_at - time.time()))
                self.step_refund(row)
        finally:
            with self._lock:
                self._driving.discard(key)

    def step_refund(self, row: PaymentRefund) -> None:
        attempt = self.get(row.attempt_id)
        adapter = self.adapter(attempt.provider)
        answer = adapter.query_refund(attempt.out_trade_no, row.out_refund_no)
        if answer.outcome == "not_found":
            answer = adapter.refund(attempt.out_trade_no, row.out_refund_no, row.amount, attempt.amount)
        if answer.outcome in ("success", "failed"):
            to = "refunded" if answer.outcome == "success" else "failed"
            with self.app.db.transaction(durable=True):
                moved = PaymentRefund.update(state=to, provider_refund_id=answer.transaction_id,
                                             reason=answer.message or None, updated_at=utc_now()).where(
                    (PaymentRefund.id == row.id) & (PaymentRefund.state == "pending")).execute()
                if moved:
                    data = {"attempt_id": attempt.id, "refund_id": row.refund_id, "provider": attempt.provider,
                            "amount": row.amount, "out_refund_no": row.out_refund_no, "reason": answer.message}
                    audit.record(f"payment.refund_{to}", entity="payment_refund", entity_id=row.id, data=data)
                    emit("payment.refund_settled", {"id": row.id, "state": to, **data,
                                                    "store_id": self.app.config.store.id})
        else:
            PaymentRefund.update(next_at=time.time() + self.rules.reverse_retry_seconds, updated_at=utc_now()).where(
                PaymentRefund.id == row.id).execute()

