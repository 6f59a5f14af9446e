"""Stored-value endpoints: top-ups, the member's balance and statement, the payment PIN.

Spending is not here: stored value is a tender of POST /sales/{id}/complete
({"method": "stored_value", "amount", "pin"?}).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edge.api.registry import Call, Routes, Schema
from edge.money import MAX_AMOUNT
from edge.shifts.routes import ApprovalIn

routes = Routes("stored value")

PaymentPin = Field(min_length=6, max_length=6, pattern=r"^[0-9]{6}$")


class TopupIn(Schema):
    amount: int = Field(gt=0, le=MAX_AMOUNT, description="fen paid in (the principal); the bonus tier adds to it")
    method: Literal["cash", "card", "external"]
    reference: str | None = Field(None, max_length=64, description="the card or QR terminal's reference")


class PaymentPinIn(Schema):
    pin: str = PaymentPin
    current_pin: str | None = Field(None, min_length=6, max_length=6, pattern=r"^[0-9]{6}$",
                                    description="needed to change a PIN already set")
    approval: ApprovalIn | None = Field(None, description="a manager's PIN, instead, resets a forgotten PIN")


@routes.post("/members/{member_id}/topups", "Top up a member's stored value (储值充值)", body=TopupIn, status=201)
def top_up(call: Call, member_id: str):
    body = call.body
    topup = call.store.stored_value.top_up(call.caller, member_id, body.amount, body.method, body.reference)
    return call.store.stored_value.topup_dict(topup)


class PayoutIn(Schema):
    reason: str = Field(min_length=1, max_length=200)
    approval: ApprovalIn = Field(description="a manager's PIN")


@routes.post("/members/{member_id}/stored-value/payout",
             "Pay a member's stored value back: the principal in cash, the bonus forfeited (manager PIN)",
             body=PayoutIn, status=201)
def pay_out(call: Call, member_id: str):
    payout = call.store.stored_value.pay_out(call.caller, member_id, call.body.reason,
                                             call.body.approval.model_dump())
    return {"id": payout.id, "member_id": payout.member_id, "principal": payout.principal,
            "bonus_forfeited": payout.bonus_forfeited, "shift_id": payout.shift_id, "at": payout.at,
            "stored_value": call.store.stored_value.balance(payout.member_id).as_dict()}


@routes.get("/members/{member_id}/stored-value", "A member's stored value: balance and latest ledger entries")
def statement(call: Call, member_id: str):
    return call.store.stored_value.statement(member_id)


@routes.post("/members/{member_id}/payment-pin", "Set or change the member's 6-digit payment PIN",
             body=PaymentPinIn)
def set_payment_pin(call: Call, member_id: str):
    body = call.body
    member = call.store.stored_value.set_payment_pin(
        call.caller, member_id, body.pin, body.current_pin, body.approval.model_dump() if body.approval else None)
    return {"member_id": member.id, "payment_pin_set": True}
