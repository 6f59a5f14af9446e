"""Sales in the domain, without HTTP: the open cart per terminal, its lines, suspend/resume, void, completion."""

from __future__ import annotations

import uuid

import peewee
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.errors import Conflict, DomainError, Forbidden, NotFound
from edge.inventory.models import StockMovement
from edge.sales.models import Payment, ReceiptCounter, Sale, SaleLine
from edge.staff.service import Caller
from tests.conftest import (
    APPLES_SKU, COLA, MANAGER_PIN, WATER, open_store, staff_by_pin, terminal,
)
from tests.domain2_helpers import (
    CASHIER_APPROVAL, MANAGER_APPROVAL, PIN_FAILURE_TABLES, audit_records, events, nothing_written,
    open_sale_with, product, refused, sell,
)

WATER_SKU, COLA_SKU = "DRK001", "DRK002"
OPENING_STOCK = 50  # pieces of each demo product the seed receives


# -- the open sale ------------------------------------------------------------


def test_open_sale_and_its_lines_survive_closing_and_reopening_the_store(tmp_path):
    first = open_store(tmp_path)
    caller = terminal(first)
    sale = open_sale_with(first, caller, [(WATER, 2), (COLA, 1)])
    first.db.close()

    again = open_store(tmp_path, demo=False)
    try:
        kept = again.sales.current(caller.device_id)
        assert kept.id == sale.id and kept.status == "open" and kept.total == 700
        assert [(l.sku, l.qty, l.total) for l in again.sales.lines(kept)] == [
            (WATER_SKU, 2, 400), (COLA_SKU, 1, 300)]
        # The cashier carries on where the restart left off.
        again.sales.add_line(sale.id, caller, barcode=WATER)
        assert again.sales.get(sale.id).total == 900
    finally:
        again.db.close()


def test_one_open_sale_per_terminal(store, cashier):
    sale = store.sales.open(cashier)
    with nothing_written(store), refused(Conflict, field="sale_id", code="sale_open"):
        store.sales.open(cashier)
    lane2 = terminal(store, lane=2, pin=MANAGER_PIN)
    other = store.sales.open(lane2)
    assert store.sales.current(cashier.device_id).id == sale.id
    assert store.sales.current(lane2.device_id).id == other.id != sale.id


def test_a_sale_needs_an_open_shift(store):
    no_shift = terminal(store, shift_float=None)
    with nothing_written(store), refused(Conflict, code="no_open_shift"):
        store.sales.open(no_shift)


def test_lines_belong_to_the_terminal_that_has_the_sale(store, cashier):
    sale = store.sales.open(cashier)
    lane2 = terminal(store, lane=2, pin=MANAGER_PIN)
    with nothing_written(store), refused(Conflict, field="sale_id", code="other_terminal"):
        store.sales.add_line(sale.id, lane2, barcode=WATER)


# -- lines ----------------------------------------------------------------------


def test_add_by_barcode_or_sku_with_quantity(store, cashier):
    sale = store.sales.open(cashier)
    water = store.sales.add_line(sale.id, cashier, barcode=WATER, qty=2)
    cola = store.sales.add_line(sale.id, cashier, sku=COLA_SKU, qty=3)
    apples = store.sales.add_line(sale.id, cashier, sku=APPLES_SKU, qty=1500)  # grams, at 12.80 per kg
    assert (water.sku, water.qty, water.barcode, water.total) == (WATER_SKU, 2, WATER, 400)
    assert (cola.sku, cola.qty, cola.barcode, cola.total) == (COLA_SKU, 3, None, 900)
    assert (apples.sold_by, apples.qty, apples.total) == ("weight", 1500, 1920)
    sale = store.sales.get(sale.id)
    assert (sale.subtotal, sale.total) == (400 + 900 + 1920, 400 + 900 + 1920)


