"""Pricing rules without HTTP: line and whole-sale discounts, half-up rounding per line, manager approval
for large discounts and price overrides, cash rounding to the 角, and totals in integer fen."""

from __future__ import annotations

import json

import pytest

from edge.audit.journal import AuditRecord
from edge.catalog.schemas import ProductIn
from edge.errors import DomainError, Forbidden
from edge.outbox.events import OutboxEvent
from edge.sales.models import Payment
from edge.sales.pricing import Discount, included_tax
from tests.conftest import APPLES_SKU, CASHIER_PIN, MANAGER_PIN, open_store, staff_by_pin, terminal
from tests.domain_helpers import row_counts, rows_written, scale_label

APPLES_PLU = "01020"
REFUSED_PIN_WRITES = {"audit_record": 1, "pin_throttle": 1}  # a wrong approval PIN is counted, nothing else


def sale_of(store, caller, *items):
    """Open a sale holding ``items``: (sku, qty) pairs, or scale-label prices (int fen) of apples."""
    sale = store.sales.open(caller)
    for item in items:
        if isinstance(item, int):
            store.sales.add_line(sale.id, caller, barcode=scale_label("20", APPLES_PLU, item))
        else:
            sku, qty = item
            store.sales.add_line(sale.id, caller, sku=sku, qty=qty)
    return sale


def lines_of(store, sale):
    return store.sales.lines(store.sales.get(sale.id))


def discount(store, caller, sale, where, kind, value, pin=None):
    """Put a discount on the sale's first line or on the whole sale."""
    approval = {"pin": pin} if pin else None
    if where == "line":
        return store.sales.update_line(sale.id, lines_of(store, sale)[0].id, caller,
                                       discount=Discount(kind, value), approval=approval)
    return store.sales.set_discount(sale.id, caller, Discount(kind, value), approval=approval)


@pytest.fixture
def store_with(tmp_path):
    """A demo store opened with the given config, and a cashier's terminal on it."""
    opened = []

    def open_with(config: dict):
        store = open_store(tmp_path / "store", config)
        opened.append(store)
        return store, terminal(store)

    yield open_with
    for store in opened:
        store.db.close()


# -- line and whole-sale discounts --------------------------------------------------------------


def test_line_amount_discount(store, cashier):
    sale = sale_of(store, cashier, ("DRK001", 3))
    line = discount(store, cashier, sale, "line", "amount", 50)

    assert (line.gross, line.line_discount, line.total) == (600, 50, 550)
    sale = store.sales.get(sale.id)
    assert (sale.subtotal, sale.discount_total, sale.total) == (600, 50, 550)


@pytest.mark.parametrize("sku, percent, off", [
    ("DRK006", 5, 33),  # 650 × 5 % = 32.5: half-up gives 33 (banker's rounding would give 32)
    ("DRK003", 5, 18),  # 350 × 5 % = 17.5
    ("SNK002", 5, 50),  # 990 × 5 % = 49.5
    ("SNK003", 3, 38),  # 1250 × 3 % = 37.5
    ("SNK004", 3, 20),  # 680 × 3 % = 20.4: down
    ("DRK001", 7, 14),  # exact
])
def test_line_percent_discount_rounds_half_up(store, cashier, sku, percent, off):
    sale = sale_of(store, cashier, (sku, 1))
    line = discount(store, cashier, sale, "line", "percent", percent)
    assert (line.line_discount, line.total) == (off, line.gross - off)


def test_whole_sale_percent_is_rounded_per_line(store, cashier):
    sale = sale_of(store, cashier, ("DRK006", 1), ("DRK003", 1), ("SNK003", 1))  # 650 + 350 + 1250

    sale = discount(store, cashier, sale, "sale", "percent", 5)

    # 32.5 → 33, 17.5 → 18, 62.5 → 63: 114 fen, where rounding 5 % of 2250 once would give 113.
    assert [line.sale_discount for line in lines_of(store, sale)] == [33, 18, 63]
    assert (sale.subtotal, sale.discount_total, sale.total) == (2250, 114, 2136)


def test_whole_sale_amount_is_spread_by_largest_remainder(store, cashier):
    sale = sale_of(store, cashier, ("DRK001", 1), ("DRK002", 1), ("DRK004", 1))  # 200 + 300 + 550

    sale = discount(store, cashier, sale, "sale", "amount", 100)

    # 19.05, 28.57, 52.38: the fen left over goes to the largest remainder.
    assert [line.sale_discount for line in lines_of(store, sale)] == [19, 29, 52]
    assert (sale.discount_total, sale.total) == (100, 950)


