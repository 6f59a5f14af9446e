"""Refunds in the domain: whole or by line, to the original tender or cash, manager approval, never more than sold."""

from __future__ import annotations

import uuid

import peewee
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.errors import Conflict, DomainError, Forbidden, NotFound
from edge.inventory.models import StockMovement
from edge.sales.models import Refund, RefundLine
from tests.conftest import APPLES_SKU, COLA, MANAGER_PIN, WATER, open_store, staff_by_pin, terminal
from tests.domain2_helpers import (
    CASHIER_APPROVAL, MANAGER_APPROVAL, PIN_FAILURE_TABLES, audit_records, events, nothing_written,
    open_sale_with, product, refused, sell,
)

WATER_SKU, COLA_SKU = "DRK001", "DRK002"


def refund(store, caller, sale, lines=None, to="original", approval=MANAGER_APPROVAL, reason="damaged"):
    return store.refunds.refund(caller, sale.id, lines, reason, to, approval)


def line_of(store, sale, sku):
    return next(l for l in store.sales.lines(sale) if l.sku == sku)


def test_whole_refund_returns_everything(store, cashier):
    sale = sell(store, cashier, [(WATER, 2), (COLA, 1)])
    water_before = store.inventory.on_hand(product(WATER_SKU).id)
    done = refund(store, cashier, sale)
    assert done.total == 700
    assert done.refund_no == f"RS001-{store.sales.business_date()}-0001"
    as_dict = store.refunds.as_dict(done)
    assert sorted((l["sku"], l["qty"], l["amount"]) for l in as_dict["lines"]) == [
        (WATER_SKU, 2, 400), (COLA_SKU, 1, 300)]
    assert as_dict["payments"] == [{"method": "cash", "amount": 700, "reference": None}]
    assert store.inventory.on_hand(product(WATER_SKU).id) == water_before + 2


def test_refund_by_line(store, cashier):
    sale = sell(store, cashier, [(WATER, 3), (COLA, 1)])
    water = line_of(store, sale, WATER_SKU)
    done = refund(store, cashier, sale, [{"line_id": water.id, "qty": 1}])
    assert done.total == 200
    assert [(l.sale_line_id, l.qty, l.amount) for l in RefundLine.select().where(RefundLine.refund_id == done.id)] == [
        (water.id, 1, 200)]


def test_a_line_without_qty_refunds_what_is_left_of_it(store, cashier):
    sale = sell(store, cashier, [(WATER, 3), (COLA, 1)])
    water = line_of(store, sale, WATER_SKU)
    refund(store, cashier, sale, [{"line_id": water.id, "qty": 1}])
    rest = refund(store, cashier, sale, [{"line_id": water.id}])
    assert rest.total == 400
    assert store.refunds.refunded(sale) == {water.id: (3, 600)}


def test_never_more_than_sold_across_several_refunds(store, cashier):
    sale = sell(store, cashier, [(WATER, 3), (COLA, 2)])
    water, cola = line_of(store, sale, WATER_SKU), line_of(store, sale, COLA_SKU)
    refund(store, cashier, sale, [{"line_id": water.id, "qty": 2}])
    with nothing_written(store), refused(DomainError, field="lines[0].qty", code="refund_exceeds_sale"):
        refund(store, cashier, sale, [{"line_id": water.id, "qty": 2}])
    # The same line twice in one request counts both times.
    with nothing_written(store), refused(DomainError, field="lines[1].qty", code="refund_exceeds_sale"):
        refund(store, cashier, sale, [{"line_id": water.id, "qty": 1}, {"line_id": water.id, "qty": 1}])
    refund(store, cashier, sale, [{"line_id": water.id, "qty": 1}, {"line_id": cola.id, "qty": 1}])
    last = refund(store, cashier, sale)  # whole: only what is left
    assert [(l["sku"], l["qty"]) for l in store.refunds.as_dict(last)["lines"]] == [(COLA_SKU, 1)]
    with nothing_written(store), refused(Conflict, field="sale_id", code="fully_refunded"):
        refund(store, cashier, sale)
    assert sum(r.total for r in Refund.select().where(Refund.sale_id == sale.id)) == sale.total


