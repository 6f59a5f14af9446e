"""Insight over HTTP: the member profile (DESIGN.md contract, masked), tags and rules, the segment builder's
live counts, the churn list; who may call what, and bad input refused with nothing written."""

from __future__ import annotations

import pytest

from tests.api_helpers import World, client_for, nothing_written, refusal
from tests.conftest import MANAGER_PIN, terminal
from tests.insight_helpers import DIAPERS, TODAY, buy, days_ago, join


@pytest.fixture
def world(store, flask_app, api) -> World:
    api.login()
    return World.around(store, flask_app, api)


def history(store) -> tuple[str, str]:
    """A weekly diaper buyer and a member who stopped coming a year ago, profiled."""
    till = terminal(store, lane=7)
    regular, gone = join(store, till), join(store, till)
    for weeks in range(6):
        buy(store, till, regular, days_ago(7 * weeks + 1), [(DIAPERS, 1)])
    for months in range(4):
        buy(store, till, gone, days_ago(300 + 30 * months), [(DIAPERS, 2)])
    store.insight.refresh(full=True, as_of=TODAY)
    return regular, gone


def test_the_cashier_reads_a_members_profile_masked(world):
    regular, _ = history(world.store)
    answer = world.cashier.get(f"/members/{regular}/profile")
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["computed"] is True and body["member"]["phone_masked"].count("*") == 4
    assert "phone" not in body["member"]
    assert body["rfm"]["frequency"] == 6 and body["favourite_categories"] == ["母婴"]
    assert body["lifecycle"] in ("active", "new") and 0 <= body["prediction"]["p_buy_30d"] <= 1


def test_an_unknown_member_has_no_profile(world):
    refusal(world.cashier.get("/members/nobody/profile"), 404, field="member_id")


def test_tags_rules_and_counts_through_the_api(world):
    regular, gone = history(world.store)
    tag = world.manager.post("/insight/tags", {"name": "母婴", "group": "品类偏好", "kind": "auto"}).json
    rule = world.manager.post(f"/insight/tags/{tag['id']}/rules", {"category": "母婴", "min_times": 3, "days": 60})
    assert rule.status_code == 201, rule.json
    assert world.manager.post("/insight/refresh", {}).status_code == 200
    listed = {t["name"]: t for t in world.manager.get("/insight/tags").json["tags"]}
    assert listed["母婴"]["members"] == 1 and listed["母婴"]["rules"][0]["min_times"] == 3
    assert [t["name"] for t in world.cashier.get(f"/members/{regular}/profile").json["tags"]] == ["母婴"]
    assert world.cashier.get(f"/members/{gone}/profile").json["tags"] == []


def test_segment_preview_counts_live_and_lists_masked_members(world):
    regular, gone = history(world.store)
    answer = world.manager.post("/insight/segments/preview",
                                {"criteria": {"min_monetary": 10_000, "lifecycles": ["active", "new"]}, "limit": 10})
    assert answer.status_code == 200, answer.json
    assert answer.json["count"] == 1
    assert [m["member_id"] for m in answer.json["members"]] == [regular]
    assert answer.json["members"][0]["phone_masked"].count("*") == 4
    saved = world.manager.post("/insight/segments", {"name": "活跃母婴", "criteria": {"min_monetary": 10_000}})
    assert saved.status_code == 201 and saved.json["count"] == 2
    listed = world.manager.get(f"/insight/segments/{saved.json['id']}/members?limit=1")
    assert listed.json["count"] == 2 and len(listed.json["members"]) == 1


def test_a_manager_edits_a_saved_segment_and_reads_its_new_live_count(world):
    history(world.store)
    saved = world.manager.post("/insight/segments", {"name": "大户", "criteria": {"min_monetary": 100_000}}).json
    assert saved["count"] == 0
    edited = world.manager.request("PUT", f"/insight/segments/{saved['id']}",
                                   json={"name": "母婴客", "criteria": {"min_monetary": 10_000}})
    assert edited.status_code == 200, edited.json
    assert edited.json == {"id": saved["id"], "name": "母婴客", "criteria": {"min_monetary": 10_000}, "count": 2}
    assert world.manager.get("/insight/segments").json["segments"] == [edited.json]


