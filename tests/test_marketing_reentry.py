"""Flows a member may enter again (a recurring "inactive 30 days", a yearly birthday): the re-entry policy saved
with the flow and refused when bad, honoured by the daily run, the checkout's events and the dry run; one journey
per entry with its own steps; and migration 18 keeps the journeys and steps made before it."""

from __future__ import annotations

import pytest
from peewee import SQL, IntegrityError

from edge.app import StoreEdge
from edge.config import parse_config
from edge.db import DB_FILENAME
from edge.errors import DomainError
from edge.marketing.models import Journey, Message, Step
from tests.conftest import WATER
from tests.domain2_helpers import nothing_written, refused
from tests.marketing_helpers import (active_flow, backdate_registration, chain, kiosk_says, later, member,
                                     member_sale, node)
from tests.test_migrations_and_config import kept, table_rows

MONTHLY = {"mode": "after_days", "days": 30}
INACTIVE = chain(node("t1", "trigger", "inactive_days", days=30), kiosk_says())


def journeys_of(flow, member_id: str) -> list[tuple[int, str, str | None]]:
    """(entry, status, ended_on) of each of a member's journeys through a flow."""
    return [(j.entry, j.status, j.ended_on) for j in Journey.select().where(
        (Journey.flow_id == flow.id) & (Journey.member_id == member_id)).order_by(Journey.entry)]


def steps_by_entry(flow, member_id: str) -> dict[int, list[str]]:
    taken: dict[int, list[str]] = {}
    for step in Step.select().where((Step.flow_id == flow.id) & (Step.member_id == member_id)).order_by(SQL("rowid")):
        taken.setdefault(step.entry, []).append(step.node_id)
    return taken


@pytest.fixture
def sleeper(store, cashier):
    """A member who joined long ago and has not been in since."""
    person = member(store, cashier)
    backdate_registration(store, person.id, 400)
    return person


@pytest.mark.parametrize("reentry, entered_again", [(None, 0), ({"mode": "never"}, 0), (MONTHLY, 1)])
def test_a_recurring_flow_takes_a_member_again_once_the_days_after_their_journey_have_passed(
        store, manager, sleeper, reentry, entered_again):
    flow = active_flow(store, manager, INACTIVE, reentry=reentry)
    assert store.marketing.run()[0]["entered"] == 1
    assert store.marketing.run(today=later(store, 29))[0]["entered"] == 0  # 29 days after: not yet
    assert store.marketing.run(today=later(store, 30))[0]["entered"] == entered_again
    expected = [(1, "done", store.today().isoformat())]
    if entered_again:
        expected.append((2, "done", later(store, 30).isoformat()))
    assert journeys_of(flow, sleeper.id) == expected
    # each journey has its own steps: the same nodes again, never twice in one journey
    assert steps_by_entry(flow, sleeper.id) == {entry: ["t1", "a1"] for entry, _, _ in expected}
    assert Message.select().where(Message.member_id == sleeper.id).count() == len(expected)


def test_a_member_still_waiting_in_a_flow_does_not_enter_it_again(store, manager, sleeper):
    flow = active_flow(store, manager, chain(node("t1", "trigger", "inactive_days", days=30),
                                             node("w1", "wait", "days", days=10), kiosk_says()),
                       reentry={"mode": "after_days", "days": 1})
    store.marketing.run()
    [day_five] = store.marketing.run(today=later(store, 5))
    assert (day_five["entered"], journeys_of(flow, sleeper.id)) == (0, [(1, "waiting", None)])
    [day_ten] = store.marketing.run(today=later(store, 10))
    assert (day_ten["resumed"], day_ten["entered"]) == (1, 0)  # the journey ends today: one day to wait
    [day_eleven] = store.marketing.run(today=later(store, 11))
    assert day_eleven["entered"] == 1
    assert journeys_of(flow, sleeper.id) == [(1, "done", later(store, 10).isoformat()), (2, "waiting", None)]
    assert steps_by_entry(flow, sleeper.id) == {1: ["t1", "w1", "a1"], 2: ["t1"]}
    answer = store.marketing.journeys(flow.id)["journeys"]
    assert [(j["entry"], [s["node"] for s in j["steps"]]) for j in answer] == [(2, ["t1"]), (1, ["t1", "w1", "a1"])]


def test_a_dry_run_honours_re_entry_and_writes_nothing(store, manager, sleeper):
    flow = active_flow(store, manager, INACTIVE, reentry=MONTHLY)
    store.marketing.run()
    with nothing_written(store):
        too_soon = store.marketing.dry_run(flow.id, today=later(store, 29))
        again = store.marketing.dry_run(flow.id, today=later(store, 30))
    assert (too_soon["entered"], again["entered"]) == (0, 1)
    assert [s["member_id"] for s in again["sample"]] == [sleeper.id]


