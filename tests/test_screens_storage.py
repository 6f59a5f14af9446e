"""Screens sharing one browser, in real Chromium against the real `storeedge web`: each keeps its own pairing and
staff session (a manager opening /admin on the cashier's tablet takes nothing from /pos), and a tablet paired before
the screens had their own names in localStorage stays paired and logged in after the upgrade.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.screens_helpers import CASHIER_PIN, CEILING_MS, LANES, MANAGER_PIN, pair_screen, snap
from tests.screens_helpers import browser, server  # noqa: F401  (pytest fixtures)
from tests.server_helpers import JsonClient, add_terminal
from tests.test_screens_pos import pair_and_log_in

LEGACY_KEYS = ("storeedge.device", "storeedge.session", "storeedge.pairing")


@pytest.fixture
def one_browser(browser, tmp_path):
    """One browser profile (the cashier's tablet): its pages share localStorage."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(CEILING_MS)
    context.shots = tmp_path
    yield context
    context.close()


def new_page(context: BrowserContext) -> Page:
    page = context.new_page()
    page.shots = context.shots
    return page


def pair_backoffice_and_log_in(page: Page, server) -> None:
    pair_screen(page, server, "admin", "店长用平板")
    expect(page.locator("#screen-login")).to_be_visible()
    page.fill("#pin", MANAGER_PIN)
    page.press("#pin", "Enter")
    expect(page.locator("#screen-home")).to_be_visible()


def stored(page: Page) -> dict:
    """This screen's device and session as it keeps them."""
    return page.evaluate("({device: Stored.get('device'), session: Stored.get('session')})")


def test_pos_and_admin_in_one_browser_stay_paired_and_logged_in_each_as_itself(server, one_browser):
    tablet = new_page(one_browser)
    pair_and_log_in(tablet, server, next(LANES))
    backoffice = new_page(one_browser)
    pair_backoffice_and_log_in(backoffice, server)
    snap(backoffice, "storage-admin-on-the-tablet")

    # after the manager paired and logged in /admin, the tablet still has its own token and its cashier
    tablet.reload()
    expect(tablet.locator("#screen-cart")).to_be_visible()
    backoffice.reload()
    expect(backoffice.locator("#screen-home")).to_be_visible()
    pos, admin = stored(tablet), stored(backoffice)
    assert pos["device"]["token"] != admin["device"]["token"]
    assert (pos["session"]["staff"]["role"], admin["session"]["staff"]["role"]) == ("cashier", "manager")

    # the manager logging out of /admin ends only the back office's session
    backoffice.click("#logout")
    expect(backoffice.locator("#screen-login")).to_be_visible()
    tablet.reload()
    expect(tablet.locator("#screen-cart")).to_be_visible()
    assert stored(tablet) == pos
    assert all(tablet.evaluate(f"localStorage.getItem('{key}')") is None for key in LEGACY_KEYS)


def test_a_tablet_paired_before_the_upgrade_stays_paired_and_logged_in_and_lends_its_device_to_admin(server,
                                                                                                      one_browser):
    lane = next(LANES)
    till = JsonClient(server.port, add_terminal(server.data_dir, lane=lane))
    staff = till.login(CASHIER_PIN)["staff"]
    till.must("POST", "/shifts", {"opening_float": 0}, status=201)
    device = {"token": till.device_token, **till.must("GET", "/auth/me")["device"]}
    till.close()
    assert device["kind"] == "terminal"
    legacy = {"storeedge.device": device, "storeedge.session": {"token": till.session, "staff": staff}}
    tablet = new_page(one_browser)
    tablet.goto(f"http://127.0.0.1:{server.port}/ui/shared/style.css")  # the origin, before any screen runs
    tablet.evaluate("keys => Object.entries(keys).forEach(([k, v]) => localStorage.setItem(k, JSON.stringify(v)))",
                    legacy)

    tablet.goto(f"http://127.0.0.1:{server.port}/pos")
    expect(tablet.locator("#screen-cart")).to_be_visible()  # no pairing, no PIN: the old keys were adopted
    assert stored(tablet) == {"device": device, "session": legacy["storeedge.session"]}
    assert tablet.evaluate("localStorage.getItem('storeedge.session')") is None

    # /admin on the same tablet has the same device (as before the upgrade), but asks for its own login
    backoffice = new_page(one_browser)
    backoffice.goto(f"http://127.0.0.1:{server.port}/admin")
    expect(backoffice.locator("#screen-login")).to_be_visible()
    assert stored(backoffice) == {"device": device, "session": None}
    assert all(backoffice.evaluate(f"localStorage.getItem('{key}')") is None for key in LEGACY_KEYS)
    assert json.loads(backoffice.evaluate("localStorage.getItem('storeedge.pos.device')")) == device
