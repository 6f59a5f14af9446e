"""The cashier tablet (/pos) in real Chromium against the real `storeedge web` (gunicorn), driven by Playwright.

Each test pairs a fresh tablet (a clean browser context) on its own lane through the screen, approved by the
demo manager through the API, and logs in the demo cashier. Waits are Playwright's own: the timeouts are
ceilings, never measurements.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.api_helpers import member_body
from tests.payments_helpers import payment_code
from tests.screens_helpers import (CASHIER_PIN, CEILING_MS, COLA, LANES, MANAGER_PIN, MEMBER_PHONE, WATER, as_manager,
                                   pair_screen, fen_of, shown, snap)
from tests.screens_helpers import browser, server  # noqa: F401  (pytest fixtures)
from tests.server_helpers import JsonClient, storeedge

USCC = "91110000802100433B"  # a valid 统一社会信用代码


@pytest.fixture
def tablet(server, browser, tmp_path):
    """A fresh tablet, paired on a lane of its own, logged in as the demo cashier with a shift open."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(CEILING_MS)
    page = context.new_page()
    page.lane = next(LANES)
    page.shots = tmp_path
    pair_and_log_in(page, server, page.lane)
    yield page
    snap(page, "pos-last")
    context.close()


def pair_and_log_in(page: Page, server, lane: int) -> None:
    pair_screen(page, server, "pos", f"平板 {lane}", lane=lane)
    expect(page.locator("#screen-login")).to_be_visible()
    snap(page, "pos-login")
    for digit in CASHIER_PIN:
        page.click(f"#pin-keypad button[aria-label='{digit}']")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#screen-shift")).to_be_visible()
    page.click("#shift-form button[type=submit]")
    expect(page.locator("#screen-cart")).to_be_visible()


def scan(page: Page, code: str, items_after: int) -> None:
    """Scan at the tablet's box; waits until the cart shows this many items (a repeated barcode adds to its line)."""
    page.fill("#scan-input", code)
    page.press("#scan-input", "Enter")
    expect(page.locator("#lines")).to_have_attribute("data-items", str(items_after))


def sale_of_receipt(server, page: Page) -> dict:
    receipt_no = page.locator("#done-receipt").inner_text()
    return as_manager(server, "GET", f"/sales?receipt_no={receipt_no}")["sales"][0]


def test_pair_scan_at_tablet_and_lane_see_the_promotion_attach_a_member_pay_by_card_and_cash_with_change_and_close_the_shift(server, tablet):
    for items_after, barcode in enumerate((COLA, COLA, COLA), 1):
        scan(tablet, barcode, items_after)
    # the lane's own scanner, through the gateway socket: the line appears without the tablet asking
    storeedge("--data-dir", str(server.data_dir), "scan", "--lane", str(tablet.lane), WATER,
              "--url", f"ws://127.0.0.1:{server.port}/ws/gateway")
    expect(tablet.locator("#lines")).to_have_attribute("data-items", "4")
    expect(tablet.locator("#lines")).to_contain_text("农夫山泉")
    expect(tablet.locator("#promotions")).to_contain_text("可乐买二送一")  # by its name, not only its kind
    expect(tablet.locator("#lines li .promo").first).to_contain_text("买二送一")

    member = as_manager(server, "POST", "/members", member_body(MEMBER_PHONE), status=201)
    tablet.fill("#member-phone", MEMBER_PHONE)
    tablet.press("#member-phone", "Enter")
    expect(tablet.locator("#member-card")).to_contain_text(member["code"])
    expect(tablet.locator("#member-details")).to_contain_text("积分")
    snap(tablet, "pos-cart")

    total = fen_of(tablet.locator("#total").inner_text())
    tablet.keyboard.press("F2")
    expect(tablet.locator("#screen-tender")).to_be_visible()
    # split: ¥5 by bank card with the terminal's reference, the rest in cash
    tablet.fill("#other-amount", "5")
    tablet.fill("#other-reference", "T0001")
    tablet.click("#other-tenders [data-method=card]")
    expect(tablet.locator("#split")).to_contain_text("银行卡")
    cash_due = total - 500
    expect(tablet.locator("#tender-due")).to_have_text(shown(cash_due))
    tablet.fill("#tendered", "50")
    tablet.press("#tendered", "Enter")
    expect(tablet.locator("#screen-done")).to_be_visible()
    snap(tablet, "pos-done")
    expect(tablet.locator("#done-change")).to_have_text(shown(5000 - cash_due))

    sale = sale_of_receipt(server, tablet)
    assert sale["status"] == "completed" and sale["total"] == total and sale["change"] == 5000 - cash_due
    assert [(p["method"], p["amount"], p["reference"]) for p in sale["payments"]] == [
        ("card", 500, "T0001"), ("cash", cash_due, None)]
    assert sale["member"]["id"] == member["id"]

    # 交班: the float (¥200) and this sale's cash counted, so nothing is missing
    tablet.click("#next-sale")
    tablet.click("#close-shift")
    tablet.fill("#counted", shown(20_000 + cash_due)[1:])
    tablet.press("#counted", "Enter")
    expect(tablet.locator("#z-report")).to_be_visible()
    expect(tablet.locator("#z-lines")).to_contain_text("差额¥0.00")
    snap(tablet, "pos-shift-closed")
    shift = as_manager(server, "GET", f"/shifts/{sale['shift_id']}/report")
    assert shift["kind"] == "Z" and shift["cash"]["counted"] == 20_000 + cash_due and shift["cash"]["variance"] == 0
    assert "DEMO-COLA-3FOR2" in {p["id"] for p in sale["promotions"]}  # 饮料周末 may join on a weekend
    assert sorted((line["barcode"], line["qty"]) for line in sale["lines"]) == [(WATER, 1), (COLA, 3)]


