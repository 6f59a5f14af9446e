"""The back office (/admin) in real Chromium against the real `storeedge web` (gunicorn), driven by Playwright.

Each test pairs a fresh back-office computer (a clean browser context) through the home page, approved by the
demo manager through the API, and logs in. Waits are Playwright's own: the timeouts are ceilings, never measurements.
"""

from __future__ import annotations


import pytest
from playwright.sync_api import Page, expect

from tests.screens_helpers import CASHIER_PIN, CEILING_MS, COLA, MANAGER_PIN, WATER, as_manager, pair_screen, snap
from tests.screens_helpers import browser, server  # noqa: F401  (pytest fixtures)
from tests.server_helpers import JsonClient, add_terminal

ADMIN_PIN = "9999"  # the demo's 陈管理
TEA = "6904321000036"  # 康师傅冰红茶, DRK003
AREA_PAGES = ("products", "stock", "staff", "devices", "shifts", "settings")
OTHER_HELPERS_PAGES = ("reports", "insight", "flows")


@pytest.fixture
def backoffice(server, browser, tmp_path):
    """A fresh back-office computer, paired through /admin (approved by the demo manager), not yet logged in."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(CEILING_MS)
    page = context.new_page()
    page.shots = tmp_path
    page.base = f"http://127.0.0.1:{server.port}/admin"
    pair_screen(page, server, "admin", "后台电脑")
    expect(page.locator("#screen-login")).to_be_visible()
    yield page
    snap(page, "admin-last")
    context.close()


def log_in(page: Page, pin: str) -> None:
    page.fill("#pin", pin)
    page.press("#pin", "Enter")


def as_manager_in(page: Page, pin: str = MANAGER_PIN) -> Page:
    log_in(page, pin)
    expect(page.locator("#screen-home")).to_be_visible()
    return page


def open_area(page: Page, area: str) -> None:
    page.click(f"#admin-nav a[href='/admin/{area}.html']")
    expect(page.locator("#page")).to_be_visible()


def on_hand(server, sku: str) -> int:
    return as_manager(server, "GET", f"/stock/{sku}")["on_hand"]


def test_a_cashier_is_refused_with_the_reason_and_a_manager_gets_the_nav(server, backoffice, browser):
    log_in(backoffice, CASHIER_PIN)
    expect(backoffice.locator("#login-message")).to_contain_text("收银员不能进入后台")
    assert backoffice.evaluate("localStorage.getItem('storeedge.admin.session')") is None
    expect(backoffice.locator("#admin-nav")).to_be_hidden()
    snap(backoffice, "admin-cashier-refused")

    as_manager_in(backoffice)
    expect(backoffice.locator("#who")).to_contain_text("王店长")
    links = backoffice.locator("#admin-nav a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs == ["/admin/index.html", *(f"/admin/{name}.html" for name in AREA_PAGES + OTHER_HELPERS_PAGES)]
    expect(backoffice.locator("#admin-nav")).to_contain_text("库存")
    snap(backoffice, "admin-home")
    backoffice.click("#language")
    expect(backoffice.locator("#admin-nav")).to_contain_text("Stock")
    expect(backoffice.locator("html")).to_have_attribute("lang", "en")
    backoffice.click("#language")

    # an area page opened with no session of its own (another browser) sends the way to the login
    stranger = browser.new_context().new_page()
    stranger.goto(f"{backoffice.base}/stock.html")
    expect(stranger.locator("#need-login")).to_be_visible()
    expect(stranger.locator("#need-login a")).to_have_attribute("href", "/admin/")
    expect(stranger.locator("#page")).to_be_hidden()
    stranger.context.close()


def test_a_manager_approves_a_new_tablets_pairing_on_the_devices_page(server, backoffice):
    as_manager_in(backoffice)
    tablet = JsonClient(server.port)
    asked = tablet.must("POST", "/devices/pair", {"name": "新收银平板", "kind": "terminal"}, status=201)
    open_area(backoffice, "devices")
    row = backoffice.locator(f"#pairings tr[data-code='{asked['code']}']")
    expect(row).to_contain_text("新收银平板")
    snap(backoffice, "admin-devices")
    row.locator("input").fill("7")
    row.locator("button", has_text="批准").click()
    expect(backoffice.locator("#pairing-message")).to_contain_text("已批准")

    tablet.close()  # gunicorn drops an idle keep-alive connection: claim on a new one
    claimed = tablet.must("POST", f"/devices/pair/{asked['id']}/claim", {"secret": asked["secret"]})
    tablet.close()
    assert claimed["device"]["lane"] == 7 and claimed["token"]
    paired = backoffice.locator(f"#devices tr[data-device-id='{claimed['device']['id']}']")
    expect(paired).to_contain_text("新收银平板")


def test_receive_stock_then_count_it_in_a_stocktake_and_post_the_variances(server, backoffice):
    as_manager_in(backoffice)
    open_area(backoffice, "stock")
    water_before = on_hand(server, "DRK001")
    backoffice.fill("#receive-sku", WATER)  # scanned: the barcode is looked up to its SKU
    backoffice.fill("#receive-qty", "24")
    backoffice.press("#receive-qty", "Enter")
    expect(backoffice.locator("#receive-lines")).to_contain_text("DRK001")
    backoffice.fill("#receive-supplier", "农夫山泉经销商")
    backoffice.click("#receive-post")
    expect(backoffice.locator("#receive-message")).to_contain_text("已入库")
    assert on_hand(server, "DRK001") == water_before + 24

    backoffice.fill("#stocktake-note", "饮料货架")
    backoffice.click("#stocktake-start")
    for _ in range(3):
        backoffice.fill("#count-scan", WATER)
        backoffice.press("#count-scan", "Enter")
        expect(backoffice.locator("#stocktake-message")).to_contain_text("实盘数")
    expect(backoffice.locator("#stocktake-lines tr[data-sku='DRK001']")).to_contain_text("3")
    backoffice.fill("#count-scan", TEA)  # a scan of the wrong shelf, taken back out of the count
    backoffice.press("#count-scan", "Enter")
    backoffice.locator("#stocktake-lines tr[data-sku='DRK003'] button").click()
    expect(backoffice.locator("#stocktake-lines tr[data-sku='DRK003']")).to_have_count(0)
    backoffice.fill("#count-sku", COLA)
    backoffice.fill("#count-qty", "5")
    backoffice.press("#count-qty", "Enter")
    cola_row = backoffice.locator("#stocktake-lines tr[data-sku='DRK002']")
    expect(cola_row).to_contain_text("5")
    expect(backoffice.locator("#stocktake-summary")).to_contain_text("已盘商品 2")
    snap(backoffice, "admin-stocktake-review")
    cola_before = on_hand(server, "DRK002")

    backoffice.click("#stocktake-post")
    expect(backoffice.locator("#stocktake-post")).to_contain_text("确认过账")
    backoffice.click("#stocktake-post")
    expect(backoffice.locator("#stocktake-message")).to_contain_text("盘点已过账")
    expect(backoffice.locator("#stocktake-start")).to_be_visible()  # ready for the next count
    snap(backoffice, "admin-stock")

    assert (on_hand(server, "DRK001"), on_hand(server, "DRK002")) == (3, 5)
    [posted] = [s for s in as_manager(server, "GET", "/stocktakes")["stocktakes"] if s["note"] == "饮料货架"]
    review = as_manager(server, "GET", f"/stocktakes/{posted['id']}")
    assert posted["status"] == "posted"
    assert {line["sku"]: line["variance"] for line in review["lines"]} == {
        "DRK001": 3 - (water_before + 24), "DRK002": 5 - cola_before}


def test_an_admin_adds_staff_changes_the_role_and_resets_the_pin_without_ever_showing_it(server, backoffice):
    as_manager_in(backoffice, ADMIN_PIN)
    open_area(backoffice, "staff")
    backoffice.fill("#staff-name", "周店员")
    backoffice.select_option("#staff-role", "cashier")
    backoffice.fill("#staff-pin", "556677")
    backoffice.click("#staff-form button[type=submit]")
    expect(backoffice.locator("#staff-add-message")).to_contain_text("已添加: 周店员")
    expect(backoffice.locator("#staff-pin")).to_have_value("")
    row = backoffice.locator("#staff tr", has_text="周店员")
    row.locator("select").select_option("manager")
    expect(backoffice.locator("#staff-message")).to_contain_text("周店员: 店长")

    row.locator("button", has_text="重置 PIN").click()
    backoffice.fill("#reset-pin", "667788")
    backoffice.fill("#reset-approval", MANAGER_PIN)
    backoffice.click("#pin-reset-form button[type=submit]")
    expect(backoffice.locator("#pin-reset-message")).to_contain_text("PIN 已重置")
    snap(backoffice, "admin-staff")
    for pin in ("556677", "667788"):
        assert pin not in backoffice.content()

    [added] = [s for s in as_manager(server, "GET", "/staff")["staff"] if s["name"] == "周店员"]
    assert added["role"] == "manager" and added["active"]
    till = JsonClient(server.port, add_terminal(server.data_dir, lane=42))  # a new connection, used at once
    assert till.login("667788")["staff"]["id"] == added["id"]
    assert till.call("POST", "/auth/login", {"pin": "556677"})[0] == 401
    till.close()


def test_products_shifts_and_settings_pages(server, backoffice):
    as_manager_in(backoffice)
    open_area(backoffice, "products")
    backoffice.click("#product-new")
    backoffice.fill("#p-sku", "ADM001")
    backoffice.fill("#p-name", "后台新品")
    backoffice.fill("#p-price", "12.50")
    backoffice.fill("#p-member-price", "11.80")
    backoffice.click("#product-form button[type=submit]")
    expect(backoffice.locator("#product-message")).to_contain_text("已保存: ADM001")
    backoffice.fill("#product-search", "ADM")
    row = backoffice.locator("#products tr[data-sku='ADM001']")
    expect(row).to_contain_text("¥12.50")
    expect(row).to_contain_text("¥11.80")
    row.locator("button", has_text="停用").click()
    expect(row).to_contain_text("已停用")
    snap(backoffice, "admin-products")
    [product] = as_manager(server, "GET", "/products/list?q=ADM001")["products"]
    assert (product["price"], product["member_price"], product["active"]) == (1250, 1180, False)

    shift = as_manager(server, "POST", "/shifts", {"opening_float": 20_000}, status=201)  # on the manager's lane 99
    open_area(backoffice, "shifts")
    backoffice.locator(f"#shifts tr[data-shift-id='{shift['id']}'] button").click()
    expect(backoffice.locator("#report-title")).to_contain_text("X 报表")
    expect(backoffice.locator("#report-lines")).to_contain_text("应有现金¥200.00")
    snap(backoffice, "admin-shifts")

    open_area(backoffice, "settings")
    expect(backoffice.locator("#config")).to_contain_text("store.id")
    expect(backoffice.locator("#run-time a[href='/admin/stock.html']")).to_be_visible()
    snap(backoffice, "admin-settings")
