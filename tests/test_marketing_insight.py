"""Customer-insight tags and saved segments as flow conditions: "has tag X" and "in segment S" send each member down
the branch their tags and the segment's live criteria say, in runs and dry runs alike; a flow naming a tag or
segment that does not exist is invalid, with a code naming it."""

from __future__ import annotations

import pytest

from tests.conftest import WATER
from tests.domain2_helpers import nothing_written
from tests.marketing_helpers import active_flow, edge, kiosk_says, member, member_sale, node, steps


def branching_on(kind: str, **params) -> dict:
    """New members meet the condition: yes, a kiosk message; no, a receipt message."""
    return {"nodes": [node("t1", "trigger", "registered"), node("c1", "condition", kind, **params), kiosk_says(),
                      node("a2", "action", "receipt_message", text="下次见")],
            "edges": [edge("t1", "c1"), edge("c1", "a1", "yes"), edge("c1", "a2", "no")]}


def regular_and_newcomer(store, cashier):
    """Two members who joined today: one has bought (¥2.00), one has not."""
    regular, newcomer = member(store, cashier), member(store, cashier)
    member_sale(store, cashier, regular, [(WATER, 1)])
    return regular, newcomer


def tagged_flow(store, cashier, manager, regular):
    tag = store.insight.tags.create(manager, name="熟客")
    store.insight.tags.tag_member(manager, regular.id, tag.id)
    return branching_on("tag", tag_id=tag.id)


def segment_flow(store, cashier, manager, regular):
    tag = store.insight.tags.create(manager, name="熟客")
    store.insight.tags.tag_member(manager, regular.id, tag.id)
    segment = store.insight.segments.save(manager, name="熟客分群", criteria={"tags_all": [tag.id]})
    store.insight.refresh(full=True)  # a segment selects among the profiles
    return branching_on("segment", segment_id=segment.id)


@pytest.mark.parametrize("set_up", [tagged_flow, segment_flow], ids=["tag", "segment"])
def test_a_tag_or_segment_condition_sends_members_down_the_branch_their_insight_says(store, cashier, manager,
                                                                                     set_up):
    regular, newcomer = regular_and_newcomer(store, cashier)
    flow = active_flow(store, manager, set_up(store, cashier, manager, regular))
    with nothing_written(store):
        preview = store.marketing.dry_run(flow.id)
    assert preview["reached"] == {"t1": 2, "c1": 2, "a1": 1, "a2": 1}
    store.marketing.run()
    assert steps(flow, regular.id) == [("t1", "entered"), ("c1", "yes"), ("a1", "done")]
    assert steps(flow, newcomer.id) == [("t1", "entered"), ("c1", "no"), ("a2", "done")]


@pytest.mark.parametrize("kind", ["tag", "segment"])
def test_a_condition_naming_a_tag_or_segment_that_does_not_exist_is_invalid(store, kind):
    [problem] = store.marketing.validate(branching_on(kind, **{f"{kind}_id": "nope"}))
    assert (problem.node, problem.field, problem.code) == ("c1", f"params.{kind}_id", f"unknown_{kind}")
    assert problem.params == {"type": "condition", "kind": kind, "value": "nope"}


def test_spend_and_category_rules_count_the_sales_made_at_the_till(store, cashier, manager):
    """The till dates a sale YYYYMMDD: a segment on spend and a tag rule on a category must still see it."""
    regular, newcomer = regular_and_newcomer(store, cashier)
    [(category,)] = store.db.peewee.execute_sql(
        "SELECT c.name FROM product p JOIN category c ON c.id = p.category_id WHERE p.sku = 'DRK001'").fetchall()
    tag = store.insight.tags.create(manager, name="饮料常客", kind="auto")
    store.insight.tags.add_rule(manager, tag.id, category=category, min_times=1, days=30)
    segment = store.insight.segments.save(manager, name="消费过的会员", criteria={"min_monetary": 100})
    store.insight.refresh(full=True)
    both = [regular.id, newcomer.id]
    assert store.insight.segments.members_among(segment.id, both) == {regular.id}
    assert store.insight.tags.members_with(tag.id, both) == {regular.id}
    flow = active_flow(store, manager, branching_on("segment", segment_id=segment.id))
    store.marketing.run()
    assert steps(flow, regular.id)[1] == ("c1", "yes")


def test_an_edited_segment_decides_the_flows_next_run(store, cashier, manager):
    """The condition reads the segment's criteria when the flow runs: an edit after the flow was activated counts."""
    regular, newcomer = regular_and_newcomer(store, cashier)
    segment = store.insight.segments.save(manager, name="大客户", criteria={"min_monetary": 100_000})
    store.insight.refresh(full=True)
    flow = active_flow(store, manager, branching_on("segment", segment_id=segment.id))
    assert store.marketing.dry_run(flow.id)["reached"] == {"t1": 2, "c1": 2, "a2": 2}
    store.insight.segments.update(manager, segment.id, name="消费过的会员", criteria={"min_monetary": 100})
    store.marketing.run()
    assert steps(flow, regular.id) == [("t1", "entered"), ("c1", "yes"), ("a1", "done")]
    assert steps(flow, newcomer.id) == [("t1", "entered"), ("c1", "no"), ("a2", "done")]
