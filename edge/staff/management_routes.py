"""Back-office staff endpoints: change a role or deactivate, reset a PIN (with a manager's approval)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edge.api.registry import Call, Routes, Schema
from edge.staff.routes import Pin

routes = Routes("staff & devices")


class StaffChangeIn(Schema):
    role: Literal["cashier", "manager", "admin"] | None = None
    active: bool | None = None


class ApprovalIn(Schema):
    pin: str = Pin


class PinResetIn(Schema):
    pin: str = Pin
    approval: ApprovalIn | None = Field(None, description="a manager's PIN approving the reset")


@routes.patch("/staff/{staff_id:int}", "Change a staff member's role, or deactivate / reactivate them",
              body=StaffChangeIn, role="manager")
def change_staff(call: Call, staff_id: int):
    body = call.body
    return call.store.staff_management.change(staff_id, call.caller, role=body.role, active=body.active).public()


@routes.post("/staff/{staff_id:int}/pin", "Give a staff member a new PIN (manager approval); never shown again",
             body=PinResetIn, role="manager")
def reset_staff_pin(call: Call, staff_id: int):
    approval = call.body.approval.model_dump() if call.body.approval else None
    return call.store.staff_management.reset_pin(staff_id, call.body.pin, approval, call.caller).public()
