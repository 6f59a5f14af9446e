"""The self-service kiosk (/kiosk) in real Chromium against the real `storeedge web` (gunicorn), driven by Playwright.

Each test pairs a fresh kiosk (a clean browser context) through the screen, approved by the demo manager through
the API. The page's clock is Playwright's, so the idle reset is reached by moving time forward, not by waiting.
"""

from __future__ import annotations

import re
from itertools import count

import pytest
from playwright.sync_api import Page, expect

from tests.api_helpers import member_body
from tests.marketing_helpers import WELCOME
from tests.screens_helpers import CEILING_MS, WATER, as_manager, pair_screen, shown, snap
from tests.screens_helpers import browser, server  # noqa: F401  (pytest fixtures)

PIN = "284915"
USCC = "91110000802100433B"  # a valid 统一社会信用代码
PHONES = (f"1360013{n:04d}" for n in count(1))  # each test's members have numbers of their own
IDLE = "01:05"  # past the default [kiosk] idle_seconds (60)


@pytest.fixture
def kiosk(server, browser, tmp_path):
    """A fresh kiosk, paired through its screen, showing the welcome screen."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(CEILING_MS)
    page = context.new_page()
    page.shots = tmp_path
    page.clock.install()
    pair_screen(page, server, "kiosk", "自助机")
    expect(page.locator("#screen-welcome")).to_be_visible()
    snap(page, "kiosk-welcome")
    yield page
    snap(page, "kiosk-last")
    context.close()


def member_session_token(page: Page) -> str | None:
    stored = page.evaluate("localStorage.getItem('storeedge.kiosk.session')")
    return stored and re.search(r'"token":"([^"]+)"', stored).group(1)


def status_with(page: Page, token: str) -> int:
    """What the kiosk's API answers to this member session now (the page's own device token)."""
    return page.evaluate("""async (token) => (await fetch('/api/v1/kiosk/me', {headers: {
        'X-Device-Token': JSON.parse(localStorage.getItem('storeedge.kiosk.device')).token,
        'Authorization': 'Bearer ' + token}})).status""", token)


def test_join_with_consent_then_the_idle_reset_leaves_nothing_personal_and_ends_the_session(server, kiosk):
    phone = next(PHONES)
    kiosk.click("#go-join")
    expect(kiosk.locator("#notice")).to_contain_text("加入会员")
    kiosk.fill("#join-phone", phone)
    kiosk.fill("#join-pin", PIN)
    kiosk.fill("#join-name", "王小明")
    kiosk.check("#join-marketing")
    kiosk.check("#join-agree")
    snap(kiosk, "kiosk-join")
    kiosk.click("#join-form button[type=submit]")
    expect(kiosk.locator("#screen-me")).to_be_visible()
    masked = f"{phone[:3]}****{phone[-4:]}"
    expect(kiosk.locator("#me-card")).to_contain_text(masked)
    code = re.search(r"M\d{12}", kiosk.locator("#me-card").inner_text()).group(0)
    snap(kiosk, "kiosk-card")

    member = as_manager(server, "GET", f"/members?phone={phone}")["members"][0]
    assert member["code"] == code
    exported = as_manager(server, "POST", f"/members/{member['id']}/export")
    assert [(c["channel"], c["notice_version"], sorted(c["purposes"])) for c in exported["consents"]] == [
        ("kiosk", "2026-11", ["marketing", "membership"])]

    token = member_session_token(kiosk)
    assert status_with(kiosk, token) == 200
    kiosk.clock.fast_forward(IDLE)
    expect(kiosk.locator("#screen-welcome")).to_be_visible()
    snap(kiosk, "kiosk-after-idle")
    page_text = kiosk.content()
    for personal in (code, masked, phone, "王小明"):
        assert personal not in page_text, personal
    assert all(value == "" for value in kiosk.eval_on_selector_all("input:not([type=checkbox]):not([type=radio])"
                                                                   ":not(#pair-name)", "els => els.map(e => e.value)"))
    assert member_session_token(kiosk) is None
    assert status_with(kiosk, token) == 401  # ended on the server, not only forgotten by the page

    # back with the phone number and the PIN chosen when joining; a wrong PIN first
    kiosk.click("#go-signin")
    kiosk.fill("#signin-phone", phone)
    kiosk.fill("#signin-pin", "284916")
    kiosk.press("#signin-pin", "Enter")
    expect(kiosk.locator("#signin-message")).to_have_text("手机号与密码（或会员卡号）不匹配")
    expect(kiosk.locator("#signin-pin")).to_have_value("")
    kiosk.fill("#signin-pin", PIN)
    kiosk.press("#signin-pin", "Enter")
    expect(kiosk.locator("#me-card")).to_contain_text(code)
    kiosk.click("#signout")
    expect(kiosk.locator("#screen-welcome")).to_be_visible()
    assert code not in kiosk.content()


def test_sign_in_refuses_a_wrong_code_then_the_card_redeems_a_gift_the_cashier_honours(server, kiosk):
    phone = next(PHONES)
    member = as_manager(server, "POST", "/members", member_body(phone), status=201)
    as_manager(server, "POST", f"/members/{member['id']}/points/adjust", {"points": 500, "reason": "活动"},
               status=201)
    gift = as_manager(server, "POST", "/gifts", {"name": "环保袋", "points": 300}, status=201)

    kiosk.click("#go-signin")
    kiosk.fill("#signin-phone", phone)
    kiosk.fill("#signin-code", "M000000000000")
    kiosk.press("#signin-code", "Enter")
    expect(kiosk.locator("#signin-message")).to_have_text("手机号与密码（或会员卡号）不匹配")
    expect(kiosk.locator("#screen-signin")).to_be_visible()
    kiosk.fill("#signin-code", member["code"])
    kiosk.press("#signin-code", "Enter")
    expect(kiosk.locator("#me-card")).to_contain_text("500")

    kiosk.click(f"#gifts [data-gift-id='{gift['id']}']")
    expect(kiosk.locator("#screen-pickup")).to_be_visible()
    expect(kiosk.locator("#pickup-code")).to_have_text(re.compile(r"^G\d{8}$"))
    expect(kiosk.locator("#pickup-qr svg")).to_be_visible()
    snap(kiosk, "kiosk-pickup")
    pickup = kiosk.locator("#pickup-code").inner_text()
    collected = as_manager(server, "POST", f"/gift-redemptions/{pickup}/collect")
    assert (collected["status"], collected["member_id"], collected["points"]) == ("collected", member["id"], 300)
    kiosk.click("#pickup-done")
    expect(kiosk.locator("#me-card")).to_contain_text("200")

    kiosk.select_option("#details-gender", "female")
    kiosk.click("#details-form button[type=submit]")
    expect(kiosk.locator("#me-message")).to_have_text("已保存")
    assert as_manager(server, "GET", f"/members/{member['id']}")["gender"] == "female"


def test_the_card_shows_the_message_a_welcome_flow_left_marks_it_shown_and_the_idle_reset_takes_it_away(server,
                                                                                                          kiosk):
    flow = as_manager(server, "POST", "/marketing/flows", {"name": "自助机入会欢迎", **WELCOME}, status=201)
    as_manager(server, "POST", f"/marketing/flows/{flow['id']}/activate")
    phone = next(PHONES)
    try:
        member = as_manager(server, "POST", "/members", member_body(phone), status=201)
    finally:  # the other tests' members get no greeting
        as_manager(server, "POST", f"/marketing/flows/{flow['id']}/pause")
    [waiting] = as_manager(server, "GET", f"/members/{member['id']}/messages")["messages"]

    kiosk.click("#go-signin")
    kiosk.fill("#signin-phone", phone)
    kiosk.fill("#signin-code", member["code"])
    with kiosk.expect_response(lambda answer: answer.url.endswith(f"/messages/{waiting['id']}/shown")) as marked:
        kiosk.press("#signin-code", "Enter")
    assert marked.value.status == 200
    expect(kiosk.locator(f"#me-messages li[data-message-id='{waiting['id']}']")).to_have_text("欢迎入会")
    snap(kiosk, "kiosk-message")
    assert as_manager(server, "GET", f"/members/{member['id']}/messages")["messages"] == []

    kiosk.clock.fast_forward(IDLE)
    expect(kiosk.locator("#screen-welcome")).to_be_visible()
    assert "欢迎入会" not in kiosk.content()


def test_a_price_check_by_scanning_in_either_language(server, kiosk):
    kiosk.click("#go-price")
    kiosk.fill("#price-input", WATER)
    kiosk.press("#price-input", "Enter")
    expect(kiosk.locator("#price-name")).to_have_text("农夫山泉 550ml")
    expect(kiosk.locator("#price-price")).to_have_text(shown(200))
    snap(kiosk, "kiosk-price")
    kiosk.click("#language")
    expect(kiosk.locator("#screen-price h1")).to_have_text("Price check")
    kiosk.fill("#price-input", "6900000000007")  # a valid EAN-13 the shop does not sell
    kiosk.press("#price-input", "Enter")
    expect(kiosk.locator("#price-message")).not_to_be_empty()
    expect(kiosk.locator("#price-result")).to_be_hidden()


def test_a_card_scanned_on_the_welcome_screen_opens_the_sign_in_and_a_product_the_price(server, kiosk):
    phone = next(PHONES)
    member = as_manager(server, "POST", "/members", member_body(phone), status=201)
    kiosk.keyboard.type(member["code"])  # a keyboard-wedge scanner: the whole code at once, then Enter
    kiosk.keyboard.press("Enter")
    expect(kiosk.locator("#screen-signin")).to_be_visible()
    expect(kiosk.locator("#signin-code")).to_have_value(member["code"])
    kiosk.fill("#signin-phone", phone)
    kiosk.press("#signin-phone", "Enter")
    expect(kiosk.locator("#me-card")).to_contain_text(member["code"])
    kiosk.click("#home")
    kiosk.keyboard.type(WATER)
    kiosk.keyboard.press("Enter")
    expect(kiosk.locator("#price-price")).to_have_text(shown(200))


def completed_receipt(server) -> str:
    """A completed cash sale of one water on the manager's lane (its shift opened once)."""
    status, _ = server.manager.call("GET", "/shifts/current")
    if status == 404:
        as_manager(server, "POST", "/shifts", {"opening_float": 0}, status=201)
    sale = as_manager(server, "POST", "/sales", {}, status=201)
    as_manager(server, "POST", f"/sales/{sale['id']}/lines", {"barcode": WATER}, status=201)
    return as_manager(server, "POST", f"/sales/{sale['id']}/complete",
                      {"payments": [{"method": "cash", "amount": 200}]})["receipt_no"]