def test_the_same_item_again_adds_to_its_line(store, cashier):
    sale = store.sales.open(cashier)
    first = store.sales.add_line(sale.id, cashier, barcode=WATER)
    again = store.sales.add_line(sale.id, cashier, sku=WATER_SKU, qty=2)
    assert again.id == first.id
    assert [(l.qty, l.total) for l in store.sales.lines(sale)] == [(3, 600)]


@pytest.mark.parametrize("item, field, error", [
    ({"barcode": WATER, "sku": WATER_SKU}, "barcode", DomainError),
    ({}, "barcode", DomainError),
    ({"barcode": "6904321999996"}, "barcode", NotFound),  # valid but unknown
    ({"barcode": "6904321999999"}, "barcode", DomainError),  # wrong check digit
    ({"sku": "NOPE"}, "sku", NotFound),
    ({"barcode": WATER, "qty": 0}, "qty", DomainError),
    ({"barcode": WATER, "qty": -2}, "qty", DomainError),
    ({"barcode": WATER, "qty": 10_000}, "qty", DomainError),
    ({"sku": APPLES_SKU}, "qty", DomainError),  # weighed goods need grams
    ({"sku": APPLES_SKU, "qty": 100_001}, "qty", DomainError),
])
def test_bad_line_is_refused_naming_the_field(store, cashier, item, field, error):
    sale = store.sales.open(cashier)
    with nothing_written(store), refused(error, field=field):
        store.sales.add_line(sale.id, cashier, **item)


def test_change_quantity_reprices_the_sale(store, cashier):
    sale = open_sale_with(store, cashier, [(WATER, 1), (COLA, 1)])
    water = store.sales.lines(sale)[0]
    store.sales.update_line(sale.id, water.id, cashier, qty=5)
    sale = store.sales.get(sale.id)
    assert [(l.sku, l.qty, l.total) for l in store.sales.lines(sale)] == [(WATER_SKU, 5, 1000), (COLA_SKU, 1, 300)]
    assert sale.total == 1300
    with nothing_written(store), refused(DomainError, field="qty"):
        store.sales.update_line(sale.id, water.id, cashier, qty=0)
    with nothing_written(store), refused(NotFound, field="line_id"):
        store.sales.update_line(sale.id, str(uuid.uuid4()), cashier, qty=2)


def test_remove_line(store, cashier):
    sale = open_sale_with(store, cashier, [(WATER, 1), (COLA, 2)])
    water, cola = store.sales.lines(sale)
    store.sales.remove_line(sale.id, water.id, cashier)
    sale = store.sales.get(sale.id)
    assert [l.id for l in store.sales.lines(sale)] == [cola.id]
    assert sale.total == 600
    assert SaleLine.get_or_none(SaleLine.id == water.id) is None


def test_price_override_needs_a_manager(store, cashier):
    sale = open_sale_with(store, cashier, [(COLA, 2)])
    line = store.sales.lines(sale)[0]
    with nothing_written(store), refused(Forbidden, field="approval.pin", code="approval_required"):
        store.sales.update_line(sale.id, line.id, cashier, unit_price=250)
    store.sales.update_line(sale.id, line.id, cashier, unit_price=250, approval=MANAGER_APPROVAL)
    assert store.sales.get(sale.id).total == 500
    [override] = audit_records("sale.price_override")
    assert override["data"] == {"sale_id": sale.id, "sku": COLA_SKU, "from": 300, "to": 250,
                                "approved_by": staff_by_pin(store, MANAGER_PIN).id}


# -- suspend and resume (挂单) ----------------------------------------------------


