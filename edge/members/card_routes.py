"""The member card at the checkout: level, progress, balances, points, coupons, birthday and benefits."""

from __future__ import annotations

from edge.api.registry import Call, Routes
from edge.members.card import member_card

routes = Routes("members")


@routes.get("/members/{member_id}/card", "What the cashier needs to serve a member (personal data masked)")
def card_at_checkout(call: Call, member_id: str):
    return member_card(call.store, member_id)