def test_a_scanned_payment_code_shows_its_progress_can_be_cancelled_and_completes(server, tablet):
    scan(tablet, WATER, 1)
    tablet.keyboard.press("F2")
    state = tablet.locator("#payment-state")

    tablet.fill("#payment-code", payment_code("wechat", "never"))
    tablet.press("#payment-code", "Enter")
    expect(state).to_have_attribute("data-state", "paying")
    expect(state).to_contain_text("等待顾客确认")
    snap(tablet, "pos-scan-payment")
    expect(tablet.locator("#payment-notice")).to_contain_text("模拟支付")
    tablet.click("#payment-cancel")
    expect(state).to_have_attribute("data-state", "reversed")

    tablet.fill("#payment-code", payment_code("wechat", "userpaying"))
    tablet.press("#payment-code", "Enter")
    expect(tablet.locator("#screen-done")).to_be_visible()
    sale = sale_of_receipt(server, tablet)
    assert sale["status"] == "completed"
    assert [(p["method"], p["amount"]) for p in sale["payments"]] == [("wechat", sale["total"])]
    attempts = as_manager(server, "GET", f"/sales/{sale['id']}/payments")["payments"]
    assert sorted(a["state"] for a in attempts) == ["paid", "reversed"]


def as_tablet(server, page: Page) -> JsonClient:
    """The tablet's own terminal and cashier session, for set-ups that need its open shift."""
    client = JsonClient(server.port, page.evaluate("Stored.get('device').token"))
    client.session = page.evaluate("Stored.get('session').token")
    return client


def member_with_value(server, tablet: Page, phone: str) -> dict:
    """A member holding ¥5 of stored value (a card top-up at the tablet's till), 500 points (¥5) and a ¥2 coupon
    usable today."""
    member = as_manager(server, "POST", "/members", member_body(phone), status=201)
    till = as_tablet(server, tablet)
    till.must("POST", f"/members/{member['id']}/topups", {"amount": 500, "method": "card", "reference": "TOPUP1"},
              status=201)
    till.close()
    as_manager(server, "POST", f"/members/{member['id']}/points/adjust", {"points": 500, "reason": "欢迎积分"},
               status=201)
    definition = as_manager(server, "POST", "/coupons/definitions", {
        "name": "立减2元", "kind": "amount", "value": 200, "valid_from": "2020-01-01", "valid_to": "2099-12-31"},
        status=201)
    [coupon] = as_manager(server, "POST", f"/coupons/definitions/{definition['id']}/issue",
                          {"member_id": member["id"]}, status=201)["coupons"]
    return {**member, "coupon": coupon["code"]}


