"""Reports in the domain: summaries equal a brute-force sum of the raw sales (refunds and voids included),
incremental refreshes equal a full rebuild, association-rule figures on a hand-made basket set, targets,
stock and the stored-value settlement."""

from __future__ import annotations

import time
import uuid
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from edge.catalog.models import Category, Product
from edge.cli import main
from edge.errors import DomainError, NotFound
from edge.inventory.models import StockMovement
from edge.members.stored_value_models import StoredValueEntry, StoredValueTopup
from edge.reports.queries import Period
from edge.reports.summaries import TABLES
from edge.sales.models import Refund, RefundLine, Sale, SaleLine
from tests.card_helpers import join
from tests.conftest import APPLES_SKU, CASHIER_PIN, COLA, MANAGER_PIN, WATER, staff_by_pin, terminal
from tests.domain2_helpers import MANAGER_APPROVAL, audit_records, events, nothing_written, open_sale_with

TEA, MILK, CHIPS = "6904321000036", "6904321000050", "6904321000074"


def local(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp).astimezone(ZoneInfo("Asia/Shanghai"))


def sell(store, caller, items, *, salesperson=None, member=None, weighed: int | None = None, counter=None):
    """A cash sale of (barcode, qty) items, optionally with apples by weight, a salesperson and a member.

    counter: (barcode, salesperson) of one more line sold by a salesperson of its own.
    """
    sale = open_sale_with(store, caller, items, salesperson_id=salesperson)
    if weighed:
        store.sales.add_line(sale.id, caller, sku=APPLES_SKU, qty=weighed)
    if counter:
        store.sales.add_line(sale.id, caller, barcode=counter[0], salesperson_id=counter[1])
    if member is not None:
        store.sales.set_member(sale.id, caller, member)
    total = store.sales.get(sale.id).total
    return store.sales.complete(sale.id, caller, [{"method": "cash", "amount": total}])


def refund_lines(store, caller, sale, lines=None):
    return store.refunds.refund(caller, sale.id, lines, "damaged", "original", MANAGER_APPROVAL)


@pytest.fixture
def lanes(store):
    """A cashier on lane 1 and the manager working a till on lane 2, both with open shifts."""
    return terminal(store), terminal(store, lane=2, pin=MANAGER_PIN)


@pytest.fixture
def busy_day(store, lanes):
    """Sales by two cashiers, with and without a salesperson or member, goods by weight, refunds, a void, a top-up."""
    cashier, manager = lanes
    member = join(store, cashier)
    seller = staff_by_pin(store, MANAGER_PIN).id
    first = sell(store, cashier, [(WATER, 2), (COLA, 1)], salesperson=seller, member=member)
    second = sell(store, cashier, [(TEA, 3)], weighed=750, counter=(MILK, seller))
    third = sell(store, manager, [(WATER, 1), (MILK, 4), (CHIPS, 1)], salesperson=seller,
                 counter=(COLA, staff_by_pin(store, CASHIER_PIN).id))
    sell(store, manager, [(COLA, 6)], member=member)
    store.sales.void(open_sale_with(store, cashier, [(CHIPS, 9)]).id, cashier, "customer left", MANAGER_APPROVAL)
    refund_lines(store, cashier, first, [{"line_id": line.id, "qty": 1}
                                          for line in store.sales.lines(first) if line.sku == "DRK001"])
    refund_lines(store, manager, third)
    refund_lines(store, cashier, second, [{"line_id": line.id} for line in store.sales.lines(second) if line.sku == "DRK005"])
    store.stored_value.top_up(cashier, member.id, 10_000, "cash")
    return store


