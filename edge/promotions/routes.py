"""Promotion endpoints: any staff member reads them; a manager creates, changes and deactivates them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edge.api.registry import Call, Routes, Schema
from edge.money import MAX_AMOUNT

routes = Routes("promotions")

_Name = Field(min_length=1, max_length=64)


class _PromotionFields(Schema):
    """The fields both creating and changing take; their business rules are checked by the service."""

    percent: int = Field(0, ge=0, le=100, description="category_percent: % off; buy_x_get_y: % off the get units")
    threshold: int = Field(0, ge=0, le=MAX_AMOUNT, description="threshold: 满X, fen")
    amount: int = Field(0, ge=0, le=MAX_AMOUNT, description="threshold: 减Y, fen")
    repeat: bool = Field(False, description="threshold: for every full X (每满X减Y)")
    buy_qty: int = Field(0, ge=0, le=100)
    get_qty: int = Field(0, ge=0, le=100)
    categories: list[str] = Field(default_factory=list, max_length=200)
    skus: list[str] = Field(default_factory=list, max_length=200)
    weekdays: list[int] = Field(default_factory=list, max_length=7, description="ISO: 1 = Monday … 7 = Sunday")
    hours_from: str | None = Field(None, max_length=5, description="HH:MM store-local, daily window start")
    hours_to: str | None = Field(None, max_length=5, description="HH:MM store-local, daily window end")
    member_only: bool = False
    levels: list[str] = Field(default_factory=list, max_length=20, description="only members at these levels")
    priority: int = Field(0, ge=-1000, le=1000)
    exclusive: bool = Field(False, description="its lines take no threshold promotion")
    active: bool = True


class PromotionIn(_PromotionFields):
    id: str | None = Field(None, min_length=1, max_length=64, description="stable id (HQ's); made up when absent")
    name: str = Field(min_length=1, max_length=60)
    kind: Literal["category_percent", "threshold", "buy_x_get_y"]
    starts_at: str = Field(max_length=25, description="store-local YYYY-MM-DDTHH:MM")
    ends_at: str = Field(max_length=25, description="store-local YYYY-MM-DDTHH:MM, exclusive")


class PromotionPatchIn(Schema):
    name: str | None = Field(None, min_length=1, max_length=60)
    kind: Literal["category_percent", "threshold", "buy_x_get_y"] | None = None
    starts_at: str | None = Field(None, max_length=25)
    ends_at: str | None = Field(None, max_length=25)
    percent: int | None = Field(None, ge=0, le=100)
    threshold: int | None = Field(None, ge=0, le=MAX_AMOUNT)
    amount: int | None = Field(None, ge=0, le=MAX_AMOUNT)
    repeat: bool | None = None
    buy_qty: int | None = Field(None, ge=0, le=100)
    get_qty: int | None = Field(None, ge=0, le=100)
    categories: list[str] | None = Field(None, max_length=200)
    skus: list[str] | None = Field(None, max_length=200)
    weekdays: list[int] | None = Field(None, max_length=7)
    hours_from: str | None = Field(None, max_length=5)
    hours_to: str | None = Field(None, max_length=5)
    member_only: bool | None = None
    levels: list[str] | None = Field(None, max_length=20)
    priority: int | None = Field(None, ge=-1000, le=1000)
    exclusive: bool | None = None
    active: bool | None = None


class PromotionQuery(Schema):
    include_inactive: bool = False

    model_config = {**Schema.model_config, "strict": False}


@routes.get("/promotions", "The promotions (active ones unless include_inactive)", query=PromotionQuery)
def list_promotions(call: Call):
    service = call.store.promotions
    return {"promotions": [service.as_dict(p) for p in service.list(call.query.include_inactive)]}


@routes.post("/promotions", "Create a promotion", body=PromotionIn, role="manager", status=201)
def create_promotion(call: Call):
    service = call.store.promotions
    return service.as_dict(service.create(call.caller, call.body.model_dump()))


@routes.get("/promotions/{promotion_id}", "One promotion")
def get_promotion(call: Call, promotion_id: str):
    return call.store.promotions.as_dict(call.store.promotions.get(promotion_id))


@routes.patch("/promotions/{promotion_id}", "Change a promotion (the fields given; null clears hours)",
              body=PromotionPatchIn, role="manager")
def update_promotion(call: Call, promotion_id: str):
    service = call.store.promotions
    return service.as_dict(service.update(call.caller, promotion_id, call.body.model_dump(exclude_unset=True)))


@routes.delete("/promotions/{promotion_id}", "Deactivate a promotion (kept for the sales that used it)",
               role="manager")
def deactivate_promotion(call: Call, promotion_id: str):
    service = call.store.promotions
    return service.as_dict(service.deactivate(call.caller, promotion_id))