def test_a_member_pays_with_a_coupon_points_stored_value_part_by_scan_and_the_rest_in_cash(server, tablet):
    member = member_with_value(server, tablet, "13912345679")
    for items_after, barcode in enumerate((COLA, COLA, COLA, WATER), 1):
        scan(tablet, barcode, items_after)
    tablet.fill("#member-phone", "13912345679")
    tablet.press("#member-phone", "Enter")
    expect(tablet.locator("#member-details")).to_contain_text("立减2元")
    total = fen_of(tablet.locator("#total").inner_text())
    tablet.keyboard.press("F2")

    tablet.locator("#coupon-choices button", has_text="立减2元").click()
    expect(tablet.locator("#split")).to_contain_text("优惠券 立减2元")
    for method in ("points", "stored_value"):
        tablet.fill("#other-amount", "1")
        tablet.click(f"#other-tenders [data-method={method}]")
    expect(tablet.locator("#tender-due")).to_have_text(shown(total - 400))
    # a payment code for ¥1 of what is left: the scan pays its part, the sale stays open for the rest
    tablet.fill("#other-amount", "1")
    tablet.fill("#payment-code", payment_code("wechat", "userpaying"))
    tablet.press("#payment-code", "Enter")
    expect(tablet.locator("#payment-state")).to_have_attribute("data-state", "paid")
    expect(tablet.locator("#tender-due")).to_have_text(shown(total - 500))
    snap(tablet, "pos-split-tenders")
    tablet.fill("#tendered", "20")
    tablet.press("#tendered", "Enter")
    expect(tablet.locator("#screen-done")).to_be_visible()
    expect(tablet.locator("#done-change")).to_have_text(shown(2000 - (total - 500)))

    sale = sale_of_receipt(server, tablet)
    assert [(p["method"], p["amount"]) for p in sale["payments"]] == [
        ("coupon", 200), ("points", 100), ("stored_value", 100), ("wechat", 100), ("cash", total - 500)]
    assert sale["payments"][0]["reference"] == member["coupon"]
    card = as_manager(server, "GET", f"/members/{member['id']}/card")
    assert card["stored_value"]["total"] == 400 and card["coupons"] == []
    entries = as_manager(server, "GET", f"/members/{member['id']}/points")["entries"]
    assert [(e["kind"], e["points"]) for e in entries if e["kind"] == "redemption"] == [("redemption", -100)]
    assert as_manager(server, "GET", f"/coupons/{member['coupon']}")["status"] == "redeemed"


def test_a_payment_code_at_the_lanes_gateway_scanner_pays_the_amount_typed_on_the_tender_step_and_the_rest_in_cash(
        server, tablet):
    for items_after, barcode in enumerate((WATER, WATER, COLA), 1):
        scan(tablet, barcode, items_after)
    total = fen_of(tablet.locator("#total").inner_text())
    tablet.keyboard.press("F2")
    tablet.fill("#other-amount", "1")
    expect(tablet.locator("#other-amount")).to_have_attribute("data-held", "100")  # the lane socket has it

    storeedge("--data-dir", str(server.data_dir), "scan", "--lane", str(tablet.lane), payment_code("wechat"),
              "--url", f"ws://127.0.0.1:{server.port}/ws/gateway")
    expect(tablet.locator("#payment-state")).to_have_attribute("data-state", "paid")
    expect(tablet.locator("#payment-amount")).to_have_text(shown(100))
    expect(tablet.locator("#tender-due")).to_have_text(shown(total - 100))
    tablet.fill("#tendered", "20")
    tablet.press("#tendered", "Enter")
    expect(tablet.locator("#screen-done")).to_be_visible()

    sale = sale_of_receipt(server, tablet)
    assert [(p["method"], p["amount"]) for p in sale["payments"]] == [("wechat", 100), ("cash", total - 100)]


