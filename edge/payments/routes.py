"""Scan-to-pay endpoints: start a payment from a scanned code, follow it, cancel it.

POST /sales/{id}/payments sends the code to the provider within the request
and answers with the attempt as the provider left it (paid, paying, failed),
so it opens its own short transactions and is not replayed from storage:
the payment code is its own idempotency key, and a retry with the same
code for the same sale answers the same attempt without a second charge.
"""

from __future__ import annotations

from pydantic import Field

from edge.api.registry import Call, Routes, Schema
from edge.money import MAX_AMOUNT

routes = Routes("payments")
MAX_WAIT_MS = 25_000


class PaymentStartIn(Schema):
    code: str = Field(min_length=1, max_length=32, description="the customer's payment code (付款码) as scanned")
    amount: int | None = Field(None, gt=0, le=MAX_AMOUNT, description="fen; omit for everything left to pay")


class PaymentQuery(Schema):
    model_config = {**Schema.model_config, "strict": False}

    wait_ms: int = Field(0, ge=0, le=MAX_WAIT_MS, description="wait up to this long for the state to change")


@routes.post("/sales/{sale_id}/payments", "Start a scan payment (付款码) on the sale", body=PaymentStartIn,
             status=201, replayable=False)
def start(call: Call, sale_id: str):
    payments = call.store.payments
    attempt = payments.start(sale_id, call.caller, call.body.code, call.body.amount, send=False)
    return payments.as_dict(payments.drive(attempt.id, hand_over=True))


@routes.get("/sales/{sale_id}/payments", "The scan payments of a sale")
def of_sale(call: Call, sale_id: str):
    payments = call.store.payments
    call.store.sales.get(sale_id)
    return {"sale_id": sale_id, "payments": [payments.as_dict(a) for a in payments.of_sale(sale_id)]}


@routes.get("/payments/{payment_id}", "One scan payment; wait_ms long-polls for its next state", query=PaymentQuery)
def follow(call: Call, payment_id: str):
    payments = call.store.payments
    return payments.as_dict(payments.wait(payment_id, call.query.wait_ms / 1000))


@routes.post("/payments/{payment_id}/cancel", "Cancel a payment in flight: it is reversed (撤销)")
def cancel(call: Call, payment_id: str):
    payments = call.store.payments
    return payments.as_dict(payments.cancel(payment_id, call.caller))
