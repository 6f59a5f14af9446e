"""Who may call the API: device tokens, PIN sessions, roles, logout, pairing and PIN lockout, over HTTP."""

from __future__ import annotations

import pytest

from edge.staff.models import Device, PinThrottle, StaffSession
from tests.api_helpers import client_for, nothing_written, refusal, row_count
from tests.conftest import ADMIN_PIN, CASHIER_PIN, MANAGER_PIN, WATER, ApiClient

# A few calls of each authentication level, with a body each would accept.
DEVICE_CALLS = [("GET", "/products?q=可乐", None), ("POST", "/auth/login", {"pin": CASHIER_PIN})]
STAFF_CALLS = [("GET", "/auth/me", None), ("POST", "/sales", {}), ("GET", "/shifts/current", None),
               ("GET", "/stock/DRK001", None)]

# (method, path, body, the manager's answer): approving an unknown code fails on the code, past the role check.
MANAGER_ONLY = [
    ("GET", "/staff", None, 200),
    ("GET", "/devices", None, 200),
    ("GET", "/devices/pairing", None, 200),
    ("GET", "/stock", None, 200),
    ("POST", "/devices/pair/approve", {"code": "123456"}, 404),
    ("POST", "/products", {"sku": "NEW001", "name": "新品", "price": 100}, 201),
    ("POST", "/products/import", {"csv": "sku,name,price\nNEW002,新品,100\n"}, 200),
    ("POST", "/stock/receipts", {"lines": [{"sku": "DRK001", "qty": 10}]}, 201),
    ("POST", "/stock/adjustments", {"sku": "DRK001", "qty": -1, "reason": "broken"}, 201),
]


@pytest.fixture
def manager(store, flask_app) -> ApiClient:
    return client_for(store, flask_app, lane=9, pin=MANAGER_PIN)


@pytest.mark.parametrize("method, path, body", DEVICE_CALLS + STAFF_CALLS)
def test_a_call_without_device_token_is_refused(store, api, method, path, body):
    api.device_token = ""
    with nothing_written(store):
        error = refusal(api.request(method, path, json=body), 401, code="unauthorized")
    assert "X-Device-Token" in error["message"]


@pytest.mark.parametrize("method, path, body", DEVICE_CALLS + STAFF_CALLS)
def test_an_unknown_device_token_is_refused(store, api, method, path, body):
    api.device_token = "not-a-token-we-issued"
    with nothing_written(store):
        error = refusal(api.request(method, path, json=body), 401, code="unauthorized")
    assert "device token is not valid" in error["message"]


def test_an_unpaired_device_loses_its_token_and_sessions(store, api, manager):
    device_id = api.get("/auth/me").json["device"]["id"]
    answer = manager.delete(f"/devices/{device_id}")
    assert answer.status_code == 200 and answer.json["active"] is False
    refusal(api.get("/auth/me"), 401, code="unauthorized")
    refusal(api.post("/auth/login", {"pin": CASHIER_PIN}), 401, code="unauthorized")
    assert not StaffSession.select().where((StaffSession.device_id == device_id) & ~StaffSession.revoked).exists()
    listed = {d["id"]: d for d in manager.get("/devices").json["devices"]}
    assert listed[device_id]["active"] is False


def test_a_device_cannot_unpair_itself(store, manager):
    own_id = manager.get("/auth/me").json["device"]["id"]
    with nothing_written(store):
        refusal(manager.delete(f"/devices/{own_id}"), 422, field="device_id")
    refusal(manager.delete("/devices/9999"), 404, field="device_id")


@pytest.mark.parametrize("kind", ["kiosk", "display"])
def test_other_device_kinds_cannot_reach_terminal_calls(store, flask_app, kind):
    device = client_for(store, flask_app, lane=5, kind=kind, pin=None)
    with nothing_written(store):
        error = refusal(device.post("/auth/login", {"pin": CASHIER_PIN}), 403, code="forbidden")
    assert kind in error["message"]
    products = device.get(f"/products?barcode={WATER}")
    if kind == "kiosk":
        assert products.status_code == 200 and products.json["products"][0]["sku"] == "DRK001"
    else:
        refusal(products, 403, code="forbidden")