@pytest.mark.parametrize("body, status, field", [
    ({"name": "其他", "criteria": {}}, 409, "name"),
    ({"name": "坏", "criteria": {"levels": ["黑卡"]}}, 422, "criteria.levels[0]"),
    ({"name": "坏", "criteria": {"min_monetary": 9, "max_monetary": 1}}, 422, "criteria.min_monetary"),
    ({"criteria": {}}, 422, "name"),
])
def test_a_bad_segment_edit_is_refused_naming_the_field_and_writes_nothing(world, body, status, field):
    segment = world.manager.post("/insight/segments", {"name": "新客", "criteria": {"lifecycles": ["new"]}}).json
    world.manager.post("/insight/segments", {"name": "其他", "criteria": {}})
    with nothing_written(world.store):
        refusal(world.manager.request("PUT", f"/insight/segments/{segment['id']}", json=body), status, field=field)
        refusal(world.manager.request("PUT", "/insight/segments/nope", json={"name": "新", "criteria": {}}), 404,
                field="segment_id")
        refusal(world.cashier.request("PUT", f"/insight/segments/{segment['id']}", json={"name": "x", "criteria": {}}),
                403)


def test_the_churn_list_holds_the_valuable_member_who_stopped_coming(world):
    regular, gone = history(world.store)
    till = terminal(world.store, lane=8)
    lapsed = join(world.store, till)
    for weeks in range(10):  # weekly for ten weeks, then nothing for a month
        buy(world.store, till, lapsed, days_ago(30 + 7 * weeks), [(DIAPERS, 3)])
    world.store.insight.refresh(full=True, as_of=TODAY)
    churn = world.manager.get("/insight/churn").json["members"]
    assert [m["member_id"] for m in churn] == [lapsed]
    assert churn[0]["lifecycle"] == "sleeping" and churn[0]["p_buy_30d"] < 0.3
    assert churn[0]["phone_masked"].count("*") == 4


@pytest.mark.parametrize("path, body, field", [
    ("/insight/segments/preview", {"criteria": {"segments": ["土豪"]}}, "criteria.segments[0]"),
    ("/insight/segments/preview", {"criteria": {"min_p_buy": 2}}, "criteria.min_p_buy"),
    ("/insight/tags", {"name": "", "kind": "manual"}, "name"),
    ("/insight/tags", {"name": "x", "kind": "robot"}, "kind"),
    ("/insight/segments", {"name": "坏", "criteria": {"lifecycles": ["dormant"]}}, "criteria.lifecycles[0]"),
])
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(world, path, body, field):
    with nothing_written(world.store):
        refusal(world.manager.post(path, body), 422, field=field)


def test_a_cashier_may_not_manage_tags_or_segments(world):
    with nothing_written(world.store):
        refusal(world.cashier.post("/insight/tags", {"name": "熟客"}), 403)
        refusal(world.cashier.post("/insight/segments/preview", {"criteria": {}}), 403)
        refusal(world.cashier.get("/insight/churn"), 403)


def test_a_manager_tags_and_untags_a_member(world, store, flask_app):
    member_id = world.member()["id"]
    tag = world.manager.post("/insight/tags", {"name": "熟客", "group": "服务"}).json
    tagged = world.manager.post(f"/members/{member_id}/tags", {"tag_id": tag["id"]})
    assert tagged.status_code == 201 and tagged.json["tags"][0]["source"] == "manual"
    assert world.manager.delete(f"/members/{member_id}/tags/{tag['id']}").json["tags"] == []
    with nothing_written(store):
        refusal(world.manager.delete(f"/members/{member_id}/tags/{tag['id']}"), 404, field="tag_id")
    other = client_for(store, flask_app, lane=11, pin=MANAGER_PIN)
    assert other.get(f"/members/{member_id}/profile").json["tags"] == []