def test_stored_value_above_the_limit_asks_the_customer_for_the_members_payment_pin(server, tablet):
    member = as_manager(server, "POST", "/members", member_body("13912345680"), status=201)
    till = as_tablet(server, tablet)
    till.must("POST", f"/members/{member['id']}/topups", {"amount": 30_000, "method": "card", "reference": "T2"},
              status=201)
    till.must("POST", f"/members/{member['id']}/payment-pin", {"pin": "135790"})
    till.close()
    scan(tablet, WATER, 1)
    tablet.locator("#lines li", has_text="农夫山泉").locator("[data-action=more]").click()
    expect(tablet.locator("#lines")).to_have_attribute("data-items", "2")
    sale_id = tablet.evaluate("state.sale.id")
    line_id = tablet.evaluate("state.sale.lines[0].id")
    as_tablet(server, tablet).must("PATCH", f"/sales/{sale_id}/lines/{line_id}", {"qty": 110})  # ¥220
    tablet.fill("#member-phone", "13912345680")
    tablet.press("#member-phone", "Enter")
    expect(tablet.locator("#member-details")).to_be_visible()
    tablet.keyboard.press("F2")
    total = fen_of(tablet.locator("#tender-due").inner_text())
    assert total > 20_000  # above the default [members.stored_value] pin_required_above
    tablet.click("#other-tenders [data-method=stored_value]")
    expect(tablet.locator("#tender-message")).to_contain_text("需要会员支付密码")
    tablet.fill("#member-pin", "000000")
    tablet.press("#member-pin", "Enter")
    expect(tablet.locator("#tender-message")).to_contain_text("会员支付密码错误")
    tablet.fill("#member-pin", "135790")
    tablet.press("#member-pin", "Enter")
    expect(tablet.locator("#screen-done")).to_be_visible()
    sale = sale_of_receipt(server, tablet)
    assert [(p["method"], p["amount"]) for p in sale["payments"]] == [("stored_value", total)]


def test_the_server_restarted_mid_sale_shows_the_banner_then_the_same_cart_which_goes_on(server, tablet):
    scan(tablet, COLA, 1)
    scan(tablet, WATER, 2)
    line_ids = tablet.locator("#lines li").evaluate_all("items => items.map(item => item.dataset.lineId)")
    banner = tablet.locator("#offline-banner")
    expect(banner).to_be_hidden()

    server.stop()
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("无法连接服务器")
    snap(tablet, "pos-offline")
    server.start()
    expect(banner).to_be_hidden()
    assert tablet.locator("#lines li").evaluate_all("items => items.map(item => item.dataset.lineId)") == line_ids

    # the reconnected tablet goes on with the same sale: a wedge scanner typing into the phone field scans
    tablet.click("#member-phone")
    tablet.keyboard.type(COLA)
    tablet.keyboard.press("Enter")
    expect(tablet.locator("#lines")).to_have_attribute("data-items", "3")
    expect(tablet.locator("#member-phone")).to_have_value("")

    cola_line = tablet.locator("#lines li", has_text="可口可乐")
    cola_line.locator("[data-action=more]").click()
    expect(tablet.locator("#lines")).to_have_attribute("data-items", "4")
    tablet.locator("#lines li", has_text="农夫山泉").locator("[data-action=remove]").click()
    expect(tablet.locator("#lines li")).to_have_count(1)
    sale = as_manager(server, "GET", f"/sales/{tablet.evaluate('state.sale.id')}")
    assert [(line["barcode"], line["qty"]) for line in sale["lines"]] == [(COLA, 3)]


