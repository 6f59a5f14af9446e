"""The back-office reports page (/admin/reports.html) in real Chromium against the real `storeedge web`: a manager
logs in on a paired browser and sees sales drawn as a chart by the vendored Chart.js, and the table beside it."""

from __future__ import annotations


import pytest
from playwright.sync_api import expect

from kiosk_ui.vendor import load_lock, missing
from tests.screens_helpers import CEILING_MS, admin_device_script, COLA, MANAGER_PIN, WATER, as_manager, shown, snap
from tests.screens_helpers import browser, server  # noqa: F401  (pytest fixtures)
from tests.server_helpers import add_terminal


@pytest.fixture(scope="module", autouse=True)
def vendored():
    assert not missing(load_lock()), "Chart.js is not in kiosk_ui/vendor: run `make setup`"


def test_the_reports_page_draws_todays_sales_as_a_chart(server, browser, tmp_path):
    as_manager(server, "POST", "/shifts", {"opening_float": 0}, status=201)
    sale = as_manager(server, "POST", "/sales", {}, status=201)
    for code in (COLA, WATER, WATER):
        as_manager(server, "POST", f"/sales/{sale['id']}/lines", {"barcode": code}, status=201)
    total = as_manager(server, "GET", f"/sales/{sale['id']}")["total"]
    as_manager(server, "POST", f"/sales/{sale['id']}/complete", {"payments": [{"method": "cash", "amount": total}]})

    token = add_terminal(server.data_dir, lane=77)
    # the back office's clock is the shop's (China time): its periods are the store's business days
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Asia/Shanghai")
    context.set_default_timeout(CEILING_MS)
    # a browser paired before (the back-office home pairs it)
    context.add_init_script(admin_device_script({"token": token}))
    page = context.new_page()
    page.shots = tmp_path
    try:
        page.goto(f"http://127.0.0.1:{server.port}/admin/reports.html")
        expect(page.locator("#screen-login")).to_be_visible()
        page.fill("#pin", MANAGER_PIN)
        page.click("#login-form button[type=submit]")
        expect(page.locator("#screen-reports")).to_be_visible()

        page.select_option("#report", "sales_day")
        expect(page.locator("body")).to_have_attribute("data-report", "sales_day")
        expect(page.locator("#chart")).to_have_attribute("data-points", "30")  # the last 30 days, each drawn
        drawn = page.evaluate("() => { const c = Chart.getChart('chart');"
                              " return {type: c.config.type, data: c.data.datasets[0].data}; }")
        assert drawn == {"type": "line", "data": [0] * 29 + [total / 100]}
        row = page.locator("#table tbody tr").last
        expect(row.locator("td").nth(1)).to_have_text("1")
        expect(row.locator("td").nth(4)).to_have_text(shown(total))
        assert page.evaluate("() => { const c = document.getElementById('chart');"
                             " return c.getContext('2d').getImageData(0, 0, c.width, c.height).data"
                             ".some((v, i) => i % 4 === 3 && v > 0); }"), "the chart drew nothing"
        snap(page, "reports-sales-by-day")

        page.select_option("#report", "sales_product")
        expect(page.locator("#chart")).to_have_attribute("data-points", "2")
        expect(page.locator("#table tbody")).to_contain_text("农夫山泉 550ml")
        page.click("#language")
        expect(page.locator("#table thead")).to_contain_text("Net")
        snap(page, "reports-products-en")
    finally:
        context.close()
