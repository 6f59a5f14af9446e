"""Member endpoints: joining, lookup, the manager's changes, export and erasure."""

from __future__ import annotations

from typing import Literal

import segno
from flask import Response
from pydantic import Field, model_validator

from edge.api.registry import Call, Routes, Schema
from edge.members.service import Consent

routes = Routes("members")

PhoneText = Field(min_length=5, max_length=20, description="mainland mobile number, 11 digits, +86 allowed")


class ConsentIn(Schema):
    notice_version: str = Field(min_length=1, max_length=32, description="version of the notice the member saw")
    agreed: Literal[True] = Field(description="the member agreed to the notice")
    purposes: list[str] = Field(min_length=1, max_length=10)
    guardian_name: str | None = Field(None, min_length=1, max_length=40,
                                      description="needed when the member is a child under the minor age")


class MemberIn(Schema):
    phone: str = PhoneText
    name: str | None = Field(None, max_length=40)
    birthday: str | None = Field(None, max_length=10, description="YYYY-MM-DD")
    gender: Literal["female", "male", "other"] | None = None
    consent: ConsentIn


class MemberPatchIn(Schema):
    phone: str | None = Field(None, min_length=5, max_length=20)
    name: str | None = Field(None, max_length=40)
    birthday: str | None = Field(None, max_length=10)
    gender: Literal["female", "male", "other"] | None = None


class MemberQuery(Schema):
    phone: str | None = Field(None, min_length=5, max_length=20)
    code: str | None = Field(None, min_length=1, max_length=32)

    model_config = {**Schema.model_config, "strict": False}

    @model_validator(mode="after")
    def _one_key(self):
        if (self.phone is None) == (self.code is None):
            raise ValueError("give exactly one of phone or code")
        return self


class MergeIn(Schema):
    duplicate_id: str = Field(min_length=1, max_length=64, description="the member folded into this one")


class EraseIn(Schema):
    reason: str = Field(min_length=1, max_length=200)


def _member(call: Call, member) -> dict:
    return call.store.members.as_dict(member)


@routes.get("/members/privacy-notice", "What a customer is told before joining", auth="device",
            kinds=("terminal", "kiosk"))
def privacy_notice(call: Call):
    return call.store.members.privacy_notice()


@routes.post("/members", "Register a member with recorded consent", body=MemberIn, status=201)
def register(call: Call):
    body = call.body
    consent = Consent(notice_version=body.consent.notice_version, purposes=tuple(body.consent.purposes),
                      guardian_name=body.consent.guardian_name)
    member = call.store.members.register(call.caller, phone=body.phone, consent=consent, channel="pos",
                                         name=body.name, birthday=body.birthday, gender=body.gender)
    return _member(call, member)


@routes.get("/members", "Find a member by phone or member code (masked)", query=MemberQuery)
def find(call: Call):
    member = call.store.members.find(phone=call.query.phone, code=call.query.code)
    return {"members": [_member(call, member)]}


@routes.get("/members/{member_id}", "One member (masked)")
def get_member(call: Call, member_id: str):
    return _member(call, call.store.members.find(member_id=member_id))


# Not for kiosks: the code signs a member in there, and a kiosk must never show another member's data.
@routes.get("/members/{member_id}/code.svg", "The member's code as a QR image for a card or phone screen",
            auth="device")
def member_code_image(call: Call, member_id: str):
    member = call.store.members.find(member_id=member_id)
    svg = segno.make_qr(member.code, error="m").svg_inline(scale=6, title=member.code)
    return Response(svg, mimetype="image/svg+xml")


@routes.patch("/members/{member_id}", "Edit a member's details", body=MemberPatchIn, role="manager")
def update(call: Call, member_id: str):
    changes = call.body.model_dump(exclude_unset=True)
    return _member(call, call.store.members.update(call.caller, member_id, changes))


@routes.post("/members/{member_id}/deactivate", "Deactivate a member", role="manager")
def deactivate(call: Call, member_id: str):
    return _member(call, call.store.members.set_active(call.caller, member_id, False))


@routes.post("/members/{member_id}/reactivate", "Reactivate a member", role="manager")
def reactivate(call: Call, member_id: str):
    return _member(call, call.store.members.set_active(call.caller, member_id, True))


@routes.post("/members/{member_id}/merge", "Fold a duplicate member into this one", body=MergeIn, role="manager")
def merge(call: Call, member_id: str):
    return _member(call, call.store.members.merge(call.caller, member_id, call.body.duplicate_id))


# The answer is the member's personal data: never kept for an Idempotency-Key replay.
@routes.post("/members/{member_id}/export", "Everything held about a member, for the member", role="manager",
             replayable=False)
def export(call: Call, member_id: str):
    return call.store.members.export(call.caller, member_id)


@routes.delete("/members/{member_id}", "Erase a member's personal information", body=EraseIn, role="manager")
def erase(call: Call, member_id: str):
    return _member(call, call.store.members.erase(call.caller, member_id, call.body.reason))
