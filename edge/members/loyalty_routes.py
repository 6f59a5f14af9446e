"""Points and level endpoints: a member's points and level, the manager's adjustments, points about to expire."""

from __future__ import annotations

from pydantic import Field

from edge.api.registry import Call, Routes, Schema
from edge.members.points import MAX_ADJUST

routes = Routes("members")


class ExpiringQuery(Schema):
    days: int = Field(30, ge=0, le=366, description="lots whose last day is within this many days")

    model_config = {**Schema.model_config, "strict": False}  # query strings are text


class AdjustIn(Schema):
    points: int = Field(ge=-MAX_ADJUST, le=MAX_ADJUST, description="signed; not zero")
    reason: str = Field(min_length=1, max_length=200)


@routes.get("/members/points-expiring", "Members with points expiring within N days", query=ExpiringQuery,
            role="manager")
def points_expiring(call: Call):
    return {"days": call.query.days, "members": call.store.points.expiring(call.query.days)}


@routes.get("/members/{member_id}/points", "A member's points: balance, lots, ledger, level and progress")
def member_points(call: Call, member_id: str):
    store = call.store
    member = store.members.find(member_id=member_id)
    return {"member_id": member.id, "balance": store.points.balance(member.id),
            "lots": [{"entry_id": lot.entry.id, "left": lot.left, "expires_on": lot.entry.expires_on}
                     for lot in store.points.lots(member.id)],
            "entries": [store.points.as_dict(e) for e in store.points.entries(member.id)],
            "level": store.levels.progress(member.id), "level_history": store.levels.history(member.id)}


@routes.post("/members/{member_id}/points/adjust", "Add or take points, with a reason", body=AdjustIn,
             role="manager", status=201)
def adjust_points(call: Call, member_id: str):
    entry = call.store.points.adjust(call.caller, member_id, call.body.points, call.body.reason)
    return {**call.store.points.as_dict(entry), "balance": call.store.points.balance(entry.member_id)}
