"""Property tests on money and stock, on real stores:

(a) for any cart and any mix of tenders, payments minus change equal the amount due, and a short
    payment is refused with nothing written;
(b) no sequence of partial refunds gives back more than was sold, per line in quantity and money,
    nor more money than was paid; an over-refund is refused with nothing written;
(c) after any mix of sales, refunds, receipts and adjustments, every product's stock ledger sums to
    its on-hand figure.

Each example works on its own copy of one demo store made once per module (seeding a store hashes
the demo PINs, too slow to repeat per example).
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager

import peewee
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from edge.catalog.models import Product
from edge.errors import DomainError
from edge.inventory.models import StockLevel, StockMovement
from edge.sales.models import Payment, Refund, RefundLine, RefundPayment
from edge.sales.pricing import Discount
from tests.conftest import MANAGER_PIN, open_store, staff_by_pin, terminal
from tests.domain_helpers import row_counts, rows_written

PROPERTY_SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MANAGER = {"pin": MANAGER_PIN}
EACH_SKUS = ("DRK001", "DRK003", "DRK006", "SNK002", "SNK003", "DAY001", "BAB001", "BRD001")
WEIGHED_SKUS = ("FRT001", "FRT002", "FRT004")  # priced per kg, qty in grams
ROUNDING_MODES = ("none", "round_jiao", "floor_jiao")
NON_CASH = ("card", "external")

cart_items = st.one_of(
    st.tuples(st.sampled_from(EACH_SKUS), st.integers(1, 6)),
    # A few grams make lines of a few fen, smaller than a cash rounding.
    st.tuples(st.sampled_from(WEIGHED_SKUS), st.integers(1, 12) | st.integers(13, 2500)),
)
carts = st.lists(cart_items, min_size=1, max_size=5)
sale_discounts = st.none() | st.builds(Discount, st.just("percent"), st.integers(1, 30))


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A seeded demo store on disk, closed, ready to be copied."""
    directory = tmp_path_factory.mktemp("template")
    open_store(directory).db.close()
    return directory


@contextmanager
def fresh_store(template, config: dict | None = None):
    """A copy of the template store with a cashier's terminal and an open shift."""
    directory = tempfile.mkdtemp(prefix="storeedge-property-")
    shutil.copytree(template, directory, dirs_exist_ok=True)
    store = open_store(directory, config, demo=False)
    try:
        yield store, terminal(store)
    finally:
        store.db.close()
        shutil.rmtree(directory, ignore_errors=True)


def ring_up(store, caller, cart, discount: Discount | None = None):
    """An open sale with the cart's lines and (approved by the manager if needed) a whole-sale discount."""
    sale = store.sales.open(caller)
    for sku, qty in cart:
        store.sales.add_line(sale.id, caller, sku=sku, qty=qty)
    if discount is not None:
        store.sales.set_discount(sale.id, caller, discount, approval=MANAGER)
    return store.sales.get(sale.id)


def cash_due(amount: int, mode: str) -> int:
    """What the customer owes in cash once rounded to the 角 (the tests' own oracle)."""
    if mode == "round_jiao":
        return (amount + 5) // 10 * 10
    if mode == "floor_jiao":
        return amount // 10 * 10
    return amount


# -- (a) payments ---------------------------------------------------------------------------------


@st.composite
def tenders_for(draw, total: int) -> list[dict]:
    """Zero to two non-cash tenders not above the total, then perhaps cash: enough, or short of what is left."""
    payments, left = [], total
    for index in range(draw(st.integers(0, 2))):
        if left == 0:
            break
        amount = draw(st.just(left) | st.integers(1, left))
        payments.append({"method": draw(st.sampled_from(NON_CASH)), "amount": amount, "reference": f"T{index}"})
        left -= amount
    if not payments or draw(st.booleans()):
        enough = draw(st.booleans())
        cash = st.integers(max(left, 1), left + 5000) if enough else st.integers(1, max(left - 1, 1))
        payments.append({"method": "cash", "amount": draw(cash)})
    return payments


