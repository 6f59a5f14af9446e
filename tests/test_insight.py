"""Customer insight, without HTTP: RFM scores and segments, lifecycle stages, tag rules, the segment builder,
BG/NBD predictions, and incremental refresh giving exactly what a full rebuild gives."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest

from edge.app import StoreEdge
from edge.catalog.schemas import ProductIn
from edge.config import parse_config
from edge.db import available_migrations

from edge.errors import Conflict, DomainError, NotFound
from edge.insight import bgnbd, holdout, scoring, synthetic
from edge.members.identity import new_member_code
from edge.sync.apply import Applier
from tests.conftest import COLA, WATER, terminal
from tests.domain2_helpers import MANAGER_APPROVAL, audit_records, nothing_written, refused
from tests.insight_helpers import DIAPERS, TODAY, buy, days_ago, join, member_tags, profiles

THRESHOLDS = {"insight": {"rfm": "thresholds", "recency_days": [30, 60, 120, 240], "frequency_visits": [2, 3, 5, 8],
                          "monetary_fen": [1000, 2000, 5000, 10000]}}


@pytest.fixture
def shop(store_with):
    store = store_with(THRESHOLDS)
    return store, terminal(store)


def profile(store, member_id: str) -> dict:
    return store.insight.profile(member_id)


# -- pure rules ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("days, score", [(0, 5), (30, 5), (31, 4), (60, 4), (61, 3), (240, 2), (241, 1)])
def test_recency_scores_fall_past_each_cut_point(days, score):
    assert scoring.score_recency(np.array([days]), [30, 60, 120, 240])[0] == score


@pytest.mark.parametrize("visits, score", [(1, 1), (2, 2), (4, 3), (5, 4), (8, 5), (50, 5)])
def test_frequency_scores_rise_at_each_cut_point(visits, score):
    assert scoring.score_higher(np.array([visits]), [2, 3, 5, 8])[0] == score


@pytest.mark.parametrize("r, f, m, segment", [
    (5, 5, 5, "重要价值"), (1, 5, 5, "重要保持"), (5, 1, 5, "重要发展"), (1, 1, 5, "重要挽留"),
    (5, 5, 1, "一般价值"), (1, 5, 1, "一般保持"), (5, 1, 1, "一般发展"), (1, 1, 1, "一般挽留"),
    (3, 3, 3, "重要价值"), (2, 3, 3, "重要保持")])
def test_the_eight_segments_split_on_the_high_score(r, f, m, segment):
    assert scoring.segments(np.array([r]), np.array([f]), np.array([m]), high=3)[0] == segment


@pytest.mark.parametrize("days_since, interval, since_first, stage", [
    (15, 10, 400, "active"), (16, 10, 400, "at-risk"), (30, 10, 400, "at-risk"), (31, 10, 400, "sleeping"),
    (60, 10, 400, "sleeping"), (61, 10, 400, "lost"), (5, 10, 20, "new"), (16, 10, 20, "at-risk")])
def test_lifecycle_is_judged_in_the_members_own_interval(days_since, interval, since_first, stage):
    found = scoring.lifecycle(np.array([days_since]), np.array([interval]), np.array([since_first]), new_days=30,
                              at_risk_after=1.5, sleeping_after=3.0, lost_after=6.0)
    assert found[0] == stage


# -- profiles from real sales ----------------------------------------------------------------------------------


def test_a_regular_big_spender_and_a_one_off_buyer(shop):
    store, till = shop
    regular, one_off, never = join(store, till), join(store, till), join(store, till, joined=days_ago(3))
    for weeks in range(8):  # weekly, always diapers; 8 visits, ¥719.20 in all
        buy(store, till, regular, days_ago(7 * weeks + 1), [(DIAPERS, 1)], method="card" if weeks else "cash")
    buy(store, till, one_off, days_ago(300), [(WATER, 1)])
    store.insight.refresh(full=True, as_of=TODAY)

    found = profile(store, regular)
    assert found["rfm"] == {"recency_days": 1, "frequency": 8, "monetary": 8 * 8990, "r": 5, "f": 5, "m": 5,
                            "segment": "重要价值"}
    assert found["lifecycle"] == "active" and found["usual_interval_days"] == 7.0
    assert found["favourite_categories"] == ["母婴"] and found["preferred_tender"] == "card"
    assert found["average_basket"] == 8990 and found["time_slots"]["top_hour"] == 10  # 02:15 UTC is 10:15 here
    assert found["time_slots"]["weekday"] + found["time_slots"]["weekend"] == 8
    assert 0.5 < found["prediction"]["p_buy_30d"] <= 1 and found["prediction"]["next_purchase"] > "2026-11-23"

    lonely = profile(store, one_off)
    assert lonely["rfm"]["segment"] == "一般挽留" and lonely["rfm"]["r"] == 1
    assert lonely["lifecycle"] == "lost"  # 300 days against the default 30-day interval
    fresh = profile(store, never)
    assert fresh["lifecycle"] == "new" and fresh["rfm"]["segment"] is None and fresh["prediction"]["p_buy_30d"] is None


def test_refunds_lower_the_monetary_value(shop):
    store, till = shop
    member_id = join(store, till)
    sale = buy(store, till, member_id, days_ago(2), [(WATER, 1), (COLA, 1)])
    cola = store.sales.lines(sale)[1]
    store.insight.refresh(as_of=TODAY)
    store.refunds.refund(till, sale.id, [{"line_id": cola.id, "qty": 1}], "破损", "original", MANAGER_APPROVAL)
    assert store.insight.status()["queued"] == 1  # the refund queued the member
    store.insight.refresh(as_of=TODAY)
    assert profile(store, member_id)["rfm"]["monetary"] == 500 - 300


def queue(store) -> list[tuple]:
    return store.db.peewee.execute_sql("SELECT member_id, marks FROM insight_dirty ORDER BY member_id").fetchall()


def test_joining_and_each_completed_member_sale_queue_the_member_and_a_refresh_empties_the_queue(shop):
    store, till = shop
    member_id = join(store, till)
    assert queue(store) == [(member_id, 1)]
    buy(store, till, member_id, days_ago(1))
    buy(store, till, member_id, days_ago(1))
    assert queue(store) == [(member_id, 3)]
    summary = store.insight.refresh(as_of=TODAY)
    assert summary["members"] == 1 and store.insight.status()["queued"] == 0
    assert profile(store, member_id)["tickets"] == 2


def from_another_store(store, *events: tuple[str, dict]) -> None:
    """HQ's broadcast of what happened at another store, applied here."""
    Applier(store).apply_broadcast({"hq_seq": Applier(store).hq_seq() + 1, "events": [
        {"id": str(uuid.uuid4()), "type": kind, "at": "2026-11-22T08:00:00+00:00", "store_id": "S099", "data": data}
        for kind, data in events]})


