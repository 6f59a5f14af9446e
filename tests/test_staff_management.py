"""Back-office staff management as business rules: roles, deactivation, PIN resets; a PIN is never recorded."""

from __future__ import annotations

import pytest

from edge.errors import Conflict, DomainError, Forbidden, Unauthorized
from edge.staff.models import Staff
from tests.conftest import ADMIN_PIN, CASHIER_PIN, MANAGER_PIN, staff_by_pin, terminal
from tests.domain2_helpers import MANAGER_APPROVAL, PIN_FAILURE_TABLES, audit_records, nothing_written, refused


@pytest.fixture
def admin(store):
    return terminal(store, lane=3, pin=ADMIN_PIN, shift_float=None)


def test_a_manager_changes_a_role_and_deactivating_ends_the_sessions(store, manager, cashier):
    clerk = staff_by_pin(store, CASHIER_PIN)
    device = cashier.device
    session, _, _ = store.staff.login(device, CASHIER_PIN)

    assert store.staff_management.change(clerk.id, manager, role="manager").role == "manager"
    store.staff_management.change(clerk.id, manager, active=False)

    with refused(Unauthorized):
        store.staff.staff_for_session(session, device)
    with refused(Unauthorized, field="pin"):
        store.staff.login(device, CASHIER_PIN)
    records = audit_records("staff.changed")
    assert [r["data"]["before"] for r in records] == [{"role": "cashier", "active": True},
                                                      {"role": "manager", "active": True}]
    assert records[-1]["data"]["active"] is False and records[-1]["staff_id"] == manager.staff_id


def test_a_manager_cannot_touch_an_admin_make_one_or_change_themselves(store, manager, admin):
    clerk = staff_by_pin(store, CASHIER_PIN)
    chief = staff_by_pin(store, ADMIN_PIN)
    with nothing_written(store):
        with refused(Forbidden, field="role", code="role_required"):
            store.staff_management.change(clerk.id, manager, role="admin")
        with refused(Forbidden, field="staff_id", code="role_required"):
            store.staff_management.change(chief.id, manager, active=False)
        with refused(Conflict, field="staff_id", code="own_account"):
            store.staff_management.change(manager.staff_id, manager, active=False)
        with refused(DomainError, field="role"):
            store.staff_management.change(clerk.id, manager)
    assert store.staff_management.change(clerk.id, admin, role="admin").role == "admin"


def test_a_cashier_manages_nobody(store, cashier, manager):
    with nothing_written(store), refused(Forbidden, code="role_required"):
        store.staff_management.change(manager.staff_id, cashier, active=False)


def test_a_pin_reset_needs_a_managers_approval_and_is_audited_without_the_pin(store, manager, cashier):
    clerk = staff_by_pin(store, CASHIER_PIN)
    session, _, _ = store.staff.login(cashier.device, CASHIER_PIN)

    with nothing_written(store), refused(Conflict, field="pin"):
        store.staff_management.reset_pin(clerk.id, MANAGER_PIN, MANAGER_APPROVAL, manager)  # someone else's PIN
    with nothing_written(store), refused(DomainError, field="pin"):
        store.staff_management.reset_pin(clerk.id, "12a4", MANAGER_APPROVAL, manager)
    with nothing_written(store, ignore=PIN_FAILURE_TABLES), refused(Forbidden, code="approval_required"):
        store.staff_management.reset_pin(clerk.id, "24680", None, manager)
    with nothing_written(store, ignore=PIN_FAILURE_TABLES), refused(Forbidden, code="approval_refused"):
        store.staff_management.reset_pin(clerk.id, "24680", {"pin": CASHIER_PIN}, manager)

    store.staff_management.reset_pin(clerk.id, "24680", MANAGER_APPROVAL, manager)

    assert store.staff.login(cashier.device, "24680")[1].id == clerk.id
    with refused(Unauthorized, field="pin"):
        store.staff.login(cashier.device, CASHIER_PIN)
    with refused(Unauthorized):
        store.staff.staff_for_session(session, cashier.device)  # the old session ended with the old PIN
    [record] = audit_records("staff.pin_reset")
    assert record["entity_id"] == str(clerk.id) and record["data"] == {"approved_by": manager.staff_id}
    assert "24680" not in str(audit_records()) and "24680" not in str(Staff.get_by_id(clerk.id).__data__)