def test_a_product_found_by_name_goes_in_the_cart_the_sale_is_suspended_resumed_then_voided_by_a_manager(server, tablet):
    tablet.fill("#search-input", "kkkl")  # pinyin initials (拼音首字母) find it too
    expect(tablet.locator("#search-results button", has_text="可口可乐")).to_be_visible()
    tablet.fill("#search-input", "可乐")
    tablet.locator("#search-results button", has_text="可口可乐").click()
    expect(tablet.locator("#lines")).to_have_attribute("data-items", "1")
    sale_id = tablet.evaluate("state.sale.id")

    tablet.click("#suspend")
    expect(tablet.locator("#lines li")).to_have_count(0)
    assert as_manager(server, "GET", f"/sales/{sale_id}")["status"] == "suspended"

    tablet.click("#resume")
    tablet.locator(f"#suspended button[data-sale-id='{sale_id}']").click()
    expect(tablet.locator("#lines")).to_contain_text("可口可乐")
    assert as_manager(server, "GET", f"/sales/{sale_id}")["status"] == "open"

    tablet.click("#void")
    tablet.fill("#void-pin", CASHIER_PIN)
    tablet.press("#void-pin", "Enter")
    expect(tablet.locator("#cart-message")).to_contain_text("批准 PIN 不是店长的 PIN")  # error_approval_refused
    assert as_manager(server, "GET", f"/sales/{sale_id}")["status"] == "open"
    tablet.fill("#void-pin", MANAGER_PIN)
    tablet.press("#void-pin", "Enter")
    expect(tablet.locator("#lines li")).to_have_count(0)
    voided = as_manager(server, "GET", f"/sales/{sale_id}")
    assert voided["status"] == "voided" and voided["void_reason"] == "顾客取消 customer cancelled"


def test_a_line_price_is_overridden_with_a_managers_pin_and_cash_paid_in_and_out_shows_in_the_shift_report(server,
                                                                                                          tablet):
    scan(tablet, WATER, 1)
    tablet.locator("#lines li", has_text="农夫山泉").locator("[data-action=edit]").click()
    tablet.fill("#line-price", "1.5")
    tablet.fill("#line-pin", CASHIER_PIN)
    tablet.press("#line-pin", "Enter")
    expect(tablet.locator("#cart-message")).to_contain_text("批准 PIN 不是店长的 PIN")
    sale_id = tablet.evaluate("state.sale.id")
    assert as_manager(server, "GET", f"/sales/{sale_id}")["lines"][0]["price_overridden"] is False
    tablet.fill("#line-price", "1.5")
    tablet.fill("#line-pin", MANAGER_PIN)
    tablet.press("#line-pin", "Enter")
    expect(tablet.locator("#line-box")).to_be_hidden()
    expect(tablet.locator("#total")).to_have_text("¥1.50")
    # a 10 % line discount is within the cashier's own limit: no PIN
    tablet.locator("#lines li", has_text="农夫山泉").locator("[data-action=edit]").click()
    tablet.fill("#line-percent", "10")
    tablet.press("#line-percent", "Enter")
    expect(tablet.locator("#total")).to_have_text("¥1.35")
    # 20 % off the whole sale is above the limit (10 %): refused without a PIN, then approved
    tablet.click("#to-sale-discount")
    expect(tablet.locator("#line-price")).to_be_hidden()
    tablet.fill("#line-percent", "20")
    tablet.press("#line-percent", "Enter")
    expect(tablet.locator("#cart-message")).to_have_text("需要店长输入 PIN 批准 (approval.pin)")
    tablet.fill("#line-pin", MANAGER_PIN)
    tablet.press("#line-pin", "Enter")
    expect(tablet.locator("#total")).to_have_text("¥1.08")  # 1.35 less 20 %
    sale = as_manager(server, "GET", f"/sales/{sale_id}")
    line = sale["lines"][0]
    assert (line["unit_price"], line["price_overridden"], line["discount"], line["total"]) == (
        150, True, {"kind": "percent", "value": 10}, 108)
    assert sale["discount"] == {"kind": "percent", "value": 20}

    for kind, amount, reason in (("in", "50", "补零钱"), ("out", "12.5", "买胶带")):
        tablet.click("#to-cash")
        tablet.check(f"input[name=cash-kind][value={kind}]")
        tablet.fill("#cash-amount", amount)
        tablet.fill("#cash-reason", reason)
        tablet.press("#cash-reason", "Enter")
        expect(tablet.locator("#cash-box")).to_be_hidden()
        expect(tablet.locator("#cart-message")).to_contain_text("✓")
    snap(tablet, "pos-cash-out")
    shift_id = tablet.evaluate("state.shift.id")
    report = as_manager(server, "GET", f"/shifts/{shift_id}/report")
    assert [(m["kind"], m["amount"], m["reason"]) for m in report["cash_movements"]] == [
        ("in", 5000, "补零钱"), ("out", 1250, "买胶带")]
    assert report["cash"]["expected"] == 20_000 + 5000 - 1250


