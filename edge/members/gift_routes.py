"""Gifts for points (积分兑换): the gift list (manager), redeeming points for a gift, collecting it, cancelling."""

from __future__ import annotations

from pydantic import Field

from edge.api.registry import Call, Routes, Schema
from edge.members.gifts import MAX_POINTS, MAX_QTY

routes = Routes("gifts")

class GiftIn(Schema):
    name: str = Field(min_length=1, max_length=60)
    points: int = Field(ge=1, le=MAX_POINTS, description="points one gift costs")
    sku: str | None = Field(None, min_length=1, max_length=64,
                            description="product whose stock is taken when the gift is collected")
    active: bool = True
    stock_limit: int | None = Field(None, ge=0, le=1_000_000,
                                    description="most that may be given out; null: no limit")


class GiftPatchIn(Schema):
    name: str | None = Field(None, min_length=1, max_length=60)
    points: int | None = Field(None, ge=1, le=MAX_POINTS)
    sku: str | None = Field(None, min_length=1, max_length=64, description="null unlinks the product")
    active: bool | None = None
    stock_limit: int | None = Field(None, ge=0, le=1_000_000, description="null: no limit")


class GiftsQuery(Schema):
    active_only: bool = Field(False, description="only the gifts offered now")

    model_config = {**Schema.model_config, "strict": False}  # query strings are text


class RedeemIn(Schema):
    gift_id: str = Field(min_length=1, max_length=64)
    qty: int = Field(1, ge=1, le=MAX_QTY)


class CancelIn(Schema):
    reason: str = Field(min_length=1, max_length=200)


@routes.get("/gifts", "The gifts members can take for points", query=GiftsQuery)
def list_gifts(call: Call):
    return {"gifts": call.store.gifts.gifts(active_only=call.query.active_only)}


@routes.post("/gifts", "Add a gift to the list", body=GiftIn, role="manager", status=201)
def add_gift(call: Call):
    gift = call.store.gifts.add(call.caller, **call.body.model_dump())
    return call.store.gifts.gift_dict(gift)


@routes.patch("/gifts/{gift_id}", "Change a gift (null sku unlinks its product, null stock_limit lifts the limit)",
              body=GiftPatchIn, role="manager")
def change_gift(call: Call, gift_id: str):
    gift = call.store.gifts.change(call.caller, gift_id, call.body.model_dump(exclude_unset=True))
    return call.store.gifts.gift_dict(gift)


@routes.post("/members/{member_id}/gift-redemptions", "Take points for a gift; answers with its pickup code",
             body=RedeemIn, status=201)
def redeem_gift(call: Call, member_id: str):
    store = call.store
    redemption = store.gifts.redeem(call.caller, member_id, call.body.gift_id, call.body.qty)
    return {**store.gifts.redemption_dict(redemption), "balance": store.points.balance(redemption.member_id)}


@routes.get("/members/{member_id}/gift-redemptions", "A member's gift redemptions, newest first")
def member_gift_redemptions(call: Call, member_id: str):
    return {"member_id": member_id, "redemptions": call.store.gifts.of_member(member_id)}


@routes.get("/gift-redemptions/{code}", "A gift redemption by its pickup code")
def gift_redemption_by_code(call: Call, code: str):
    return call.store.gifts.redemption_dict(call.store.gifts.by_code(code))


@routes.post("/gift-redemptions/{code}/collect", "Hand the gift over (once); takes its product's stock")
def collect_gift(call: Call, code: str):
    return call.store.gifts.redemption_dict(call.store.gifts.collect(call.caller, code))


@routes.post("/gift-redemptions/{code}/cancel", "Cancel a redemption not yet collected; the points come back",
             body=CancelIn, role="manager")
def cancel_gift_redemption(call: Call, code: str):
    store = call.store
    redemption = store.gifts.cancel(call.caller, code, call.body.reason)
    return {**store.gifts.redemption_dict(redemption), "balance": store.points.balance(redemption.member_id)}
