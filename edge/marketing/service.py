"""Marketing automation: flows kept as data, run daily and on checkout events, each member's journey logged.

A run takes every active flow: journeys whose wait is over go on, then the
trigger's new members enter. A member walks the flow's nodes until a wait
(the journey waits until its day) or the end. Each node taken is a step row,
unique per flow, member and node: no member gets the same step twice, and a
member enters a flow once. A flow can only be edited while it is not active,
so the node names journeys wait at stay meaningful.
"""

from __future__ import annotations

import json
import logging
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, timedelta

from peewee import SQL

from edge import audit
from edge.db import Prepared, RowInsert, execute_many, utc_now
from edge.errors import Conflict, DomainError, NotFound
from edge.marketing import audience
from edge.marketing.graph import Graph, Node, Problem, build
from edge.marketing.interest import InterestRecorder
from edge.marketing.models import Flow, Journey, MemberInterest, Message, Step
from edge.members.coupons import Coupon
from edge.members.identity import mask_phone
from edge.outbox.events import emit
from edge.staff.service import Caller

log = logging.getLogger("storeedge.marketing")

SAMPLE_SIZE = 10
CHUNK = 200  # members per transaction in a run
SYSTEM = Caller()  # the timer or an event: no device, no staff

# asked at every member sale and registration: is any flow waiting for these (two) events?
_EVENT_FLOWS = Prepared(Flow.select(Flow.id, Flow.name, Flow.trigger_kind, Flow.definition).where(
    (Flow.status == "active") & Flow.trigger_kind.in_([Prepared.arg(0), Prepared.arg(1)])))
_PENDING_RECEIPT = Prepared(Message.select(Message.id, Message.text).where(
    (Message.member_id == Prepared.arg(0)) & (Message.channel == "receipt") & Message.delivered_at.is_null())
    .order_by(Message.created_at))
_DELIVER = Prepared(Message.update(delivered_at=Prepared.arg(0), delivered_ref=Prepared.arg(1))
                    .where(Message.id == Prepared.arg(2)))
_INSERT_STEP = RowInsert(Step)  # a step taken twice would break the unique index: the run stops, nothing written
_INSERT_MESSAGE = RowInsert(Message)
_TAKEN_SQL = ("SELECT member_id, node_id FROM marketing_step "
              "WHERE flow_id = ? AND member_id IN (SELECT value FROM json_each(?))")
_SAVE_JOURNEY = ("INSERT OR REPLACE INTO marketing_journey (flow_id, member_id, status, node_id, due_on, coupon_id, "
                 "started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")


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
    taken: set[tuple[str, str]] = field(default_factory=set)  # (member, node) of the chunk at hand
    steps: list[dict] = field(default_factory=list)  # the chunk's steps and journeys, written together at its end
    journeys: list[tuple] = field(default_factory=list)

    def as_dict(self) -> dict:
        answer = {"flow_id": self.flow.id, "name": self.flow.name, "today": self.today.isoformat(),
                  "entered": self.entered, "resumed": self.resumed, "reached": self.reached}
        if self.dry:
            answer["sample"] = self.sample
        return answer


