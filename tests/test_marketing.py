"""Marketing automation without HTTP: flow validation, each trigger, conditions, follow-ups after a wait, one step
per member and node, dry runs that write nothing, checkout events, receipt and kiosk messages, interest."""

from __future__ import annotations

from datetime import date, timedelta

import peewee
import pytest

from edge.errors import Conflict, DomainError, NotFound
from edge.hardware.models import PrintJob
from edge.marketing.audience import trigger_params
from edge.marketing.graph import build
from edge.marketing.models import Flow, Journey, Message, Step
from edge.members.coupons import Coupon
from tests.conftest import COLA, WATER
from tests.domain2_helpers import audit_records, events, nothing_written, open_sale_with, refused, sell
from tests.gateway_helpers import network_printer
from tests.marketing_helpers import (active_flow, backdate_registration, chain, edge, journeys, kiosk_says, later,
                                     member, member_sale, node, steps)


def backdate_sale(store, sale, days: int) -> None:
    """The sale was made ``days`` ago."""
    store.db.peewee.execute_sql("UPDATE sale SET business_date = ? WHERE id = ?",
                                (later(store, -days).strftime("%Y%m%d"), sale.id))


def coupon_definition(store, manager, valid_to: str = "2099-12-31") -> str:
    return store.coupons.define(manager, name="立减3元", kind="amount", value=300, valid_from="2020-01-01",
                                valid_to=valid_to).id


# -- validation ---------------------------------------------------------------------

TRIGGER = node("t1", "trigger", "inactive_days", days=30)
ACTION = kiosk_says()
WAIT = node("w1", "wait", "days", days=3)

INVALID = {
    "two triggers": ({"nodes": [TRIGGER, node("t2", "trigger", "birthday", days=3), ACTION],
                      "edges": [edge("t1", "a1"), edge("t2", "a1")]}, "t2", "exactly one trigger", "trigger_count"),
    "no trigger": ({"nodes": [ACTION], "edges": []}, None, "exactly one trigger; found 0", "trigger_count"),
    "a trigger leading nowhere": ({"nodes": [TRIGGER], "edges": []}, "t1", "leads nowhere", "trigger_leads_nowhere"),
    "a dangling node": ({"nodes": [TRIGGER, ACTION, node("a2", "action", "receipt_message", text="x")],
                         "edges": [edge("t1", "a1")]}, "a2", "cannot be reached", "unreachable"),
    "a loop without a wait": ({"nodes": [TRIGGER, node("c1", "condition", "points", min=1), ACTION],
                               "edges": [edge("t1", "c1"), edge("c1", "a1", "yes"), edge("a1", "c1")]},
                              "a1", "loop without a wait", "loop_without_wait"),
    "bad parameters": ({**chain(node("t1", "trigger", "inactive_days", days=0), ACTION)}, "t1", "days", "bad_param"),
    "an unknown kind": ({**chain(TRIGGER, node("a1", "action", "send_fax"))}, "a1", "a action is one of",
                        "unknown_kind"),
    "an edge to an unknown node": ({"nodes": [TRIGGER, ACTION], "edges": [edge("t1", "a1"), edge("a1", "zz")]},
                                   "a1", "unknown node 'zz'", "unknown_edge_node"),
    "a condition edge without yes or no": ({**chain(TRIGGER, node("c1", "condition", "visits", max=3), ACTION)},
                                           "c1", "labelled yes or no", "branch_label"),
    "a condition without a yes edge": ({"nodes": [TRIGGER, node("c1", "condition", "visits", max=3), ACTION],
                                        "edges": [edge("t1", "c1"), edge("c1", "a1", "no")]}, "c1", "no 'yes' edge",
                                       "condition_without_yes"),
    "a coupon follow-up without a coupon": (
        {"nodes": [TRIGGER, node("w1", "wait", "coupon_unused", days=7), ACTION],
         "edges": [edge("t1", "w1"), edge("w1", "a1", "unused")]}, "w1", "no issue_coupon action comes before",
        "follow_up_without_coupon"),
    "an unknown type": ({**chain(TRIGGER, node("a1", "actor", "send_fax"))}, "a1", "type must be one of",
                        "unknown_type"),
    "two nodes of one name": ({"nodes": [TRIGGER, ACTION, kiosk_says("再来")], "edges": [edge("t1", "a1")]}, "a1",
                              "two nodes are named a1", "duplicate_node"),
    "an edge back to its own node": ({"nodes": [TRIGGER, ACTION], "edges": [edge("t1", "a1"), edge("a1", "a1")]},
                                     "a1", "back to its own node", "self_edge"),
    "a branch label out of an action": ({"nodes": [TRIGGER, ACTION, WAIT],
                                         "edges": [edge("t1", "a1"), edge("a1", "w1", "yes")]}, "a1",
                                        "does not branch", "branch_not_allowed"),
    "an edge into the trigger": ({"nodes": [TRIGGER, ACTION], "edges": [edge("t1", "a1"), edge("a1", "t1")]},
                                 "t1", "nothing may lead into the trigger", "edge_into_trigger"),
    "two plain edges out of an action": ({"nodes": [TRIGGER, ACTION, WAIT],
                                          "edges": [edge("t1", "a1"), edge("a1", "w1"), edge("t1", "w1")]},
                                         "t1", "already has an edge out", "duplicate_edge"),
}