def brute_force(store) -> dict:
    """The reports' figures, summed straight from the sale, refund and top-up rows."""
    by_hour, by_category, by_product, staff = Counter(), Counter(), Counter(), defaultdict(Counter)
    categories = {c.id: c.name for c in Category.select()}
    category_of = {p.id: categories.get(p.category_id, "—") for p in Product.select()}
    for sale in Sale.select().where(Sale.status == "completed"):
        lines = list(SaleLine.select().where(SaleLine.sale_id == sale.id))
        hour = local(sale.completed_at).hour
        by_hour[hour, "tickets"] += 1
        by_hour[hour, "sales"] += sale.total
        for line in lines:
            by_category[category_of[line.product_id], "sales"] += line.total
            by_product[line.sku, "qty"] += line.qty
            by_product[line.sku, "sales"] += line.total
        # the cashier has the whole ticket; each salesperson the lines they sold (their own, else the sale's)
        shares = [("cashier", sale.cashier_id, lines)] + [
            ("salesperson", person, [l for l in lines if (l.salesperson_id or sale.salesperson_id) == person])
            for person in {l.salesperson_id or sale.salesperson_id for l in lines} - {None}]
        for role, person, sold in shares:
            staff[role][person, "tickets"] += 1
            staff[role][person, "sales"] += sum(l.total for l in sold)
            staff[role][person, "items"] += sum(l.qty if l.sold_by == "each" else 1 for l in sold)
            staff[role][person, "members"] += sale.member_id is not None
    for refund in Refund.select():
        sale = Sale.get_by_id(refund.sale_id)
        by_hour[local(refund.at).hour, "refunded"] += refund.total
        staff["cashier"][sale.cashier_id, "refunded"] += refund.total
        for rl in RefundLine.select().where(RefundLine.refund_id == refund.id):
            line = SaleLine.get_by_id(rl.sale_line_id)
            by_category[category_of[line.product_id], "refunded"] += rl.amount
            by_product[line.sku, "refunded"] += rl.amount
            if line.salesperson_id or sale.salesperson_id:
                staff["salesperson"][line.salesperson_id or sale.salesperson_id, "refunded"] += rl.amount
    for topup in StoredValueTopup.select():
        staff["cashier"][topup.staff_id, "stored"] += topup.amount
    return {"hour": by_hour, "category": by_category, "product": by_product, "staff": staff}


def summary_tables(store) -> dict:
    db = store.db.peewee
    return {table: sorted(db.execute_sql(f"SELECT * FROM {table}").fetchall()) for table in TABLES}


@pytest.mark.parametrize("whole", [False, True], ids=["by days", "by months"])
def test_reports_equal_a_brute_force_sum_of_the_raw_sales(busy_day, whole):
    store, truth = busy_day, brute_force(busy_day)
    reports = store.reports.fresh()
    period = store.reports.period(*whole_month(store)) if whole else store.reports.period(None, None)

    by_hour = reports.sales(period, "hour")["rows"]
    assert {r["hour"] for r in by_hour} == {hour for hour, _ in truth["hour"]}
    for row in by_hour:
        for key in ("tickets", "sales", "refunded"):
            assert row[key] == truth["hour"][row["hour"], key]
    assert sum(r["tickets"] for r in by_hour) == 4  # the voided sale counts nowhere

    by_category = reports.sales(period, "category")["rows"]
    assert {r["category"]: (r["sales"], r["refunded"], r["net"]) for r in by_category} == {
        name: (truth["category"][name, "sales"], truth["category"][name, "refunded"],
               truth["category"][name, "sales"] - truth["category"][name, "refunded"])
        for name in {name for name, _ in truth["category"]}}

    by_product = reports.sales(period, "product")["rows"]
    assert {r["sku"]: (r["qty"], r["sales"], r["refunded"]) for r in by_product} == {
        sku: (truth["product"][sku, "qty"], truth["product"][sku, "sales"], truth["product"][sku, "refunded"])
        for sku in {sku for sku, _ in truth["product"]}}

    for role in ("cashier", "salesperson"):
        ranking = reports.staff(period, role)["rows"]
        expected = truth["staff"][role]
        assert {r["staff_id"]: (r["tickets"], r["sales"], r["refunded"], r["net"], r["stored_value_sold"])
                for r in ranking} == {
            person: (expected[person, "tickets"], expected[person, "sales"], expected[person, "refunded"],
                     expected[person, "sales"] - expected[person, "refunded"], expected[person, "stored"])
            for person in {p for p, _ in expected}}
        for row in ranking:
            tickets = expected[row["staff_id"], "tickets"]
            assert row["items_per_ticket"] == round(expected[row["staff_id"], "items"] / tickets, 2)
            assert row["member_rate"] == round(expected[row["staff_id"], "members"] / tickets, 4)
        assert [r["rank"] for r in ranking] == list(range(1, len(ranking) + 1))
        assert [r["net"] for r in ranking] == sorted((r["net"] for r in ranking), reverse=True)