def test_login_with_pin_gives_a_session_for_this_device(store, flask_app):
    client = client_for(store, flask_app, lane=3, pin=None)
    answer = client.post("/auth/login", {"pin": MANAGER_PIN})
    assert answer.status_code == 200
    assert answer.json["staff"]["role"] == "manager" and answer.json["staff"]["name"] == "王店长"
    assert answer.json["token"] and answer.json["expires_at"]
    client.session = answer.json["token"]
    me = client.get("/auth/me").json
    assert me["staff"] == answer.json["staff"] and me["device"]["lane"] == 3
    assert store.db.peewee.execute_sql(
        "SELECT action FROM audit_record ORDER BY seq DESC LIMIT 1").fetchone() == ("staff.login",)


def test_a_wrong_pin_gives_no_session(store, flask_app):
    client = client_for(store, flask_app, lane=3, pin=None)
    sessions = row_count(store, "staff_session")
    error = refusal(client.post("/auth/login", {"pin": "4321"}), 401, field="pin", code="unauthorized")
    assert "wrong PIN" in error["message"]
    assert row_count(store, "staff_session") == sessions


@pytest.mark.parametrize("method, path, body", STAFF_CALLS)
def test_staff_calls_need_a_session(store, api, method, path, body):
    api.session = None
    with nothing_written(store):
        error = refusal(api.request(method, path, json=body), 401, code="unauthorized")
    assert "log in first" in error["message"]
    api.session = "forged-session-token"
    with nothing_written(store):
        error = refusal(api.request(method, path, json=body), 401, code="unauthorized")
    assert "session token is not valid" in error["message"]


def test_a_session_works_only_on_the_device_it_was_opened_on(store, api, flask_app):
    other = client_for(store, flask_app, lane=2, pin=None)
    other.session = api.session
    refusal(other.get("/auth/me"), 401, code="unauthorized")


@pytest.mark.parametrize("method, path, body, _", MANAGER_ONLY)
def test_a_cashier_cannot_do_manager_things(store, api, method, path, body, _):
    with nothing_written(store):
        error = refusal(api.request(method, path, json=body), 403, code="forbidden")
    assert "manager role" in error["message"] and "cashier" in error["message"]


@pytest.mark.parametrize("method, path, body, status", MANAGER_ONLY)
def test_a_manager_may_do_them(manager, method, path, body, status):
    answer = manager.request(method, path, json=body)
    assert answer.status_code == status, answer.json


def test_only_an_admin_adds_staff(store, flask_app, manager):
    new = {"name": "张收银", "role": "cashier", "pin": "5678"}
    with nothing_written(store):
        refusal(manager.post("/staff", new), 403, code="forbidden")
    admin = client_for(store, flask_app, lane=8, pin=ADMIN_PIN)
    added = admin.post("/staff", new)
    assert added.status_code == 201 and added.json["role"] == "cashier" and "pin" not in added.json
    refusal(admin.post("/staff", {**new, "name": "另一个"}), 409, field="pin", code="conflict")
    assert client_for(store, flask_app, lane=7, pin="5678").get("/auth/me").json["staff"]["name"] == "张收银"


def test_logout_ends_the_session(store, api):
    answer = api.post("/auth/logout")
    assert answer.status_code == 200 and answer.json == {"ok": True}
    refusal(api.get("/auth/me"), 401, code="unauthorized")
    refusal(api.post("/auth/logout"), 401, code="unauthorized")
    actions = [a for (a,) in store.db.peewee.execute_sql("SELECT action FROM audit_record ORDER BY seq")]
    assert actions.count("staff.logout") == 1