@pytest.mark.parametrize("lines, field", [
    ([{"line_id": "not-a-line"}], "lines[0].line_id"),
    ([{"line_id": "WATER", "qty": 0}], "lines[0].qty"),
    ([{"line_id": "WATER", "qty": -1}], "lines[0].qty"),
    ([{"line_id": "WATER", "qty": 3}], "lines[0].qty"),
])
def test_bad_refund_lines_are_refused_with_nothing_written(store, cashier, lines, field):
    sale = sell(store, cashier, [(WATER, 2)])
    water_id = line_of(store, sale, WATER_SKU).id
    lines = [{**l, "line_id": water_id if l["line_id"] == "WATER" else l["line_id"]} for l in lines]
    with nothing_written(store), refused(DomainError, field=field):
        refund(store, cashier, sale, lines)


def test_a_line_of_another_sale_is_not_refunded(store, cashier):
    first = sell(store, cashier, [(WATER, 1)])
    second = sell(store, cashier, [(COLA, 1)])
    with nothing_written(store), refused(DomainError, field="lines[0].line_id"):
        refund(store, cashier, second, [{"line_id": line_of(store, first, WATER_SKU).id, "qty": 1}])


def test_refund_needs_a_managers_pin(store, cashier):
    sale = sell(store, cashier, [(WATER, 1)])
    with nothing_written(store), refused(Forbidden, field="approval.pin", code="approval_required"):
        refund(store, cashier, sale, approval=None)
    with nothing_written(store, ignore=PIN_FAILURE_TABLES), refused(Forbidden, code="approval_refused"):
        refund(store, cashier, sale, approval=CASHIER_APPROVAL)
    assert audit_records()[-1]["action"] == "staff.pin_failed"  # the refused PIN is counted
    done = refund(store, cashier, sale)
    assert done.approved_by == staff_by_pin(store, MANAGER_PIN).id
    assert done.staff_id == cashier.staff_id


@pytest.mark.parametrize("status", ["open", "voided", "suspended"])
def test_only_a_completed_sale_is_refunded(store, cashier, status):
    sale = open_sale_with(store, cashier, [(WATER, 1)])
    if status == "voided":
        store.sales.void(sale.id, cashier, "test", MANAGER_APPROVAL)
    if status == "suspended":
        store.sales.suspend(sale.id, cashier)
    with nothing_written(store), refused(Conflict, field="sale_id", code=f"sale_{status}"):
        refund(store, cashier, sale)
    with nothing_written(store), refused(NotFound, field="sale_id"):
        store.refunds.refund(cashier, str(uuid.uuid4()), None, "x", "original", MANAGER_APPROVAL)


def test_refund_to_original_tenders_in_proportion(store, cashier):
    sale = sell(store, cashier, [(WATER, 5)], [  # 10.00: 6.00 card, 4.00 cash
        {"method": "card", "amount": 600, "reference": "CARD-77"}, {"method": "cash", "amount": 400}])
    water = line_of(store, sale, WATER_SKU)
    first = refund(store, cashier, sale, [{"line_id": water.id, "qty": 1}])
    assert sorted((p["method"], p["amount"], p["reference"]) for p in store.refunds.as_dict(first)["payments"]) == [
        ("card", 120, "CARD-77"), ("cash", 80, None)]
    rest = refund(store, cashier, sale)
    assert sorted((p["method"], p["amount"]) for p in store.refunds.as_dict(rest)["payments"]) == [
        ("card", 480), ("cash", 320)]


def test_refund_to_cash_whatever_was_paid(store, cashier):
    sale = sell(store, cashier, [(COLA, 2)], [{"method": "external", "amount": 600, "reference": "WX-1"}])
    done = refund(store, cashier, sale, to="cash")
    assert store.refunds.as_dict(done)["payments"] == [{"method": "cash", "amount": 600, "reference": None}]


