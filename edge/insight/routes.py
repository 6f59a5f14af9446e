"""Insight endpoints: a member's profile (cashier), tags and rules, the segment builder, the churn list (manager)."""

from __future__ import annotations

from pydantic import Field

from edge.api.registry import Call, Routes, Schema

routes = Routes("insight")

TagName = Field(min_length=1, max_length=32)


class TagIn(Schema):
    name: str = TagName
    group: str = Field("", max_length=32, description="tag group, e.g. 品类偏好")
    kind: str = Field("manual", pattern="^(auto|manual)$", description="auto: set by its rules; manual: by staff")


class RuleIn(Schema):
    category: str = Field(min_length=1, max_length=64, description="category code or name")
    min_times: int = Field(ge=1, le=1000, description="tickets with the category, at least")
    days: int = Field(ge=1, le=3660, description="within the last this many days")


class RulePatchIn(Schema):
    category: str | None = Field(None, min_length=1, max_length=64)
    min_times: int | None = Field(None, ge=1, le=1000)
    days: int | None = Field(None, ge=1, le=3660)
    active: bool | None = None


class MemberTagIn(Schema):
    tag_id: str = Field(min_length=1, max_length=64)


class CriteriaIn(Schema):
    tags_all: list[str] = Field(default_factory=list, max_length=20, description="tag ids the member has, all")
    tags_any: list[str] = Field(default_factory=list, max_length=20, description="tag ids, at least one")
    tags_none: list[str] = Field(default_factory=list, max_length=20, description="tag ids the member lacks")
    segments: list[str] = Field(default_factory=list, max_length=8, description="RFM segments, e.g. 重要价值")
    lifecycles: list[str] = Field(default_factory=list, max_length=5,
                                  description="new, active, at-risk, sleeping, lost")
    levels: list[str] = Field(default_factory=list, max_length=20)
    min_monetary: int | None = Field(None, ge=0, description="net spend at least (fen)")
    max_monetary: int | None = Field(None, ge=0, description="net spend at most (fen)")
    min_p_buy: float | None = Field(None, ge=0, le=1, description="P(buy in 30 days) at least")
    max_p_buy: float | None = Field(None, ge=0, le=1, description="P(buy in 30 days) at most")


class PreviewIn(Schema):
    criteria: CriteriaIn
    limit: int = Field(20, ge=0, le=200, description="members to list with the count")


class SegmentIn(Schema):
    name: str = Field(min_length=1, max_length=40)
    criteria: CriteriaIn


class PageQuery(Schema):
    model_config = {**Schema.model_config, "strict": False}  # query strings are text
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0)


class RefreshIn(Schema):
    full: bool = Field(False, description="every member and a refitted model (slow on a large store)")


@routes.get("/members/{member_id}/profile", "A member's profile: RFM, lifecycle, favourites, predictions, tags")
def profile(call: Call, member_id: str):
    return call.store.insight.profile(member_id)


@routes.get("/insight/status", "The last refresh, the queue of changed members and the fitted model",
            role="manager")
def status(call: Call):
    return call.store.insight.status()


# replayable=False: the refresh writes in short transactions of its own (one request transaction would hold
# the store's write lock, and so the tills, for the whole rebuild); running it again is harmless
@routes.post("/insight/refresh", "Refresh the profiles now (changed members, or all)", body=RefreshIn,
             role="manager", replayable=False)
def refresh(call: Call):
    summary = call.store.insight.refresh(full=call.body.full)
    return {key: summary[key] for key in ("full", "as_of", "members", "queued", "auto_tags", "seconds")}


@routes.get("/insight/tags", "Tags with their group, rules and member counts", role="manager")
def tags(call: Call):
    return {"tags": call.store.insight.tags.all()}


@routes.post("/insight/tags", "Create a tag", body=TagIn, role="manager", status=201)
def create_tag(call: Call):
    tags = call.store.insight.tags
    return tags.tag_dict(tags.create(call.caller, **call.body.model_dump()))


@routes.post("/insight/tags/{tag_id}/rules", "Add an automatic rule to a tag", body=RuleIn, role="manager",
             status=201)
def add_rule(call: Call, tag_id: str):
    tags = call.store.insight.tags
    return tags.rule_dict(tags.add_rule(call.caller, tag_id, **call.body.model_dump()))


@routes.patch("/insight/rules/{rule_id}", "Change or switch off a tag rule", body=RulePatchIn, role="manager")
def change_rule(call: Call, rule_id: str):
    tags = call.store.insight.tags
    return tags.rule_dict(tags.change_rule(call.caller, rule_id, call.body.model_dump(exclude_none=True)))


@routes.post("/members/{member_id}/tags", "Give a member a manual tag", body=MemberTagIn, role="manager",
             status=201)
def tag_member(call: Call, member_id: str):
    call.store.insight.tags.tag_member(call.caller, member_id, call.body.tag_id)
    return {"member_id": member_id, "tags": call.store.insight.tags.of_member(member_id)}


@routes.delete("/members/{member_id}/tags/{tag_id}", "Take a manual tag off a member", role="manager")
def untag_member(call: Call, member_id: str, tag_id: str):
    call.store.insight.tags.untag_member(call.caller, member_id, tag_id)
    return {"member_id": member_id, "tags": call.store.insight.tags.of_member(member_id)}


@routes.post("/insight/segments/preview", "Count (and list) the members matching criteria, live",
             body=PreviewIn, role="manager")
def preview(call: Call):
    segments = call.store.insight.segments
    criteria = call.body.criteria.model_dump()
    return {"count": segments.count(criteria),
            "members": segments.members(criteria, limit=call.body.limit) if call.body.limit else []}


@routes.get("/insight/segments", "Saved segments with their live counts", role="manager")
def saved(call: Call):
    return {"segments": call.store.insight.segments.all()}


@routes.post("/insight/segments", "Save a segment by name", body=SegmentIn, role="manager", status=201)
def save_segment(call: Call):
    segments = call.store.insight.segments
    segment = segments.save(call.caller, name=call.body.name, criteria=call.body.criteria.model_dump())
    return segments.segment_dict(segment)


@routes.put("/insight/segments/{segment_id}", "Change a saved segment's name and criteria", body=SegmentIn,
            role="manager")
def update_segment(call: Call, segment_id: str):
    segments = call.store.insight.segments
    segment = segments.update(call.caller, segment_id, name=call.body.name, criteria=call.body.criteria.model_dump())
    return segments.segment_dict(segment)


@routes.get("/insight/segments/{segment_id}/members", "A saved segment's members (masked)", query=PageQuery,
            role="manager")
def segment_members(call: Call, segment_id: str):
    segments = call.store.insight.segments
    segment = segments.segment_dict(segments.get(segment_id))
    return {**segment, "members": segments.members(segment["criteria"], limit=call.query.limit,
                                                   offset=call.query.offset)}


@routes.get("/insight/churn", "Churn warnings: valuable members at risk or sleeping, unlikely to buy soon",
            query=PageQuery, role="manager")
def churn(call: Call):
    return {"members": call.store.insight.churn(limit=call.query.limit)}