def test_a_sale_is_refunded_by_its_receipt_number_with_a_managers_pin_and_refusals_read_in_the_chosen_language(
        server, tablet):
    for items_after, barcode in enumerate((COLA, WATER), 1):
        scan(tablet, barcode, items_after)
    tablet.keyboard.press("F2")
    tablet.locator("#quick-amounts button").first.click()
    expect(tablet.locator("#screen-done")).to_be_visible()
    sale = sale_of_receipt(server, tablet)
    tablet.click("#reprint")  # the demo server has no printer: the refusal by its code, in Chinese
    expect(tablet.locator("#done-message")).to_have_text("此收银台没有配置小票打印机 (sale_id)")
    tablet.click("#next-sale")

    tablet.click("#to-refund")
    tablet.fill("#refund-receipt", sale["receipt_no"])
    tablet.press("#refund-receipt", "Enter")
    water = next(line for line in sale["lines"] if line["barcode"] == WATER)
    cola = next(line for line in sale["lines"] if line["barcode"] == COLA)
    tablet.locator(f"#refund-lines li[data-line-id='{cola['id']}'] input").fill("0")
    tablet.fill("#refund-pin", CASHIER_PIN)
    tablet.press("#refund-pin", "Enter")
    expect(tablet.locator("#refund-message")).to_have_text("批准 PIN 不是店长的 PIN (approval.pin)")
    tablet.click("#language")
    tablet.fill("#refund-pin", CASHIER_PIN)
    tablet.press("#refund-pin", "Enter")
    expect(tablet.locator("#refund-message")).to_have_text("The approval PIN is not a manager's PIN (approval.pin)")
    tablet.fill("#refund-pin", MANAGER_PIN)
    tablet.press("#refund-pin", "Enter")
    expect(tablet.locator("#refund-done")).to_contain_text(shown(water["total"]))
    snap(tablet, "pos-refund")
    refund = as_manager(server, "GET", f"/refunds/{tablet.locator('#refund-done').get_attribute('data-refund-id')}")
    assert refund["sale_id"] == sale["id"] and refund["total"] == water["total"]
    assert [(line["line_id"], line["qty"]) for line in refund["lines"]] == [(water["id"], 1)]
    assert [(p["method"], p["amount"]) for p in refund["payments"]] == [("cash", water["total"])]


def test_an_e_invoice_for_the_sale_just_paid_refuses_a_wrong_taxpayer_id_then_shows_at_the_desk(server, tablet):
    scan(tablet, WATER, 1)
    tablet.keyboard.press("F2")
    tablet.fill("#tendered", "10")
    tablet.press("#tendered", "Enter")
    expect(tablet.locator("#screen-done")).to_be_visible()
    receipt_no = tablet.locator("#done-receipt").inner_text()
    tablet.click("#done-invoice")
    expect(tablet.locator("#invoice-receipt")).to_have_value(receipt_no)
    tablet.fill("#invoice-title", "上海某某贸易有限公司")
    tablet.fill("#invoice-taxpayer", USCC[:-1] + "C")  # the check character is wrong
    tablet.fill("#invoice-email", "finance@example.com")
    tablet.click("#invoice-form button[type=submit]")
    expect(tablet.locator("#invoice-message")).to_contain_text("纳税人识别号不正确")
    expect(tablet.locator("#invoice-taxpayer")).to_have_attribute("aria-invalid", "true")
    snap(tablet, "pos-invoice-refused")
    assert as_manager(server, "GET", f"/invoice-requests?receipt={receipt_no}")["requests"] == []

    tablet.fill("#invoice-taxpayer", USCC.lower())
    tablet.click("#invoice-form button[type=submit]")
    expect(tablet.locator("#invoice-result li")).to_have_attribute("data-status", "requested")
    snap(tablet, "pos-invoice")
    [request] = as_manager(server, "GET", f"/invoice-requests?receipt={receipt_no}")["requests"]
    assert (request["taxpayer_id"], request["channel"], request["status"]) == (USCC, "pos", "requested")

    tablet.click("#invoice-back")  # to the next customer's cart; later the customer asks at the desk
    tablet.click("#to-invoice")
    tablet.fill("#invoice-receipt", receipt_no)
    tablet.press("#invoice-receipt", "Enter")
    expect(tablet.locator("#invoice-result li")).to_contain_text("已提交")