@pytest.mark.parametrize("case", INVALID)
def test_an_invalid_flow_is_refused_with_an_error_naming_its_node_and_code(case):
    definition, node_id, fragment, code = INVALID[case]
    _, problems = build(definition)
    assert any(p.node == node_id and fragment in p.message and p.code == code for p in problems), [
        p.as_dict() for p in problems]
    for problem in problems:  # what the canvas translates: the code, and parameters naming the node and field
        shown = problem.as_dict()
        assert shown["params"]["node"] == shown["node"] and shown["params"]["field"] == shown["field"]


@pytest.mark.parametrize("bad_node, param, reason, limits", [
    (node("t1", "trigger", "inactive_days", days=0), "days", "greater_than_equal", {"ge": 1}),
    (node("t1", "trigger", "inactive_days", days=400), "days", "less_than_equal", {"le": 366}),
    (node("t1", "trigger", "inactive_days"), "days", "missing", {}),
    (node("t1", "trigger", "inactive_days", days="30"), "days", "int_type", {}),
    (node("a1", "action", "hq_message", channel="fax", template="x"), "channel", "literal_error",
     {"expected": "'sms' or 'wechat'"}),
])
def test_a_bad_parameter_says_which_rule_it_breaks_with_its_limit(bad_node, param, reason, limits):
    definition = chain(bad_node, ACTION) if bad_node["type"] == "trigger" else chain(TRIGGER, bad_node)
    [problem] = build(definition)[1]
    assert (problem.code, problem.field) == ("bad_param", f"params.{param}")
    assert problem.params == {"type": bad_node["type"], "kind": bad_node["kind"], "param": param, "reason": reason,
                              **limits}


def test_a_range_without_bounds_or_upside_down_has_a_reason_of_its_own():
    for params, reason in (({}, "range_empty"), ({"min": 5, "max": 1}, "range_inverted")):
        definition = {"nodes": [TRIGGER, node("c1", "condition", "points", **params), ACTION],
                      "edges": [edge("t1", "c1"), edge("c1", "a1", "yes")]}
        [problem] = build(definition)[1]
        assert (problem.code, problem.params["reason"]) == ("bad_param", reason)


def test_a_loop_through_a_wait_is_a_valid_flow():
    _, problems = build({"nodes": [TRIGGER, ACTION, WAIT], "edges": [edge("t1", "a1"), edge("a1", "w1"),
                                                                      edge("w1", "a1")]})
    assert problems == []