def test_whole_sale_discount_applies_after_line_discounts(store, cashier):
    sale = sale_of(store, cashier, ("DRK006", 1), ("DRK003", 1))
    discount(store, cashier, sale, "line", "percent", 5)  # 650 → 617

    sale = discount(store, cashier, sale, "sale", "percent", 5)

    lines = lines_of(store, sale)
    assert [(line.line_discount, line.sale_discount, line.total) for line in lines] == [(33, 31, 586), (0, 18, 332)]
    assert (sale.subtotal, sale.discount_total, sale.total) == (1000, 82, 918)


def test_removing_a_discount_restores_the_price(store, cashier):
    sale = sale_of(store, cashier, ("DRK006", 1))
    discount(store, cashier, sale, "sale", "percent", 5)

    sale = store.sales.set_discount(sale.id, cashier, None)

    assert (sale.discount_total, sale.total) == (0, 650)


@pytest.mark.parametrize("where", ["line", "sale"])
@pytest.mark.parametrize("kind, value, reason", [
    ("percent", 0, "from 1 to 100"),
    ("percent", 101, "from 1 to 100"),
    ("amount", 0, "must be positive"),
    ("amount", -50, "must be positive"),
])
def test_a_meaningless_discount_is_refused_and_nothing_written(store, cashier, where, kind, value, reason):
    sale = sale_of(store, cashier, ("DRK001", 5))
    before = row_counts(store)

    with pytest.raises(DomainError, match=reason) as caught:
        discount(store, cashier, sale, where, kind, value, pin=MANAGER_PIN)

    assert caught.value.field == "discount.value"
    assert rows_written(store, before) == {}


@pytest.mark.parametrize("where", ["line", "sale"])
def test_a_discount_larger_than_what_it_applies_to_is_refused(store, cashier, where):
    sale = sale_of(store, cashier, ("DRK001", 1))
    before = row_counts(store)

    with pytest.raises(DomainError, match="discount 300 fen is more than") as caught:
        discount(store, cashier, sale, where, "amount", 300, pin=MANAGER_PIN)

    assert caught.value.field == "discount.value"
    assert rows_written(store, before) == {}
    assert store.sales.get(sale.id).total == 200


# -- discount limits and manager approval (defaults: 10 % and 20.00) -----------------------------

@pytest.mark.parametrize("where", ["line", "sale"])
@pytest.mark.parametrize("items, kind, value, needs_manager", [
    ([("DRK001", 5)], "percent", 10, False),     # 10 % of 10.00: at the limit
    ([("DRK001", 5)], "percent", 11, True),
    ([1235], "percent", 10, False),              # 10 % of 12.35 is 1.235, 1.24 after rounding: still 10 %
    ([("DRK001", 5)], "amount", 100, False),     # 1.00 of 10.00 = 10 %
    ([("DRK001", 5)], "amount", 101, True),      # just over 10 %
    ([("BAB002", 1)], "amount", 2000, False),    # 20.00 of 258.00: at the amount limit
    ([("BAB002", 1)], "amount", 2001, True),
    ([("BAB002", 1)], "percent", 10, True),      # 10 %, but 25.80 is over the amount limit
], ids=["10%", "11%", "10%-rounded-up", "100fen", "101fen", "2000fen", "2001fen", "10%-of-258"])
def test_discounts_within_the_limits_need_no_manager(store, cashier, where, items, kind, value, needs_manager):
    sale = sale_of(store, cashier, *items)
    before = row_counts(store)

    if needs_manager:
        with pytest.raises(Forbidden, match="needs a manager's approval") as caught:
            discount(store, cashier, sale, where, kind, value)
        assert (caught.value.code, caught.value.field) == ("approval_required", "approval.pin")
        assert rows_written(store, before) == {}
    else:
        discount(store, cashier, sale, where, kind, value)
        assert store.sales.get(sale.id).discount_total > 0