@pytest.mark.parametrize("reentry, entries", [(None, [1]), ({"mode": "after_days", "days": 7}, [1, 2])])
def test_a_level_up_at_the_checkout_enters_the_member_again_only_if_the_flow_allows_it(
        store, cashier, manager, reentry, entries):
    person = member(store, cashier)
    flow = active_flow(store, manager, chain(node("t1", "trigger", "level_up"), kiosk_says()), reentry=reentry)
    member_sale(store, cashier, person, [(WATER, 500)])  # 银卡
    # the first journey ended a week ago (the checkout runs on today's date only)
    Journey.update(ended_on=later(store, -7).isoformat()).where(Journey.flow_id == flow.id).execute()
    member_sale(store, cashier, person, [(WATER, 2000)])  # 金卡
    assert [entry for entry, _, _ in journeys_of(flow, person.id)] == entries


@pytest.mark.parametrize("reentry, field", [
    ({"mode": "after_days"}, "reentry.days"),
    ({"mode": "after_days", "days": 0}, "reentry.days"),
    ({"mode": "after_days", "days": 3661}, "reentry.days"),
    ({"mode": "never", "days": 30}, "reentry.days"),
    ({"mode": "sometimes"}, "reentry.mode"),
    ({"mode": "after_days", "days": "30"}, "reentry.days"),
    ({"mode": "never", "every": 30}, "reentry.every"),
])
def test_a_bad_re_entry_policy_is_refused_naming_its_field_and_nothing_is_written(store, manager, reentry, field):
    draft = store.marketing.create(manager, "草稿", INACTIVE)
    with nothing_written(store):
        with refused(DomainError, field=field):
            store.marketing.create(manager, "每月唤醒", INACTIVE, reentry)
        with refused(DomainError, field=field):
            store.marketing.update(manager, draft.id, "每月唤醒", INACTIVE, reentry)


def test_the_re_entry_policy_is_saved_shown_and_changed_with_the_flow(store, manager):
    flow = store.marketing.create(manager, "每月唤醒", INACTIVE, MONTHLY)
    assert store.marketing.flow_dict(flow)["reentry"] == MONTHLY
    renamed = store.marketing.update(manager, flow.id, "每月唤醒 2", INACTIVE)  # no policy given: kept
    assert store.marketing.flow_dict(renamed)["reentry"] == MONTHLY
    changed = store.marketing.update(manager, flow.id, "每月唤醒", INACTIVE, {"mode": "never"})
    assert (changed.reentry_days, store.marketing.flow_dict(changed)["reentry"]) == (None, {"mode": "never"})


# -- migration 18 ------------------------------------------------------------------------------

BEFORE_18 = (
    "INSERT INTO member (id, code, phone, status, home_store, registered_at, updated_at) VALUES "
    "('m1', 'M1', '13700000001', 'active', 'S1', '2025-01-01T08:00:00+00:00', '2025-01-01T08:00:00+00:00'), "
    "('m2', 'M2', '13700000002', 'active', 'S1', '2025-01-01T08:00:00+00:00', '2025-01-01T08:00:00+00:00')",
    "INSERT INTO marketing_flow (id, name, status, trigger_kind, definition, created_at, updated_at) VALUES "
    "('f1', '唤醒', 'active', 'inactive_days', '{\"nodes\": [], \"edges\": []}', '2026-01-01', '2026-01-01')",
    "INSERT INTO marketing_journey VALUES ('f1', 'm1', 'done', NULL, NULL, NULL, '2026-02-01T08:00:00+00:00', "
    "'2026-02-03T09:00:00+00:00'), ('f1', 'm2', 'waiting', 'w1', '2026-03-01', 'c9', '2026-02-01T08:00:00+00:00', "
    "'2026-02-01T08:00:00+00:00')",
    "INSERT INTO marketing_step VALUES ('s1', 'f1', 'm1', 't1', 'entered', NULL, '2026-02-01T08:00:00+00:00'), "
    "('s2', 'f1', 'm1', 'a1', 'done', '{\"message_id\": \"x\"}', '2026-02-01T08:00:01+00:00')",
)


def test_migration_18_keeps_journeys_and_steps_as_the_first_entry(tmp_path):
    store = StoreEdge(parse_config({}), tmp_path)
    try:
        store.db.migrate(target=17)
        with store.db.transaction():
            for statement in BEFORE_18:
                store.db.peewee.execute_sql(statement)
        before = table_rows(tmp_path / DB_FILENAME)
        assert store.db.migrate(target=18) == [18]
        after = table_rows(tmp_path / DB_FILENAME)
        for table in ("marketing_flow", "marketing_journey", "marketing_step", "member"):
            assert kept(before[table], after[table]), table
        assert [row[-1] for row in after["marketing_flow"]] == [None]  # reentry_days: never, as before
        assert {row[1]: row[-2:] for row in after["marketing_journey"]} == {"m1": (1, "2026-02-03"), "m2": (1, None)}
        assert {row[-1] for row in after["marketing_step"]} == {1}
        with pytest.raises(IntegrityError):  # still one step per node in a journey
            store.db.peewee.execute_sql("INSERT INTO marketing_step VALUES ('s3', 'f1', 'm1', 'a1', 'done', NULL, "
                                        "'2026-02-02', 1)")
    finally:
        store.db.close()