@pytest.mark.parametrize("bad_node, field, fragment, code, value", [
    (node("a1", "action", "issue_coupon", definition_id="nope"), "params.definition_id", "no coupon definition",
     "unknown_coupon_definition", "nope"),
    (node("c1", "condition", "level", levels=["黑金"]), "params.level", "no member level '黑金'", "unknown_level",
     "黑金"),
])
def test_validation_checks_what_a_node_names_in_the_store(store, bad_node, field, fragment, code, value):
    problems = store.marketing.validate(chain(TRIGGER, bad_node) if bad_node["type"] == "action" else {
        "nodes": [TRIGGER, bad_node, ACTION], "edges": [edge("t1", "c1"), edge("c1", "a1", "yes")]})
    assert [(p.node, p.field, p.code) for p in problems] == [(bad_node["id"], field, code)]
    assert fragment in problems[0].message and problems[0].params["value"] == value


def test_validation_checks_skus(store):
    problems = store.marketing.validate(chain(node("t1", "trigger", "bought_a_not_b", sku_a="DRK001",
                                                   sku_b="NOPE99", days=7), ACTION))
    assert [(p.node, p.field, p.code, p.params["value"]) for p in problems] == [
        ("t1", "params.sku_b", "unknown_sku", "NOPE99")]


def test_an_invalid_flow_cannot_be_activated_and_nothing_is_written(store, manager):
    flow = store.marketing.create(manager, "半成品", {"nodes": [TRIGGER, ACTION], "edges": []})
    with nothing_written(store), refused(DomainError, field="nodes.t1", code="flow_invalid") as caught:
        store.marketing.set_status(manager, flow.id, active=True)
    assert "leads nowhere" in caught.value.message
    assert store.marketing.get(flow.id).status == "draft"


def test_an_active_flow_cannot_be_edited_and_a_flow_with_journeys_cannot_be_deleted(store, cashier, manager):
    flow = active_flow(store, manager, chain(node("t1", "trigger", "registered"), ACTION))
    with nothing_written(store), refused(Conflict, code="flow_active"):
        store.marketing.update(manager, flow.id, "改", chain(TRIGGER, ACTION))
    member(store, cashier)
    with nothing_written(store), refused(Conflict, code="flow_has_journeys"):
        store.marketing.delete(manager, flow.id)


def test_saving_activating_and_pausing_are_audited_with_events(store, manager):
    flow = active_flow(store, manager, chain(TRIGGER, ACTION))
    store.marketing.set_status(manager, flow.id, active=False)
    assert [e["data"]["change"] for e in events("marketing.flow_changed")] == ["created", "activated", "paused"]
    assert [r["action"] for r in audit_records() if r["action"].startswith("marketing.flow_")] == [
        "marketing.flow_created", "marketing.flow_activated", "marketing.flow_paused"]


# -- triggers ----------------------------------------------------------------------------
# Each set-up makes one member the trigger reaches and one it must not, and says on which day to run.

def inactive(store, cashier, manager):
    sleeping, recent = member(store, cashier), member(store, cashier)
    backdate_sale(store, member_sale(store, cashier, sleeping, [(WATER, 1)]), 40)
    backdate_registration(store, recent.id, 40)
    member_sale(store, cashier, recent, [(WATER, 1)])
    return {"days": 30}, sleeping, recent, store.today()


def interest(store, cashier, manager):
    looked, bought = member(store, cashier), member(store, cashier)
    for person in (looked, bought):
        sale = open_sale_with(store, cashier, [(WATER, 1), (COLA, 1)])
        store.sales.set_member(sale.id, cashier, person)
        store.sales.remove_line(sale.id, store.sales.lines(sale)[0].id, cashier)
        store.sales.complete(sale.id, cashier, [{"method": "cash", "amount": 300}])
    member_sale(store, cashier, bought, [(WATER, 1)])
    return {"days": 3, "sku": "DRK001"}, looked, bought, later(store, 3)


def birthday(store, cashier, manager):
    soon, later_on = (member(store, cashier, birthday=(later(store, n)).strftime("2000-%m-%d")) for n in (5, 20))
    return {"days": 7}, soon, later_on, store.today()