def auto_tag(store, caller, name: str, category: str, min_times: int, days: int):
    tag = store.insight.tags.create(caller, name=name, kind="auto")
    store.insight.tags.add_rule(caller, tag.id, category=category, min_times=min_times, days=days)
    return tag


def test_incremental_refresh_gives_what_a_full_rebuild_gives(shop):
    store, till = shop
    members = [join(store, till) for _ in range(10)]
    for n, member_id in enumerate(members):  # odd ones buy diapers, even ones water, every 13 days
        for visit in range(n + 1):
            buy(store, till, member_id, days_ago(5 + 13 * visit + n), [(DIAPERS if n % 2 else WATER, 1)])
    baby = auto_tag(store, till, "母婴", "母婴", min_times=2, days=60)
    store.insight.refresh(full=True, as_of=TODAY)
    assert {m for m, tag, _ in member_tags(store) if tag == baby.id} == {members[1], members[3], members[5],
                                                                          members[7], members[9]}
    # after the rebuild: new sales, a merge, erasures here and at another store, a member from another store, a
    # new member, a new level, and a new rule whose answer changes for members nobody touched (8 and 9)
    buy(store, till, members[0], days_ago(1), [(COLA, 2)], method="card")
    buy(store, till, members[3], days_ago(2), [(DIAPERS, 1)])
    buy(store, till, members[6], days_ago(3), [(DIAPERS, 1)])
    buy(store, till, members[6], days_ago(2), [(DIAPERS, 1)])
    store.members.merge(till, members[1], members[2])
    store.members.erase(till, members[5], reason="本人要求")
    elsewhere = str(uuid.uuid4())
    from_another_store(store, ("member.erased", {"id": members[7]}), ("member.registered", {
        "id": elsewhere, "code": new_member_code(), "phone": "13900000001", "status": "active", "minor": False,
        "home_store": "S099", "registered_at": "2026-11-20T02:00:00.000+00:00"}))
    with store.db.transaction():
        basic, higher = store.config.members.levels[:2]
        store.levels.move(members[4], basic, higher, 0, till, reason="manual", ref=None)
    drinks = auto_tag(store, till, "饮料", "饮料", min_times=1, days=30)
    newcomer = join(store, till, joined=days_ago(1))
    summary = store.insight.refresh(as_of=TODAY)
    incremental, tags = profiles(store), member_tags(store)

    store.insight.refresh(full=True, refit=False, as_of=TODAY)
    assert profiles(store) == incremental
    assert member_tags(store) == tags
    # rebuilt: 0, 3, 6 (sales), 1 (merge), 4 (level), the newcomer and the member from elsewhere
    assert summary["members"] == 7
    assert {members[2], members[5], members[7]}.isdisjoint(incremental) and {newcomer, elsewhere} <= set(incremental)
    assert incremental[members[1]][3] == 2 + 3  # visits: its own two and the merged member's three
    assert incremental[members[4]][1] == higher.name
    assert {m for m, tag, _ in tags if tag == baby.id} == {members[1], members[3], members[6], members[9]}
    assert {m for m, tag, _ in tags if tag == drinks.id} == {members[n] for n in (0, 1, 4, 6, 8)}