def test_a_pair_link_for_another_store_is_refused_and_one_for_this_store_asks_for_a_code_at_once(server, browser,
                                                                                                 tmp_path):
    store_id = as_manager(server, "GET", "/health")["store_id"]
    context = browser.new_context()
    context.set_default_timeout(CEILING_MS)
    page = context.new_page()
    page.shots = tmp_path
    page.goto(f"http://127.0.0.1:{server.port}/pos?pair=S-ELSEWHERE")
    expect(page.locator("#pair-message")).to_contain_text(f"S-ELSEWHERE，这里是门店 {store_id}")
    expect(page.locator("#pair-start")).to_be_hidden()
    snap(page, "pos-pair-link-refused")
    assert page.evaluate("localStorage.getItem('storeedge.pos.pairing')") is None  # no request was made

    page.goto(f"http://127.0.0.1:{server.port}/pos?pair={store_id}")
    code = page.locator("#pair-code")
    expect(code).to_have_text(re.compile(r"^\d{6}$"))
    expect(page).to_have_url(f"http://127.0.0.1:{server.port}/pos")  # used once: a reload pairs no second time
    as_manager(server, "POST", "/devices/pair/approve", {"code": code.inner_text(), "lane": next(LANES)})
    expect(page.locator("#screen-login")).to_be_visible()
    context.close()


def test_a_technician_approves_the_code_a_screen_shows_from_the_command_line(server):
    device = JsonClient(server.port)
    request = device.must("POST", "/devices/pair", {"name": "收银平板", "kind": "terminal"}, status=201)
    claim = f"/devices/pair/{request['id']}/claim"
    approve = ("--data-dir", str(server.data_dir), "devices", "approve", request["code"], "--lane", "7")
    assert request["code"] in storeedge("--data-dir", str(server.data_dir), "devices", "pairing").stdout

    refused = storeedge(*approve, "--manager-pin", CASHIER_PIN, check=False)
    assert refused.returncode == 2 and "manager_pin" in refused.stderr
    device.close()
    assert device.must("POST", claim, {"secret": request["secret"]})["state"] == "pending"

    assert "approved" in storeedge(*approve, "--manager-pin", MANAGER_PIN).stdout
    device.close()
    claimed = device.must("POST", claim, {"secret": request["secret"]})
    assert claimed["state"] == "claimed" and claimed["device"]["lane"] == 7
    device.device_token = claimed["token"]
    assert device.login(CASHIER_PIN)["staff"]["role"] == "cashier"
    device.close()


@pytest.mark.parametrize("path, kind", [("/pos", "text/html"), ("/pos/", "text/html"),
                                        ("/pos/pos.js", "text/javascript"), ("/ui/shared/client.js", "text/javascript"),
                                        ("/pos/tender.js", "text/javascript"), ("/pos/desk.js", "text/javascript"),
                                        ("/display", "text/html"), ("/display/display.js", "text/javascript"),
                                        ("/ui/shared/pairing.js", "text/javascript"),
                                        ("/ui/shared/style.css", "text/css")])
def test_the_screens_files_are_served_by_web_itself(flask_app, path, kind):
    answer = flask_app.test_client().get(path)
    assert answer.status_code == 200 and answer.mimetype == kind
    assert answer.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("path", ["/pos/../__init__.py", "/pos/%2e%2e/__init__.py", "/ui/shared/nothing.js"])
def test_nothing_outside_the_screens_folders_is_served(flask_app, path):
    assert flask_app.test_client().get(path).status_code == 404