def test_pairing_over_http_from_request_to_a_working_token(store, flask_app, manager):
    tablet = ApiClient(flask_app, device_token="")
    asked = tablet.post("/devices/pair", {"name": "平板 2", "kind": "terminal"})
    assert asked.status_code == 201 and asked.json["state"] == "pending"
    request_id, code, secret = asked.json["id"], asked.json["code"], asked.json["secret"]
    assert len(code) == 6 and code.isdigit()

    waiting = tablet.post(f"/devices/pair/{request_id}/claim", {"secret": secret})
    assert waiting.status_code == 200 and waiting.json == {"id": request_id, "state": "pending"}

    pending = manager.get("/devices/pairing").json["requests"]
    assert [(r["code"], r["name"]) for r in pending] == [(code, "平板 2")]
    assert "secret" not in pending[0]
    approved = manager.post("/devices/pair/approve", {"code": code, "lane": 2})
    assert approved.status_code == 200 and approved.json["state"] == "approved"

    claimed = tablet.post(f"/devices/pair/{request_id}/claim", {"secret": secret})
    assert claimed.status_code == 200 and claimed.json["state"] == "claimed"
    assert claimed.json["device"]["lane"] == 2 and claimed.json["device"]["kind"] == "terminal"
    tablet.device_token = claimed.json["token"]
    tablet.login(CASHIER_PIN)
    assert tablet.get("/auth/me").json["device"]["id"] == claimed.json["device"]["id"]

    # The token is handed out exactly once.
    again = tablet.post(f"/devices/pair/{request_id}/claim", {"secret": secret})
    assert again.status_code == 200 and "token" not in again.json
    assert manager.get("/devices/pairing").json["requests"] == []


def test_a_rejected_pairing_gives_no_token(store, flask_app, manager):
    tablet = ApiClient(flask_app, device_token="")
    asked = tablet.post("/devices/pair", {"name": "陌生设备", "kind": "kiosk"}).json
    devices = row_count(store, "device")
    assert manager.post("/devices/pair/reject", {"code": asked["code"]}).json["state"] == "rejected"
    claim = tablet.post(f"/devices/pair/{asked['id']}/claim", {"secret": asked["secret"]})
    assert claim.json == {"id": asked["id"], "state": "rejected"}
    assert row_count(store, "device") == devices
    refusal(manager.post("/devices/pair/approve", {"code": asked["code"]}), 404, field="code")


def test_a_pairing_claim_needs_the_secret(store, flask_app, manager):
    tablet = ApiClient(flask_app, device_token="")
    asked = tablet.post("/devices/pair", {"name": "平板 3", "kind": "terminal"}).json
    manager.post("/devices/pair/approve", {"code": asked["code"], "lane": 3})
    with nothing_written(store):
        refusal(tablet.post(f"/devices/pair/{asked['id']}/claim", {"secret": "guess"}), 404, field="secret")
    assert Device.get(Device.lane == 3).token_hash is None


def test_wrong_pins_lock_the_device_out_of_login(store, flask_app):
    client = client_for(store, flask_app, lane=4, pin=None)
    attempts = store.config.security.pin_max_attempts
    for _ in range(attempts):
        refusal(client.post("/auth/login", {"pin": "4321"}), 401, field="pin")
    # Now even the right PIN is refused, and nothing of the refused login is written.
    with nothing_written(store):
        error = refusal(client.post("/auth/login", {"pin": CASHIER_PIN}), 429, field="pin",
                        code="too_many_attempts")
    assert "try again in" in error["message"]
    failures = store.db.peewee.execute_sql(
        "SELECT COUNT(*) FROM audit_record WHERE action = 'staff.pin_failed'").fetchone()[0]
    assert failures == attempts
    # Other lanes are not locked out.
    client_for(store, flask_app, lane=5, pin=CASHIER_PIN)
    # Once the lockout has passed, the right PIN works again.
    PinThrottle.update(locked_until="2000-01-01T00:00:00+00:00").execute()
    client.login(CASHIER_PIN)


def test_wrong_approval_pins_lock_the_device_out_of_approvals(store, api):
    sale = api.post("/sales").json
    api.post(f"/sales/{sale['id']}/lines", {"barcode": WATER})
    void = {"reason": "客户不要了", "approval": {"pin": CASHIER_PIN}}  # a PIN, but not a manager's
    for _ in range(store.config.security.pin_max_attempts):
        refusal(api.post(f"/sales/{sale['id']}/void", void), 403, field="approval.pin", code="approval_refused")
    with nothing_written(store):
        refusal(api.post(f"/sales/{sale['id']}/void", {**void, "approval": {"pin": MANAGER_PIN}}), 429,
                code="too_many_attempts")
    assert api.get(f"/sales/{sale['id']}").json["status"] == "open"