def test_a_product_moved_into_a_rules_category_retags_everyone_at_the_next_refresh(shop):
    store, till = shop
    water_buyer, other = join(store, till), join(store, till)
    buy(store, till, water_buyer, days_ago(3), [(WATER, 1)])
    buy(store, till, other, days_ago(3), [(COLA, 1)])
    baby = auto_tag(store, till, "母婴", "母婴", min_times=1, days=30)
    store.insight.refresh(full=True, as_of=TODAY)
    assert member_tags(store) == set()
    water = store.catalog.scan(WATER).product
    moved = {k: v for k, v in store.catalog.as_dict(water).items() if k in ProductIn.model_fields}
    store.catalog.upsert(ProductIn.model_validate({**moved, "category": "母婴"}))
    summary = store.insight.refresh(as_of=TODAY)
    assert summary["queued"] == 0 and member_tags(store) == {(water_buyer, baby.id, "auto")}


def test_an_incremental_refresh_does_the_same_work_in_a_store_many_times_larger(shop):
    """Counted in SQLite's virtual machine steps, not time: the work is the queued members', whatever else the
    store holds (the refresh used to read every member and every sale in the tag rules' windows)."""
    store, till = shop
    touched = [join(store, till) for _ in range(5)]
    for n, member_id in enumerate(touched):
        for visit in range(3):
            buy(store, till, member_id, days_ago(2 + 11 * visit + n), [(DIAPERS if n % 2 else WATER, 1)])
    auto_tag(store, till, "母婴", "母婴", min_times=2, days=60)
    connection = store.db.peewee.connection()

    def incremental_steps() -> int:
        for member_id in touched:
            store.insight.mark(member_id)
        steps = [0]

        def count() -> int:
            steps[0] += 1
            return 0  # carry on
        connection.set_progress_handler(count, 100)
        try:
            assert store.insight.refresh(as_of=TODAY)["members"] == len(touched)
        finally:
            connection.set_progress_handler(None, 0)
        return steps[0]

    store.insight.refresh(full=True, as_of=TODAY)
    small = incremental_steps()
    written = synthetic.fill(store, members=3000, lines=30_000, end=days_ago(1), days=120)
    store.insight.refresh(full=True, as_of=TODAY)
    large = incremental_steps()
    assert written["sales"] > 100 * 3 * len(touched)  # a hundred times the queued members' sales
    assert large < 1.5 * small


