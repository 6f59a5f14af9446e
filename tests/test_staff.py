"""Staff and devices in the domain: hashed PINs, login and sessions, PIN lockout, approvals, pairing, tokens."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from edge.errors import Conflict, DomainError, Forbidden, NotFound, TooManyAttempts, Unauthorized
from edge.staff.models import Device, PairingRequest, PinThrottle, Staff, StaffSession
from edge.staff.service import Caller
from tests.conftest import ADMIN_PIN, CASHIER_PIN, MANAGER_PIN, staff_by_pin
from tests.conftest import copied_store
from tests.domain2_helpers import PIN_FAILURE_TABLES, audit_records, nothing_written, refused

MAX_ATTEMPTS = 3
WRONG_PIN = "5555"


@pytest.fixture
def strict_store(tmp_path, demo_template):
    """The demo store with a lockout after three wrong PINs."""
    store = copied_store(demo_template, tmp_path,
                         {"security": {"pin_max_attempts": MAX_ATTEMPTS, "lockout_seconds": 300}})
    yield store
    store.db.close()


def lane_device(store, lane=1):
    device, _ = store.staff.add_device(f"lane{lane}", "terminal", lane)
    return device


def manager_on(store, device) -> Caller:
    return Caller(device=device, staff=staff_by_pin(store, MANAGER_PIN))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def moved_to_past(when: str) -> str:
    return (datetime.fromisoformat(when) - timedelta(days=1)).isoformat()


# -- staff and PINs -----------------------------------------------------------------


@pytest.mark.parametrize("role", ["cashier", "manager", "admin"])
def test_staff_pin_is_stored_hashed_never_in_clear(empty_store, role):
    member = empty_store.staff.add_staff(" 张三 ", role, "246810")
    row = empty_store.db.peewee.execute_sql("SELECT * FROM staff WHERE id = ?", (member.id,)).fetchone()
    assert not any("246810" in str(value) for value in row)
    stored = Staff.get_by_id(member.id)
    assert (stored.name, stored.role, stored.active) == ("张三", role, True)
    assert stored.pin_hash.startswith("$argon2id$")
    [added] = audit_records("staff.added")
    assert added["data"] == {"name": "张三", "role": role}


@pytest.mark.parametrize("name, role, pin, field", [
    ("", "cashier", "1357", "name"),
    ("   ", "cashier", "1357", "name"),
    ("A", "boss", "1357", "role"),
    ("A", "cashier", "135", "pin"),
    ("A", "cashier", "123456789", "pin"),
    ("A", "cashier", "12a4", "pin"),
])
def test_bad_staff_is_refused_naming_the_field(empty_store, name, role, pin, field):
    with nothing_written(empty_store), refused(DomainError, field=field):
        empty_store.staff.add_staff(name, role, pin)


def test_two_staff_cannot_share_a_pin(store):
    with nothing_written(store), refused(Conflict, field="pin"):
        store.staff.add_staff("New Cashier", "cashier", CASHIER_PIN)


# -- login and sessions ---------------------------------------------------------------


def test_login_gives_a_session_on_that_device(store):
    device, other = lane_device(store, 1), lane_device(store, 2)
    token, staff, expires = store.staff.login(device, CASHIER_PIN)
    assert staff.role == "cashier"
    assert datetime.fromisoformat(expires) > datetime.now(timezone.utc)
    assert store.staff.staff_for_session(token, device).id == staff.id
    # The session row keeps a digest of the token, not the token.
    session = StaffSession.get(StaffSession.staff_id == staff.id)
    assert session.token_hash == sha256(token) and token not in session.token_hash
    with refused(Unauthorized):
        store.staff.staff_for_session(token, other)
    [login] = audit_records("staff.login")
    assert (login["staff_id"], login["device_id"]) == (staff.id, device.id)


def test_logout_and_expiry_end_the_session(store):
    device = lane_device(store)
    token, staff, _ = store.staff.login(device, CASHIER_PIN)
    store.staff.logout(token, Caller(device=device, staff=staff))
    with refused(Unauthorized):
        store.staff.staff_for_session(token, device)

    token, _, expires = store.staff.login(device, CASHIER_PIN)
    StaffSession.update(expires_at=moved_to_past(expires)).where(StaffSession.token_hash == sha256(token)).execute()
    with refused(Unauthorized) as caught:
        store.staff.staff_for_session(token, device)
    assert "expired" in caught.value.message


def test_inactive_staff_cannot_log_in_or_keep_a_session(store):
    device = lane_device(store)
    token, staff, _ = store.staff.login(device, CASHIER_PIN)
    Staff.update(active=False).where(Staff.id == staff.id).execute()
    with refused(Unauthorized):
        store.staff.staff_for_session(token, device)
    with refused(Unauthorized, field="pin"):
        store.staff.login(device, CASHIER_PIN)


def test_wrong_pin_is_refused_and_counted(strict_store):
    device = lane_device(strict_store)
    with nothing_written(strict_store, ignore=PIN_FAILURE_TABLES), refused(Unauthorized, field="pin"):
        strict_store.staff.login(device, WRONG_PIN)
    assert StaffSession.select().count() == 0
    throttle = PinThrottle.get_by_id(f"login:device:{device.id}")
    assert (throttle.failures, throttle.locked_until) == (1, None)
    [failed] = audit_records("staff.pin_failed")
    assert (failed["device_id"], failed["data"]) == (device.id, {"scope": f"login:device:{device.id}"})


def test_wrong_pins_lock_the_device_out(strict_store):
    device, other = lane_device(strict_store, 1), lane_device(strict_store, 2)
    for _ in range(MAX_ATTEMPTS):
        with refused(Unauthorized):
            strict_store.staff.login(device, WRONG_PIN)
    assert PinThrottle.get_by_id(f"login:device:{device.id}").locked_until is not None
    # Locked: even the right PIN is refused, and the refusal writes nothing.
    with nothing_written(strict_store), refused(TooManyAttempts, field="pin"):
        strict_store.staff.login(device, CASHIER_PIN)
    # The lock is per device: the next lane logs in.
    assert strict_store.staff.login(other, CASHIER_PIN)[1].role == "cashier"


def test_the_lock_ends_after_the_lockout(strict_store):
    device = lane_device(strict_store)
    for _ in range(MAX_ATTEMPTS):
        with refused(Unauthorized):
            strict_store.staff.login(device, WRONG_PIN)
    throttle = PinThrottle.get_by_id(f"login:device:{device.id}")
    PinThrottle.update(locked_until=moved_to_past(throttle.locked_until)).where(
        PinThrottle.scope == throttle.scope).execute()
    assert strict_store.staff.login(device, CASHIER_PIN)[1].role == "cashier"
    assert PinThrottle.get_or_none(PinThrottle.scope == throttle.scope) is None  # success clears the count


def test_a_good_pin_resets_the_count(strict_store):
    device = lane_device(strict_store)
    for pin in [WRONG_PIN, WRONG_PIN, CASHIER_PIN, WRONG_PIN, WRONG_PIN]:
        try:
            strict_store.staff.login(device, pin)
        except Unauthorized:
            pass
    assert strict_store.staff.login(device, CASHIER_PIN)[1].role == "cashier"


# -- manager approval ------------------------------------------------------------------


@pytest.mark.parametrize("pin, role", [(MANAGER_PIN, "manager"), (ADMIN_PIN, "admin")])
def test_manager_or_admin_pin_approves(store, pin, role):
    caller = Caller(device=lane_device(store), staff=staff_by_pin(store, CASHIER_PIN))
    assert store.staff.approve({"pin": pin}, "a test", caller).role == role


@pytest.mark.parametrize("approval, error, code", [
    (None, Forbidden, "approval_required"),
    ({}, Forbidden, "approval_required"),
    ({"pin": CASHIER_PIN}, Forbidden, "approval_refused"),
    ({"pin": WRONG_PIN}, Forbidden, "approval_refused"),
])
def test_approval_refused_without_a_managers_pin(store, approval, error, code):
    caller = Caller(device=lane_device(store), staff=staff_by_pin(store, CASHIER_PIN))
    with refused(error, field="approval.pin", code=code):
        store.staff.approve(approval, "a test", caller)


def test_wrong_approval_pins_lock_approvals_on_that_device_only(strict_store):
    device = lane_device(strict_store)
    caller = Caller(device=device, staff=staff_by_pin(strict_store, CASHIER_PIN))
    for _ in range(MAX_ATTEMPTS):
        with refused(Forbidden, code="approval_refused"):
            strict_store.staff.approve({"pin": CASHIER_PIN}, "a refund", caller)
    assert PinThrottle.get_by_id(f"approval:device:{device.id}").locked_until is not None
    with nothing_written(strict_store), refused(TooManyAttempts, field="pin"):
        strict_store.staff.approve({"pin": MANAGER_PIN}, "a refund", caller)
    # Approvals and logins are counted apart.
    assert strict_store.staff.login(device, CASHIER_PIN)[1].role == "cashier"


# -- devices -----------------------------------------------------------------------------


def test_device_added_by_service_gets_a_token_stored_as_digest(store):
    device, token = store.staff.add_device(" lane4 ", "terminal", 4)
    row = Device.get_by_id(device.id)
    assert (row.name, row.kind, row.lane, row.active) == ("lane4", "terminal", 4, True)
    assert row.token_hash == sha256(token)
    assert store.staff.device_for_token(token).id == device.id
    [added] = audit_records("device.added")
    assert added["data"] == {"id": device.id, "name": "lane4", "kind": "terminal", "lane": 4, "active": True}


@pytest.mark.parametrize("name, kind, lane, field", [
    ("", "terminal", 1, "name"),
    ("x", "printer", 1, "kind"),
    ("x", "terminal", 0, "lane"),
    ("x", "kiosk", 100, "lane"),
])
def test_bad_device_is_refused_naming_the_field(store, name, kind, lane, field):
    with nothing_written(store), refused(DomainError, field=field):
        store.staff.add_device(name, kind, lane)


def test_revoked_device_token_is_refused(store):
    device, token = store.staff.add_device("tablet", "terminal", 1)
    session, _, _ = store.staff.login(device, CASHIER_PIN)
    store.staff.revoke_device(device.id, manager_on(store, lane_device(store, 2)))
    with refused(Unauthorized):
        store.staff.device_for_token(token)
    assert StaffSession.get_by_id(sha256(session)).revoked
    assert [a["entity_id"] for a in audit_records("device.revoked")] == [str(device.id)]
    with refused(Unauthorized):
        store.staff.device_for_token("made-up-token")


# -- pairing -------------------------------------------------------------------------------


def test_pairing_request_code_approval_claim(store):
    request, secret = store.staff.request_pairing("lane5 tablet", "terminal")
    assert len(request.code) == 6 and request.code.isdigit()
    assert [r.id for r in store.staff.pending_pairings()] == [request.id]
    assert PairingRequest.get_by_id(request.id).secret_hash == sha256(secret)

    # Polling before the manager decides gives no token.
    polled, device, token = store.staff.claim_pairing(request.id, secret)
    assert (polled.state, device, token) == ("pending", None, None)

    manager = manager_on(store, lane_device(store))
    decided = store.staff.decide_pairing(request.code, True, 5, manager)
    assert (decided.state, decided.lane, decided.decided_by) == ("approved", 5, manager.staff_id)
    assert store.staff.pending_pairings() == []

    with nothing_written(store), refused(NotFound, field="secret"):
        store.staff.claim_pairing(request.id, "wrong-secret")
    claimed, device, token = store.staff.claim_pairing(request.id, secret)
    assert (claimed.state, device.name, device.kind, device.lane) == ("claimed", "lane5 tablet", "terminal", 5)
    assert store.staff.device_for_token(token).id == device.id
    assert store.staff.login(device, CASHIER_PIN)[1].role == "cashier"

    # The token is handed out once.
    again = store.staff.claim_pairing(request.id, secret)
    assert (again[0].state, again[2]) == ("claimed", None)
    assert [a["action"] for a in audit_records() if a["entity"] in ("pairing", "device")][-2:] == [
        "device.pairing_approved", "device.paired"]


def test_denied_pairing_gives_no_device(store):
    request, secret = store.staff.request_pairing("strange tablet", "kiosk")
    manager = manager_on(store, lane_device(store))
    devices_before = Device.select().count()
    rejected = store.staff.decide_pairing(request.code, False, None, manager)
    assert rejected.state == "rejected"
    assert store.staff.claim_pairing(request.id, secret)[1:] == (None, None)
    assert Device.select().count() == devices_before
    assert [a["entity_id"] for a in audit_records("device.pairing_rejected")] == [request.id]
    # A decided code cannot be decided again.
    with nothing_written(store), refused(NotFound, field="code"):
        store.staff.decide_pairing(request.code, True, 1, manager)


def test_expired_pairing_code_cannot_be_approved_or_claimed(store):
    request, secret = store.staff.request_pairing("late tablet", "display")
    PairingRequest.update(expires_at=moved_to_past(request.expires_at)).where(
        PairingRequest.id == request.id).execute()
    manager = manager_on(store, lane_device(store))
    assert store.staff.pending_pairings() == []
    with nothing_written(store), refused(NotFound, field="code"):
        store.staff.decide_pairing(request.code, True, 1, manager)
    with nothing_written(store), refused(Conflict, code="expired"):
        store.staff.claim_pairing(request.id, secret)


@pytest.mark.parametrize("name, kind, field", [("", "terminal", "name"), ("tablet", "scanner", "kind")])
def test_bad_pairing_request_is_refused(store, name, kind, field):
    with nothing_written(store), refused(DomainError, field=field):
        store.staff.request_pairing(name, kind)


def test_pairing_approval_checks_the_lane(store):
    request, _ = store.staff.request_pairing("tablet", "terminal")
    with nothing_written(store), refused(DomainError, field="lane"):
        store.staff.decide_pairing(request.code, True, 0, manager_on(store, None))


def test_only_a_manager_decides_pairings_and_revokes_devices(store):
    """The rule holds in the service itself, whoever calls it (not only the HTTP layer)."""
    request, _ = store.staff.request_pairing("tablet", "terminal")
    device = lane_device(store)
    cashier = Caller(device=device, staff=staff_by_pin(store, CASHIER_PIN))
    for caller in (cashier, Caller(device=device)):
        with nothing_written(store), refused(Forbidden, code="role_required"):
            store.staff.decide_pairing(request.code, True, 1, caller)
        with nothing_written(store), refused(Forbidden, code="role_required"):
            store.staff.revoke_device(device.id, caller)
    assert [r.id for r in store.staff.pending_pairings()] == [request.id]
    assert Device.get_by_id(device.id).active