def points_expiring(store, cashier, manager):
    holder, none = member(store, cashier), member(store, cashier)
    entry = store.points.adjust(manager, holder.id, 500, "活动")
    return {"days": 7}, holder, none, date.fromisoformat(entry.expires_on) - timedelta(days=3)


def coupons_expiring(store, cashier, manager):
    ending, lasting = member(store, cashier), member(store, cashier)
    store.coupons.issue(manager, coupon_definition(store, manager, later(store, 5).isoformat()), member_id=ending.id)
    store.coupons.issue(manager, coupon_definition(store, manager), member_id=lasting.id)
    return {"days": 7}, ending, lasting, store.today()


def stored_value_below(store, cashier, manager):
    low, high = member(store, cashier), member(store, cashier)
    store.stored_value.top_up(cashier, low.id, 1000, "cash")
    store.stored_value.top_up(cashier, high.id, 50_000, "cash")
    return {"amount": 2000}, low, high, store.today()


def first_purchase(store, cashier, manager):
    buyer, regular = member(store, cashier), member(store, cashier)
    member_sale(store, cashier, buyer, [(WATER, 1)])
    backdate_sale(store, member_sale(store, cashier, regular, [(WATER, 1)]), 30)
    member_sale(store, cashier, regular, [(WATER, 1)])
    return {}, buyer, regular, store.today()


def level_up(store, cashier, manager):
    big, small = member(store, cashier), member(store, cashier)
    member_sale(store, cashier, big, [(WATER, 500)])  # ¥1,000: 银卡
    member_sale(store, cashier, small, [(WATER, 1)])
    return {"level": "银卡"}, big, small, store.today()


def bought_a_not_b(store, cashier, manager):
    only_water, both = member(store, cashier), member(store, cashier)
    member_sale(store, cashier, only_water, [(WATER, 1)])
    member_sale(store, cashier, both, [(WATER, 1), (COLA, 1)])
    return {"sku_a": "DRK001", "sku_b": "DRK002", "days": 7}, only_water, both, later(store, 7)


def registered(store, cashier, manager):
    new, old = member(store, cashier), member(store, cashier)
    backdate_registration(store, old.id, 10)
    return {"days": 1}, new, old, store.today()


TRIGGERS = [inactive, interest, birthday, points_expiring, coupons_expiring, stored_value_below, first_purchase,
            level_up, bought_a_not_b, registered]
KIND_OF = {"inactive": "inactive_days", "interest": "interest"}


@pytest.mark.parametrize("set_up", TRIGGERS, ids=lambda f: f.__name__)
def test_each_trigger_reaches_the_members_it_describes_and_no_others(store, cashier, manager, set_up):
    params, reached, missed, today = set_up(store, cashier, manager)
    kind = KIND_OF.get(set_up.__name__, set_up.__name__)
    flow = active_flow(store, manager, chain(node("t1", "trigger", kind, **params), ACTION))
    [run] = store.marketing.run(today=today)
    assert journeys(flow).get(reached.id) == "done"
    assert missed.id not in journeys(flow)
    assert steps(flow, reached.id) == [("t1", "entered"), ("a1", "done")]
    assert [m["text"] for m in store.marketing.kiosk_messages(reached.id)] == ["好久不见，欢迎回来"]
    assert run["reached"]["a1"] == run["entered"] >= 1


@pytest.mark.parametrize("kind, params, passes", [
    ("level", {"levels": ["普通"]}, True), ("level", {"levels": ["金卡"]}, False),
    ("total_spend", {"min": 500}, True), ("total_spend", {"min": 501}, False),
    ("points", {"max": 4}, False), ("points", {"min": 5, "max": 5}, True),
    ("stored_value", {"max": 0}, True), ("visits", {"min": 2}, False), ("visits", {"min": 1}, True),
])
def test_conditions_test_the_members_level_spend_points_stored_value_and_visits(store, cashier, manager, kind,
                                                                                   params, passes):
    person = member(store, cashier)
    member_sale(store, cashier, person, [(WATER, 1), (COLA, 1)])  # ¥5.00 earns 5 points
    definition = {"nodes": [node("t1", "trigger", "registered"), node("c1", "condition", kind, **params), ACTION,
                            node("a2", "action", "receipt_message", text="下次见")],
                  "edges": [edge("t1", "c1"), edge("c1", "a1", "yes"), edge("c1", "a2", "no")]}
    flow = active_flow(store, manager, definition)
    store.marketing.run()
    assert steps(flow, person.id) == [("t1", "entered"), ("c1", "yes" if passes else "no"),
                                      ("a1" if passes else "a2", "done")]


