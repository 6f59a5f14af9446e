"""Shift endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edge.api.registry import Call, Routes, Schema
from edge.errors import NotFound
from edge.money import MAX_AMOUNT

routes = Routes("shifts")

Money = Field(ge=0, le=MAX_AMOUNT)


class ApprovalIn(Schema):
    pin: str = Field(min_length=4, max_length=8, pattern=r"^[0-9]+$")


class ShiftOpenIn(Schema):
    opening_float: int = Money


class CashIn(Schema):
    kind: Literal["in", "out", "no_sale"]
    amount: int = Field(0, ge=0, le=MAX_AMOUNT)
    reason: str = Field(min_length=1, max_length=200)
    approval: ApprovalIn | None = None


class ShiftListQuery(Schema):
    status: Literal["open", "closed"] | None = None
    limit: int = Field(50, ge=1, le=500)

    model_config = {**Schema.model_config, "strict": False}


class ShiftCloseIn(Schema):
    counted_cash: int = Money


def shift_dict(shift) -> dict:
    return {"id": shift.id, "status": shift.status, "device_id": shift.device_id, "lane": shift.lane,
            "opened_by": shift.opened_by, "opened_at": shift.opened_at, "opening_float": shift.opening_float,
            "closed_at": shift.closed_at, "expected_cash": shift.expected_cash,
            "counted_cash": shift.counted_cash, "variance": shift.variance}


@routes.post("/shifts", "Open a shift on this terminal with a cash float", body=ShiftOpenIn, status=201)
def open_shift(call: Call):
    return shift_dict(call.store.shifts.open(call.caller, call.body.opening_float))


@routes.get("/shifts/current", "This terminal's open shift")
def current_shift(call: Call):
    shift = call.store.shifts.current(call.caller.device_id)
    if shift is None:
        raise NotFound("no open shift on this terminal", field="shift_id")
    return shift_dict(shift)


@routes.post("/shifts/{shift_id}/cash", "Cash in, cash out, or open the drawer without a sale (manager PIN)",
             body=CashIn, status=201)
def cash(call: Call, shift_id: str):
    body = call.body
    movement = call.store.shifts.cash_movement(
        shift_id, call.caller, body.kind, body.amount, body.reason,
        approval=body.approval.model_dump() if body.approval else None,
    )
    return {"id": movement.id, "shift_id": shift_id, "kind": movement.kind, "amount": movement.amount,
            "reason": movement.reason, "approved_by": movement.approved_by}


@routes.get("/shifts/{shift_id}/report", "X report while open, Z report once closed")
def report(call: Call, shift_id: str):
    return call.store.shifts.report(call.store.shifts.get(shift_id))


@routes.post("/shifts/{shift_id}/close", "Close with the counted cash; answers the Z report", body=ShiftCloseIn)
def close_shift(call: Call, shift_id: str):
    return call.store.shifts.close(shift_id, call.caller, call.body.counted_cash)


@routes.get("/shifts", "Recent shifts, newest first, for the back office", query=ShiftListQuery, role="manager")
def list_shifts(call: Call):
    return {"shifts": [shift_dict(shift) for shift in call.store.shifts.recent(call.query.status, call.query.limit)]}
