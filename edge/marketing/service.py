"""Marketing automation: flows kept as data, run daily and on checkout events, each member's journey logged.

Flows are saved as drafts, validated, activated and paused here; a flow can
only be edited while it is not active, so the node names journeys wait at
stay meaningful. Running them is edge/marketing/runner.py. Here too: the
checkout's events (a member's sale, a registration) that start flows, the
messages actions leave for a receipt or the kiosk, and journeys read back.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import date

from peewee import SQL
from pydantic import ValidationError

from edge import audit
from edge.db import Prepared, utc_now
from edge.errors import Conflict, DomainError, NotFound
from edge.marketing.graph import INSIGHT_CONDITIONS, Problem, Reentry, about, build
from edge.marketing.interest import InterestRecorder
from edge.marketing.runner import FlowRunner
from edge.marketing.models import Flow, Journey, MemberInterest, Message, Step
from edge.outbox.events import emit

log = logging.getLogger("storeedge.marketing")

# asked at every member sale and registration: is any flow waiting for these (two) events?
_EVENT_FLOWS = Prepared(Flow.select(Flow.id, Flow.name, Flow.trigger_kind, Flow.definition, Flow.reentry_days)
                        .where((Flow.status == "active") & Flow.trigger_kind.in_([Prepared.arg(0), Prepared.arg(1)])))
_PENDING_RECEIPT = Prepared(Message.select(Message.id, Message.text).where(
    (Message.member_id == Prepared.arg(0)) & (Message.channel == "receipt") & Message.delivered_at.is_null())
    .order_by(Message.created_at))
_DELIVER = Prepared(Message.update(delivered_at=Prepared.arg(0), delivered_ref=Prepared.arg(1))
                    .where(Message.id == Prepared.arg(2)))



class MarketingService:
    def __init__(self, app):
        self.app = app
        self.interest = InterestRecorder(app)
        self.runner = FlowRunner(app)
        app.sales.line_removal_listeners.append(self.interest.on_line_removed)
        app.sales.completion_listeners.append(self._on_sale_completed)
        app.members.registration_listeners.append(self._on_registered)
        app.hardware.receipt_notes.append(self._receipt_notes)
        app.members.erase_listeners.append(self._on_erased)
        app.members.merge_listeners.append(self._on_merged)
        app.kiosk.price_check_listeners.append(
            lambda member_id, product_id: self.record_interest(member_id, product_id, "price_check"))

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
                **json.loads(flow.definition), "reentry": Reentry.of(flow.reentry_days),
                "created_at": flow.created_at, "updated_at": flow.updated_at}

    def create(self, caller, name: str, definition: dict, reentry: dict | None = None) -> Flow:
        """Save a new flow as a draft; it may still be incomplete (validate says what is missing).
        ``reentry``: {"mode": "never"} (the default) or {"mode": "after_days", "days": N}."""
        days = reentry_days(reentry)
        now = utc_now()
        with self.app.db.transaction():
            flow = Flow.create(id=str(uuid.uuid4()), name=name, status="draft",
                               trigger_kind=_trigger_kind(definition), definition=_dump(definition),
                               reentry_days=days, created_by=caller.staff_id, created_at=now, updated_at=now)
            self._changed(caller, flow, "created")
        return flow

    def update(self, caller, flow_id: str, name: str, definition: dict, reentry: dict | None = None) -> Flow:
        """Replace a paused or draft flow's name and graph; its re-entry policy too when ``reentry`` is given
        (a canvas that saves only the graph must not turn a monthly flow into a once-only one)."""
        days = reentry_days(reentry) if reentry is not None else None
        with self.app.db.transaction():
            flow = self.get(flow_id)
            if flow.status == "active":
                raise Conflict(f"flow {flow.name} is active: pause it before changing it", field="flow_id",
                               code="flow_active")
            flow.name, flow.definition = name, _dump(definition)
            if reentry is not None:
                flow.reentry_days = days
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
                     data={"name": flow.name, "status": flow.status, "definition": json.loads(flow.definition),
                           "reentry": Reentry.of(flow.reentry_days)})

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
                problems.append(Problem("unknown_coupon_definition", f"node {node.id}: no coupon definition "
                                        f"{params['definition_id']}", node.id, "params.definition_id",
                                        about(node, value=params["definition_id"])))
            for key in ("sku", "sku_a", "sku_b"):
                if params.get(key) and not _sku_exists(params[key]):
                    problems.append(Problem("unknown_sku", f"node {node.id}: no product with SKU {params[key]}",
                                            node.id, f"params.{key}", about(node, value=params[key])))
            if node.type == "condition" and node.kind in INSIGHT_CONDITIONS:
                key = INSIGHT_CONDITIONS[node.kind][0]
                if not self._insight_exists(node.kind, params[key]):
                    problems.append(Problem(f"unknown_{node.kind}", f"node {node.id}: no {node.kind} {params[key]}",
                                            node.id, f"params.{key}", about(node, value=params[key])))
            named = params.get("levels", []) + ([params["level"]] if params.get("level") else [])
            for level in named:
                if level not in levels:
                    problems.append(Problem("unknown_level", f"node {node.id}: no member level {level!r} (levels: "
                                            f"{', '.join(sorted(levels))})", node.id, "params.level",
                                            about(node, value=level, levels=sorted(levels))))
        return problems

    def _insight_exists(self, kind: str, insight_id: str) -> bool:
        """A customer-insight tag or saved segment of this id exists."""
        try:
            (self.app.insight.tags if kind == "tag" else self.app.insight.segments).get(insight_id)
        except NotFound:
            return False
        return True

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
            run = self.runner.pass_over(flow, today, dry=False)
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
        return self.runner.pass_over(flow, today or self.app.today(), dry=True).as_dict()

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
                    self.runner.pass_over(flow, today, dry=False, member_id=member_id)
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

    def kiosk_message_shown(self, caller, message_id: str, member_id: str | None = None) -> dict:
        """Marks a message shown; with ``member_id`` (the kiosk's signed-in member) only that member's."""
        with self.app.db.transaction():
            message = Message.get_or_none((Message.id == message_id) & (Message.channel == "kiosk"))
            if message is None or (member_id is not None and message.member_id != member_id):
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
        rows = list(Journey.select().where(Journey.flow_id == flow.id)
                    .order_by(Journey.started_at.desc(), Journey.entry.desc()).limit(limit))
        shown = [j.member_id for j in rows]
        steps: dict[tuple[str, int], list[dict]] = {}  # per journey: member and entry
        for step in Step.select().where((Step.flow_id == flow.id) & Step.member_id.in_(shown)).order_by(SQL("rowid")):
            steps.setdefault((step.member_id, step.entry), []).append(
                {"node": step.node_id, "outcome": step.outcome, "at": step.at,
                 "detail": json.loads(step.detail) if step.detail else None})
        codes = dict(self.app.db.peewee.execute_sql("SELECT id, code FROM member WHERE id IN (SELECT value FROM "
                                                    "json_each(?))", (json.dumps(shown),)).fetchall())
        return {"flow_id": flow.id, "journeys": [
            {"member_id": j.member_id, "member_code": codes.get(j.member_id), "entry": j.entry, "status": j.status,
             "waiting_at": j.node_id, "due_on": j.due_on, "started_at": j.started_at, "ended_on": j.ended_on,
             "steps": steps.get((j.member_id, j.entry), [])} for j in rows]}


def reentry_days(reentry: dict | None) -> int | None:
    """A re-entry policy as stored: None (never) or the days after a journey ends; a bad one is refused."""
    try:
        policy = Reentry.model_validate(reentry if reentry is not None else {})
    except ValidationError as error:
        detail = error.errors()[0]
        where = ".".join(str(part) for part in detail["loc"])
        raise DomainError(f"reentry{'.' + where if where else ''}: {detail['msg']}",
                          field=f"reentry.{where}" if where else "reentry") from None
    if policy.mode == "after_days" and policy.days is None:
        raise DomainError("reentry: after_days needs days (1 or more)", field="reentry.days")
    if policy.mode == "never" and policy.days is not None:
        raise DomainError("reentry: mode never takes no days", field="reentry.days")
    return policy.days_or_none


def _trigger_kind(definition: dict) -> str | None:
    kinds = [node["kind"] for node in definition.get("nodes", []) if node.get("type") == "trigger"]
    return kinds[0] if len(kinds) == 1 else None


def _dump(definition: dict) -> str:
    return json.dumps(definition, ensure_ascii=False, separators=(",", ":"))


def _sku_exists(sku: str) -> bool:
    from edge.catalog.models import Product

    return Product.select().where(Product.sku == sku).exists()

