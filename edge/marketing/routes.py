"""Marketing endpoints: flows (manager), their validation, dry run, status and journeys; kiosk messages."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field

from edge.api.registry import Call, Routes, Schema
from edge.errors import DomainError
from edge.marketing.graph import MAX_NODES, NODE_TYPES, Reentry

routes = Routes("marketing")

NODE_ID = r"^[A-Za-z0-9_-]{1,32}$"


class NodeIn(Schema):
    id: str = Field(pattern=NODE_ID, description="the node's name in this flow")
    type: Literal[NODE_TYPES]
    kind: str = Field(min_length=1, max_length=32, description="e.g. inactive_days, level, issue_coupon, days")
    params: dict[str, Any] = Field(default_factory=dict, description="the kind's parameters")
    x: int = Field(0, ge=0, le=10_000, description="where the canvas draws it")
    y: int = Field(0, ge=0, le=10_000)


class EdgeIn(Schema):
    start: str = Field(alias="from", pattern=NODE_ID)
    end: str = Field(alias="to", pattern=NODE_ID)
    branch: str | None = Field(None, max_length=16, description="yes/no after a condition, unused/used after a "
                                                               "coupon_unused wait; otherwise none")


class GraphIn(Schema):
    nodes: list[NodeIn] = Field(max_length=MAX_NODES)
    edges: list[EdgeIn] = Field(max_length=3 * MAX_NODES)


class FlowIn(GraphIn):
    name: str = Field(min_length=1, max_length=60)
    reentry: Reentry | None = Field(None, description='may a member enter again? {"mode": "never"} (default) or '
                                                      '{"mode": "after_days", "days": N}: N days after their last '
                                                      'journey in the flow ended')


def reentry(body: FlowIn) -> dict | None:
    return body.reentry.model_dump(exclude_none=True) if body.reentry is not None else None


class DryRunQuery(Schema):
    today: str | None = Field(None, max_length=10, description="YYYY-MM-DD: preview as of this day (default today)")


class RunIn(Schema):
    flow_id: str | None = Field(None, min_length=1, max_length=64, description="one flow; absent: every active one")


def definition(body: GraphIn) -> dict:
    return {"nodes": [node.model_dump() for node in body.nodes],
            "edges": [edge.model_dump(by_alias=True) for edge in body.edges]}


@routes.get("/marketing/flows", "Every flow, with its status", role="manager")
def list_flows(call: Call):
    return {"flows": [call.store.marketing.flow_dict(flow) for flow in call.store.marketing.flows()]}


@routes.post("/marketing/flows", "Save a new flow (a draft)", body=FlowIn, role="manager", status=201)
def create_flow(call: Call):
    flow = call.store.marketing.create(call.caller, call.body.name, definition(call.body), reentry(call.body))
    return call.store.marketing.flow_dict(flow)


@routes.get("/marketing/flows/{flow_id}", "One flow", role="manager")
def get_flow(call: Call, flow_id: str):
    return call.store.marketing.flow_dict(call.store.marketing.get(flow_id))


@routes.patch("/marketing/flows/{flow_id}", "Replace a flow's name and graph, and its re-entry policy when given "
              "(not while it is active)",
              body=FlowIn, role="manager")
def update_flow(call: Call, flow_id: str):
    flow = call.store.marketing.update(call.caller, flow_id, call.body.name, definition(call.body),
                                       reentry(call.body))
    return call.store.marketing.flow_dict(flow)


@routes.delete("/marketing/flows/{flow_id}", "Delete a flow no member has entered", role="manager")
def delete_flow(call: Call, flow_id: str):
    call.store.marketing.delete(call.caller, flow_id)
    return {"id": flow_id, "deleted": True}


@routes.post("/marketing/flows/validate", "Check a flow's graph; each error names its node", body=GraphIn,
             role="manager")
def validate_flow(call: Call):
    problems = call.store.marketing.validate(definition(call.body))
    return {"valid": not problems, "errors": [problem.as_dict() for problem in problems]}


@routes.post("/marketing/flows/{flow_id}/activate", "Start running a valid flow", role="manager")
def activate_flow(call: Call, flow_id: str):
    return call.store.marketing.flow_dict(call.store.marketing.set_status(call.caller, flow_id, active=True))


@routes.post("/marketing/flows/{flow_id}/pause", "Stop running a flow; journeys wait where they are",
             role="manager")
def pause_flow(call: Call, flow_id: str):
    return call.store.marketing.flow_dict(call.store.marketing.set_status(call.caller, flow_id, active=False))


@routes.get("/marketing/flows/{flow_id}/dry-run", "Who a run would reach, per node, with a masked sample",
            query=DryRunQuery, role="manager")
def dry_run_flow(call: Call, flow_id: str):
    today = None
    if call.query.today is not None:
        try:
            today = date.fromisoformat(call.query.today)
        except ValueError:
            raise DomainError("today must be a date, YYYY-MM-DD", field="today") from None
    return call.store.marketing.dry_run(flow_id, today)


@routes.get("/marketing/flows/{flow_id}/journeys", "Members' journeys through a flow, step by step",
            role="manager")
def flow_journeys(call: Call, flow_id: str):
    return call.store.marketing.journeys(flow_id)


# A run may be long: it writes in its own short transactions (200 members each) rather than one holding the
# store's write lock, so checkouts go on meanwhile. Hence not replayed from storage: a retry runs again, and
# enters no member twice.
@routes.post("/marketing/run", "Run active flows now (the daily timer does this too)", body=RunIn, role="manager",
             replayable=False)
def run_flows(call: Call):
    return {"runs": call.store.marketing.run(flow_id=call.body.flow_id)}


@routes.get("/members/{member_id}/messages", "Messages waiting for a member (the till's view)",
            auth="device", kinds=("terminal",))
def member_kiosk_messages(call: Call, member_id: str):
    return {"member_id": member_id, "messages": call.store.marketing.kiosk_messages(member_id)}


@routes.post("/marketing/messages/{message_id}/shown", "The till showed a message: it is not shown again",
             auth="device", kinds=("terminal",))
def kiosk_message_shown(call: Call, message_id: str):
    return call.store.marketing.kiosk_message_shown(call.caller, message_id)


# The kiosk reads only the signed-in member's own messages: a member id from the request would let anyone at the
# kiosk read another member's.
@routes.get("/kiosk/me/messages", "Messages waiting for the member signed in at this kiosk",
            auth="device", kinds=("kiosk",))
def my_kiosk_messages(call: Call):
    session = call.store.kiosk.session(call.caller.device, call.session_token)
    return {"messages": call.store.marketing.kiosk_messages(session.member.id)}


@routes.post("/kiosk/me/messages/{message_id}/shown", "The kiosk showed the signed-in member a message",
             auth="device", kinds=("kiosk",))
def my_kiosk_message_shown(call: Call, message_id: str):
    session = call.store.kiosk.session(call.caller.device, call.session_token)
    return call.store.marketing.kiosk_message_shown(call.caller, message_id, member_id=session.member.id)