def test_suspend_frees_the_terminal_and_resume_brings_the_sale_back(store, cashier):
    parked = open_sale_with(store, cashier, [(WATER, 2)])
    store.sales.suspend(parked.id, cashier)
    assert store.sales.get(parked.id).status == "suspended"
    assert store.sales.current(cashier.device_id) is None
    assert [s.id for s in store.sales.suspended()] == [parked.id]
    with nothing_written(store), refused(Conflict, field="sale_id", code="sale_suspended"):
        store.sales.add_line(parked.id, cashier, barcode=COLA)

    # Another customer is served meanwhile; then the first one comes back.
    sell(store, cashier, [(COLA, 1)])
    resumed = store.sales.resume(parked.id, cashier)
    assert (resumed.status, resumed.total) == ("open", 400)
    assert store.sales.current(cashier.device_id).id == parked.id
    assert [a["entity_id"] for a in audit_records("sale.suspended")] == [parked.id]
    assert [a["entity_id"] for a in audit_records("sale.resumed")] == [parked.id]


def test_resume_on_another_terminal_moves_the_sale_to_its_lane(store, cashier):
    parked = open_sale_with(store, cashier, [(WATER, 1)])
    store.sales.suspend(parked.id, cashier)
    lane3 = terminal(store, lane=3, pin=MANAGER_PIN)
    resumed = store.sales.resume(parked.id, lane3)
    assert (resumed.device_id, resumed.lane) == (lane3.device_id, 3)
    done = store.sales.complete(parked.id, lane3, [{"method": "cash", "amount": 200}])
    assert done.status == "completed"


def test_resume_replaces_an_empty_open_sale_but_not_a_busy_one(store, cashier):
    parked = open_sale_with(store, cashier, [(WATER, 1)])
    store.sales.suspend(parked.id, cashier)
    busy = open_sale_with(store, cashier, [(COLA, 1)])
    with nothing_written(store), refused(Conflict, field="sale_id", code="sale_open"):
        store.sales.resume(parked.id, cashier)

    store.sales.suspend(busy.id, cashier)
    empty = store.sales.open(cashier)
    store.sales.resume(parked.id, cashier)
    assert Sale.get_or_none(Sale.id == empty.id) is None
    assert store.sales.current(cashier.device_id).id == parked.id


def test_an_empty_sale_cannot_be_suspended_and_an_open_one_not_resumed(store, cashier):
    sale = store.sales.open(cashier)
    with nothing_written(store), refused(Conflict, code="sale_empty"):
        store.sales.suspend(sale.id, cashier)
    with nothing_written(store), refused(Conflict, field="sale_id"):
        store.sales.resume(sale.id, cashier)


# -- void -------------------------------------------------------------------------


def test_void_before_completion_needs_a_manager(store, cashier):
    sale = open_sale_with(store, cashier, [(WATER, 2), (COLA, 1)])
    with nothing_written(store), refused(Forbidden, field="approval.pin", code="approval_required"):
        store.sales.void(sale.id, cashier, "customer left", None)
    with nothing_written(store, ignore=PIN_FAILURE_TABLES), refused(Forbidden, code="approval_refused"):
        store.sales.void(sale.id, cashier, "customer left", CASHIER_APPROVAL)
    assert store.sales.get(sale.id).status == "open"

    voided = store.sales.void(sale.id, cashier, "customer left", MANAGER_APPROVAL)
    manager = staff_by_pin(store, MANAGER_PIN)
    assert (voided.status, voided.voided_by, voided.void_reason) == ("voided", manager.id, "customer left")
    assert store.sales.current(cashier.device_id) is None
    expected = {"sale_id": sale.id, "reason": "customer left", "total": 700, "lines": 2, "approved_by": manager.id}
    assert [e["data"] for e in events("sale.voided")] == [expected]
    assert [a["data"] for a in audit_records("sale.voided")] == [expected]
    assert StockMovement.select().where(StockMovement.ref == sale.id).count() == 0


def test_a_suspended_sale_can_be_voided_but_a_completed_one_cannot(store, cashier):
    parked = open_sale_with(store, cashier, [(WATER, 1)])
    store.sales.suspend(parked.id, cashier)
    assert store.sales.void(parked.id, cashier, "never came back", MANAGER_APPROVAL).status == "voided"
    done = sell(store, cashier, [(COLA, 1)])
    with nothing_written(store), refused(Conflict, field="sale_id", code="sale_completed"):
        store.sales.void(done.id, cashier, "oops", MANAGER_APPROVAL)


