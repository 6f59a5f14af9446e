"""Shared fixtures: a real store on a temporary SQLite file, and an API client for it."""

from __future__ import annotations

import shutil

import pytest

from edge.staff.models import Staff
from edge.staff.secrets import pin_lookup

from edge.app import StoreEdge
from edge.config import parse_config
from edge.demo.seed import DEMO_STAFF, seed
from edge.staff.service import Caller

CASHIER_PIN, MANAGER_PIN, ADMIN_PIN = "0000", "1234", "9999"
assert {pin for _, _, pin in DEMO_STAFF} == {CASHIER_PIN, MANAGER_PIN, ADMIN_PIN}

WATER = "6904321000012"  # 农夫山泉, 2.00
COLA = "6904321000029"  # 可口可乐, 3.00
APPLES_SKU = "FRT001"  # 红富士苹果, 12.80 per kg, PLU 01020


def open_store(path, config: dict | None = None, demo: bool = True) -> StoreEdge:
    store = StoreEdge(parse_config(config or {}), path)
    store.db.migrate()
    if demo:
        seed(store)
    return store


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    """A demo store's data folder, seeded once: seeding hashes three PINs and imports the catalog."""
    path = tmp_path_factory.mktemp("demo-template")
    open_store(path).db.close()
    return path


def copied_store(template, path, config: dict | None = None) -> StoreEdge:
    """A store in path holding a copy of the template's data (its secret key too, so the PINs work)."""
    shutil.copytree(template, path, dirs_exist_ok=True)
    return open_store(path, config, demo=False)


@pytest.fixture
def store_with(demo_template, tmp_path):
    """Opens copies of the demo store under a given config (a dict as in the TOML), closed after the test."""
    opened = []

    def open_copy(config: dict) -> StoreEdge:
        opened.append(copied_store(demo_template, tmp_path / f"store{len(opened)}", config))
        return opened[-1]

    yield open_copy
    for store in opened:
        store.db.close()


@pytest.fixture
def store(tmp_path, demo_template):
    """A fresh demo store on its own SQLite file (a copy of the seeded template)."""
    store = copied_store(demo_template, tmp_path)
    yield store
    store.db.close()


@pytest.fixture
def empty_store(tmp_path):
    store = open_store(tmp_path, demo=False)
    yield store
    store.db.close()


def staff_by_pin(store, pin):
    return Staff.get(Staff.pin_lookup == pin_lookup(store.secret, pin))


def terminal(store, lane: int = 1, pin: str = CASHIER_PIN, shift_float: int | None = 10_000) -> Caller:
    """A paired terminal with a cashier on it and (by default) an open shift."""
    device, _ = store.staff.add_device(f"lane{lane}", "terminal", lane)
    caller = Caller(device=device, staff=staff_by_pin(store, pin))
    if shift_float is not None:
        store.shifts.open(caller, shift_float)
    return caller


@pytest.fixture
def cashier(store) -> Caller:
    return terminal(store)


@pytest.fixture
def manager(store) -> Caller:
    """A manager logged in on lane 2 (no shift): approvals, definitions, corrections."""
    return terminal(store, lane=2, pin=MANAGER_PIN, shift_float=None)


class ApiClient:
    """Flask test client speaking as one paired device, optionally logged in."""

    def __init__(self, flask_app, device_token: str):
        self.http = flask_app.test_client()
        self.device_token = device_token
        self.session: str | None = None

    def headers(self, extra=None) -> dict:
        headers = {"X-Device-Token": self.device_token}
        if self.session:
            headers["Authorization"] = f"Bearer {self.session}"
        headers.update(extra or {})
        return headers

    def request(self, method, path, json=None, headers=None, data=None):
        return self.http.open(f"/api/v1{path}", method=method, json=json, data=data, headers=self.headers(headers))

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.request("POST", path, json=json if json is not None else {}, **kw)

    def patch(self, path, json=None, **kw):
        return self.request("PATCH", path, json=json, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def login(self, pin: str = CASHIER_PIN):
        answer = self.post("/auth/login", {"pin": pin})
        assert answer.status_code == 200, answer.json
        self.session = answer.json["token"]
        return answer.json


@pytest.fixture
def flask_app(store):
    return store.web()


@pytest.fixture
def api(store, flask_app) -> ApiClient:
    """A terminal on lane 1, logged in as the cashier, with an open shift."""
    _, token = store.staff.add_device("lane1", "terminal", 1)
    client = ApiClient(flask_app, token)
    client.login(CASHIER_PIN)
    assert client.post("/shifts", {"opening_float": 10_000}).status_code == 201
    return client