def test_weighed_goods_refunded_by_grams_and_rounding_returned_with_the_last_part(tmp_path):
    store = open_store(tmp_path, {"checkout": {"cash_rounding": "round_jiao"}})
    try:
        caller = terminal(store)
        sale = store.sales.open(caller)
        store.sales.add_line(sale.id, caller, sku=APPLES_SKU, qty=1001)  # 12.8128 → 12.81
        sale = store.sales.complete(sale.id, caller, [{"method": "cash", "amount": 1300}])
        assert (sale.total, sale.rounding, sale.paid, sale.change) == (1281, -1, 1280, 20)
        apples = line_of(store, sale, APPLES_SKU)
        part = refund(store, caller, sale, [{"line_id": apples.id, "qty": 500}])
        assert part.total == 640  # 1281 × 500 / 1001, half up
        rest = refund(store, caller, sale)
        assert rest.total == 1281 - 640 - 1  # the remainder, less the rounding the customer never paid
        assert part.total + rest.total == sale.paid
        assert store.inventory.on_hand(product(APPLES_SKU).id) == 20_000  # grams back on the shelf
    finally:
        store.db.close()


def test_refund_writes_stock_event_and_audit(store, cashier):
    sale = sell(store, cashier, [(WATER, 2), (COLA, 1)])
    events_before = events()
    water = line_of(store, sale, WATER_SKU)
    done = refund(store, cashier, sale, [{"line_id": water.id, "qty": 2}], reason="leaking")

    [movement] = StockMovement.select().where(StockMovement.ref == done.id)
    assert (movement.product_id, movement.qty, movement.reason) == (product(WATER_SKU).id, 2, "refund")

    new_events = events()[len(events_before):]
    assert [(e["type"], e["seq"]) for e in new_events] == [("refund.completed", events_before[-1]["seq"] + 1)]
    data = new_events[0]["data"]
    assert (data["id"], data["refund_no"], data["sale_id"], data["total"], data["store_id"], data["reason"]) == (
        done.id, done.refund_no, sale.id, 400, "S001", "leaking")
    assert data["lines"] == [{"line_id": water.id, "sku": WATER_SKU, "name": water.name, "qty": 2, "amount": 400}]

    [record] = audit_records("refund.completed")
    assert (record["entity"], record["entity_id"], record["staff_id"]) == ("refund", done.id, cashier.staff_id)
    assert record["data"] == {"sale_id": sale.id, "total": 400, "reason": "leaking",
                              "approved_by": staff_by_pin(store, MANAGER_PIN).id}


def test_refund_is_one_transaction(store, cashier):
    sale = sell(store, cashier, [(WATER, 2)])
    store.db.peewee.execute_sql(
        "CREATE TRIGGER refuse_refund_event BEFORE INSERT ON outbox_event WHEN NEW.type = 'refund.completed' "
        "BEGIN SELECT RAISE(ABORT, 'outbox refused'); END")
    with nothing_written(store), pytest.raises(peewee.IntegrityError, match="outbox refused"):
        refund(store, cashier, sale)
    store.db.peewee.execute_sql("DROP TRIGGER refuse_refund_event")
    assert refund(store, cashier, sale).refund_no.endswith("-0001")


def test_refund_on_another_terminal_needs_its_own_shift(store, cashier):
    sale = sell(store, cashier, [(WATER, 1)])
    no_shift = terminal(store, lane=2, pin=MANAGER_PIN, shift_float=None)
    with nothing_written(store), refused(Conflict, code="no_open_shift"):
        refund(store, no_shift, sale)
    store.shifts.open(no_shift, 0)
    assert refund(store, no_shift, sale).total == 200


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(asks=st.lists(st.tuples(st.sampled_from([0, 1]), st.integers(1, 4)), min_size=1, max_size=8))
def test_refunds_never_exceed_the_sale(store, cashier, asks):
    """Any series of line refunds: each refused ask writes nothing, and no more than sold ever goes back."""
    sale = sell(store, cashier, [(WATER, 3), (COLA, 2)])
    lines = store.sales.lines(sale)
    back = [0, 0]
    for index, qty in asks:
        if back[index] + qty > lines[index].qty:
            with nothing_written(store), refused(DomainError, code="refund_exceeds_sale"):
                refund(store, cashier, sale, [{"line_id": lines[index].id, "qty": qty}])
        else:
            refund(store, cashier, sale, [{"line_id": lines[index].id, "qty": qty}])
            back[index] += qty
    refunded = store.refunds.refunded(sale)
    assert [refunded.get(line.id, (0, 0))[0] for line in lines] == back
    total_back = sum(r.total for r in Refund.select().where(Refund.sale_id == sale.id))
    assert total_back <= sale.total
    if back == [line.qty for line in lines]:
        assert total_back == sale.total