def test_day_week_and_traffic_agree_with_the_hours(busy_day):
    reports, period = busy_day.reports.fresh(), busy_day.reports.period(None, None)
    hours = reports.sales(period, "hour")["rows"]
    days = reports.sales(period, "day")["rows"]
    assert [r["day"] for r in days] == [(period.first + timedelta(days=n)).isoformat() for n in range(30)]
    [today] = [r for r in days if r["tickets"]]
    [week] = reports.sales(period, "week")["rows"]
    assert today["day"] == busy_day.today().isoformat()
    for key in ("tickets", "sales", "refunded", "net", "items"):
        assert today[key] == week[key] == sum(r[key] for r in hours)
    traffic = reports.traffic(period)
    assert {r["hour"]: r["tickets"] for r in traffic["rows"]} == {r["hour"]: r["tickets"] for r in hours}
    assert sum(d["tickets"] for d in traffic["by_weekday"]) == today["tickets"]


def test_refreshing_in_steps_equals_a_full_rebuild(store, lanes):
    cashier, manager = lanes
    store.reports.summaries.refresh()  # nothing sold yet
    first = sell(store, cashier, [(WATER, 2), (TEA, 1)], weighed=300)
    assert store.reports.summaries.refresh() == 1
    sell(store, manager, [(WATER, 1), (TEA, 2), (COLA, 1)], salesperson=staff_by_pin(store, MANAGER_PIN).id)
    refund_lines(store, cashier, first)
    assert store.reports.summaries.refresh() == 2
    assert store.reports.summaries.refresh() == 0  # folded once only
    sell(store, cashier, [(COLA, 3)])
    store.reports.fresh()
    stepwise = summary_tables(store)

    outcome = store.reports.summaries.rebuild()
    assert summary_tables(store) == stepwise
    assert outcome["watermark"] == store.reports.summaries.watermark() == store.reports.summaries.latest_seq()
    assert outcome["rows"]["report_ticket_hour"] == len(stepwise["report_ticket_hour"])


def test_the_checkout_does_not_touch_the_summaries(store, cashier):
    """Summaries move on refresh, not inside the sale's transaction (the checkout keeps its latency budget)."""
    sell(store, cashier, [(WATER, 1)])
    assert all(not rows for rows in summary_tables(store).values())
    store.reports.summaries.refresh()
    assert summary_tables(store)["report_ticket_hour"][0][2] == 1


def whole_month(store) -> tuple[str, str]:
    """This calendar month, first to last day: read from the monthly summaries."""
    today = store.today()
    first = today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return first.isoformat(), last.isoformat()


def test_the_timer_folds_new_sales_in_without_a_report_being_asked(store, cashier):
    sell(store, cashier, [(WATER, 1)])
    store.reports.start_background(interval=0.05)
    try:
        deadline = time.monotonic() + 30  # a ceiling for a busy machine, not a measurement
        while store.reports.summaries.watermark() < store.reports.summaries.latest_seq() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        store.reports.stop_background()
    assert summary_tables(store)["report_ticket_hour"][0][2] == 1


