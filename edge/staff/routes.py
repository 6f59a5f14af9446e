"""Pairing, login, staff and device endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edge.api.registry import Call, Routes, Schema
from edge.errors import DomainError
from edge.staff.models import Device, Staff

routes = Routes("staff & devices")

Pin = Field(min_length=4, max_length=8, pattern=r"^[0-9]+$")


class PairRequestIn(Schema):
    name: str = Field(min_length=1, max_length=64)
    kind: Literal["terminal", "kiosk", "display"]


class PairClaimIn(Schema):
    secret: str = Field(min_length=1, max_length=128)


class PairDecisionIn(Schema):
    code: str = Field(pattern=r"^[0-9]{6}$")
    lane: int | None = Field(None, ge=1, le=99)


class LoginIn(Schema):
    pin: str = Pin


class StaffIn(Schema):
    name: str = Field(min_length=1, max_length=64)
    role: Literal["cashier", "manager", "admin"]
    pin: str = Pin


# Not replayable: the answer carries the claim secret, and public calls share one key scope, so a stored
# answer would hand the secret to any caller repeating the key and body (and keep it in plain text).
@routes.post("/devices/pair", "A new device asks to pair; shows the code to a manager", body=PairRequestIn,
             auth="public", status=201, replayable=False)
def request_pairing(call: Call):
    request, secret = call.store.staff.request_pairing(call.body.name, call.body.kind)
    return {**request.public(), "secret": secret}


@routes.post("/devices/pair/{request_id}/claim", "The device collects its token once approved",
             body=PairClaimIn, auth="public", replayable=False)
def claim_pairing(call: Call, request_id: str):
    request, device, token = call.store.staff.claim_pairing(request_id, call.body.secret)
    answer = {"id": request.id, "state": request.state}
    if token:
        answer.update(token=token, device=device.public())
    return answer


@routes.get("/devices/pairing", "Pending pairing requests", role="manager")
def pending_pairings(call: Call):
    return {"requests": [r.public() for r in call.store.staff.pending_pairings()]}


@routes.post("/devices/pair/approve", "Approve a pairing code", body=PairDecisionIn, role="manager")
def approve_pairing(call: Call):
    return call.store.staff.decide_pairing(call.body.code, True, call.body.lane, call.caller).public()


@routes.post("/devices/pair/reject", "Reject a pairing code", body=PairDecisionIn, role="manager")
def reject_pairing(call: Call):
    return call.store.staff.decide_pairing(call.body.code, False, None, call.caller).public()


@routes.get("/devices", "Paired devices", role="manager")
def list_devices(call: Call):
    return {"devices": [d.public() for d in Device.select().order_by(Device.id)]}


@routes.delete("/devices/{device_id:int}", "Unpair a device; its token stops working", role="manager")
def revoke_device(call: Call, device_id: int):
    if device_id == call.caller.device_id:
        raise DomainError("a device cannot unpair itself", field="device_id")
    return call.store.staff.revoke_device(device_id, call.caller).public()


@routes.post("/auth/login", "PIN login on a paired device", body=LoginIn, auth="device",
             kinds=("terminal",), replayable=False)
def login(call: Call):
    token, staff, expires = call.store.staff.login(call.caller.device, call.body.pin)
    return {"token": token, "staff": staff.public(), "expires_at": expires}


@routes.post("/auth/logout", "End this session", replayable=False)
def logout(call: Call):
    call.store.staff.logout(call.session_token, call.caller)
    return {"ok": True}


@routes.get("/auth/me", "Who is logged in on this device")
def me(call: Call):
    return {"staff": call.caller.staff.public(), "device": call.caller.device.public()}


@routes.get("/staff", "Staff list", role="manager")
def list_staff(call: Call):
    return {"staff": [s.public() for s in Staff.select().order_by(Staff.id)]}


@routes.post("/staff", "Add a staff member", body=StaffIn, role="admin", status=201)
def add_staff(call: Call):
    return call.store.staff.add_staff(call.body.name, call.body.role, call.body.pin, by=call.caller).public()
