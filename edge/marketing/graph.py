"""A flow as data: nodes (trigger, condition, action, wait) joined by edges, and its validation.

Validation is pure (no database): exactly one trigger, edges between known
nodes, every node reachable from the trigger, no cycle without a wait node,
branches that fit their node, and parameters valid for each node's kind.
Every error names the node (or edge) at fault, so the canvas can show it there,
and has a stable code with its parameters (node, type, kind, field, ...), so
the canvas can say it in the manager's language; the English message stays.
What needs the database (a coupon definition, a SKU, a level name) the
service checks on top (edge/marketing/service.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from edge.money import MAX_AMOUNT

NODE_TYPES = ("trigger", "condition", "action", "wait")
MAX_DAYS = 366
MAX_NODES = 100
MAX_TEXT = 200
MAX_REENTRY_DAYS = 3660
REENTRY_MODES = ("never", "after_days")


class Params(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class Days(Params):
    days: int = Field(ge=1, le=MAX_DAYS)


class Window(Params):
    """Events in the last ``days`` days (0: today only)."""

    days: int = Field(0, ge=0, le=MAX_DAYS)


class InterestParams(Days):
    sku: str | None = Field(None, min_length=1, max_length=64, description="one product; absent: any")


class BoughtAButNotB(Days):
    sku_a: str = Field(min_length=1, max_length=64)
    sku_b: str = Field(min_length=1, max_length=64)


class BelowAmount(Params):
    amount: int = Field(gt=0, le=MAX_AMOUNT, description="fen")


class LevelUp(Window):
    level: str | None = Field(None, min_length=1, max_length=32, description="only upgrades to this level")


class Range(Params):
    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _bounded(self):
        if self.min is None and self.max is None:  # custom errors: their type is the canvas's reason code
            raise PydanticCustomError("range_empty", "give min, max or both")
        if self.min is not None and self.max is not None and self.max < self.min:
            raise PydanticCustomError("range_inverted", "max is below min")
        return self


class Levels(Params):
    levels: list[str] = Field(min_length=1, max_length=10)


class TagParams(Params):
    tag_id: str = Field(min_length=1, max_length=64, description="a customer-insight tag (manual or automatic)")


class SegmentParams(Params):
    segment_id: str = Field(min_length=1, max_length=64, description="a saved customer-insight segment")


class Coupon(Params):
    definition_id: str = Field(min_length=1, max_length=64)


class Text(Params):
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class HqMessage(Params):
    channel: Literal["sms", "wechat"]
    template: str = Field(min_length=1, max_length=64, description="the template's name at HQ")


class NoParams(Params):
    pass


class Reentry(Params):
    """Whether a member who has been through a flow may enter it again: never, or ``days`` after the journey ended
    (a yearly birthday flow, a recurring "inactive 30 days"). A journey still waiting keeps the member out."""

    mode: Literal[REENTRY_MODES] = "never"
    days: int | None = Field(None, ge=1, le=MAX_REENTRY_DAYS, description="after_days: days after the last "
                                                                          "journey in the flow ended")

    @property
    def days_or_none(self) -> int | None:
        return self.days if self.mode == "after_days" else None

    @staticmethod
    def of(days: int | None) -> dict:
        """The stored column as the API shows it."""
        return {"mode": "never"} if days is None else {"mode": "after_days", "days": days}


# Per node type: each kind and the parameters it takes.
KINDS: dict[str, dict[str, type[Params]]] = {
    "trigger": {
        "inactive_days": Days, "interest": InterestParams, "birthday": Days, "points_expiring": Days,
        "coupons_expiring": Days, "stored_value_below": BelowAmount, "first_purchase": Window,
        "level_up": LevelUp, "bought_a_not_b": BoughtAButNotB, "registered": Window,
    },
    "condition": {"level": Levels, "total_spend": Range, "points": Range, "stored_value": Range, "visits": Range,
                  "tag": TagParams, "segment": SegmentParams},
    "action": {"issue_coupon": Coupon, "receipt_message": Text, "kiosk_message": Text, "hq_message": HqMessage},
    "wait": {"days": Days, "coupon_unused": Days},
}
# Conditions customer insight answers: kind → (its parameter, the member's set of those the runner found them in).
INSIGHT_CONDITIONS = {"tag": ("tag_id", "tags"), "segment": ("segment_id", "segments")}
# The checkout (sale completion, registration) runs flows with these triggers for the member at hand.
EVENT_TRIGGERS = ("first_purchase", "level_up", "registered")
# Labels on the edges leaving a branching node; every other node has one plain edge out, at most.
BRANCHES = {"condition": ("yes", "no"), "coupon_unused": ("unused", "used")}


@dataclass
class Node:
    id: str
    type: str
    kind: str
    params: dict


@dataclass
class Graph:
    nodes: dict[str, Node]
    edges: list[dict]
    out: dict[str, dict[str | None, str]] = field(default_factory=dict)  # node → branch → next node

    @property
    def trigger(self) -> Node:
        return next(node for node in self.nodes.values() if node.type == "trigger")

    def next(self, node_id: str, branch: str | None = None) -> str | None:
        return self.out.get(node_id, {}).get(branch)

    def parsed(self, node: Node) -> Params:
        return KINDS[node.type][node.kind].model_validate(node.params)


@dataclass
class Problem:
    """One error: a stable ``code`` and its ``params`` (what the canvas translates), the English message, and the
    node and field at fault."""

    code: str
    message: str
    node: str | None = None
    field: str | None = None
    params: dict = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"node": self.node, "field": self.field, "code": self.code,
                "params": {"node": self.node, "field": self.field, **self.params}, "message": self.message}


def about(node: Node, **more) -> dict:
    """A problem's parameters naming the node's type and kind."""
    return {"type": node.type, "kind": node.kind, **more}


def branches_of(node: Node) -> tuple[str, ...] | None:
    if node.type not in ("condition", "wait"):
        return None
    return BRANCHES.get(node.type) or BRANCHES.get(node.kind)


def build(definition: dict) -> tuple[Graph, list[Problem]]:
    """The graph of a stored definition, and every problem found in it (none: it may run)."""
    problems: list[Problem] = []
    nodes: dict[str, Node] = {}
    for raw in definition.get("nodes", []):
        node = Node(raw["id"], raw["type"], raw["kind"], raw.get("params") or {})
        if node.id in nodes:
            problems.append(Problem("duplicate_node", f"two nodes are named {node.id}", node.id, "id"))
        nodes[node.id] = node
    problems += _kind_and_params(nodes.values())
    graph = Graph(nodes, list(definition.get("edges", [])))
    problems += _edges(graph)
    triggers = [node for node in nodes.values() if node.type == "trigger"]
    if len(triggers) != 1:
        names = ", ".join(node.id for node in triggers)
        problems.append(Problem("trigger_count", f"a flow has exactly one trigger; found {len(triggers)}" +
                                (f" ({names})" if names else ""), triggers[1].id if len(triggers) > 1 else None,
                                "nodes", {"count": len(triggers), "triggers": [node.id for node in triggers]}))
    elif not problems:
        problems += _shape(graph, triggers[0])
    return graph, problems


def _kind_and_params(nodes) -> list[Problem]:
    problems = []
    for node in nodes:
        kinds = KINDS.get(node.type)
        if kinds is None:
            problems.append(Problem("unknown_type", f"node {node.id}: type must be one of {', '.join(NODE_TYPES)}",
                                    node.id, "type", about(node, allowed=list(NODE_TYPES))))
        elif node.kind not in kinds:
            problems.append(Problem("unknown_kind", f"node {node.id}: a {node.type} is one of {', '.join(kinds)}",
                                    node.id, "kind", about(node, allowed=list(kinds))))
        else:
            try:
                kinds[node.kind].model_validate(node.params)
            except ValidationError as error:
                for detail in error.errors():
                    where = ".".join(str(part) for part in detail["loc"])
                    limits = {key: value for key, value in (detail.get("ctx") or {}).items()
                              if isinstance(value, (int, str))}  # ge, le, max_length, expected, ...
                    problems.append(Problem("bad_param", f"node {node.id} ({node.kind}): "
                                            f"{where + ': ' if where else ''}{detail['msg']}", node.id,
                                            f"params.{where}" if where else "params",
                                            about(node, param=where, reason=detail["type"], **limits)))
    return problems


def _edges(graph: Graph) -> list[Problem]:
    problems = []
    for index, edge in enumerate(graph.edges):
        start, end, branch = edge.get("from"), edge.get("to"), edge.get("branch")
        unknown = [name for name in (start, end) if name not in graph.nodes]
        if unknown:
            problems.append(Problem("unknown_edge_node", f"edge {index} joins an unknown node {unknown[0]!r}",
                                    start if start in graph.nodes else None, f"edges[{index}]",
                                    {"edge": index, "unknown": unknown[0]}))
            continue
        if start == end:
            problems.append(Problem("self_edge", f"node {start}: an edge may not lead back to its own node", start,
                                    f"edges[{index}]", {"edge": index}))
            continue
        node = graph.nodes[start]
        allowed = branches_of(node)
        if allowed is None and branch is not None:
            problems.append(Problem("branch_not_allowed", f"node {start}: a {node.kind} {node.type} does not branch; "
                                    f"its edge takes no branch label", start, f"edges[{index}].branch",
                                    about(node, edge=index, branch=branch)))
            continue
        if allowed is not None and branch not in allowed:
            problems.append(Problem("branch_label", f"node {start}: each edge out of a {node.kind} {node.type} is "
                                    f"labelled {' or '.join(allowed)}", start, f"edges[{index}].branch",
                                    about(node, edge=index, branches=list(allowed))))
            continue
        if branch in graph.out.get(start, {}):
            what = f"a {branch!r} edge" if branch else "an edge"
            problems.append(Problem("duplicate_edge", f"node {start} already has {what} out", start,
                                    f"edges[{index}]", about(node, edge=index, branch=branch)))
            continue
        if graph.nodes[end].type == "trigger":
            problems.append(Problem("edge_into_trigger", f"node {end}: nothing may lead into the trigger", end,
                                    f"edges[{index}]", {"edge": index}))
            continue
        graph.out.setdefault(start, {})[branch] = end
    return problems


def _shape(graph: Graph, trigger: Node) -> list[Problem]:
    problems = []
    if not graph.out.get(trigger.id):
        problems.append(Problem("trigger_leads_nowhere", f"trigger {trigger.id} leads nowhere: join it to the next "
                                f"node", trigger.id, params=about(trigger)))
    reached = _reachable(graph, trigger.id)
    for node in graph.nodes.values():
        if node.id not in reached:
            problems.append(Problem("unreachable", f"node {node.id} cannot be reached from the trigger: join it with "
                                    f"an edge", node.id, params=about(node)))
        elif node.type == "condition" and "yes" not in graph.out.get(node.id, {}):
            problems.append(Problem("condition_without_yes", f"condition {node.id} has no 'yes' edge: where do "
                                    f"members who pass go?", node.id, params=about(node)))
        elif node.kind == "coupon_unused" and not _coupon_before(graph, node.id):
            problems.append(Problem("follow_up_without_coupon", f"wait {node.id} follows up a coupon, but no "
                                    f"issue_coupon action comes before it", node.id, "kind", about(node)))
    looping = _cycle_without_wait(graph)
    if looping:
        problems.append(Problem("loop_without_wait", f"node {looping} is on a loop without a wait node: add a wait "
                                f"to the loop", looping, params=about(graph.nodes[looping])))
    return problems


def _reachable(graph: Graph, start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for following in graph.out.get(todo.pop(), {}).values():
            if following not in seen:
                seen.add(following)
                todo.append(following)
    return seen


def _coupon_before(graph: Graph, node_id: str) -> bool:
    return any(node.kind == "issue_coupon" and node_id in _reachable(graph, node.id) for node in graph.nodes.values())


def _cycle_without_wait(graph: Graph) -> str | None:
    """A node on a cycle made only of non-wait nodes (a member would go round it in one run), or None."""
    active = {name for name, node in graph.nodes.items() if node.type != "wait"}
    state: dict[str, int] = {}  # 1: on the current path, 2: finished

    def visit(name: str) -> str | None:
        state[name] = 1
        for following in graph.out.get(name, {}).values():
            if following not in active:
                continue
            if state.get(following) == 1:
                return following
            if following not in state:
                found = visit(following)
                if found:
                    return found
        state[name] = 2
        return None

    for name in sorted(active):
        if name not in state:
            found = visit(name)
            if found:
                return found
    return None
