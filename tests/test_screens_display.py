"""The customer display (/display) in real Chromium against the real `storeedge web`, driven by Playwright.

The display pairs through its own screen (kind "display", approved by the demo manager onto a lane) and follows
that lane's sale over the lane socket while a cashier's terminal on the lane drives the cart through the API:
lines, the promotion by its name, the member's masked greeting, the total and the change; the promotions in effect
when nobody is paying. Waits are Playwright's own: the timeouts are ceilings, never measurements.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.api_helpers import member_body
from tests.screens_helpers import (CASHIER_PIN, CEILING_MS, COLA, LANES, MANAGER_PIN, MEMBER_PHONE, WATER, as_manager,
                                   pair_screen, shown, snap)
from tests.screens_helpers import browser, server  # noqa: F401  (pytest fixtures)
from tests.server_helpers import JsonClient, add_terminal, storeedge


class Till(JsonClient):
    """A lane's terminal speaking the API; each call on a new connection (gunicorn closes idle keep-alive ones)."""

    def must(self, *args, **kwargs) -> dict:
        self.close()
        return super().must(*args, **kwargs)


@pytest.fixture
def lane(server):
    """A lane with a terminal of its own, its cashier logged in with a shift open: it drives the sale by API."""
    number = next(LANES)
    till = Till(server.port, add_terminal(server.data_dir, lane=number))
    till.login(CASHIER_PIN)
    till.must("POST", "/shifts", {"opening_float": 20_000}, status=201)
    till.number = number
    yield till
    till.close()


