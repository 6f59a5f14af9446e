"""The back office's flow canvas (/admin/flows.html) in real Chromium against the real `storeedge web`: a manager
draws a small flow (nodes from the palette, an edge dragged from a port, a yearly re-entry), saves it, sees a
validation error on its node, and previews who a run would reach; a condition on a customer-insight tag is picked
by its name."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from tests.api_helpers import member_body
from tests.screens_helpers import CEILING_MS, admin_device_script, MANAGER_PIN, as_manager, snap
from tests.screens_helpers import browser, server  # noqa: F401  (pytest fixtures)
from tests.server_helpers import add_terminal

PHONE = "13955556666"


def centre(page: Page, selector: str) -> tuple[float, float]:
    box = page.locator(selector).bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag(page: Page, start: str, end: str) -> None:
    page.mouse.move(*centre(page, start))
    page.mouse.down()
    page.mouse.move(*centre(page, end), steps=8)
    page.mouse.up()


def add_node(page: Page, node_type: str, kind: str) -> None:
    page.click(f"#add-{node_type}")
    page.select_option("#node-kind", kind)


@pytest.fixture
def canvas(server, browser, tmp_path):
    """The canvas page in its own browser context, closed after the test."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    context.set_default_timeout(CEILING_MS)
    page = context.new_page()
    page.shots = tmp_path
    page.goto(f"http://127.0.0.1:{server.port}/admin/flows.html")
    yield page
    context.close()


def log_in(page: Page, server, lane: int) -> None:
    """Pair the page as a new terminal and log the manager in."""
    device = {"token": add_terminal(server.data_dir, lane=lane), "lane": lane}
    page.evaluate(admin_device_script(device))
    page.reload()
    page.fill("#pin", MANAGER_PIN)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#screen-editor")).to_be_visible()


def test_a_manager_draws_a_flow_saves_it_sees_an_error_on_its_node_and_previews_it(server, canvas):
    page = canvas
    member = as_manager(server, "POST", "/members", member_body(PHONE), status=201)
    expect(page.locator("#screen-unpaired")).to_be_visible()  # on its own, an unpaired page says where to pair
    log_in(page, server, lane=98)

    add_node(page, "trigger", "registered")
    add_node(page, "action", "kiosk_message")
    page.fill("#param-text", "欢迎入会，送您一杯咖啡")
    drag(page, "[data-port='t1']", "[data-node='a1'] rect")
    expect(page.locator("#edges [data-from='t1'][data-to='a1']")).to_have_count(1)
    add_node(page, "wait", "days")  # joined to nothing: validation names it
    page.fill("#flow-name", "入会欢迎")
    expect(page.locator("#flow-reentry-days")).to_be_hidden()  # "once" needs no days
    page.select_option("#flow-reentry", "after_days")
    page.fill("#flow-reentry-days", "0")
    page.click("#save")
    expect(page.locator("#message")).to_have_text("再次进入的天数须为 1 到 3660 的整数")
    assert as_manager(server, "GET", "/marketing/flows")["flows"] == []  # refused: nothing saved
    page.fill("#flow-reentry-days", "365")
    page.click("#save")
    expect(page.locator("#message")).to_have_text("已保存")
    snap(page, "flows-drawn")

    [saved] = as_manager(server, "GET", "/marketing/flows")["flows"]
    assert (saved["name"], saved["status"]) == ("入会欢迎", "draft")
    assert [(n["id"], n["type"], n["kind"]) for n in saved["nodes"]] == [
        ("t1", "trigger", "registered"), ("a1", "action", "kiosk_message"), ("w1", "wait", "days")]
    assert saved["nodes"][1]["params"] == {"text": "欢迎入会，送您一杯咖啡"}
    assert saved["edges"] == [{"from": "t1", "to": "a1", "branch": None}]
    assert saved["reentry"] == {"mode": "after_days", "days": 365}
    expect(page.locator("#flow-reentry-days")).to_have_value("365")  # shown again as saved

    page.click("#validate")
    expect(page.locator("[data-node='w1']")).to_have_class("node wait invalid")
    error = page.locator("[data-node='w1'] .error").first
    expect(error).to_have_text("节点 w1（等待N天）的天数：必填")  # the code and params, in the page's language
    snap(page, "flows-invalid")
    page.click("#language")
    expect(error).to_have_text("Node w1 (Wait N days), Days: required")
    expect(page.locator("#errors li")).to_have_text(["Node w1 (Wait N days), Days: required"])
    page.click("#language")
    expect(page.locator("#errors li")).to_have_text(["节点 w1（等待N天）的天数：必填"])

    page.click("[data-node='w1'] rect")
    page.click("#delete-node")
    page.click("#validate")
    expect(page.locator("#message")).to_have_text("校验通过，可以启用")
    page.click("#dry-run")  # saves the change first, then previews
    expect(page.locator("#preview")).to_contain_text(member["code"])
    expect(page.locator("#preview")).to_contain_text(member["phone_masked"])
    expect(page.locator("[data-node='a1'] .count")).to_have_text("1")
    snap(page, "flows-preview")
    stored = as_manager(server, "GET", f"/marketing/flows/{saved['id']}")
    assert [n["id"] for n in stored["nodes"]] == ["t1", "a1"]
    assert json.dumps(stored).count(PHONE) == 0
    assert as_manager(server, "GET", f"/marketing/flows/{saved['id']}/journeys")["journeys"] == []  # a preview


def test_a_condition_picks_a_customer_insight_tag_by_name(server, canvas):
    page = canvas
    tag = as_manager(server, "POST", "/insight/tags", {"name": "咖啡常客"}, status=201)
    log_in(page, server, lane=97)
    add_node(page, "trigger", "registered")
    add_node(page, "condition", "tag")
    page.select_option("#param-tag_id", label="咖啡常客")
    expect(page.locator("[data-node='c1']")).to_contain_text("咖啡常客")  # the node shows the tag's name
    drag(page, "[data-port='t1']", "[data-node='c1'] rect")
    page.fill("#flow-name", "常客关怀")
    page.click("#save")
    expect(page.locator("#message")).to_have_text("已保存")
    [saved] = [f for f in as_manager(server, "GET", "/marketing/flows")["flows"] if f["name"] == "常客关怀"]
    assert saved["nodes"][1]["params"] == {"tag_id": tag["id"]}
