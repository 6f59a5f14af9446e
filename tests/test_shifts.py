"""Shifts in the domain: float, cash in/out, no-sale opens, X and Z reports, and the refusals."""

from __future__ import annotations

import json
import uuid

import pytest

from edge.errors import Conflict, DomainError, Forbidden, NotFound
from edge.shifts.models import CashMovement, Shift
from tests.conftest import COLA, MANAGER_PIN, WATER, staff_by_pin, terminal
from tests.domain2_helpers import (
    CASHIER_APPROVAL, MANAGER_APPROVAL, PIN_FAILURE_TABLES, audit_records, events, nothing_written,
    open_sale_with, refused, sell,
)

FLOAT = 10_000


@pytest.fixture
def till(store):
    """A terminal with the cashier on it and no shift yet."""
    return terminal(store, shift_float=None)


def busy_shift(store, caller):
    """A shift with cash in/out, cash, card and mixed sales, a refund, a void and a no-sale drawer open."""
    shift = store.shifts.open(caller, FLOAT)
    store.shifts.cash_movement(shift.id, caller, "in", 5_000, "change from the bank")
    store.shifts.cash_movement(shift.id, caller, "out", 2_000, "paid the window cleaner")
    cash_sale = sell(store, caller, [(WATER, 2), (COLA, 1)], [{"method": "cash", "amount": 1_000}])  # 7.00
    sell(store, caller, [(COLA, 4)], [{"method": "card", "amount": 1_200, "reference": "C-1"}])  # 12.00
    sell(store, caller, [(WATER, 5)], [{"method": "external", "amount": 600, "reference": "WX-9"},
                                       {"method": "cash", "amount": 500}])  # 10.00: 6.00 + 4.00 cash
    store.refunds.refund(caller, cash_sale.id, None, "broken seal", "original", MANAGER_APPROVAL)  # 7.00 cash
    store.sales.void(open_sale_with(store, caller, [(WATER, 1)]).id, caller, "walked off", MANAGER_APPROVAL)
    store.shifts.cash_movement(shift.id, caller, "no_sale", 0, "customer needed change", MANAGER_APPROVAL)
    return shift


# FLOAT + cash sales (7.00 + 4.00) - cash refund 7.00 + in 50.00 - out 20.00
EXPECTED_CASH = FLOAT + 700 + 400 - 700 + 5_000 - 2_000


def test_open_with_a_float(store, till):
    shift = store.shifts.open(till, 12_345)
    row = Shift.get_by_id(shift.id)
    assert (row.status, row.opening_float, row.opened_by, row.device_id, row.lane) == (
        "open", 12_345, till.staff_id, till.device_id, 1)
    assert store.shifts.current(till.device_id).id == shift.id
    [opened] = audit_records("shift.opened")
    assert (opened["entity_id"], opened["data"]) == (shift.id, {"opening_float": 12_345})


def test_x_report_mid_shift_by_tender(store, till):
    shift = busy_shift(store, till)
    report = store.shifts.report(store.shifts.get(shift.id))
    assert report["kind"] == "X"
    assert report["sales"] == {"count": 3, "gross": 2_900, "discounts": 0, "rounding": 0, "net": 2_900}
    assert report["tenders"] == {"cash": 1_100, "card": 1_200, "external": 600}
    assert report["refunds"] == {"count": 1, "total": 700, "tenders": {"cash": 700}}
    assert (report["voids"], report["no_sale_opens"]) == (1, 1)
    assert report["cash"] == {"opening_float": FLOAT, "sales": 1_100, "refunds": 700, "cash_in": 5_000,
                              "cash_out": 2_000, "stored_value_topups": 0, "stored_value_payouts": 0,
                              "expected": EXPECTED_CASH, "counted": None, "variance": None}
    # An X report changes nothing: the shift stays open.
    assert store.shifts.get(shift.id).status == "open"


@pytest.mark.parametrize("counted, variance", [(EXPECTED_CASH, 0), (EXPECTED_CASH - 150, -150),
                                               (EXPECTED_CASH + 20, 20)])
def test_close_with_counted_cash_gives_the_z_report(store, till, counted, variance):
    shift = busy_shift(store, till)
    z = store.shifts.close(shift.id, till, counted)
    assert z["kind"] == "Z"
    assert (z["cash"]["expected"], z["cash"]["counted"], z["cash"]["variance"]) == (EXPECTED_CASH, counted, variance)
    assert z["tenders"] == {"cash": 1_100, "card": 1_200, "external": 600}
    assert z["refunds"]["tenders"] == {"cash": 700}
    assert (z["closed_by"], z["closed_at"] is not None) == (till.staff_id, True)

    row = Shift.get_by_id(shift.id)
    assert (row.status, row.expected_cash, row.counted_cash, row.variance) == (
        "closed", EXPECTED_CASH, counted, variance)
    assert json.loads(row.report) == z
    assert store.shifts.current(till.device_id) is None
    assert [e["data"] for e in events("shift.closed")] == [z]
    [closed] = audit_records("shift.closed")
    assert closed["data"] == {"expected": EXPECTED_CASH, "counted": counted, "variance": variance}