@PROPERTY_SETTINGS
@given(cart=carts, discount=sale_discounts, mode=st.sampled_from(ROUNDING_MODES), data=st.data())
def test_payments_minus_change_equal_the_amount_due(template, cart, discount, mode, data):
    with fresh_store(template, {"checkout": {"cash_rounding": mode}}) as (store, caller):
        sale = ring_up(store, caller, cart, discount)
        payments = data.draw(tenders_for(sale.total), label="payments")
        non_cash = sum(p["amount"] for p in payments if p["method"] != "cash")
        cash = sum(p["amount"] for p in payments if p["method"] == "cash")
        due = non_cash + (cash_due(sale.total - non_cash, mode) if cash else sale.total - non_cash)
        before = row_counts(store)

        if non_cash + cash < due:
            event("short payment refused")
            with pytest.raises(DomainError) as caught:
                store.sales.complete(sale.id, caller, payments)
            assert caught.value.code == "payment_short"
            assert rows_written(store, before) == {}
            assert store.sales.get(sale.id).status == "open"
            return

        event("sale completed")
        done = store.sales.complete(sale.id, caller, payments)

        rows = list(Payment.select().where(Payment.sale_id == sale.id))
        assert done.total + done.rounding == due
        assert done.paid == sum(r.amount for r in rows) == due
        assert sum(r.tendered for r in rows) - sum(r.change for r in rows) == due
        assert done.change == non_cash + cash - due == sum(r.change for r in rows)
        assert all(r.change == 0 for r in rows if r.method != "cash")


# -- (b) refunds ----------------------------------------------------------------------------------

refund_requests = st.lists(
    st.none() | st.lists(st.tuples(st.integers(0, 4), st.integers(1, 3000)), min_size=1, max_size=3),
    min_size=1, max_size=5,
)


def refunded_so_far(sale_id: str) -> tuple[dict[str, int], dict[str, int], int]:
    """Per sale line: quantity and money refunded; and the money refunded on the whole sale."""
    qty = {line_id: q for line_id, q in RefundLine.select(RefundLine.sale_line_id, peewee.fn.SUM(RefundLine.qty))
           .join(Refund, on=(RefundLine.refund_id == Refund.id)).where(Refund.sale_id == sale_id)
           .group_by(RefundLine.sale_line_id).tuples()}
    money = {line_id: a for line_id, a in RefundLine.select(RefundLine.sale_line_id, peewee.fn.SUM(RefundLine.amount))
             .join(Refund, on=(RefundLine.refund_id == Refund.id)).where(Refund.sale_id == sale_id)
             .group_by(RefundLine.sale_line_id).tuples()}
    total = Refund.select(peewee.fn.SUM(Refund.total)).where(Refund.sale_id == sale_id).scalar() or 0
    return qty, money, total


@PROPERTY_SETTINGS
@given(cart=carts, discount=sale_discounts, mode=st.sampled_from(ROUNDING_MODES), card_part=st.integers(0, 100),
       requests=refund_requests, to=st.sampled_from(("original", "cash")))
# 2.09 paid as 2.00 (floor_jiao): refunding 2.06 of lines must give back no more than the 2.00 paid.
@example(cart=[("DRK001", 1), ("FRT002", 9), ("FRT002", 4)], discount=None, mode="floor_jiao", card_part=0,
         requests=[[(0, 1), (1, 9)], None], to="original")
def test_refunds_never_give_back_more_than_was_sold(template, cart, discount, mode, card_part, requests, to):
    with fresh_store(template, {"checkout": {"cash_rounding": mode}}) as (store, caller):
        sale = ring_up(store, caller, cart, discount)
        card = sale.total * card_part // 100
        payments = [{"method": "card", "amount": card, "reference": "T1"}] if card else []
        sale = store.sales.complete(sale.id, caller, payments + [{"method": "cash", "amount": sale.total - card + 9}])
        lines = store.sales.lines(sale)
        left = {line.id: line.qty for line in lines}

        for request in requests:
            asked = None if request is None else [{"line_id": lines[i % len(lines)].id, "qty": q} for i, q in request]
            wanted: dict[str, int] = {}
            for item in asked or []:
                wanted[item["line_id"]] = wanted.get(item["line_id"], 0) + item["qty"]
            too_much = any(qty > left[line_id] for line_id, qty in wanted.items())
            nothing_left = asked is None and not any(left.values())
            before = row_counts(store)

            if too_much or nothing_left:
                event("over-refund refused")
                with pytest.raises(DomainError) as caught:
                    store.refunds.refund(caller, sale.id, asked, "property", to, MANAGER)
                assert caught.value.code == ("fully_refunded" if nothing_left else "refund_exceeds_sale")
                assert rows_written(store, before) == {}
                continue

            refund = store.refunds.refund(caller, sale.id, asked, "property", to, MANAGER)
            for line_id in left:
                left[line_id] = 0 if asked is None else left[line_id] - wanted.get(line_id, 0)
            assert refund.total >= 0
            paid_back = [p.amount for p in RefundPayment.select().where(RefundPayment.refund_id == refund.id)]
            assert sum(paid_back) == refund.total and all(amount >= 0 for amount in paid_back)
            assert refunded_so_far(sale.id)[2] <= sale.paid

        qty, money, total = refunded_so_far(sale.id)
        for line in lines:
            assert qty.get(line.id, 0) == line.qty - left[line.id]
            assert 0 <= money.get(line.id, 0) <= line.total
        if not any(left.values()):
            event("sale refunded in full")
            assert [money[line.id] for line in lines] == [line.total for line in lines]
            assert total == sale.paid