# -- waits and follow-ups -------------------------------------------------------------------

COUPON_FOLLOW_UP = {
    "nodes": [node("t1", "trigger", "registered"), node("a1", "action", "issue_coupon", definition_id="?"),
              node("w1", "wait", "coupon_unused", days=7), kiosk_says("您的优惠券还没用哦"),
              node("a3", "action", "receipt_message", text="谢谢使用优惠券")],
    "edges": [edge("t1", "a1"), edge("a1", "w1"), edge("w1", "a2", "unused"), edge("w1", "a3", "used")],
}


def test_a_coupon_still_unused_after_the_wait_takes_the_next_branch(store, cashier, manager):
    keeper, user = member(store, cashier), member(store, cashier)
    definition = {**COUPON_FOLLOW_UP, "nodes": [dict(n) for n in COUPON_FOLLOW_UP["nodes"]]}
    definition["nodes"][1]["params"] = {"definition_id": coupon_definition(store, manager)}
    definition["nodes"][3]["id"] = "a2"
    flow = active_flow(store, manager, definition)
    [first] = store.marketing.run()
    assert first["entered"] == 2 and set(journeys(flow).values()) == {"waiting"}
    coupon = Coupon.get(Coupon.member_id == user.id)
    sale = open_sale_with(store, cashier, [(WATER, 1), (COLA, 1)])
    store.sales.set_member(sale.id, cashier, user)
    store.sales.complete(sale.id, cashier, [{"method": "coupon", "amount": 300, "reference": coupon.code},
                                            {"method": "cash", "amount": 200}])

    assert store.marketing.run(today=later(store, 6))[0]["resumed"] == 0  # not yet due
    [due] = store.marketing.run(today=later(store, 7))
    assert due["resumed"] == 2
    assert steps(flow, keeper.id)[-2:] == [("w1", "unused"), ("a2", "done")]
    assert steps(flow, user.id)[-2:] == [("w1", "used"), ("a3", "done")]
    assert [m["text"] for m in store.marketing.kiosk_messages(keeper.id)] == ["您的优惠券还没用哦"]
    assert set(journeys(flow).values()) == {"done"}


def test_no_member_takes_the_same_step_twice(store, cashier, manager):
    person = member(store, cashier)
    flow = active_flow(store, manager, chain(node("t1", "trigger", "registered"), ACTION))
    assert store.marketing.run()[0]["entered"] == 1
    store.marketing.set_status(manager, flow.id, active=False)
    store.marketing.set_status(manager, flow.id, active=True)
    assert store.marketing.run()[0]["entered"] == 0
    assert steps(flow, person.id) == [("t1", "entered"), ("a1", "done")]
    assert Message.select().where(Message.member_id == person.id).count() == 1
    with pytest.raises(peewee.IntegrityError):  # the database itself holds the rule
        Step.create(id="again", flow_id=flow.id, member_id=person.id, node_id="a1", outcome="done", at="now")


def test_a_loop_through_a_wait_ends_when_it_comes_back_to_a_step_taken(store, cashier, manager):
    person = member(store, cashier)
    flow = active_flow(store, manager, {"nodes": [node("t1", "trigger", "registered"), ACTION, WAIT],
                                        "edges": [edge("t1", "a1"), edge("a1", "w1"), edge("w1", "a1")]})
    store.marketing.run()
    store.marketing.run(today=later(store, 3))
    assert steps(flow, person.id) == [("t1", "entered"), ("a1", "done"), ("w1", "done")]
    assert journeys(flow) == {person.id: "done"}
    assert Message.select().where(Message.member_id == person.id).count() == 1


