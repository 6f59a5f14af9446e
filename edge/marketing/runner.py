"""Running one flow over its members: waits that are over go on, then the trigger's new members enter.

A member walks the flow's nodes until a wait (the journey waits until its
day) or the end. A journey is one entry into the flow, numbered per member;
each node taken is a step row, unique per flow, member, journey and node: no
member gets the same step twice in a journey. A member enters a flow once,
or (its re-entry policy) again N days after their last journey ended.
Members go in chunks, one transaction each: the chunk's facts and the steps
it took before are read in one query each, its steps and journeys written in
one statement each. A dry run walks the same way and writes nothing.
"""

from __future__ import annotations

import json
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, timedelta

from edge.db import RowInsert, execute_many, utc_now
from edge.errors import Conflict, DomainError
from edge.marketing import audience
from edge.marketing.graph import INSIGHT_CONDITIONS, Graph, Node, build
from edge.marketing.models import Flow, Journey, Message, Step
from edge.members.coupons import Coupon
from edge.members.identity import mask_phone
from edge.outbox.events import emit
from edge.staff.service import Caller

SAMPLE_SIZE = 10
CHUNK = 200  # members per transaction
SYSTEM = Caller()  # the timer or an event: no device, no staff

_INSERT_STEP = RowInsert(Step)  # a step taken twice would break the unique index: the run stops, nothing written
_INSERT_MESSAGE = RowInsert(Message)
_TAKEN_SQL = ("SELECT member_id, entry, node_id FROM marketing_step "
              "WHERE flow_id = ? AND member_id IN (SELECT value FROM json_each(?))")
_LAST_ENTRY_SQL = ("SELECT member_id, MAX(entry) FROM marketing_journey "
                   "WHERE flow_id = ? AND member_id IN (SELECT value FROM json_each(?)) GROUP BY member_id")