def test_the_upgrade_queues_the_members_without_a_profile_and_later_joiners_queue_themselves(tmp_path):
    store = StoreEdge(parse_config({}), tmp_path)
    step = next(m.version for m in available_migrations() if m.name == "insight_queue")
    store.db.migrate(target=step - 1)
    sql = store.db.peewee.execute_sql
    member = "INSERT INTO member (id, code, phone, status, home_store, registered_at, updated_at) " \
             "VALUES (?, ?, NULL, ?, 'S001', '2026-01-05T08:00:00+00:00', '2026-01-05T08:00:00+00:00')"
    try:
        with store.db.transaction():
            for member_id, status in (("profiled", "active"), ("unprofiled", "inactive"), ("gone", "erased")):
                sql(member, (member_id, new_member_code(), status))
            sql("INSERT INTO insight_profile (member_id, tickets, visits, monetary, avg_basket, lifecycle, as_of, "
                "refreshed_at) VALUES ('profiled', 0, 0, 0, 0, 'new', '2026-11-22', '2026-11-22T08:00:00+00:00')")
        store.db.migrate()
        assert queue(store) == [("unprofiled", 1)]
        with store.db.transaction():
            sql(member, ("joined", new_member_code(), "active"))
            sql("UPDATE member SET status = 'inactive' WHERE id = 'profiled'")
            sql("UPDATE member SET updated_at = '2026-11-23T08:00:00+00:00' WHERE id = 'gone'")  # status unchanged
            sql("INSERT INTO member_level (member_id, level, since) VALUES ('unprofiled', '银卡', '2026-11-23')")
        assert queue(store) == [("joined", 1), ("profiled", 1), ("unprofiled", 2)]
    finally:
        store.db.close()


def test_erasing_a_member_removes_their_profile_and_tags(shop):
    store, till = shop
    member_id = join(store, till)
    buy(store, till, member_id, days_ago(1))
    tag = store.insight.tags.create(till, name="熟客")
    store.insight.tags.tag_member(till, member_id, tag.id)
    auto_tag(store, till, "饮料", "饮料", min_times=1, days=30)
    store.insight.refresh(as_of=TODAY)
    assert len(member_tags(store)) == 2
    store.members.erase(till, member_id, reason="本人要求")
    assert member_id not in profiles(store) and not member_tags(store)
    store.insight.refresh(full=True, as_of=TODAY)  # the erased member's sales stay, anonymous: they tag nobody
    assert member_id not in profiles(store) and not member_tags(store)


# -- tags ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("days_back, tagged", [((1, 20, 59), True), ((1, 20), False), ((1, 20, 61), False)])
def test_the_mother_and_baby_rule_needs_three_tickets_in_sixty_days(shop, days_back, tagged):
    store, till = shop
    member_id = join(store, till)
    for days in days_back:
        buy(store, till, member_id, days_ago(days), [(DIAPERS, 1)])
    tag = store.insight.tags.create(till, name="母婴", group="品类偏好", kind="auto")
    store.insight.tags.add_rule(till, tag.id, category="母婴", min_times=3, days=60)
    store.insight.refresh(as_of=TODAY)
    assert ((member_id, tag.id, "auto") in member_tags(store)) is tagged


def test_switching_a_rule_off_takes_its_tag_away_at_the_next_refresh(shop):
    store, till = shop
    member_id = join(store, till)
    buy(store, till, member_id, days_ago(1), [(DIAPERS, 1)])
    tag = store.insight.tags.create(till, name="母婴", kind="auto")
    rule = store.insight.tags.add_rule(till, tag.id, category="母婴", min_times=1, days=30)
    store.insight.refresh(as_of=TODAY)
    assert member_tags(store) == {(member_id, tag.id, "auto")}
    store.insight.tags.change_rule(till, rule.id, {"active": False})
    store.insight.refresh(as_of=TODAY)
    assert member_tags(store) == set()