# -- dry run ----------------------------------------------------------------------------------

def test_a_dry_run_counts_who_would_be_reached_with_a_masked_sample_and_writes_nothing(store, cashier, manager):
    people = [member(store, cashier) for _ in range(3)]
    flow = active_flow(store, manager, chain(node("t1", "trigger", "registered"), ACTION))
    with nothing_written(store):
        preview = store.marketing.dry_run(flow.id)
    assert preview["entered"] == 3 and preview["reached"] == {"t1": 3, "a1": 3}
    assert sorted(s["member_id"] for s in preview["sample"]) == sorted(p.id for p in people)
    phones = {p.phone for p in people}
    assert all("****" in s["phone_masked"] and s["phone_masked"] not in phones for s in preview["sample"])


def test_a_dry_run_of_an_invalid_flow_is_refused(store, manager):
    flow = store.marketing.create(manager, "坏", {"nodes": [ACTION], "edges": []})
    with nothing_written(store), refused(DomainError, code="flow_invalid"):
        store.marketing.dry_run(flow.id)


# -- events at the checkout, and what actions leave ------------------------------------------------------

def test_a_first_purchase_runs_its_flow_inside_the_sale_and_asks_hq_for_a_message(store, cashier, manager):
    person = member(store, cashier)
    flow = active_flow(store, manager, chain(node("t1", "trigger", "first_purchase"),
                                             node("a1", "action", "hq_message", channel="sms", template="welcome_1")))
    sell(store, cashier, [(WATER, 1)])  # no member: no flow
    member_sale(store, cashier, person, [(WATER, 1)])
    assert journeys(flow) == {person.id: "done"}
    [asked] = events("marketing.message_requested")
    assert asked["data"] | {"params": None} == {
        "member_id": person.id, "member_code": person.code, "channel": "sms", "template": "welcome_1",
        "params": None, "flow_id": flow.id, "flow": flow.name, "node_id": "a1", "store_id": store.config.store.id}
    member_sale(store, cashier, person, [(COLA, 1)])  # a second purchase is not a first one
    assert len(events("marketing.message_requested")) == 1


def test_a_level_up_at_the_checkout_issues_a_coupon(store, cashier, manager):
    person = member(store, cashier)
    definition_id = coupon_definition(store, manager)
    flow = active_flow(store, manager, chain(node("t1", "trigger", "level_up"),
                                             node("a1", "action", "issue_coupon", definition_id=definition_id)))
    member_sale(store, cashier, person, [(WATER, 500)])
    [coupon] = Coupon.select().where(Coupon.member_id == person.id)
    assert coupon.definition_id == definition_id
    assert Journey.get(Journey.flow_id == flow.id).coupon_id == coupon.id


def test_a_receipt_message_prints_once_on_the_members_next_receipt(store_with, tmp_path):
    from tests.conftest import MANAGER_PIN, terminal

    store = store_with({"devices": [network_printer(9, lane=1)]})
    cashier, manager = terminal(store), terminal(store, lane=2, pin=MANAGER_PIN, shift_float=None)
    active_flow(store, manager, chain(node("t1", "trigger", "registered"),
                                      node("a1", "action", "receipt_message", text="会员日周三双倍积分")))
    person = member(store, cashier)
    first = member_sale(store, cashier, person, [(WATER, 1)])
    second = member_sale(store, cashier, person, [(WATER, 1)])
    printed = {job.ref: job.document for job in PrintJob.select()}
    assert "会员日周三双倍积分" in printed[first.id]
    assert "会员日周三双倍积分" not in printed[second.id]
    assert Message.get(Message.member_id == person.id).delivered_ref == first.id


def test_a_kiosk_message_is_shown_until_the_kiosk_says_it_was(store, cashier, manager):
    active_flow(store, manager, chain(node("t1", "trigger", "registered"), ACTION))
    person = member(store, cashier)
    [message] = store.marketing.kiosk_messages(person.id)
    store.marketing.kiosk_message_shown(cashier, message["id"])
    assert store.marketing.kiosk_messages(person.id) == []
    assert audit_records("marketing.message_shown")[0]["entity_id"] == message["id"]