def test_an_invoice_request_refuses_a_wrong_taxpayer_id_then_takes_the_right_one(server, kiosk):
    receipt_no = completed_receipt(server)
    kiosk.click("#go-invoice")
    kiosk.fill("#invoice-receipt", receipt_no)
    kiosk.fill("#invoice-title", "上海某某贸易有限公司")
    kiosk.fill("#invoice-taxpayer", USCC[:-1] + "C")
    kiosk.fill("#invoice-email", "finance@example.com")
    kiosk.click("#invoice-form button[type=submit]")
    expect(kiosk.locator("#invoice-message")).to_contain_text("纳税人识别号不正确")
    expect(kiosk.locator("#invoice-taxpayer")).to_have_attribute("aria-invalid", "true")
    snap(kiosk, "kiosk-invoice-refused")
    assert as_manager(server, "GET", f"/invoice-requests?receipt={receipt_no}")["requests"] == []

    kiosk.fill("#invoice-taxpayer", USCC.lower())
    kiosk.click("#invoice-form button[type=submit]")
    expect(kiosk.locator("#invoice-result li")).to_have_attribute("data-status", "requested")
    expect(kiosk.locator("#invoice-message")).to_contain_text("申请已提交")
    snap(kiosk, "kiosk-invoice")
    [request] = as_manager(server, "GET", f"/invoice-requests?receipt={receipt_no}")["requests"]
    assert (request["taxpayer_id"], request["channel"], request["status"]) == (USCC, "kiosk", "requested")

    kiosk.clock.fast_forward(IDLE)  # the next customer sees nothing of this one's request
    expect(kiosk.locator("#screen-welcome")).to_be_visible()
    for typed in (receipt_no, "上海某某贸易有限公司", "finance@example.com", USCC):
        assert typed not in kiosk.content(), typed