def test_an_empty_sale_is_voided_without_approval(store, cashier):
    sale = store.sales.open(cashier)
    voided = store.sales.void(sale.id, cashier, "opened by mistake", None)
    assert (voided.status, voided.voided_by) == ("voided", cashier.staff_id)


# -- completion ---------------------------------------------------------------------


def test_cash_gives_change(store, cashier):
    sale = open_sale_with(store, cashier, [(WATER, 2), (COLA, 1)])
    done = store.sales.complete(sale.id, cashier, [{"method": "cash", "amount": 1000}])
    assert (done.status, done.total, done.paid, done.change) == ("completed", 700, 700, 300)
    [cash] = Payment.select().where(Payment.sale_id == sale.id)
    assert (cash.method, cash.amount, cash.tendered, cash.change) == ("cash", 700, 1000, 300)


@pytest.mark.parametrize("method", ["card", "external"])
def test_card_and_external_terminal_need_a_reference(store, cashier, method):
    sale = open_sale_with(store, cashier, [(COLA, 1)])
    with nothing_written(store), refused(DomainError, field="payments[0].reference"):
        store.sales.complete(sale.id, cashier, [{"method": method, "amount": 300}])
    with nothing_written(store), refused(DomainError, field="payments[0].reference"):
        store.sales.complete(sale.id, cashier, [{"method": method, "amount": 300, "reference": "  "}])
    done = store.sales.complete(sale.id, cashier, [{"method": method, "amount": 300, "reference": "T-998877"}])
    assert (done.paid, done.change) == (300, 0)
    [paid] = Payment.select().where(Payment.sale_id == sale.id)
    assert (paid.method, paid.amount, paid.reference) == (method, 300, "T-998877")


def test_several_payments_change_comes_from_the_cash(store, cashier):
    sale = open_sale_with(store, cashier, [(WATER, 5), (COLA, 5)])  # 25.00
    done = store.sales.complete(sale.id, cashier, [
        {"method": "card", "amount": 1000, "reference": "C1"},
        {"method": "external", "amount": 500, "reference": "WX-1"},
        {"method": "cash", "amount": 2000},
    ])
    assert (done.total, done.paid, done.change) == (2500, 2500, 1000)
    rows = Payment.select().where(Payment.sale_id == sale.id).order_by(Payment.method)
    assert [(p.method, p.amount, p.tendered, p.change) for p in rows] == [
        ("card", 1000, 1000, 0), ("cash", 1000, 2000, 1000), ("external", 500, 500, 0)]


@pytest.mark.parametrize("payments, field, code", [
    ([], "payments", None),
    ([{"method": "cash", "amount": 699}], "payments", "payment_short"),
    ([{"method": "card", "amount": 300, "reference": "C"}, {"method": "cash", "amount": 300}],
     "payments", "payment_short"),
    ([{"method": "card", "amount": 800, "reference": "C"}], "payments", None),  # card cannot give change
    ([{"method": "cheque", "amount": 700}], "payments[0].method", None),
    ([{"method": "cash", "amount": 0}], "payments[0].amount", None),
    ([{"method": "cash", "amount": 1000}, {"method": "cash", "amount": -300}], "payments[1].amount", None),
])
def test_bad_payments_are_refused_with_nothing_written(store, cashier, payments, field, code):
    sale = open_sale_with(store, cashier, [(WATER, 2), (COLA, 1)])  # 7.00
    with nothing_written(store), refused(DomainError, field=field, code=code):
        store.sales.complete(sale.id, cashier, payments)
    assert store.sales.get(sale.id).status == "open"