@pytest.fixture
def display(server, browser, lane, tmp_path):
    """A fresh display (a clean browser context), paired through its screen onto the lane."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(CEILING_MS)
    page = context.new_page()
    page.shots = tmp_path
    pair(page, server, lane.number)
    yield page
    snap(page, "display-last")
    context.close()


def pair(page: Page, server, lane: int) -> None:
    approved = pair_screen(page, server, "display", lane=lane)
    assert approved["kind"] == "display" and approved["lane"] == lane
    expect(page.locator("#screen-idle")).to_be_visible()


def test_the_display_pairs_shows_todays_offers_then_follows_the_lanes_cart_member_and_change_live(server, display,
                                                                                                  lane):
    offers = display.locator("#idle-offer")
    expect(offers).to_contain_text(re.compile("可乐买二送一|满100减10"))  # the demo's promotions for any customer
    snap(display, "display-idle")

    sale = lane.must("POST", "/sales", {}, status=201)
    for barcode in (COLA, COLA, COLA, WATER):
        sale = lane.must("POST", f"/sales/{sale['id']}/lines", {"barcode": barcode}, status=201)
    expect(display.locator("#screen-cart")).to_be_visible()
    expect(display.locator("#lines li")).to_have_count(2)
    expect(display.locator("#lines li", has_text="可口可乐")).to_contain_text("3 ×")
    expect(display.locator("#promotions")).to_contain_text("可乐买二送一")
    expect(display.locator("#total")).to_have_text(shown(sale["total"]))
    expect(display.locator("#discount-total")).to_have_text(shown(sale["discount_total"]))

    member = as_manager(server, "POST", "/members", member_body(MEMBER_PHONE, name="王小明"), status=201)
    sale = lane.must("POST", f"/sales/{sale['id']}/member", {"phone": MEMBER_PHONE})
    greeting = display.locator("#greeting")
    expect(greeting).to_have_text("您好，王**会员")  # masked: the display faces the queue
    assert MEMBER_PHONE not in display.content() and member["code"] not in display.content()
    expect(display.locator("#total")).to_have_text(shown(sale["total"]))
    snap(display, "display-cart")

    # a screen opened mid-sale (a restarted display) starts from the lane's sale as it is
    display.reload()
    expect(display.locator("#lines li")).to_have_count(2)
    expect(greeting).to_have_text("您好，王**会员")

    lane.must("PATCH", f"/sales/{sale['id']}/lines/{sale['lines'][1]['id']}", {"qty": 2})
    expect(display.locator("#lines li", has_text="农夫山泉")).to_contain_text("2 ×")
    done = lane.must("POST", f"/sales/{sale['id']}/complete", {"payments": [{"method": "cash", "amount": 5000}]})
    expect(display.locator("#screen-done")).to_be_visible()
    expect(display.locator("#done-change")).to_have_text(shown(done["change"]))
    assert done["change"] == 5000 - done["total"] - done["rounding"] > 0
    snap(display, "display-change")

    # the next customer's first item replaces the change
    lane.must("POST", "/sales", {}, status=201)
    expect(display.locator("#screen-done")).to_be_visible()  # an empty new sale shows nothing yet
    following = lane.must("GET", "/sales/current")
    lane.must("POST", f"/sales/{following['id']}/lines", {"barcode": WATER}, status=201)
    expect(display.locator("#lines li")).to_have_count(1)
    expect(greeting).to_be_hidden()


def test_a_voided_sale_takes_the_display_back_to_the_offers_other_lanes_stay_off_it_and_the_gateway_scanner_is_followed(
        server, display, lane):
    other = Till(server.port, add_terminal(server.data_dir, lane=next(LANES)))
    other.login(CASHIER_PIN)
    other.must("POST", "/shifts", {"opening_float": 0}, status=201)
    elsewhere = other.must("POST", "/sales", {}, status=201)
    other.must("POST", f"/sales/{elsewhere['id']}/lines", {"barcode": COLA}, status=201)
    other.close()

    sale = lane.must("POST", "/sales", {}, status=201)
    lane.must("POST", f"/sales/{sale['id']}/lines", {"barcode": WATER}, status=201)
    expect(display.locator("#lines li")).to_have_count(1)
    expect(display.locator("#lines")).not_to_contain_text("可口可乐")  # the other lane's cola is not shown here
    lane.must("POST", f"/sales/{sale['id']}/void", {"reason": "顾客离开", "approval": {"pin": MANAGER_PIN}})
    expect(display.locator("#screen-idle")).to_be_visible()
    expect(display.locator("#idle-offer")).not_to_be_empty()

    # the lane's own scanner, through the gateway socket, opens the next sale: the display follows it too
    storeedge("--data-dir", str(server.data_dir), "scan", "--lane", str(lane.number), COLA,
              "--url", f"ws://127.0.0.1:{server.port}/ws/gateway")
    expect(display.locator("#lines li", has_text="可口可乐")).to_be_visible()


def test_an_idle_display_follows_a_promotion_created_renamed_and_ended_through_the_api_without_a_reload(server,
                                                                                                     display):
    offer = display.locator("#idle-offer")
    expect(offer).not_to_be_empty()
    display.evaluate("window.sameDocument = true")  # gone if the page were reloaded
    window = {"starts_at": "2020-01-01T00:00", "ends_at": "2099-12-31T00:00"}
    as_manager(server, "POST", "/promotions", {"id": "T-DISPLAY-LIVE", "name": "冰红茶尝鲜", "kind": "category_percent",
                                               "percent": 20, "skus": ["DRK003"], **window}, status=201)
    expect(offer).to_contain_text("冰红茶尝鲜 8折")  # a new offer is shown first
    expect(offer).to_have_attribute("data-promotion-id", "T-DISPLAY-LIVE")
    snap(display, "display-new-offer")

    as_manager(server, "PATCH", "/promotions/T-DISPLAY-LIVE", {"name": "冰红茶特惠"})
    expect(offer).to_contain_text("冰红茶特惠 8折")

    as_manager(server, "DELETE", "/promotions/T-DISPLAY-LIVE")
    display.wait_for_function("!state.offers.some((offer) => offer.id === 'T-DISPLAY-LIVE')")
    expect(offer).not_to_contain_text("冰红茶")
    expect(offer).not_to_be_empty()  # the demo's offers go on
    assert display.evaluate("window.sameDocument") is True