def test_reports_count_only_their_own_shift(store, till):
    first = busy_shift(store, till)
    store.shifts.close(first.id, till, EXPECTED_CASH)
    second = store.shifts.open(till, 5_000)
    sell(store, till, [(COLA, 1)])
    report = store.shifts.report(store.shifts.get(second.id))
    assert (report["sales"]["count"], report["tenders"], report["refunds"]["count"]) == (1, {"cash": 300}, 0)
    assert report["cash"]["expected"] == 5_300


def test_cash_in_and_out_are_recorded_and_audited(store, till):
    shift = store.shifts.open(till, FLOAT)
    store.shifts.cash_movement(shift.id, till, "in", 3_000, "more coins")
    store.shifts.cash_movement(shift.id, till, "out", 500, "milk for the staff room")
    rows = CashMovement.select().where(CashMovement.shift_id == shift.id).order_by(CashMovement.kind)
    assert [(m.kind, m.amount, m.reason, m.staff_id) for m in rows] == [
        ("in", 3_000, "more coins", till.staff_id), ("out", 500, "milk for the staff room", till.staff_id)]
    assert [a["action"] for a in audit_records()[-2:]] == ["shift.cash_in", "shift.cash_out"]


@pytest.mark.parametrize("kind, amount", [("in", 0), ("out", -100)])
def test_cash_movement_needs_a_positive_amount(store, till, kind, amount):
    shift = store.shifts.open(till, FLOAT)
    with nothing_written(store), refused(DomainError, field="amount"):
        store.shifts.cash_movement(shift.id, till, kind, amount, "typo")


def test_no_sale_drawer_open_needs_a_manager(store, till):
    shift = store.shifts.open(till, FLOAT)
    with nothing_written(store), refused(Forbidden, field="approval.pin", code="approval_required"):
        store.shifts.cash_movement(shift.id, till, "no_sale", 0, "check the float")
    with nothing_written(store, ignore=PIN_FAILURE_TABLES), refused(Forbidden, code="approval_refused"):
        store.shifts.cash_movement(shift.id, till, "no_sale", 0, "check the float", CASHIER_APPROVAL)
    movement = store.shifts.cash_movement(shift.id, till, "no_sale", 999, "check the float", MANAGER_APPROVAL)
    # A no-sale open moves no money, whatever amount was sent.
    assert (movement.amount, movement.approved_by) == (0, staff_by_pin(store, MANAGER_PIN).id)
    [opened] = audit_records("drawer.no_sale")
    assert opened["data"]["approved_by"] == staff_by_pin(store, MANAGER_PIN).id
    assert store.shifts.report(shift)["cash"]["expected"] == FLOAT


def test_second_open_shift_on_the_same_device_is_refused(store, till):
    store.shifts.open(till, FLOAT)
    with nothing_written(store), refused(Conflict, code="shift_open"):
        store.shifts.open(till, FLOAT)
    # Another terminal opens its own.
    other = terminal(store, lane=2, pin=MANAGER_PIN, shift_float=None)
    assert store.shifts.open(other, 0).device_id == other.device_id


def test_closing_or_using_another_terminals_shift_is_refused(store, till):
    shift = store.shifts.open(till, FLOAT)
    other = terminal(store, lane=2, pin=MANAGER_PIN)
    with nothing_written(store), refused(Conflict, field="shift_id"):
        store.shifts.close(shift.id, other, FLOAT)
    with nothing_written(store), refused(Conflict, field="shift_id"):
        store.shifts.cash_movement(shift.id, other, "out", 100, "not mine")
    assert store.shifts.get(shift.id).status == "open"


def test_a_closed_shift_stays_closed(store, till):
    shift = store.shifts.open(till, FLOAT)
    store.shifts.close(shift.id, till, FLOAT)
    with nothing_written(store), refused(Conflict, field="shift_id", code="shift_closed"):
        store.shifts.close(shift.id, till, FLOAT)
    with nothing_written(store), refused(Conflict, field="shift_id", code="shift_closed"):
        store.shifts.cash_movement(shift.id, till, "in", 100, "late")
    with nothing_written(store), refused(Conflict, code="no_open_shift"):
        store.sales.open(till)


def test_unknown_shift(store, till):
    with nothing_written(store), refused(NotFound, field="shift_id"):
        store.shifts.close(str(uuid.uuid4()), till, 0)