def test_an_empty_or_completed_sale_cannot_be_completed(store, cashier):
    empty = store.sales.open(cashier)
    with nothing_written(store), refused(Conflict, field="sale_id", code="sale_empty"):
        store.sales.complete(empty.id, cashier, [{"method": "cash", "amount": 100}])
    store.sales.void(empty.id, cashier, "empty", None)

    done = sell(store, cashier, [(WATER, 1)])
    with nothing_written(store), refused(Conflict, field="sale_id", code="sale_completed"):
        store.sales.complete(done.id, cashier, [{"method": "cash", "amount": 200}])
    with nothing_written(store), refused(NotFound, field="sale_id"):
        store.sales.complete(str(uuid.uuid4()), cashier, [{"method": "cash", "amount": 200}])


def test_receipt_numbers_count_per_store_and_business_date(tmp_path):
    store = open_store(tmp_path, {"store": {"id": "S042"}})
    try:
        caller = terminal(store)
        today = store.sales.business_date()
        receipts = [sell(store, caller, [(WATER, 1)]).receipt_no for _ in range(3)]
        assert receipts == [f"S042-{today}-0001", f"S042-{today}-0002", f"S042-{today}-0003"]
        assert all(Sale.get(Sale.receipt_no == r).business_date == today for r in receipts)
        # Another business date has its own count; today's goes on where it was.
        with store.db.transaction():
            assert store.sales.next_number("20991231", "") == "S042-20991231-0001"
        assert sell(store, caller, [(WATER, 1)]).receipt_no == f"S042-{today}-0004"
        assert ReceiptCounter.get_by_id(today).last_no == 4
    finally:
        store.db.close()


def test_salesperson_is_recorded_apart_from_the_cashier(store, cashier):
    manager = staff_by_pin(store, MANAGER_PIN)
    sale = open_sale_with(store, cashier, [(WATER, 1)], salesperson_id=manager.id)
    done = store.sales.complete(sale.id, cashier, [{"method": "cash", "amount": 200}])
    assert (done.cashier_id, done.salesperson_id) == (cashier.staff_id, manager.id)
    [event] = events("sale.completed")
    assert (event["data"]["cashier_id"], event["data"]["salesperson_id"]) == (cashier.staff_id, manager.id)


def test_salesperson_can_be_named_later_and_must_exist(store, cashier):
    sale = open_sale_with(store, cashier, [(WATER, 1)])
    with nothing_written(store), refused(DomainError, field="salesperson_id"):
        store.sales.set_salesperson(sale.id, cashier, 9999)
    manager = staff_by_pin(store, MANAGER_PIN)
    assert store.sales.set_salesperson(sale.id, cashier, manager.id).salesperson_id == manager.id
    lane2 = terminal(store, lane=2, pin=MANAGER_PIN)
    with nothing_written(store), refused(DomainError, field="salesperson_id"):
        store.sales.open(lane2, salesperson_id=9999)


def test_completion_writes_stock_outbox_and_audit(store, cashier):
    events_before = events()
    sale = open_sale_with(store, cashier, [(WATER, 2), (COLA, 1)])
    sale_line_ids = [l.id for l in store.sales.lines(sale)]
    done = store.sales.complete(sale.id, cashier, [{"method": "cash", "amount": 1000}])

    movements = StockMovement.select().where(StockMovement.ref == sale.id).order_by(StockMovement.qty)
    assert sorted((m.product_id, m.qty, m.reason, m.staff_id) for m in movements) == sorted([
        (product(WATER_SKU).id, -2, "sale", cashier.staff_id), (product(COLA_SKU).id, -1, "sale", cashier.staff_id)])
    assert store.inventory.on_hand(product(WATER_SKU).id) == OPENING_STOCK - 2
    assert store.inventory.on_hand(product(COLA_SKU).id) == OPENING_STOCK - 1

    new_events = events()[len(events_before):]
    assert [e["type"] for e in new_events] == ["sale.completed"]
    [event] = new_events
    assert uuid.UUID(event["id"]).version == 4
    assert event["seq"] == events_before[-1]["seq"] + 1
    data = event["data"]
    assert (data["id"], data["store_id"], data["receipt_no"], data["total"], data["paid"], data["change"]) == (
        sale.id, "S001", done.receipt_no, 700, 700, 300)
    assert [l["id"] for l in data["lines"]] == sale_line_ids
    assert [(p["method"], p["amount"], p["tendered"]) for p in data["payments"]] == [("cash", 700, 1000)]

    [record] = audit_records("sale.completed")
    assert (record["entity"], record["entity_id"], record["staff_id"], record["device_id"]) == (
        "sale", sale.id, cashier.staff_id, cashier.device_id)
    assert record["data"] == {"receipt_no": done.receipt_no, "total": 700, "paid": 700, "change": 300,
                              "payments": [["cash", 700]]}


