"""Marketing through the API and the CLI: flows saved, validated, previewed, run and followed by a manager;
refusals that write nothing; kiosk messages for a signed-in member; `storeedge marketing run`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from edge.cli import main
from tests.api_helpers import World, kiosk_member, nothing_written, refusal
from tests.conftest import COLA, MANAGER_PIN, WATER, open_store, terminal
from tests.marketing_helpers import FLOW_BODY, WELCOME, active_flow, chain, kiosk_says, member, node, saved_flow
from tests.server_helpers import STORE_ENV_VARS

WELCOME_BODY = {"name": "入会欢迎", **WELCOME}


@pytest.fixture
def world(store, flask_app, api) -> World:
    return World.around(store, flask_app, api)


def test_a_manager_saves_validates_activates_previews_runs_and_follows_a_flow(world):
    manager = world.manager
    flow_id = saved_flow(world, WELCOME_BODY)
    assert manager.get(f"/marketing/flows/{flow_id}").json["status"] == "draft"
    checked = manager.post("/marketing/flows/validate", {"nodes": WELCOME["nodes"], "edges": WELCOME["edges"]})
    assert checked.json == {"valid": True, "errors": []}
    assert manager.post(f"/marketing/flows/{flow_id}/activate").json["status"] == "active"
    person = world.member()  # a registration runs the welcome flow at once
    assert world.cashier.get(f"/members/{person['id']}/messages").json["messages"][0]["text"] == "欢迎入会"

    preview = manager.get(f"/marketing/flows/{flow_id}/dry-run").json
    assert preview["entered"] == 0  # the member is in the flow already

    assert manager.post("/marketing/run", {"flow_id": flow_id}).json["runs"][0]["entered"] == 0
    [journey] = manager.get(f"/marketing/flows/{flow_id}/journeys").json["journeys"]
    assert journey["member_code"] == person["code"] and journey["status"] == "done"
    assert [(s["node"], s["outcome"]) for s in journey["steps"]] == [("t1", "entered"), ("a1", "done")]
    assert [f["id"] for f in manager.get("/marketing/flows").json["flows"]] == [flow_id]


def test_validation_names_each_node_at_fault(world):
    broken = {"nodes": [*FLOW_BODY["nodes"], node("a9", "action", "kiosk_message", text="")], "edges": []}
    answer = world.manager.post("/marketing/flows/validate", broken)
    assert answer.status_code == 200 and answer.json["valid"] is False
    [error] = answer.json["errors"]
    assert (error["node"], error["field"], error["code"]) == ("a9", "params.text", "bad_param")
    assert error["params"] == {"node": "a9", "field": "params.text", "type": "action", "kind": "kiosk_message",
                               "param": "text", "reason": "string_too_short", "min_length": 1}
    assert "a9" in error["message"]  # the English message stays for callers that show it as it is


def test_a_dry_run_previews_who_would_be_reached_masked(world, store):
    person = world.member()
    backdated = "2020-01-01T08:00:00.000+00:00"
    store.db.peewee.execute_sql("UPDATE member SET registered_at = ?", (backdated,))
    store.points.adjust(terminal(store, lane=7, pin=MANAGER_PIN, shift_float=None), person["id"], 200, "活动")
    flow_id = saved_flow(world, active=True)
    with nothing_written(store):
        preview = world.manager.get(f"/marketing/flows/{flow_id}/dry-run").json
    assert preview["reached"] == {"t1": 1, "c1": 1, "a1": 1}
    assert preview["sample"] == [{"member_id": person["id"], "code": person["code"],
                                  "phone_masked": person["phone_masked"]}]


@pytest.mark.parametrize("body, status, field", [
    ({**FLOW_BODY, "nodes": [{**FLOW_BODY["nodes"][0], "type": "trigger!"}]}, 422, "nodes[0].type"),
    ({**FLOW_BODY, "name": ""}, 422, "name"),
    ({**FLOW_BODY, "edges": [{"from": "t1", "to": "a 1"}]}, 422, "edges[0].to"),
])
def test_a_malformed_flow_is_refused_naming_the_field_and_nothing_is_written(world, store, body, status, field):
    with nothing_written(store):
        error = refusal(world.manager.post("/marketing/flows", body), status)
    assert field.split("[")[0] in (error.get("field") or "") + error["message"]


def test_a_cashier_may_not_touch_flows(world, store):
    with nothing_written(store):
        refusal(world.cashier.post("/marketing/flows", FLOW_BODY), 403)
        refusal(world.cashier.get("/marketing/flows"), 403)


def test_an_invalid_flow_is_not_activated_and_an_active_one_not_edited(world, store):
    draft = saved_flow(world, {"name": "半成品", "nodes": FLOW_BODY["nodes"], "edges": []})
    with nothing_written(store):
        error = refusal(world.manager.post(f"/marketing/flows/{draft}/activate"), 422, code="flow_invalid",
                        field="nodes.t1")
    assert "t1" in error["message"]
    running = saved_flow(world, active=True)
    with nothing_written(store):
        refusal(world.manager.patch(f"/marketing/flows/{running}", FLOW_BODY), 409, code="flow_active")
        refusal(world.manager.get(f"/marketing/flows/{running}/dry-run?today=tomorrow"), 422, field="today")


def test_a_kiosk_fetches_only_its_signed_in_members_messages_and_marks_them_shown(world, store, flask_app):
    saved_flow(world, WELCOME_BODY, active=True)
    kiosk, other = kiosk_member(world), kiosk_member(world)
    [message] = kiosk.get("/kiosk/me/messages").json["messages"]
    [others] = other.get("/kiosk/me/messages").json["messages"]
    with nothing_written(store):
        refusal(kiosk.post(f"/kiosk/me/messages/{others['id']}/shown"), 404, field="message_id")
        refusal(kiosk.get(f"/members/{other.member['id']}/messages"), 403, code="forbidden")
    assert kiosk.post(f"/kiosk/me/messages/{message['id']}/shown").status_code == 200
    assert kiosk.get("/kiosk/me/messages").json["messages"] == []
    assert [m["id"] for m in other.get("/kiosk/me/messages").json["messages"]] == [others["id"]]
    with nothing_written(store):
        refusal(kiosk.post("/kiosk/me/messages/nope/shown"), 404, field="message_id")


def test_the_daily_command_runs_active_flows_and_its_dry_run_writes_nothing(tmp_path):
    store = open_store(tmp_path / "data")
    cashier = terminal(store)
    manager = terminal(store, lane=2, pin=MANAGER_PIN, shift_float=None)
    person = member(store, cashier)
    flow = active_flow(store, manager, chain(node("t1", "trigger", "registered"), kiosk_says()))
    store.db.close()
    runner = CliRunner(env=dict.fromkeys(STORE_ENV_VARS))
    data = ["--data-dir", str(tmp_path / "data")]
    previewed = runner.invoke(main, ["marketing", "run", *data, "--dry-run"], catch_exceptions=False)
    assert previewed.exit_code == 0 and "1 entered" in previewed.output and "nothing written" in previewed.output
    ran = runner.invoke(main, ["marketing", "run", *data], catch_exceptions=False)
    assert ran.exit_code == 0 and f"({flow.id}): 1 entered" in ran.output
    again = runner.invoke(main, ["marketing", "run", *data], catch_exceptions=False)
    assert "0 entered" in again.output
    reopened = open_store(tmp_path / "data", demo=False)
    assert [m["text"] for m in reopened.marketing.kiosk_messages(person.id)] == ["好久不见，欢迎回来"]
    reopened.db.close()


def test_running_an_unknown_flow_exits_non_zero_naming_it(tmp_path):
    open_store(tmp_path / "data").db.close()
    runner = CliRunner(env=dict.fromkeys(STORE_ENV_VARS))
    failed = runner.invoke(main, ["marketing", "run", "--data-dir", str(tmp_path / "data"), "--flow", "nope"])
    assert failed.exit_code != 0 and "nope" in failed.output



def test_a_price_check_by_a_signed_in_member_at_the_kiosk_is_recorded_as_interest(world, store):
    kiosk = kiosk_member(world)
    assert kiosk.post("/kiosk/price-checks", {"barcode": WATER}).status_code == 200
    kiosk.session = None  # a price check without a member says nothing about anyone
    assert kiosk.post("/kiosk/price-checks", {"barcode": COLA}).status_code == 200
    interest = store.marketing.interest.of_member(kiosk.member["id"])
    assert [(i["product_id"], i["source"]) for i in interest] == [(store.catalog.scan(WATER).product.id, "price_check")]


def test_a_flows_re_entry_policy_is_saved_changed_and_a_bad_one_refused_naming_its_field(world, store):
    monthly = {"mode": "after_days", "days": 30}
    flow_id = saved_flow(world, {**FLOW_BODY, "reentry": monthly})
    assert world.manager.get(f"/marketing/flows/{flow_id}").json["reentry"] == monthly
    renamed = world.manager.patch(f"/marketing/flows/{flow_id}", {**FLOW_BODY, "name": "每月唤醒"})
    assert (renamed.json["name"], renamed.json["reentry"]) == ("每月唤醒", monthly)  # not given: kept
    changed = world.manager.patch(f"/marketing/flows/{flow_id}", {**FLOW_BODY, "reentry": {"mode": "never"}})
    assert changed.json["reentry"] == {"mode": "never"}
    with nothing_written(store):
        refusal(world.manager.post("/marketing/flows", {**FLOW_BODY, "reentry": {"mode": "after_days", "days": 0}}),
                422, field="reentry.days")
        refusal(world.manager.post("/marketing/flows", {**FLOW_BODY, "reentry": {"mode": "after_days"}}),
                422, field="reentry.days")