class MarketingService:
    def __init__(self, app):
        self.app = app
        self.interest = InterestRecorder(app)
        app.sales.line_removal_listeners.append(self.interest.on_line_removed)
        app.sales.completion_listeners.append(self._on_sale_completed)
        app.members.registration_listeners.append(self._on_registered)
        app.hardware.receipt_notes.append(self._receipt_notes)
        app.members.erase_listeners.append(self._on_erased)
        app.members.merge_listeners.append(self._on_merged)

    def record_interest(self, member_id: str, product_id: int, source: str, ref: str | None = None) -> None:
        """A signed-in member looked at a product (the kiosk's price check registers this)."""
        self.interest.record(member_id, product_id, source, ref)

    # -- flows ------------------------------------------------------------------

    def get(self, flow_id: str) -> Flow:
        flow = Flow.get_or_none(Flow.id == flow_id)
        if flow is None:
            raise NotFound(f"no flow {flow_id}", field="flow_id")
        return flow

    def flows(self) -> list[Flow]:
        return list(Flow.select().order_by(Flow.created_at))

    @staticmethod
    def flow_dict(flow: Flow) -> dict:
        return {"id": flow.id, "name": flow.name, "status": flow.status, "trigger": flow.trigger_kind,
                **json.loads(flow.definition), "created_at": flow.created_at, "updated_at": flow.updated_at}

    def create(self, caller, name: str, definition: dict) -> Flow:
        """Save a new flow as a draft; it may still be incomplete (validate says what is missing)."""
        now = utc_now()
        with self.app.db.transaction():
            flow = Flow.create(id=str(uuid.uuid4()), name=name, status="draft",
                               trigger_kind=_trigger_kind(definition), definition=_dump(definition),
                               created_by=caller.staff_id, created_at=now, updated_at=now)
            self._changed(caller, flow, "created")
        return flow

    def update(self, caller, flow_id: str, name: str, definition: dict) -> Flow:
        with self.app.db.transaction():
            flow = self.get(flow_id)
            if flow.status == "active":
                raise Conflict(f"flow {flow.name} is active: pause it before changing it", field="flow_id",
                               code="flow_active")
            flow.name, flow.definition = name, _dump(definition)
            flow.trigger_kind, flow.updated_at = _trigger_kind(definition), utc_now()
            flow.save()
            self._changed(caller, flow, "updated")
        return flow

    def delete(self, caller, flow_id: str) -> None:
        """Delete a flow no member has entered (a flow with journeys is paused instead, keeping its log)."""
        with self.app.db.transaction():
            flow = self.get(flow_id)
            if Journey.select().where(Journey.flow_id == flow.id).exists():
                raise Conflict(f"members have entered flow {flow.name}: pause it instead", field="flow_id",
                               code="flow_has_journeys")
            flow.delete_instance()
            self._changed(caller, flow, "deleted")

    def set_status(self, caller, flow_id: str, active: bool) -> Flow:
        with self.app.db.transaction():
            flow = self.get(flow_id)
            if active:
                problems = self.validate(json.loads(flow.definition))
                if problems:
                    first = problems[0]
                    raise DomainError(f"flow {flow.name} cannot run: {first.message}"
                                      + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                                      field=f"nodes.{first.node}" if first.node else "nodes", code="flow_invalid")
            flow.status, flow.updated_at = ("active" if active else "paused"), utc_now()
            flow.save()
            self._changed(caller, flow, "activated" if active else "paused")
        return flow

    def _changed(self, caller, flow: Flow, change: str) -> None:
        emit("marketing.flow_changed", {"id": flow.id, "name": flow.name, "status": flow.status, "change": change,
                                        "trigger": flow.trigger_kind, "store_id": self.app.config.store.id})
        audit.record(f"marketing.flow_{change}", staff_id=caller.staff_id, device_id=caller.device_id,
                     entity="marketing_flow", entity_id=flow.id,
                     data={"name": flow.name, "status": flow.status, "definition": json.loads(flow.definition)})

    # -- validation ---------------------------------------------------------------

    def validate(self, definition: dict) -> list[Problem]:
        """Every problem of a definition: its shape, then what it names in the store (coupons, SKUs, levels)."""
        graph, problems = build(definition)
        if problems:
            return problems
        levels = {level.name for level in self.app.levels.levels}
        for node in graph.nodes.values():
            params = node.params
            if node.kind == "issue_coupon" and not self._definition_exists(params["definition_id"]):
                problems.append(Problem(f"node {node.id}: no coupon definition {params['definition_id']}",
                                        node.id, "params.definition_id"))
            for key in ("sku", "sku_a", "sku_b"):
                if params.get(key) and not _sku_exists(params[key]):
                    problems.append(Problem(f"node {node.id}: no product with SKU {params[key]}", node.id,
                                            f"params.{key}"))
            named = params.get("levels", []) + ([params["level"]] if params.get("level") else [])
            for level in named:
                if level not in levels:
                    problems.append(Problem(f"node {node.id}: no member level {level!r} (levels: "
                                            f"{', '.join(sorted(levels))})", node.id, "params.level"))
        return problems

    def _definition_exists(self, definition_id: str) -> bool:
        try:
            self.app.coupons.definition(definition_id)
        except NotFound:
            return False
        return True

    # -- running ------------------------------------------------------------------

    def run(self, today: date | None = None, flow_id: str | None = None) -> list[dict]:
        """The daily run: every active flow (or one), waits that are over, then new members."""
        today = today or self.app.today()
        flows = [self.get(flow_id)] if flow_id else list(Flow.select().where(Flow.status == "active"))
        done = []
        for flow in flows:
            if flow.status != "active":
                raise Conflict(f"flow {flow.name} is {flow.status}, not active", field="flow_id",
                               code=f"flow_{flow.status}")
            run = self._start(flow, today, dry=False)
            self._resume_due(run)
            self._enter(run, audience.entrants(self.app.db.peewee, flow.id, run.graph.trigger.kind,
                                               run.graph.trigger.params, today, self._level_names()))
            with self.app.db.transaction():
                emit("marketing.flow_run", {**run.as_dict(), "store_id": self.app.config.store.id})
                audit.record("marketing.flow_run", entity="marketing_flow", entity_id=flow.id, data=run.as_dict())
            done.append(run.as_dict())
        return done

    def dry_run(self, flow_id: str, today: date | None = None) -> dict:
        """Who a run today would reach, node by node, with a masked sample; writes nothing."""
        flow = self.get(flow_id)
        problems = self.validate(json.loads(flow.definition))
        if problems:
            raise DomainError(f"flow {flow.name} is not valid: {problems[0].message}",
                              field=f"nodes.{problems[0].node}" if problems[0].node else "nodes",
                              code="flow_invalid")
        run = self._start(flow, today or self.app.today(), dry=True)
        self._resume_due(run)
        self._enter(run, audience.entrants(self.app.db.peewee, flow.id, run.graph.trigger.kind,
                                           run.graph.trigger.params, run.today, self._level_names()))
        return run.as_dict()

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
                for member_id in chunk:
                    now = utc_now()
                    journey = Journey(flow_id=run.flow.id, member_id=member_id, status="done", started_at=now,
                                      updated_at=now)
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
        return audience.facts(self.app.db.peewee, member_ids, self._level_names()[0])

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
            if (journey.member_id, node.id) in run.taken:
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
        run.journeys.append((journey.flow_id, journey.member_id, journey.status, journey.node_id, journey.due_on,
                             journey.coupon_id, journey.started_at, utc_now()))

    @staticmethod
    def _sample(run: Run, member_id: str, member: dict) -> None:
        if len(run.sample) < SAMPLE_SIZE and member_id not in {s["member_id"] for s in run.sample}:
            run.sample.append({"member_id": member_id, "code": member["code"],
                               "phone_masked": mask_phone(member["phone"])})

    def _take(self, run: Run, journey: Journey, node: Node, outcome: str, detail: dict | None = None) -> bool:
        """Log the member taking a node; False when they took it before (nothing more happens then).

        The chunk's steps were read first; the unique index stays the last word."""
        key = (journey.member_id, node.id)
        if key in run.taken:
            return False
        run.taken.add(key)
        run.steps.append({"id": str(uuid.uuid4()), "flow_id": run.flow.id, "member_id": journey.member_id,
                          "node_id": node.id, "outcome": outcome, "detail": json.dumps(detail) if detail else None,
                          "at": utc_now()})
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

    # -- events at the checkout -------------------------------------------------------

    def _run_event(self, triggers: tuple[str, str], member_id: str) -> None:
        """Inside the event's transaction: flows started by these events, for this member only."""
        flows = _EVENT_FLOWS.all(*triggers)
        if not flows:
            return
        today = self.app.today()
        for flow in flows:
            try:
                with self.app.db.peewee.atomic():  # a savepoint: a flow that fails leaves the sale as it was
                    run = self._start(flow, today, dry=False)
                    self._enter(run, audience.entrants(self.app.db.peewee, flow.id, flow.trigger_kind,
                                                       run.graph.trigger.params, today, self._level_names(),
                                                       member_id=member_id))
            except Exception:  # the checkout must not fail for marketing; the daily run tries again
                log.exception("flow %s failed for member %s; the sale or registration stands", flow.id, member_id)

    def _on_sale_completed(self, sale, lines, caller) -> None:
        if sale.member_id is not None:
            self._run_event(("first_purchase", "level_up"), sale.member_id)

    def _on_registered(self, member, caller) -> None:
        self._run_event(("registered", "registered"), member.id)

    def _on_merged(self, keep, duplicate, caller) -> dict | None:
        """What the duplicate looked at, and its messages not yet delivered, follow the member kept (as its sales do).
        Its journeys stay as they were: the steps it took are history."""
        interest = MemberInterest.update(member_id=keep.id).where(MemberInterest.member_id == duplicate.id).execute()
        messages = Message.update(member_id=keep.id).where(
            (Message.member_id == duplicate.id) & Message.delivered_at.is_null()).execute()
        if not interest and not messages:
            return None
        return {"marketing": {"interest_moved": interest, "messages_moved": messages}}

    def _on_erased(self, member, caller) -> dict | None:
        """An erased member's interest and undelivered messages go: what they looked at is personal too."""
        interest = MemberInterest.delete().where(MemberInterest.member_id == member.id).execute()
        messages = Message.delete().where((Message.member_id == member.id) & Message.delivered_at.is_null()).execute()
        if not interest and not messages:
            return None
        return {"marketing": {"interest_removed": interest, "messages_removed": messages}}

    # -- messages -------------------------------------------------------------------

    def _receipt_notes(self, sale) -> list[str]:
        """Inside the sale's transaction: the member's pending receipt messages, printed now and marked so."""
        if sale.member_id is None:
            return []
        pending = _PENDING_RECEIPT.all(sale.member_id)
        now = utc_now()
        for message in pending:
            _DELIVER.execute(now, sale.id, message.id)
        return [message.text for message in pending]

    def kiosk_messages(self, member_id: str) -> list[dict]:
        """What the kiosk shows a signed-in member, oldest first."""
        member = self.app.members.find(member_id=member_id)
        return [{"id": m.id, "text": m.text, "created_at": m.created_at} for m in Message.select().where(
            (Message.member_id == member.id) & (Message.channel == "kiosk") & Message.delivered_at.is_null()
        ).order_by(Message.created_at)]

    def kiosk_message_shown(self, caller, message_id: str) -> dict:
        with self.app.db.transaction():
            message = Message.get_or_none((Message.id == message_id) & (Message.channel == "kiosk"))
            if message is None:
                raise NotFound(f"no kiosk message {message_id}", field="message_id")
            if message.delivered_at is None:
                message.delivered_at, message.delivered_ref = utc_now(), f"device:{caller.device_id}"
                message.save()
                audit.record("marketing.message_shown", device_id=caller.device_id, entity="marketing_message",
                             entity_id=message.id, data={"member_id": message.member_id, "flow_id": message.flow_id})
        return {"id": message.id, "delivered_at": message.delivered_at}

    # -- journeys -------------------------------------------------------------------

    def journeys(self, flow_id: str, limit: int = 100) -> dict:
        flow = self.get(flow_id)
        rows = list(Journey.select().where(Journey.flow_id == flow.id).order_by(Journey.started_at.desc())
                    .limit(limit))
        shown = [j.member_id for j in rows]
        steps: dict[str, list[dict]] = {}
        for step in Step.select().where((Step.flow_id == flow.id) & Step.member_id.in_(shown)).order_by(SQL("rowid")):
            steps.setdefault(step.member_id, []).append(
                {"node": step.node_id, "outcome": step.outcome, "at": step.at,
                 "detail": json.loads(step.detail) if step.detail else None})
        codes = dict(self.app.db.peewee.execute_sql("SELECT id, code FROM member WHERE id IN (SELECT value FROM "
                                                    "json_each(?))", (json.dumps(shown),)).fetchall())
        return {"flow_id": flow.id, "journeys": [
            {"member_id": j.member_id, "member_code": codes.get(j.member_id), "status": j.status,
             "waiting_at": j.node_id, "due_on": j.due_on, "started_at": j.started_at,
             "steps": steps.get(j.member_id, [])} for j in rows]}


def _trigger_kind(definition: dict) -> str | None:
    kinds = [node["kind"] for node in definition.get("nodes", []) if node.get("type") == "trigger"]
    return kinds[0] if len(kinds) == 1 else None


def _dump(definition: dict) -> str:
    return json.dumps(definition, ensure_ascii=False, separators=(",", ":"))


def _sku_exists(sku: str) -> bool:
    from edge.catalog.models import Product

    return Product.select().where(Product.sku == sku).exists()