@pytest.mark.parametrize("whole", [False, True], ids=["by days", "by months"])
def test_products_bought_together_on_a_hand_made_basket_set(store, cashier, whole):
    # 10 tickets: water+cola 4, water 2, cola+tea 2, water+cola+tea 1, tea 1
    baskets = [[WATER, COLA]] * 4 + [[WATER]] * 2 + [[COLA, TEA]] * 2 + [[WATER, COLA, TEA]] + [[TEA]]
    for basket in baskets:
        sell(store, cashier, [(code, 1) for code in basket])
    reports = store.reports.fresh()
    period = store.reports.period(*whole_month(store)) if whole else store.reports.period(None, None)
    assert (period.by_months()[1] is not None) == whole

    found = reports.basket(period, min_support=0.1, limit=10)
    assert found["tickets"] == 10 and found["min_tickets"] == 1
    pairs = {(r["a_sku"], r["b_sku"]): r for r in found["rows"]}
    water_cola = pairs["DRK001", "DRK002"]
    # water in 7 tickets, cola in 7, together in 5: support .5, confidence 5/7 both ways, lift .5/(.7*.7)
    assert (water_cola["tickets"], water_cola["support"]) == (5, 0.5)
    assert water_cola["confidence_a_b"] == water_cola["confidence_b_a"] == round(5 / 7, 4)
    assert water_cola["lift"] == round(0.5 / 0.49, 4)
    cola_tea = pairs["DRK002", "DRK003"]  # tea in 4 tickets, with cola in 3
    assert (cola_tea["tickets"], cola_tea["support"], cola_tea["confidence_a_b"], cola_tea["confidence_b_a"],
            cola_tea["lift"]) == (3, 0.3, round(3 / 7, 4), 0.75, round(0.3 / (0.7 * 0.4), 4))
    water_tea = pairs["DRK001", "DRK003"]
    assert (water_tea["tickets"], water_tea["lift"]) == (1, round(0.1 / (0.7 * 0.4), 4))
    assert [r["tickets"] for r in found["rows"]] == [5, 3, 1]

    assert [(r["a_sku"], r["b_sku"]) for r in reports.basket(period, 0.3, 10)["rows"]] == [
        ("DRK001", "DRK002"), ("DRK002", "DRK003")]


def test_a_target_is_set_audited_and_shows_progress(store, cashier, manager):
    seller = staff_by_pin(store, MANAGER_PIN).id
    first = store.today().replace(day=1).isoformat()
    last = store.today().isoformat()
    target = store.reports.set_target(manager, seller, "salesperson", first, last, 10_000)
    sell(store, cashier, [(COLA, 10)], salesperson=seller)  # 30.00 of the 100.00
    period = store.reports.period(first, last)

    [shown] = store.reports.targets(period)
    assert (shown["staff_id"], shown["amount"], shown["net"], shown["progress"]) == (seller, 10_000, 3000, 0.3)
    [ranked] = store.reports.fresh().staff(period, "salesperson")["rows"]
    assert (ranked["target"], ranked["progress"]) == (10_000, 0.3)
    assert audit_records("sales_target.set")[-1]["entity_id"] == target.id
    assert events("sales_target.set")[-1]["data"]["amount"] == 10_000

    again = store.reports.set_target(manager, seller, "salesperson", first, last, 20_000)
    assert again.id == target.id and len(store.reports.targets(period)) == 1
    assert events("sales_target.set")[-1]["data"]["before"] == 10_000


@pytest.mark.parametrize("args, field", [
    ((999, "salesperson", "2026-11-01", "2026-11-30", 100), "staff_id"),
    ((1, "boss", "2026-11-01", "2026-11-30", 100), "role"),
    ((1, "salesperson", "2026-11-30", "2026-11-01", 100), "from"),
    ((1, "salesperson", "2026-11-01", "2026-13-01", 100), "to"),
    ((1, "salesperson", "2026-11-01", "2026-11-30", 0), "amount"),
])
def test_a_bad_target_is_refused_and_writes_nothing(store, manager, args, field):
    with nothing_written(store):
        with pytest.raises((DomainError, NotFound)) as refused:
            store.reports.set_target(manager, *args)
    assert refused.value.field == field