def test_manual_and_automatic_tags_are_kept_apart(shop):
    store, till = shop
    member_id = join(store, till)
    auto = store.insight.tags.create(till, name="母婴", kind="auto")
    manual = store.insight.tags.create(till, name="熟客", group="服务")
    with nothing_written(store), refused(Conflict, field="tag_id", code="tag_automatic"):
        store.insight.tags.tag_member(till, member_id, auto.id)
    with nothing_written(store), refused(Conflict, field="tag_id", code="tag_manual"):
        store.insight.tags.add_rule(till, manual.id, category="母婴", min_times=1, days=30)
    with nothing_written(store), refused(Conflict, field="name", code="tag_exists"):
        store.insight.tags.create(till, name="熟客")
    store.insight.tags.tag_member(till, member_id, manual.id)
    assert store.insight.tags.of_member(member_id) == [{"id": manual.id, "name": "熟客", "group": "服务",
                                                        "source": "manual"}]


# -- segments ------------------------------------------------------------------------------------------------


def test_the_segment_builder_combines_tags_segments_and_spend(shop):
    store, till = shop
    big, small = join(store, till), join(store, till)
    for weeks in range(3):
        buy(store, till, big, days_ago(7 * weeks + 1), [(DIAPERS, 1)])
    buy(store, till, small, days_ago(3), [(WATER, 1)])
    vip = store.insight.tags.create(till, name="VIP")
    store.insight.tags.tag_member(till, big, vip.id)
    store.insight.refresh(as_of=TODAY)
    count = store.insight.segments.count
    assert count({}) == 2
    assert count({"tags_all": [vip.id]}) == 1 and count({"tags_none": [vip.id]}) == 1
    assert count({"min_monetary": 10_000, "lifecycles": ["active", "new"]}) == 1
    big_profile = profile(store, big)
    by_segment = {"segments": [big_profile["rfm"]["segment"]], "levels": [big_profile["member"]["level"]]}
    assert big in [m["member_id"] for m in store.insight.segments.members(by_segment)]
    assert count(by_segment) == len(store.insight.segments.members(by_segment))
    assert [m["member_id"] for m in store.insight.segments.members({"tags_any": [vip.id]})] == [big]


@pytest.mark.parametrize("criteria, field", [
    ({"segments": ["VIP"]}, "criteria.segments[0]"), ({"lifecycles": ["dormant"]}, "criteria.lifecycles[0]"),
    ({"tags_all": ["no-such-tag"]}, "criteria.tags_all[0]"), ({"colour": ["red"]}, "criteria.colour"),
    ({"min_monetary": 500, "max_monetary": 100}, "criteria.min_monetary")])
def test_bad_criteria_are_refused_naming_the_field(shop, criteria, field):
    store, till = shop
    with nothing_written(store), refused(DomainError, field=field):
        store.insight.segments.save(till, name="坏的", criteria=criteria)
    kept = store.insight.segments.save(till, name="好的", criteria={"lifecycles": ["new"]})
    with nothing_written(store), refused(DomainError, field=field):
        store.insight.segments.update(till, kept.id, name="坏的", criteria=criteria)
    assert stored_segment(store, kept.id) == {"name": "好的", "criteria": {"lifecycles": ["new"]}}


def stored_segment(store, segment_id: str) -> dict:
    """The saved segment as read back from the database, name and criteria."""
    saved = store.insight.segments.segment_dict(store.insight.segments.get(segment_id))
    return {"name": saved["name"], "criteria": saved["criteria"]}


def test_editing_a_segment_changes_its_name_and_criteria_with_an_audit_record(shop):
    store, till = shop
    big, small = join(store, till), join(store, till)
    buy(store, till, big, days_ago(1), [(DIAPERS, 3)])
    buy(store, till, small, days_ago(2), [(WATER, 1)])
    store.insight.refresh(as_of=TODAY)
    segment = store.insight.segments.save(till, name="大客户", criteria={"min_monetary": 10_000})
    assert store.insight.segments.members_among(segment.id, [big, small]) == {big}
    edited = store.insight.segments.update(till, segment.id, name=" 消费过的 ", criteria={"min_monetary": 100})
    assert edited.id == segment.id
    assert stored_segment(store, segment.id) == {"name": "消费过的", "criteria": {"min_monetary": 100}}
    assert store.insight.segments.members_among(segment.id, [big, small]) == {big, small}
    [record] = audit_records("insight.segment_updated")
    assert record["entity_id"] == segment.id and record["staff_id"] == till.staff_id
    assert record["data"] == {"before": {"name": "大客户", "criteria": {"min_monetary": 10_000}},
                              "name": "消费过的", "criteria": {"min_monetary": 100}}
    # keeping its own name is no clash
    store.insight.segments.update(till, segment.id, name="消费过的", criteria={})
    assert stored_segment(store, segment.id) == {"name": "消费过的", "criteria": {}}