@pytest.mark.parametrize("where", ["line", "sale"])
def test_a_large_discount_is_refused_with_a_cashier_pin_and_granted_with_a_manager_pin(store, cashier, where):
    sale = sale_of(store, cashier, ("DRK001", 5))
    before = row_counts(store)

    with pytest.raises(Forbidden, match="not a manager's PIN") as caught:
        discount(store, cashier, sale, where, "percent", 20, pin=CASHIER_PIN)
    assert caught.value.code == "approval_refused"
    assert rows_written(store, before) == REFUSED_PIN_WRITES
    assert store.sales.get(sale.id).total == 1000

    discount(store, cashier, sale, where, "percent", 20, pin=MANAGER_PIN)

    assert store.sales.get(sale.id).total == 800
    manager = staff_by_pin(store, MANAGER_PIN)
    approved_by = (lines_of(store, sale)[0] if where == "line" else store.sales.get(sale.id)).discount_approved_by
    assert approved_by == manager.id
    record = AuditRecord.select().where(AuditRecord.action == "sale.discount_approved").get()
    assert json.loads(record.data)["approved_by"] == manager.id


def test_the_discount_limit_is_configurable(store_with):
    store, caller = store_with({"checkout": {"discount_limit_percent": 0}})
    sale = sale_of(store, caller, ("DRK001", 5))

    with pytest.raises(Forbidden, match="needs a manager's approval"):
        discount(store, caller, sale, "sale", "percent", 1)


# -- price override -----------------------------------------------------------------------------


def test_a_price_override_needs_a_manager(store, cashier):
    sale = sale_of(store, cashier, ("DRK001", 3))
    line = lines_of(store, sale)[0]
    before = row_counts(store)

    with pytest.raises(Forbidden) as missing:
        store.sales.update_line(sale.id, line.id, cashier, unit_price=150)
    assert rows_written(store, before) == {}
    with pytest.raises(Forbidden) as refused:
        store.sales.update_line(sale.id, line.id, cashier, unit_price=150, approval={"pin": CASHIER_PIN})
    assert rows_written(store, before) == REFUSED_PIN_WRITES
    assert (missing.value.code, refused.value.code) == ("approval_required", "approval_refused")
    assert lines_of(store, sale)[0].unit_price == 200

    line = store.sales.update_line(sale.id, line.id, cashier, unit_price=150, approval={"pin": MANAGER_PIN})

    manager = staff_by_pin(store, MANAGER_PIN)
    assert (line.unit_price, line.list_price, line.gross, line.price_override_by) == (150, 200, 450, manager.id)
    assert store.sales.get(sale.id).total == 450
    record = json.loads(AuditRecord.get(AuditRecord.action == "sale.price_override").data)
    assert (record["from"], record["to"], record["approved_by"]) == (200, 150, manager.id)


def test_keeping_the_same_price_is_no_override(store, cashier):
    sale = sale_of(store, cashier, ("DRK001", 3))
    line = store.sales.update_line(sale.id, lines_of(store, sale)[0].id, cashier, unit_price=200, qty=4)
    assert (line.price_override_by, line.gross) == (None, 800)


# -- cash rounding to the 角 ---------------------------------------------------------------------


@pytest.mark.parametrize("mode, total, rounding", [
    ("none", 1234, 0),
    ("round_jiao", 1230, 0),
    ("round_jiao", 1234, -4),
    ("round_jiao", 1235, 5),
    ("round_jiao", 1239, 1),
    ("floor_jiao", 1239, -9),
    ("floor_jiao", 1231, -1),
])
def test_cash_is_rounded_to_the_jiao_and_change_follows(store_with, mode, total, rounding):
    store, caller = store_with({"checkout": {"cash_rounding": mode}})
    sale = sale_of(store, caller, total)

    done = store.sales.complete(sale.id, caller, [{"method": "cash", "amount": 2000}])

    assert (done.total, done.rounding, done.paid) == (total, rounding, total + rounding)
    assert done.change == 2000 - (total + rounding)
    payment = Payment.get(Payment.sale_id == sale.id)
    assert (payment.tendered, payment.amount, payment.change) == (2000, total + rounding, done.change)


def test_only_the_cash_part_is_rounded(store_with):
    store, caller = store_with({"checkout": {"cash_rounding": "round_jiao"}})
    sale = sale_of(store, caller, 1234)

    done = store.sales.complete(sale.id, caller, [{"method": "card", "amount": 1000, "reference": "T1"},
                                                  {"method": "cash", "amount": 500}])

    # 2.34 left in cash rounds to 2.30.
    assert (done.rounding, done.paid, done.change) == (-4, 1230, 270)


def test_a_card_only_payment_is_not_rounded(store_with):
    store, caller = store_with({"checkout": {"cash_rounding": "round_jiao"}})
    sale = sale_of(store, caller, 1234)
    before = row_counts(store)

    with pytest.raises(DomainError, match="short of the total"):
        store.sales.complete(sale.id, caller, [{"method": "card", "amount": 1230, "reference": "T1"}])
    assert rows_written(store, before) == {}

    done = store.sales.complete(sale.id, caller, [{"method": "card", "amount": 1234, "reference": "T1"}])
    assert (done.rounding, done.paid, done.change) == (0, 1234, 0)


