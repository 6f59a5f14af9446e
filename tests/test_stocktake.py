"""Stocktake (盘点) and reorder points, as business rules without HTTP, on a real demo store.

A stocktake is counted while the shop sells; posting writes each difference against the on-hand figure of that
moment as one `stocktake` movement with its `stock.movement` event, all in one transaction with one audit record.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from edge.errors import Conflict, DomainError, Forbidden, NotFound
from edge.inventory.models import StockMovement
from tests.conftest import APPLES_SKU, COLA, WATER
from tests.domain2_helpers import audit_records, events, nothing_written, product, refused, sell

COUNTED_SKUS = ("DRK001", "DRK002", "DRK003")


def on_hand(store, sku: str) -> int:
    return store.inventory.on_hand(product(sku).id)


def test_a_stocktake_counts_by_scans_and_typed_figures_and_posts_every_variance_in_one_go(store, manager, cashier):
    water, cola, tea = (product(sku) for sku in COUNTED_SKUS)
    tea_before = on_hand(store, "DRK003")
    stocktake = store.stocktakes.start("饮料货架", manager)
    for _ in range(3):  # three scans of the water
        store.stocktakes.count(stocktake.id, water, 1, "add", manager)
    store.stocktakes.count(stocktake.id, cola, 50, "set", manager)
    store.stocktakes.count(stocktake.id, cola, 7, "set", manager)  # a typed figure replaces the count
    store.stocktakes.count(stocktake.id, tea, tea_before, "set", manager)
    # the shop keeps selling while the shelf is counted; the variance is judged against on-hand when posting
    sell(store, cashier, [(WATER, 1)])
    water_at_post, cola_at_post = on_hand(store, "DRK001"), on_hand(store, "DRK002")

    review = store.stocktakes.as_dict(store.stocktakes.get(stocktake.id))
    by_sku = {line["sku"]: line for line in review["lines"]}
    assert (by_sku["DRK001"]["counted"], by_sku["DRK001"]["expected"]) == (3, water_at_post)
    assert by_sku["DRK002"]["variance"] == 7 - cola_at_post
    assert by_sku["DRK002"]["variance_value"] == (7 - cola_at_post) * 300
    assert by_sku["DRK003"]["variance"] == 0
    assert review["summary"]["counted"] == 3 and review["summary"]["with_variance"] == 2
    assert [on_hand(store, sku) for sku in COUNTED_SKUS[:2]] == [water_at_post, cola_at_post]  # nothing moved yet

    posted = store.stocktakes.post(stocktake.id, manager)

    assert posted["status"] == "posted"
    assert [on_hand(store, sku) for sku in COUNTED_SKUS] == [3, 7, tea_before]
    movements = StockMovement.select().where(StockMovement.ref == stocktake.id)
    assert sorted((m.product_id, m.qty, m.reason) for m in movements) == sorted(
        [(water.id, 3 - water_at_post, "stocktake"), (cola.id, 7 - cola_at_post, "stocktake")])
    moved = [e["data"] for e in events("stock.movement") if e["data"]["ref"] == stocktake.id]
    assert sorted((e["sku"], e["qty"]) for e in moved) == [("DRK001", 3 - water_at_post), ("DRK002", 7 - cola_at_post)]
    [record] = audit_records("stock.stocktake_posted")
    assert record["entity_id"] == stocktake.id and record["staff_id"] == manager.staff_id
    assert record["data"]["counted"] == 3
    assert sorted(map(tuple, record["data"]["variances"])) == [("DRK001", 3 - water_at_post),
                                                               ("DRK002", 7 - cola_at_post)]
    # once posted, the review keeps the figures of that moment, not today's on-hand
    sell(store, cashier, [(COLA, 1)])
    kept = {line["sku"]: line for line in store.stocktakes.as_dict(store.stocktakes.get(stocktake.id))["lines"]}
    assert kept["DRK002"]["expected"] == cola_at_post and kept["DRK002"]["movement_id"]


def test_goods_sold_by_weight_are_counted_in_grams_and_valued_per_kg(store, manager):
    apples = product(APPLES_SKU)
    stocktake = store.stocktakes.start(None, manager)
    store.stocktakes.count(stocktake.id, apples, on_hand(store, APPLES_SKU) - 500, "set", manager)
    [line] = store.stocktakes.as_dict(stocktake)["lines"]
    assert line["variance"] == -500 and line["variance_value"] == -round(500 * apples.price / 1000)


def test_only_one_stocktake_counts_at_a_time_and_a_finished_one_takes_no_more(store, manager):
    water = product("DRK001")
    first = store.stocktakes.start(None, manager)
    with nothing_written(store), refused(Conflict, code="stocktake_open"):
        store.stocktakes.start(None, manager)
    store.stocktakes.count(first.id, water, 1, "add", manager)
    store.stocktakes.post(first.id, manager)
    for late in (lambda: store.stocktakes.count(first.id, water, 1, "add", manager),
                 lambda: store.stocktakes.post(first.id, manager),
                 lambda: store.stocktakes.cancel(first.id, manager)):
        with nothing_written(store), refused(Conflict, field="stocktake_id", code="stocktake_posted"):
            late()
    assert store.stocktakes.start(None, manager).status == "counting"  # the next one may begin


def test_a_product_counted_by_mistake_is_dropped_not_counted_as_zero(store, manager):
    water_before = on_hand(store, "DRK001")
    stocktake = store.stocktakes.start(None, manager)
    store.stocktakes.count(stocktake.id, product("DRK001"), 1, "add", manager)
    store.stocktakes.count(stocktake.id, product("DRK002"), 4, "set", manager)
    review = store.stocktakes.uncount(stocktake.id, product("DRK001"), manager)
    assert [line["sku"] for line in review["lines"]] == ["DRK002"]
    with nothing_written(store), refused(NotFound, field="sku"):
        store.stocktakes.uncount(stocktake.id, product("DRK001"), manager)
    store.stocktakes.post(stocktake.id, manager)
    assert (on_hand(store, "DRK001"), on_hand(store, "DRK002")) == (water_before, 4)


def test_an_empty_count_cannot_be_posted_and_a_cancelled_one_moves_nothing(store, manager):
    stocktake = store.stocktakes.start(None, manager)
    with nothing_written(store), refused(DomainError, field="stocktake_id"):
        store.stocktakes.post(stocktake.id, manager)
    store.stocktakes.count(stocktake.id, product("DRK001"), 0, "set", manager)
    movements = StockMovement.select().count()
    assert store.stocktakes.cancel(stocktake.id, manager)["status"] == "cancelled"
    assert StockMovement.select().count() == movements
    assert [r["entity_id"] for r in audit_records("stock.stocktake_cancelled")] == [stocktake.id]


def test_bad_counts_and_a_cashier_are_refused_and_write_nothing(store, manager, cashier):
    water = product("DRK001")
    stocktake = store.stocktakes.start(None, manager)
    store.stocktakes.count(stocktake.id, water, 2, "set", manager)
    with nothing_written(store):
        with refused(DomainError, field="qty"):
            store.stocktakes.count(stocktake.id, water, -3, "add", manager)  # the count would go below zero
        with refused(DomainError, field="mode"):
            store.stocktakes.count(stocktake.id, water, 1, "guess", manager)
        with refused(Forbidden, code="role_required"):
            store.stocktakes.count(stocktake.id, water, 1, "add", cashier)
        with refused(Forbidden, code="role_required"):
            store.stocktakes.post(stocktake.id, cashier)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(counts=st.lists(st.integers(min_value=0, max_value=500), min_size=3, max_size=3),
       sold=st.integers(min_value=0, max_value=3))
def test_after_posting_on_hand_is_what_was_counted_and_the_ledger_sums_to_it(store, manager, cashier, counts, sold):
    stocktake = store.stocktakes.start(None, manager)
    for sku, counted in zip(COUNTED_SKUS, counts):
        store.stocktakes.count(stocktake.id, product(sku), counted, "set", manager)
    if sold:
        sell(store, cashier, [(WATER, sold)])
    store.stocktakes.post(stocktake.id, manager)
    for sku, counted in zip(COUNTED_SKUS, counts):
        assert on_hand(store, sku) == counted
        ledger = StockMovement.select().where(StockMovement.product_id == product(sku).id)
        assert sum(m.qty for m in ledger) == counted


def test_reorder_points_make_the_low_stock_list(store, manager, cashier):
    water_on_hand = on_hand(store, "DRK001")
    store.stocktakes.set_reorder_point(product("DRK001"), water_on_hand, manager)  # at the point: low
    store.stocktakes.set_reorder_point(product("DRK002"), 0, manager)
    low = store.stocktakes.reorder_points(low_only=True)
    assert [(row["sku"], row["low"]) for row in low] == [("DRK001", True)]
    assert {row["sku"] for row in store.stocktakes.reorder_points(low_only=False)} == {"DRK001", "DRK002"}
    assert audit_records("stock.reorder_point_set")[-1]["data"] == {"sku": "DRK002", "reorder_point": 0,
                                                                    "before": None}

    store.stocktakes.set_reorder_point(product("DRK001"), None, manager)  # cleared
    assert store.stocktakes.reorder_points(low_only=True) == []
    with nothing_written(store):
        with refused(DomainError, field="reorder_point"):
            store.stocktakes.set_reorder_point(product("DRK001"), -1, manager)
        with refused(Forbidden, code="role_required"):
            store.stocktakes.set_reorder_point(product("DRK001"), 5, cashier)