def test_stock_turnover_cover_and_low_stock(store, cashier, manager):
    cola = Product.get(Product.sku == "DRK002")
    on_hand = store.inventory.on_hand(cola.id)
    sell(store, cashier, [(COLA, 4)])
    store.inventory.move(cola, 10, "receipt", staff_id=manager.staff_id)
    period = store.reports.period(None, None)
    rows = {r["sku"]: r for r in store.reports.fresh().stock(period, low_days=7)["rows"]}
    row = rows["DRK002"]
    # every movement of the demo store (its opening stock too) falls in the last 30 days
    moved = sum(m.qty for m in StockMovement.select().where(StockMovement.product_id == cola.id))
    opening = on_hand + 6 - moved
    assert (row["on_hand"], row["closing"], row["opening"], row["sold_qty"]) == (on_hand + 6, on_hand + 6, opening, 4)
    assert row["turnover"] == round(4 / ((opening + on_hand + 6) / 2), 2)
    assert row["days_of_cover"] == round((on_hand + 6) / (4 / 30), 1)
    assert row["low"] == (row["days_of_cover"] < 7)
    unsold = next(r for r in rows.values() if r["sold_qty"] == 0 and r["on_hand"] > 0)
    assert unsold["days_of_cover"] is None and not unsold["low"]


def test_settlement_splits_this_store_from_what_hq_sent_of_other_stores(store, cashier):
    member = join(store, cashier)
    store.stored_value.top_up(cashier, member.id, 20_000, "cash")
    sale = open_sale_with(store, cashier, [(COLA, 2)])
    store.sales.set_member(sale.id, cashier, member)
    store.sales.complete(sale.id, cashier, [{"method": "stored_value", "amount": 600}])
    StoredValueEntry.create(id=str(uuid.uuid4()), member_id=member.id, account="principal", amount=-1500,
                            kind="spend", ref="elsewhere", store_id="S002", at=datetime.now(timezone.utc).isoformat())
    found = store.reports.reports.settlement(store.reports.period(None, None))
    summary = found["summary"]
    assert (summary["collected_here"], summary["spent_here"], summary["net_position"]) == (20_000, 600, 19_400)
    assert summary["other_stores"] == ["S002"]
    assert [(r["store_id"], r["kind"], r["amount"]) for r in found["rows"] if not r["this_store"]] == [
        ("S002", "spend", -1500)]


@pytest.mark.parametrize("first, last, field", [("2026-02-30", None, "from"), ("2026-11-02", "2026-11-01", "from"),
                                                ("2020-01-01", "2026-01-01", "from"), (None, "yesterday", "to")])
def test_a_bad_period_names_its_field(store, first, last, field):
    with pytest.raises(DomainError) as refused:
        store.reports.period(first, last)
    assert refused.value.field == field


@pytest.mark.parametrize("first, last, edges, months", [
    ("2026-03-01", "2026-03-31", [], ("2026-03", "2026-03")),
    ("2026-03-05", "2026-03-20", [("2026-03-05", "2026-03-20")], None),
    ("2026-01-15", "2026-04-10", [("2026-01-15", "2026-01-31"), ("2026-04-01", "2026-04-10")], ("2026-02", "2026-03")),
    ("2025-12-31", "2026-02-28", [("2025-12-31", "2025-12-31")], ("2026-01", "2026-02")),
    ("2026-02-01", "2026-03-30", [("2026-03-01", "2026-03-30")], ("2026-02", "2026-02")),
    ("2026-02-10", "2026-03-05", [("2026-02-10", "2026-03-05")], None),
])
def test_a_period_splits_into_partial_and_whole_months(first, last, edges, months):
    split_edges, split_months = Period(date.fromisoformat(first), date.fromisoformat(last)).by_months()
    assert [edge.bounds for edge in split_edges] == edges and split_months == months


def test_the_technician_refreshes_and_rebuilds_from_the_command_line(store, cashier):
    sell(store, cashier, [(WATER, 1), (COLA, 1)])
    run = CliRunner(env={"STOREEDGE_CONFIG": None, "STOREEDGE_DATA_DIR": None}).invoke
    refreshed = run(main, ["reports", "refresh", "--data-dir", str(store.data_dir)], catch_exceptions=False)
    assert refreshed.exit_code == 0 and refreshed.output.startswith("folded 1 facts")
    stepwise = summary_tables(store)
    rebuilt = run(main, ["reports", "rebuild", "--data-dir", str(store.data_dir)], catch_exceptions=False)
    assert rebuilt.exit_code == 0 and "report_pair_day 1" in rebuilt.output
    assert summary_tables(store) == stepwise