def test_completion_is_one_transaction(store, cashier):
    """When the audit record cannot be written, no part of the sale is written either."""
    sale = open_sale_with(store, cashier, [(WATER, 2)])
    # A real SQLite trigger refuses the last write of the fact.
    store.db.peewee.execute_sql(
        "CREATE TRIGGER refuse_sale_audit BEFORE INSERT ON audit_record WHEN NEW.action = 'sale.completed' "
        "BEGIN SELECT RAISE(ABORT, 'audit journal refused'); END")
    with nothing_written(store), pytest.raises(peewee.IntegrityError, match="audit journal refused"):
        store.sales.complete(sale.id, cashier, [{"method": "cash", "amount": 400}])
    assert store.sales.get(sale.id).status == "open"
    assert store.inventory.on_hand(product(WATER_SKU).id) == OPENING_STOCK
    assert ReceiptCounter.select().count() == 0

    store.db.peewee.execute_sql("DROP TRIGGER refuse_sale_audit")
    done = store.sales.complete(sale.id, cashier, [{"method": "cash", "amount": 400}])
    assert done.receipt_no.endswith("-0001")  # the refused attempt used no number


def test_outbox_sequence_is_gap_free_across_facts(store, cashier):
    sell(store, cashier, [(WATER, 1)])
    store.sales.void(open_sale_with(store, cashier, [(COLA, 1)]).id, cashier, "changed mind", MANAGER_APPROVAL)
    sell(store, cashier, [(COLA, 2)], [{"method": "card", "amount": 600, "reference": "C7"}])
    all_events = events()
    assert [e["seq"] for e in all_events] == list(range(1, len(all_events) + 1))
    assert len({e["id"] for e in all_events}) == len(all_events)
    assert [e["type"] for e in all_events[-3:]] == ["sale.completed", "sale.voided", "sale.completed"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(quantities=st.lists(st.tuples(st.sampled_from([WATER, COLA]), st.integers(1, 20)), min_size=1, max_size=6),
       extra_cash=st.integers(0, 10_000))
def test_any_cash_sale_balances_money_and_stock(store, cashier, quantities, extra_cash):
    """Paid minus change is the total, and stock falls by exactly what was sold."""
    on_hand = {code: store.inventory.on_hand(store.catalog.scan(code).product.id) for code in (WATER, COLA)}
    sale = open_sale_with(store, cashier, quantities)
    done = store.sales.complete(sale.id, cashier, [{"method": "cash", "amount": sale.total + extra_cash}])
    assert done.total == sum(l.total for l in store.sales.lines(done))
    assert (done.paid, done.change) == (done.total, extra_cash)
    for code in (WATER, COLA):
        sold = sum(qty for c, qty in quantities if c == code)
        assert store.inventory.on_hand(store.catalog.scan(code).product.id) == on_hand[code] - sold


def test_another_cashier_on_the_same_terminal_finishes_the_sale(store, cashier):
    """The cart belongs to the terminal, not to the person logged in."""
    sale = open_sale_with(store, cashier, [(WATER, 1)])
    relief = Caller(device=cashier.device, staff=staff_by_pin(store, MANAGER_PIN))
    done = store.sales.complete(sale.id, relief, [{"method": "cash", "amount": 200}])
    assert (done.status, done.cashier_id) == ("completed", cashier.staff_id)
