"""The services keep their own rules, whoever calls them: the HTTP schemas are not the only guard."""

from __future__ import annotations

import pytest

from edge.errors import Conflict, DomainError
from tests.conftest import MANAGER_PIN, WATER, terminal
from tests.domain_helpers import row_counts, rows_written


def test_a_shift_cannot_open_with_a_negative_float(store):
    caller = terminal(store, shift_float=None)
    before = row_counts(store)
    with pytest.raises(DomainError) as refused:
        store.shifts.open(caller, -1)
    assert refused.value.field == "opening_float"
    assert rows_written(store, before) == {}


def test_an_unknown_cash_movement_is_refused_naming_kind(store, cashier):
    shift = store.shifts.current(cashier.device_id)
    before = row_counts(store)
    with pytest.raises(DomainError) as refused:
        store.shifts.cash_movement(shift.id, cashier, "borrow", 500, "午饭")
    assert refused.value.field == "kind"
    assert rows_written(store, before) == {}


def test_a_shift_does_not_close_over_an_open_sale(store, cashier):
    shift = store.shifts.current(cashier.device_id)
    sale = store.sales.open(cashier)
    store.sales.add_line(sale.id, cashier, barcode=WATER)
    with pytest.raises(Conflict) as refused:
        store.shifts.close(shift.id, cashier, 10_000)
    assert refused.value.code == "sale_open"
    store.sales.suspend(sale.id, cashier)
    assert store.shifts.close(shift.id, cashier, 10_000)["cash"]["variance"] == 0


def test_a_refund_goes_to_the_original_tender_or_cash_only(store, cashier):
    sale = store.sales.open(cashier)
    store.sales.add_line(sale.id, cashier, barcode=WATER)
    store.sales.complete(sale.id, cashier, [{"method": "cash", "amount": 200}])
    before = row_counts(store)
    with pytest.raises(DomainError) as refused:
        store.refunds.refund(cashier, sale.id, None, "破损", "gift_card", {"pin": MANAGER_PIN})
    assert refused.value.field == "to"
    assert rows_written(store, before) == {}


@pytest.mark.parametrize("pin", ["١٢٣٤", "１２３４", "12a4"])
def test_pins_are_ascii_digits_a_till_keypad_can_type(store, pin):
    before = row_counts(store)
    with pytest.raises(DomainError) as refused:
        store.staff.add_staff("张三", "cashier", pin)
    assert refused.value.field == "pin"
    assert rows_written(store, before) == {}
