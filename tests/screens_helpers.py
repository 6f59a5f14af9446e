"""What the browser tests of every screen share: the real server with the demo store, real Chromium, screenshots.

The server is `storeedge web` under gunicorn on a demo-seeded data folder, with a manager terminal on lane 99 for
the approvals a test makes through the API. Waits are Playwright's own: the timeouts are ceilings, never measurements.
"""

from __future__ import annotations

import json
import re
from itertools import count

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.server_helpers import JsonClient, add_terminal, running_server, storeedge

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
CEILING_MS = 20_000
expect.set_options(timeout=CEILING_MS)
MANAGER_PIN, CASHIER_PIN = "1234", "0000"
COLA, WATER = "6904321000029", "6904321000012"  # 可口可乐 (买二送一 in the demo promotions), 农夫山泉
MEMBER_PHONE = "13912345678"
LANES = count(1)  # each test pairs its tablet on a lane of its own


def admin_device_script(device: dict) -> str:
    """An init script leaving ``device`` where /admin keeps its paired device (a browser paired on the home page)."""
    return f"localStorage.setItem('storeedge.admin.device', {json.dumps(json.dumps(device))})"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("screens") / "data"
    storeedge("--data-dir", str(data_dir), "demo", "seed")
    manager_token = add_terminal(data_dir, lane=99)
    with running_server(data_dir) as process:
        process.data_dir = data_dir
        process.manager = JsonClient(process.port, manager_token)
        process.manager.login(MANAGER_PIN)
        yield process
        process.manager.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def snap(page: Page, screen: str) -> None:
    """A screenshot of the screen as it is, kept in the test's temporary folder (an artifact, not committed)."""
    page.screenshot(path=str(page.shots / f"{screen}.png"))


def pair_screen(page: Page, server, screen: str, name: str | None = None, **approval) -> dict:
    """Pair the page on /<screen>'s pairing screen, approved by the demo manager (``approval``: lane, …)."""
    page.goto(f"http://127.0.0.1:{server.port}/{screen}")
    if name is not None:
        page.fill("#pair-name", name)
    page.click("#pair-start")
    code = page.locator("#pair-code")
    expect(code).to_have_text(re.compile(r"^\d{6}$"))
    snap(page, f"{screen}-pairing")
    return as_manager(server, "POST", "/devices/pair/approve", {"code": code.inner_text(), **approval})


def as_manager(server, method: str, path: str, body: dict | None = None, status: int = 200) -> dict:
    """The demo manager's call on a new connection: gunicorn closes idle keep-alive ones between a test's steps."""
    server.manager.close()
    return server.manager.must(method, path, body, status=status)


def shown(fen: int) -> str:
    """An amount as the screens show it."""
    return f"¥{fen // 100}.{fen % 100:02d}"


def fen_of(text: str) -> int:
    yuan, fen = re.fullmatch(r"¥(\d+)\.(\d\d)", text).groups()
    return int(yuan) * 100 + int(fen)