_SAVE_JOURNEY = ("INSERT OR REPLACE INTO marketing_journey (flow_id, member_id, entry, status, node_id, due_on, "
                 "coupon_id, started_at, updated_at, ended_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


@dataclass
class Run:
    """One flow's pass over its members: counts per node, and (dry) a masked sample of who is reached."""

    flow: Flow
    graph: Graph
    today: date
    dry: bool
    entered: int = 0
    resumed: int = 0
    reached: dict[str, int] = field(default_factory=dict)
    sample: list[dict] = field(default_factory=list)
    taken: set[tuple[str, int, str]] = field(default_factory=set)  # (member, journey, node) of the chunk at hand
    steps: list[dict] = field(default_factory=list)  # the chunk's steps and journeys, written together at its end
    journeys: list[tuple] = field(default_factory=list)

    def as_dict(self) -> dict:
        answer = {"flow_id": self.flow.id, "name": self.flow.name, "today": self.today.isoformat(),
                  "entered": self.entered, "resumed": self.resumed, "reached": self.reached}
        if self.dry:
            answer["sample"] = self.sample
        return answer


class FlowRunner:
    def __init__(self, app):
        self.app = app

    def pass_over(self, flow: Flow, today: date, dry: bool, member_id: str | None = None) -> Run:
        """One pass of a flow: every member (resumed waits first), or one member an event names (entry only)."""
        run = self._start(flow, today, dry)
        if member_id is None:
            self._resume_due(run)
        self._enter(run, audience.entrants(self.app.db.peewee, flow.id, run.graph.trigger.kind,
                                           run.graph.trigger.params, today, self._level_names(),
                                           self.app.config.store.timezone, member_id=member_id,
                                           reentry_days=flow.reentry_days))
        return run

    def _start(self, flow: Flow, today: date, dry: bool) -> Run:
        graph, problems = build(json.loads(flow.definition))
        if problems:  # activation validated it; a stored flow edited by hand is refused, not half-run
            raise Conflict(f"flow {flow.name}: {problems[0].message}", field="flow_id", code="flow_invalid")
        return Run(flow, graph, today, dry)

    def _level_names(self) -> list[str]:
        return [level.name for level in self.app.levels.levels]

    def _enter(self, run: Run, member_ids: list[str]) -> None:
        trigger = run.graph.trigger
        for start in range(0, len(member_ids), CHUNK):
            chunk = member_ids[start:start + CHUNK]
            with self._writing(run):
                known = self._chunk(run, chunk)
                last = dict(self.app.db.peewee.execute_sql(_LAST_ENTRY_SQL, (run.flow.id, json.dumps(chunk))))
                for member_id in chunk:
                    now = utc_now()
                    journey = Journey(flow_id=run.flow.id, member_id=member_id, entry=last.get(member_id, 0) + 1,
                                      status="done", started_at=now, updated_at=now)
                    if self._take(run, journey, trigger, "entered"):
                        run.entered += 1
                        self._walk(run, journey, run.graph.next(trigger.id), known[member_id])
                self._write(run)

    def _resume_due(self, run: Run) -> None:
        """Journeys whose wait ends today or before take the wait's branch and go on."""
        due = list(Journey.select().where((Journey.flow_id == run.flow.id) & (Journey.status == "waiting")
                                          & (Journey.due_on <= run.today.isoformat())).order_by(Journey.member_id))
        for start in range(0, len(due), CHUNK):
            chunk = due[start:start + CHUNK]
            with self._writing(run):
                known = self._chunk(run, [j.member_id for j in chunk])
                for journey in chunk:
                    wait = run.graph.nodes.get(journey.node_id)
                    if wait is None or journey.member_id not in known:
                        continue
                    branch = self._wait_outcome(wait, journey)
                    if self._take(run, journey, wait, branch or "done"):
                        run.resumed += 1
                        self._walk(run, journey, run.graph.next(wait.id, branch), known[journey.member_id])
                    else:  # back at a wait taken before (a loop): the journey ends here
                        self._walk(run, journey, None, known[journey.member_id])
                self._write(run)

    def _chunk(self, run: Run, member_ids: list[str]) -> dict[str, dict]:
        """Read what a chunk of members needs, in one query each: their facts, and the steps they took before."""
        run.taken = set(self.app.db.peewee.execute_sql(_TAKEN_SQL, (run.flow.id, json.dumps(member_ids))))
        known = audience.facts(self.app.db.peewee, member_ids, self._level_names()[0])
        self._memberships(run, known)
        return known

    def _memberships(self, run: Run, known: dict[str, dict]) -> None:
        """The tags and saved segments the flow's conditions name, per member of the chunk: customer insight's own
        queries, one per tag or segment."""
        for member in known.values():
            member.update({found: set() for _, found in INSIGHT_CONDITIONS.values()})
        ids = list(known)
        for node in run.graph.nodes.values():
            if node.type != "condition" or node.kind not in INSIGHT_CONDITIONS:
                continue
            key, found = INSIGHT_CONDITIONS[node.kind]
            ask = self.app.insight.tags.members_with if node.kind == "tag" else self.app.insight.segments.members_among
            for member_id in ask(node.params[key], ids):
                known[member_id][found].add(node.params[key])

    def _write(self, run: Run) -> None:
        """The chunk's steps and journeys, in two statements (inside the chunk's transaction)."""
        if not run.dry:
            _INSERT_STEP.rows(run.steps)
            execute_many(self.app.db.peewee, _SAVE_JOURNEY, run.journeys)
        run.steps, run.journeys = [], []

    def _writing(self, run: Run):
        """A transaction for a real run; a dry run reads only."""
        return nullcontext() if run.dry else self.app.db.transaction()

    @staticmethod
    def _wait_outcome(wait: Node, journey: Journey) -> str | None:
        if wait.kind != "coupon_unused":
            return None
        coupon = Coupon.get_or_none(Coupon.id == journey.coupon_id) if journey.coupon_id else None
        return "unused" if coupon is not None and coupon.status == "issued" else "used"

    def _walk(self, run: Run, journey: Journey, node_id: str | None, member: dict) -> None:
        """Take nodes from node_id on until a wait or the end of the flow."""
        waiting = False
        while node_id is not None:
            node = run.graph.nodes[node_id]
            if node.type == "wait":
                journey.status, journey.node_id = "waiting", node.id
                journey.due_on = (run.today + timedelta(days=node.params["days"])).isoformat()
                run.reached[node.id] = run.reached.get(node.id, 0) + 1
                waiting = True
                break
            branch = None
            if node.type == "condition":
                branch = "yes" if audience.passes(node.kind, node.params, member) else "no"
            if (journey.member_id, journey.entry, node.id) in run.taken:
                break  # taken before (a loop came back): the journey ends rather than repeat it
            outcome, detail = branch or "done", None
            if node.type == "action":
                if run.dry:
                    self._sample(run, journey.member_id, member)
                else:
                    outcome, detail = self._act(run, journey, node, member)
            self._take(run, journey, node, outcome, detail)
            node_id = run.graph.next(node.id, branch)
        if not waiting:
            journey.status, journey.node_id, journey.due_on = "done", None, None
            journey.ended_on = run.today.isoformat()
        run.journeys.append((journey.flow_id, journey.member_id, journey.entry, journey.status, journey.node_id,
                             journey.due_on, journey.coupon_id, journey.started_at, utc_now(), journey.ended_on))

    @staticmethod
    def _sample(run: Run, member_id: str, member: dict) -> None:
        if len(run.sample) < SAMPLE_SIZE and member_id not in {s["member_id"] for s in run.sample}:
            run.sample.append({"member_id": member_id, "code": member["code"],
                               "phone_masked": mask_phone(member["phone"])})

    def _take(self, run: Run, journey: Journey, node: Node, outcome: str, detail: dict | None = None) -> bool:
        """Log the member taking a node; False when they took it before (nothing more happens then).

        The chunk's steps were read first; the unique index stays the last word."""
        key = (journey.member_id, journey.entry, node.id)
        if key in run.taken:
            return False
        run.taken.add(key)
        run.steps.append({"id": str(uuid.uuid4()), "flow_id": run.flow.id, "member_id": journey.member_id,
                          "entry": journey.entry, "node_id": node.id, "outcome": outcome,
                          "detail": json.dumps(detail) if detail else None, "at": utc_now()})
        run.reached[node.id] = run.reached.get(node.id, 0) + 1
        return True

    def _act(self, run: Run, journey: Journey, node: Node, member: dict) -> tuple[str, dict]:
        """Do what an action node says; returns its step's outcome and detail."""
        params, member_id = node.params, journey.member_id
        if node.kind == "issue_coupon":
            try:
                with self.app.db.peewee.atomic():  # a savepoint: a refused coupon fails this step, not the run
                    coupon = self.app.coupons.issue(SYSTEM, params["definition_id"], member_id=member_id)[0]
            except DomainError as error:
                return "failed", {"error": error.message}
            journey.coupon_id = coupon.id
            return "done", {"coupon_id": coupon.id, "code": coupon.code}
        if node.kind in ("receipt_message", "kiosk_message"):
            message_id = str(uuid.uuid4())
            _INSERT_MESSAGE.rows([{"id": message_id, "member_id": member_id, "channel": node.kind.split("_")[0],
                                   "text": params["text"], "flow_id": run.flow.id, "node_id": node.id,
                                   "created_at": utc_now()}])
            return "done", {"message_id": message_id}
        event_id = emit("marketing.message_requested", {
            "member_id": member_id, "member_code": member["code"], "channel": params["channel"],
            "template": params["template"], "params": {"level": member["level"], "points": member["points"],
                                                       "stored_value": member["stored_value"]},
            "flow_id": run.flow.id, "flow": run.flow.name, "node_id": node.id, "store_id": self.app.config.store.id})
        return "done", {"event_id": event_id}