@pytest.mark.parametrize("mode, accepted", [("round_jiao", True), ("none", False)])
def test_the_rounded_cash_amount_settles_the_sale_only_when_rounding_is_on(store_with, mode, accepted):
    store, caller = store_with({"checkout": {"cash_rounding": mode}})
    sale = sale_of(store, caller, 1234)
    before = row_counts(store)

    if accepted:
        done = store.sales.complete(sale.id, caller, [{"method": "cash", "amount": 1230}])
        assert (done.status, done.change) == ("completed", 0)
    else:
        with pytest.raises(DomainError, match=r"short of the total \(1234 fen\) by 4 fen") as caught:
            store.sales.complete(sale.id, caller, [{"method": "cash", "amount": 1230}])
        assert (caught.value.code, caught.value.field) == ("payment_short", "payments")
        assert rows_written(store, before) == {}
        assert store.sales.get(sale.id).status == "open"


# -- totals and tax in fen ----------------------------------------------------------------------


def test_weighed_goods_are_priced_half_up_to_the_fen(store, cashier):
    sale = sale_of(store, cashier, ("FRT002", 250))  # bananas 6.98 per kg × 250 g = 174.5 fen
    assert lines_of(store, sale)[0].gross == 175


def test_totals_and_tax_rates_travel_in_integers(store, cashier):
    sale = sale_of(store, cashier, ("DRK006", 2), ("SNK001", 1), (APPLES_SKU, 333))
    discount(store, cashier, sale, "sale", "percent", 5)

    done = store.sales.complete(sale.id, cashier, [{"method": "cash", "amount": 5000}])

    lines = lines_of(store, done)
    assert [line.tax_rate for line in lines] == [900, 1300, 900]  # basis points, taken from the product at the sale
    assert [line.gross for line in lines] == [1300, 750, 426]  # 12.80 × 0.333 kg = 4.2624
    assert done.subtotal == sum(line.gross for line in lines) == 2476
    assert done.discount_total == sum(line.line_discount + line.sale_discount for line in lines) == 65 + 38 + 21
    assert done.total == sum(line.total for line in lines) == done.subtotal - done.discount_total
    event = json.loads(OutboxEvent.get(OutboxEvent.type == "sale.completed").data)
    assert (event["total"], event["paid"], event["change"]) == (done.total, done.total, 5000 - done.total)
    sent = [(sold["total"], sold["tax_rate"]) for sold in event["lines"]]
    assert sent == [(line.total, line.tax_rate) for line in lines]
    assert all(isinstance(value, int) for value in (event["subtotal"], event["discount_total"], event["total"]))


def test_a_later_tax_change_does_not_touch_an_open_sale(store, cashier):
    sale = sale_of(store, cashier, ("DRK006", 1))
    store.catalog.upsert(ProductIn(sku="DRK006", name="伊利安慕希酸奶", price=700, tax_rate=1300))
    store.sales.add_line(sale.id, cashier, sku="DRK001", qty=1)

    yogurt = lines_of(store, sale)[0]
    assert (yogurt.unit_price, yogurt.tax_rate) == (650, 900)


# -- VAT inside the prices ------------------------------------------------------------------------


@pytest.mark.parametrize("total, rate, tax", [
    (11300, 1300, 1300),  # ¥113.00 at 13 %: ¥13.00 of it is VAT
    (200, 1300, 23),  # 23.0088… → 23
    (109, 900, 9),  # 9.0000… at 9 %
    (1, 1300, 0),
    (0, 1300, 0),
    (5000, 0, 0),  # exempt
    (10600, 600, 600),
])
def test_included_tax_is_the_vat_inside_a_tax_inclusive_amount(total, rate, tax):
    assert included_tax(total, rate) == tax


def test_a_sale_shows_the_tax_of_each_line_and_their_sum(store, cashier):
    sale = sale_of(store, cashier, ("DRK001", 3), (APPLES_SKU, 1500))
    shown = store.sales.as_dict(store.sales.get(sale.id))
    # water 3 × 2.00 = 6.00 at 13 %: 0.69; apples 1.5 kg × 12.80 = 19.20 at 9 %: 1.585… → 1.59
    assert [(line["total"], line["tax"]) for line in shown["lines"]] == [(600, 69), (1920, 159)]
    assert shown["tax_total"] == 228