# -- interest without purchase -------------------------------------------------------------------

def test_a_price_check_and_a_line_taken_off_a_members_cart_are_recorded_as_interest(store, cashier):
    person = member(store, cashier)
    water = store.catalog.by_sku("DRK001")
    store.marketing.record_interest(person.id, water.id, "price_check")
    sale = open_sale_with(store, cashier, [(COLA, 1), (WATER, 1)])
    store.sales.remove_line(sale.id, store.sales.lines(sale)[1].id, cashier)  # no member yet: not interest
    store.sales.set_member(sale.id, cashier, person)
    store.sales.remove_line(sale.id, store.sales.lines(sale)[0].id, cashier)
    assert [(i["sku"], i["source"]) for i in store.marketing.interest.of_member(person.id)] == [
        ("DRK001", "price_check"), ("DRK002", "cart_removed")]


@pytest.mark.parametrize("member_id, product_id, source, error, field", [
    ("nobody", 1, "price_check", NotFound, "member_id"),
    (None, 999_999, "price_check", NotFound, "product_id"),
    (None, 1, "stared_at", DomainError, "source"),
])
def test_interest_with_bad_input_is_refused_and_writes_nothing(store, cashier, member_id, product_id, source, error,
                                                                field):
    person = member(store, cashier)
    with nothing_written(store), refused(error, field=field):
        store.marketing.record_interest(member_id or person.id, product_id, source)


def test_erasing_a_member_removes_their_interest_and_undelivered_messages(store, cashier, manager):
    active_flow(store, manager, chain(node("t1", "trigger", "registered"), ACTION))
    person = member(store, cashier)
    store.marketing.record_interest(person.id, store.catalog.by_sku("DRK001").id, "price_check")
    store.members.erase(manager, person.id, "本人要求")
    assert store.marketing.interest.of_member(person.id) == []
    assert Message.select().where(Message.member_id == person.id).count() == 0
    assert events("member.erased")[-1]["data"]["marketing"] == {"interest_removed": 1, "messages_removed": 1}


def test_a_flow_failing_at_the_checkout_leaves_the_sale_standing(store, cashier, manager):
    person = member(store, cashier)
    flow = active_flow(store, manager, chain(node("t1", "trigger", "first_purchase"), ACTION))
    # a flow stored broken behind the service's back (activation would have refused it)
    Flow.update(definition='{"nodes": [], "edges": []}').where(Flow.id == flow.id).execute()
    sale = member_sale(store, cashier, person, [(WATER, 1)])
    assert store.sales.get(sale.id).status == "completed"
    assert journeys(flow) == {}


def test_merging_members_moves_the_duplicates_interest_and_pending_messages(store, cashier, manager):
    active_flow(store, manager, chain(node("t1", "trigger", "registered"), ACTION))
    keep, duplicate = member(store, cashier), member(store, cashier)
    store.marketing.record_interest(duplicate.id, store.catalog.by_sku("DRK001").id, "price_check")
    store.members.merge(manager, keep.id, duplicate.id)
    assert [i["sku"] for i in store.marketing.interest.of_member(keep.id)] == ["DRK001"]
    assert len(store.marketing.kiosk_messages(keep.id)) == 2
    assert events("member.updated")[-1]["data"]["marketing"] == {"interest_moved": 1, "messages_moved": 1}


def test_a_day_in_a_trigger_starts_at_the_stores_local_midnight_not_utcs():
    """Registrations and level changes are stamped in UTC; in Shanghai the 24th starts at 16:00 UTC on the 23rd."""
    params = trigger_params("registered", {"days": 0}, date(2026, 11, 24), [], "Asia/Shanghai")
    assert params["since_at"] == "2026-11-23T16:00:00"
    assert "2026-11-23T16:01:15.253+00:00" >= params["since_at"] > "2026-11-23T15:59:59.999+00:00"