def test_an_edit_taking_another_segments_name_or_naming_no_segment_is_refused(shop):
    store, till = shop
    first = store.insight.segments.save(till, name="新客", criteria={"lifecycles": ["new"]})
    store.insight.segments.save(till, name="活跃", criteria={"lifecycles": ["active"]})
    with nothing_written(store):
        with refused(Conflict, field="name", code="segment_exists"):
            store.insight.segments.update(till, first.id, name="活跃", criteria={})
        with refused(DomainError, field="name"):
            store.insight.segments.update(till, first.id, name="  ", criteria={})
        with refused(NotFound, field="segment_id"):
            store.insight.segments.update(till, "no-such-segment", name="别的", criteria={})
    assert stored_segment(store, first.id) == {"name": "新客", "criteria": {"lifecycles": ["new"]}}


# -- predictions -------------------------------------------------------------------------------------------------


def test_bgnbd_recovers_the_parameters_it_simulated():
    """Purchases drawn from BG/NBD itself (r=0.5, α=20, a=1, b=4): the fit comes back close."""
    rng = np.random.default_rng(3)
    n, horizon = 8000, 365.0
    rate, quit_p = rng.gamma(0.5, 1 / 20, n), rng.beta(1, 4, n)
    x, t_x = np.zeros(n), np.zeros(n)
    now, alive = np.zeros(n), np.ones(n, dtype=bool)
    while alive.any():
        now[alive] += rng.exponential(1 / rate[alive])
        bought = alive & (now < horizon)
        x[bought] += 1
        t_x[bought] = now[bought]
        alive = bought & (rng.random(n) >= quit_p)
    params = bgnbd.fit(x, t_x, np.full(n, horizon))
    assert params.r == pytest.approx(0.5, rel=0.2) and params.alpha == pytest.approx(20, rel=0.3)
    assert params.a / (params.a + params.b) == pytest.approx(0.2, rel=0.25)
    p = bgnbd.p_buy_within(params, 30, x, t_x, np.full(n, horizon))
    assert ((0 <= p) & (p <= 1)).all() and (bgnbd.p_alive(params, np.zeros(1), np.zeros(1), np.ones(1)) == 1).all()


def test_the_holdout_check_beats_the_naive_baseline(store):
    synthetic.fill(store, members=1500, lines=15_000, end=TODAY)
    figures = holdout.evaluate(store, cutoff=days_ago(90), holdout_days=90)
    assert figures["members"] > 1000
    assert figures["mae_per_member"]["bgnbd"] < figures["mae_per_member"]["baseline"]
    assert figures["p_buy"]["auc"] > 0.65


# -- the technician's commands ---------------------------------------------------------------------------------------


def test_the_refresh_command_rebuilds_and_the_evaluate_command_refuses_too_little_history(shop):
    from click.testing import CliRunner

    from edge.cli import main

    store, till = shop
    member_id = join(store, till)
    buy(store, till, member_id, days_ago(1))
    runner = CliRunner(env={"STOREEDGE_CONFIG": None, "STOREEDGE_DATA_DIR": None})
    done = runner.invoke(main, ["--data-dir", str(store.data_dir), "insight", "refresh", "--full"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["members"] == 1
    assert store.insight.profile(member_id)["tickets"] == 1
    refused_run = runner.invoke(main, ["--data-dir", str(store.data_dir), "insight", "evaluate"])
    assert refused_run.exit_code == 1 and "too few to judge" in refused_run.output