# -- (c) stock ledger -----------------------------------------------------------------------------

operations = st.lists(st.one_of(
    st.tuples(st.just("sale"), carts),
    st.tuples(st.just("refund"), st.integers(0, 20), st.booleans()),
    st.tuples(st.just("receipt"), st.lists(st.tuples(st.sampled_from(EACH_SKUS + WEIGHED_SKUS),
                                                     st.integers(-5, 500)), min_size=1, max_size=3)),
    st.tuples(st.just("adjust"), st.sampled_from(EACH_SKUS + WEIGHED_SKUS), st.integers(-60, 60), st.booleans()),
), min_size=1, max_size=8)


class StockModel:
    """What on-hand should be, worked out from the operations alone."""

    def __init__(self):
        self.on_hand = {p.id: 0 for p in Product.select()}
        self.on_hand.update({level.product_id: level.on_hand for level in StockLevel.select()})

    def change(self, product_id: int, qty: int) -> None:
        self.on_hand[product_id] += qty


def do_sale(store, caller, model, sales, cart):
    sale = ring_up(store, caller, cart)
    store.sales.complete(sale.id, caller, [{"method": "cash", "amount": sale.total + 10}])
    sales.append(sale.id)
    for line in store.sales.lines(sale):
        model.change(line.product_id, -line.qty)


def do_refund(store, caller, model, sales, pick, whole):
    if not sales:
        return
    sale = store.sales.get(sales[pick % len(sales)])
    done, _, _ = refunded_so_far(sale.id)
    open_lines = [line for line in store.sales.lines(sale) if line.qty > done.get(line.id, 0)]
    if not open_lines:
        return
    asked = None if whole else [{"line_id": open_lines[0].id, "qty": 1}]
    store.refunds.refund(caller, sale.id, asked, "property", "cash", MANAGER)
    for line in open_lines if whole else open_lines[:1]:
        model.change(line.product_id, line.qty - done.get(line.id, 0) if whole else 1)


def do_receipt(store, model, manager, lines):
    products = [(store.catalog.by_sku(sku), qty) for sku, qty in lines]
    before = row_counts(store)
    if any(qty <= 0 for _, qty in products):
        with pytest.raises(DomainError, match="received quantity must be positive"):
            store.inventory.receive(products, supplier="property", note=None, staff_id=manager.id, device_id=None)
        assert rows_written(store, before) == {}  # the good lines before the bad one are rolled back too
        return
    store.inventory.receive(products, supplier="property", note=None, staff_id=manager.id, device_id=None)
    for product, qty in products:
        model.change(product.id, qty)


def do_adjust(store, model, manager, sku, figure, is_count):
    product = store.catalog.by_sku(sku)
    if is_count:
        figure = abs(figure)
        store.inventory.adjust(product, qty=None, counted=figure, reason="stocktake", staff_id=manager.id,
                               device_id=None)
        model.change(product.id, figure - model.on_hand[product.id])
    else:
        store.inventory.adjust(product, qty=figure, counted=None, reason="damage", staff_id=manager.id,
                               device_id=None)
        model.change(product.id, figure)


@PROPERTY_SETTINGS
@given(steps=operations)
def test_stock_ledger_sums_to_on_hand(template, steps):
    with fresh_store(template) as (store, caller):
        model, sales, manager = StockModel(), [], staff_by_pin(store, MANAGER_PIN)
        for kind, *args in steps:
            if kind == "sale":
                do_sale(store, caller, model, sales, *args)
            elif kind == "refund":
                do_refund(store, caller, model, sales, *args)
            elif kind == "receipt":
                do_receipt(store, model, manager, *args)
            else:
                do_adjust(store, model, manager, *args)

        ledger = dict(StockMovement.select(StockMovement.product_id, peewee.fn.SUM(StockMovement.qty))
                      .group_by(StockMovement.product_id).tuples())
        levels = {level.product_id: level.on_hand for level in StockLevel.select()}
        for product_id, expected in model.on_hand.items():
            assert ledger.get(product_id, 0) == levels.get(product_id, 0) == expected
