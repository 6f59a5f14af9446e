"""Coupon endpoints: definitions and issuing (manager), lookup and a member's usable coupons (cashier).

Redeeming is not here: a coupon is the tender `coupon` of POST /sales/{id}/complete
({"method": "coupon", "amount": its worth, "reference": its code}).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from edge.api.registry import Call, Routes, Schema
from edge.members.coupons import MAX_ISSUE
from edge.money import MAX_AMOUNT

routes = Routes("coupons")


class DefinitionIn(Schema):
    name: str = Field(min_length=1, max_length=60)
    kind: Literal["amount", "percent", "threshold"]
    value: int = Field(gt=0, le=MAX_AMOUNT, description="fen off (amount, threshold) or percent off (percent)")
    threshold: int = Field(0, ge=0, le=MAX_AMOUNT, description="fen to spend in scope first (满X减Y: X)")
    category: str | None = Field(None, min_length=1, max_length=64, description="only this category's lines")
    valid_from: str = Field(max_length=10, description="YYYY-MM-DD, first business date it may be used")
    valid_to: str = Field(max_length=10, description="YYYY-MM-DD, last business date it may be used")


class IssueIn(Schema):
    member_id: str | None = Field(None, min_length=1, max_length=64)
    level: str | None = Field(None, min_length=1, max_length=32, description="every active member at this level")
    count: int | None = Field(None, ge=1, le=MAX_ISSUE, description="paper coupons for anyone")

    @model_validator(mode="after")
    def _one_target(self):
        if sum(v is not None for v in (self.member_id, self.level, self.count)) != 1:
            raise ValueError("give exactly one of member_id, level or count")
        return self


@routes.post("/coupons/definitions", "Define a coupon", body=DefinitionIn, role="manager", status=201)
def define(call: Call):
    definition = call.store.coupons.define(call.caller, **call.body.model_dump())
    return call.store.coupons.definition_dict(definition)


@routes.post("/coupons/definitions/{definition_id}/issue", "Issue coupons to a member, a level or on paper",
             body=IssueIn, role="manager", status=201)
def issue(call: Call, definition_id: str):
    body = call.body
    coupons = call.store.coupons.issue(call.caller, definition_id, member_id=body.member_id, level=body.level,
                                       count=body.count)
    return {"definition_id": definition_id, "issued": len(coupons),
            "coupons": [{"id": c.id, "code": c.code, "member_id": c.member_id} for c in coupons]}


@routes.get("/coupons/{code}", "One coupon by its code, with its status today")
def by_code(call: Call, code: str):
    return call.store.coupons.coupon_dict(call.store.coupons.by_code(code))


@routes.get("/sales/{sale_id}/coupons/{code}", "What a coupon takes off this sale now: the amount of its tender")
def worth_on_sale(call: Call, sale_id: str, code: str):
    return call.store.coupons.worth_on(sale_id, code)


@routes.get("/members/{member_id}/coupons", "A member's coupons usable today")
def usable(call: Call, member_id: str):
    return {"member_id": member_id, "coupons": call.store.coupons.usable(member_id)}
