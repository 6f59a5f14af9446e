"""The back office's insight page (/admin/insight.html) in real Chromium against the real `storeedge web`: a
manager logs in on a paired device, looks a member up, narrows a segment and sees the live count follow, saves it,
loads it back into the builder, changes and saves it again, adds a tag, and reads the churn list. The store holds a
synthetic two-year history, profiled before the server starts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from edge.app import StoreEdge
from edge.insight import synthetic
from tests.screens_helpers import CEILING_MS, admin_device_script, MANAGER_PIN, as_manager, snap
from tests.screens_helpers import browser  # noqa: F401  (pytest fixture)
from tests.server_helpers import JsonClient, add_terminal, running_server, storeedge


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("insight-screen") / "data"
    storeedge("--data-dir", str(data_dir), "demo", "seed")
    store = StoreEdge.open(data_dir=data_dir)
    synthetic.fill(store, members=300, lines=4000, end=store.today() - timedelta(days=1))
    store.insight.refresh(full=True)
    store.db.close()
    manager_token = add_terminal(data_dir, lane=99)
    with running_server(data_dir) as process:
        process.manager = JsonClient(process.port, manager_token)
        process.manager.login(MANAGER_PIN)
        process.device_token = add_terminal(data_dir, lane=98)
        yield process
        process.manager.close()


def test_a_manager_looks_up_a_member_edits_a_segment_tags_and_reads_the_churn_list(server, browser, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(CEILING_MS)
    # a device paired on the back-office home page left its token here
    context.add_init_script(admin_device_script({"token": server.device_token}))
    page = context.new_page()
    page.shots = tmp_path
    page.goto(f"http://127.0.0.1:{server.port}/admin/insight.html")
    expect(page.locator("#screen-login")).to_be_visible()
    page.fill("#pin", MANAGER_PIN)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#screen-main")).to_be_visible()

    everyone = as_manager(server, "POST", "/insight/segments/preview", {"criteria": {}, "limit": 0})["count"]
    expect(page.locator("#segment-count")).to_have_text(str(everyone))
    page.check("input[name=lifecycles][value=active]")
    active = as_manager(server, "POST", "/insight/segments/preview",
                        {"criteria": {"lifecycles": ["active"]}, "limit": 0})["count"]
    assert 0 < active < everyone
    expect(page.locator("#segment-count")).to_have_text(str(active))
    snap(page, "insight-builder")

    page.fill("#segment-name", "活跃会员")
    page.click("#save-segment-button")
    expect(page.locator("#saved-segments")).to_contain_text(f"活跃会员 · {active}")
    # loaded back into the builder from a clean slate: its choices ticked again, the live count follows the edit
    page.uncheck("input[name=lifecycles][value=active]")
    expect(page.locator("#segment-count")).to_have_text(str(everyone))
    page.click("#saved-segments li:has-text('活跃会员') button")
    expect(page.locator("#editing-name")).to_have_text("活跃会员")
    expect(page.locator("#save-segment-button")).to_have_text("保存修改")
    expect(page.locator("input[name=lifecycles][value=active]")).to_be_checked()
    expect(page.locator("#segment-count")).to_have_text(str(active))
    page.click("#language")
    expect(page.locator("#save-segment-button")).to_have_text("Save changes")
    page.click("#language")
    page.check("input[name=lifecycles][value=sleeping]")
    edited = {"lifecycles": ["active", "sleeping"]}
    widened = as_manager(server, "POST", "/insight/segments/preview", {"criteria": edited, "limit": 0})["count"]
    expect(page.locator("#segment-count")).to_have_text(str(widened))
    page.locator("#save-segment").scroll_into_view_if_needed()
    snap(page, "insight-segment-edit")
    page.fill("#segment-name", "活跃与沉睡")
    page.click("#save-segment-button")
    expect(page.locator("#saved-segments")).to_contain_text(f"活跃与沉睡 · {widened}")
    expect(page.locator("#editing")).to_be_hidden()
    [segment] = as_manager(server, "GET", "/insight/segments")["segments"]
    assert (segment["name"], segment["criteria"]) == ("活跃与沉睡", edited)

    churn = as_manager(server, "GET", "/insight/churn?limit=50")["members"]
    expect(page.locator("#churn li")).to_have_count(len(churn))

    member = churn[0] if churn else as_manager(server, "POST", "/insight/segments/preview",
                                               {"criteria": {}, "limit": 1})["members"][0]
    page.fill("#lookup-query", member["code"])
    page.click("#lookup-form button[type=submit]")
    expect(page.locator("#lookup-message")).to_have_text("")
    expect(page.locator("#profile")).to_contain_text(member["segment"])
    expect(page.locator("#profile")).to_contain_text(member["phone_masked"])

    page.fill("#tag-name", "熟客")
    page.fill("#tag-group", "服务")
    page.click("#tag-form button[type=submit]")
    expect(page.locator("#tags")).to_contain_text("服务 / 熟客")
    page.click("#member-tag-form button[type=submit]")
    expect(page.locator("#profile")).to_contain_text("熟客")
    tags = as_manager(server, "GET", f"/members/{member['member_id']}/profile")["tags"]
    assert [tag["name"] for tag in tags] == ["熟客"]
    snap(page, "insight-profile")
    context.close()
