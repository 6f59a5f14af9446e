"""Helpers for the marketing tests: small flows as data, members with a phone of their own, journeys read back."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from peewee import SQL

from edge.marketing.models import Journey, Step
from edge.members.service import Consent
from tests.domain2_helpers import open_sale_with

AGREED = Consent(notice_version="2026-11", purposes=("membership",))
_PHONES = (str(number) for number in itertools.count(13_700_000_000))


def node(node_id: str, node_type: str, kind: str, x: int = 0, y: int = 0, **params) -> dict:
    return {"id": node_id, "type": node_type, "kind": kind, "params": params, "x": x, "y": y}


def edge(start: str, end: str, branch: str | None = None) -> dict:
    return {"from": start, "to": end, "branch": branch}


def chain(trigger: dict, *following: dict) -> dict:
    """A straight flow: the trigger, then each node in turn."""
    nodes = [trigger, *following]
    return {"nodes": nodes, "edges": [edge(a["id"], b["id"]) for a, b in zip(nodes, nodes[1:])]}


def kiosk_says(text: str = "好久不见，欢迎回来") -> dict:
    return node("a1", "action", "kiosk_message", text=text)


def member(store, caller, **personal):
    return store.members.register(caller, phone=next(_PHONES), consent=AGREED, channel="pos", **personal)


def later(store, days: int) -> date:
    return store.today() + timedelta(days=days)


def backdate_registration(store, member_id: str, days: int) -> None:
    """The member joined ``days`` ago (the store cannot register anyone in the past)."""
    joined = (later(store, -days)).isoformat() + "T08:00:00.000+00:00"
    store.db.peewee.execute_sql("UPDATE member SET registered_at = ? WHERE id = ?", (joined, member_id))


def member_sale(store, caller, person, items):
    """A completed cash sale to the member."""
    sale = open_sale_with(store, caller, items)
    store.sales.set_member(sale.id, caller, person)
    total = store.sales.get(sale.id).total
    return store.sales.complete(sale.id, caller, [{"method": "cash", "amount": total}])


def active_flow(store, manager, definition: dict, name: str = "测试流程", reentry: dict | None = None):
    flow = store.marketing.create(manager, name, definition, reentry)
    return store.marketing.set_status(manager, flow.id, active=True)


def journeys(flow) -> dict[str, str]:
    """member id → journey status."""
    return {j.member_id: j.status for j in Journey.select().where(Journey.flow_id == flow.id)}


def steps(flow, member_id: str) -> list[tuple[str, str]]:
    taken = Step.select().where((Step.flow_id == flow.id) & (Step.member_id == member_id)).order_by(SQL("rowid"))
    return [(s.node_id, s.outcome) for s in taken]


WELCOME = chain(node("t1", "trigger", "registered", x=40, y=40), kiosk_says("欢迎入会"))
FLOW_BODY = {"name": "唤醒沉睡会员", **chain(node("t1", "trigger", "inactive_days", days=30),
                                          node("c1", "condition", "points", min=100), kiosk_says())}
FLOW_BODY["edges"][1]["branch"] = "yes"


def saved_flow(w, body: dict = FLOW_BODY, active: bool = False) -> str:
    """A flow saved (and activated) through the API by the world's manager; returns its id."""
    saved = w.manager.post("/marketing/flows", body)
    assert saved.status_code == 201, saved.json
    if active:
        assert w.manager.post(f"/marketing/flows/{saved.json['id']}/activate").status_code == 200
    return saved.json["id"]


def kiosk_message(w) -> str:
    """A kiosk message waiting for a new member, from a welcome flow (paused again after); returns its id."""
    flow_id = saved_flow(w, {"name": "入会欢迎", **WELCOME}, active=True)
    member_id = w.member()["id"]
    assert w.manager.post(f"/marketing/flows/{flow_id}/pause").status_code == 200
    return w.cashier.get(f"/members/{member_id}/messages").json["messages"][0]["id"]
