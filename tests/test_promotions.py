"""Promotions on a real store: the manager's table, the cart repricing on every change, the member's prices,
the completed sale's event, refunds of promoted lines, and the API."""

from __future__ import annotations

import copy
import itertools
import json

import pytest

from edge.audit.journal import AuditRecord
from edge.catalog.schemas import ProductIn
from edge.demo.seed import seed_promotions
from edge.errors import DomainError
from edge.members.service import Consent
from edge.outbox.events import OutboxEvent
from edge.promotions.models import SalePromotion
from edge.sales.pricing import Discount
from tests.api_helpers import PROMOTION_BODY, World, nothing_written, refusal
from tests.conftest import COLA, MANAGER_PIN, WATER, terminal

CRISPS = "6904321000074"  # 乐事薯片, 零食, 7.50
YOGURT = "6904321000067"  # 伊利安慕希, 乳品, 6.50 (demo member price 5.90)
WINDOW = {"starts_at": "2020-01-01T00:00", "ends_at": "2099-12-31T00:00"}
DRINKS_10 = {"name": "饮料9折", "kind": "category_percent", "percent": 10, "categories": ["饮料"], **WINDOW}
SPEND_10_SAVE_1 = {"name": "满10减1", "kind": "threshold", "threshold": 1000, "amount": 100, **WINDOW}
_phones = (str(number) for number in itertools.count(13_600_000_000))


def member_of(store, caller):
    return store.members.register(caller, phone=next(_phones), consent=Consent("2026-11", ("membership",)),
                                  channel="pos")


def cart(store, caller, *barcodes, member=None) -> dict:
    sale = store.sales.open(caller)
    for barcode in barcodes:
        store.sales.add_line(sale.id, caller, barcode=barcode)
    if member is not None:
        store.sales.set_member(sale.id, caller, member)
    return store.sales.as_dict(store.sales.get(sale.id))


def stored_promotions(sale_id: str) -> list[tuple]:
    return [(r.promotion_id, r.amount, json.loads(r.allocation))
            for r in SalePromotion.select().where(SalePromotion.sale_id == sale_id).order_by(SalePromotion.seq)]


def set_member_price(store, sku: str, member_price: int | None) -> None:
    product = store.catalog.as_dict(store.catalog.by_sku(sku))
    del product["id"]
    store.catalog.upsert(ProductIn.model_validate({**product, "member_price": member_price}))


def test_scanning_prices_the_cart_with_each_promotion_explained_and_stored(store, cashier, manager):
    drinks = store.promotions.create(manager, dict(DRINKS_10))
    sale = cart(store, cashier, COLA, COLA, CRISPS)
    cola, crisps = sale["lines"]
    assert (cola["gross"], cola["promo_discount"], cola["total"]) == (600, 60, 540)
    assert (crisps["promo_discount"], crisps["total"]) == (0, 750)
    assert sale["promotions"] == [{"id": drinks.id, "kind": "category_percent", "label": "饮料9折 10% off",
                                   "amount": 60, "lines": {cola["id"]: 60}}]
    assert (sale["subtotal"], sale["discount_total"], sale["total"]) == (1350, 60, 1290)
    assert stored_promotions(sale["id"]) == [(drinks.id, 60, {cola["id"]: 60})]


def test_attaching_a_member_brings_member_prices_and_taking_it_off_removes_them(store, cashier):
    set_member_price(store, "DRK001", 150)
    sale = cart(store, cashier, WATER, member=member_of(store, cashier))
    assert [(p["kind"], p["amount"]) for p in sale["promotions"]] == [("member_price", 50)]
    assert sale["total"] == 150
    cleared = store.sales.as_dict(store.sales.set_member(sale["id"], cashier, None))
    assert (cleared["promotions"], cleared["total"], cleared["lines"][0]["promo_discount"]) == ([], 200, 0)
    assert stored_promotions(sale["id"]) == []


def test_a_members_level_discount_follows_the_config(store_with, demo_template):
    store = store_with({"members": {"levels": [{"name": "普通", "min_spend": 0, "discount_percent": 5}]}})
    caller = terminal(store)
    sale = cart(store, caller, CRISPS, member=member_of(store, caller))
    assert [(p["kind"], p["label"], p["amount"]) for p in sale["promotions"]] == [
        ("level_discount", "普通 95折 member 5% off", 38)]  # 5 % of 7.50 = 0.375, half-up


def test_a_cashiers_line_discount_keeps_the_line_out_of_promotions(store, cashier, manager):
    store.promotions.create(manager, dict(DRINKS_10))
    sale = cart(store, cashier, COLA)
    line_id = sale["lines"][0]["id"]
    store.sales.update_line(sale["id"], line_id, cashier, discount=Discount("amount", 10))
    shown = store.sales.as_dict(store.sales.get(sale["id"]))
    assert (shown["lines"][0]["promo_discount"], shown["lines"][0]["line_discount"], shown["promotions"]) == (0, 10, [])


def test_the_whole_sale_discount_applies_after_promotions(store, cashier, manager):
    store.promotions.create(manager, dict(DRINKS_10))
    sale = cart(store, cashier, COLA)
    shown = store.sales.as_dict(store.sales.set_discount(sale["id"], cashier, Discount("percent", 10)))
    assert (shown["lines"][0]["promo_discount"], shown["lines"][0]["sale_discount"], shown["total"]) == (30, 27, 243)


def test_removing_the_promoted_line_clears_the_stored_promotion(store, cashier, manager):
    store.promotions.create(manager, dict(DRINKS_10))
    sale = cart(store, cashier, COLA, CRISPS)
    store.sales.remove_line(sale["id"], sale["lines"][0]["id"], cashier)
    assert stored_promotions(sale["id"]) == []
    assert store.sales.as_dict(store.sales.get(sale["id"]))["promotions"] == []


def test_a_change_made_by_another_worker_is_seen_at_the_next_scan(store, cashier, manager):
    sale = cart(store, cashier, COLA)  # this worker has read (and cached) the active promotions
    other_worker = copy.copy(store.promotions)
    other_worker._cached = ("unread", [])
    other_worker.create(manager, dict(DRINKS_10))
    store.sales.add_line(sale["id"], cashier, barcode=COLA)
    assert store.sales.as_dict(store.sales.get(sale["id"]))["lines"][0]["promo_discount"] == 60


def test_deactivating_stops_the_promotion_and_is_journaled_with_an_event(store, cashier, manager):
    drinks = store.promotions.create(manager, dict(DRINKS_10))
    store.promotions.deactivate(manager, drinks.id)
    assert cart(store, cashier, COLA)["promotions"] == []
    events = OutboxEvent.select().where(OutboxEvent.type == "promotion.changed").order_by(OutboxEvent.seq)
    changes = [json.loads(e.data)["change"] for e in events]
    assert changes == ["created", "deactivated"]
    journal = AuditRecord.select().where(AuditRecord.entity_id == drinks.id).order_by(AuditRecord.seq)
    assert [(r.action, r.staff_id) for r in journal] == [("promotion.created", manager.staff_id),
                                                         ("promotion.deactivated", manager.staff_id)]


def test_the_completed_sale_event_carries_its_promotions(store, cashier, manager):
    spend = store.promotions.create(manager, dict(SPEND_10_SAVE_1))
    sale = cart(store, cashier, COLA, CRISPS)
    store.sales.complete(sale["id"], cashier, [{"method": "cash", "amount": 2000}])
    event = json.loads(OutboxEvent.select().where(OutboxEvent.type == "sale.completed").get().data)
    assert [(p["id"], p["amount"]) for p in event["promotions"]] == [(spend.id, 100)]
    assert sum(line["promo_discount"] for line in event["lines"]) == 100
    assert (event["discount_total"], event["total"]) == (100, 950)


def test_a_refund_of_a_promoted_line_gives_back_what_was_paid_for_it(store, cashier, manager):
    store.promotions.create(manager, dict(SPEND_10_SAVE_1))
    sale = cart(store, cashier, COLA, CRISPS)
    store.sales.complete(sale["id"], cashier, [{"method": "cash", "amount": 950}])
    cola = next(line for line in store.sales.as_dict(store.sales.get(sale["id"]))["lines"] if line["sku"] == "DRK002")
    refund = store.refunds.refund(cashier, sale["id"], [{"line_id": cola["id"], "qty": 1}], "退货", "original",
                                  {"pin": MANAGER_PIN})
    assert cola["promo_discount"] > 0 and refund.total == cola["total"] == 300 - cola["promo_discount"]


@pytest.mark.parametrize("change, field", [
    ({"kind": "coupon"}, "kind"),
    ({"percent": 0}, "percent"),
    ({"percent": 100}, "percent"),
    ({"categories": []}, "categories"),
    ({"threshold": 500}, "threshold"),
    ({"ends_at": "2019-01-01T00:00"}, "ends_at"),
    ({"starts_at": "next week"}, "starts_at"),
    ({"starts_at": "2020-01-01T00:00+08:00"}, "starts_at"),
    ({"weekdays": [0]}, "weekdays"),
    ({"hours_from": "20:00"}, "hours_to"),
    ({"hours_from": "25:00", "hours_to": "26:00"}, "hours_from"),
    ({"levels": ["黑卡"]}, "levels"),
    ({"name": "  "}, "name"),
    ({"id": "has space"}, "id"),
    ({"colour": "red"}, "colour"),
])
def test_a_bad_promotion_is_refused_naming_the_field_and_writes_nothing(store, manager, change, field):
    with nothing_written(store), pytest.raises(DomainError) as refused:
        store.promotions.create(manager, {**DRINKS_10, **change})
    assert refused.value.field == field


@pytest.mark.parametrize("change, field", [
    ({"amount": 1000}, "amount"),  # 满10减10: nothing left to pay
    ({"buy_qty": 2}, "buy_qty"),   # a threshold promotion takes no buy quantity
])
def test_a_bad_change_is_refused_and_writes_nothing(store, manager, change, field):
    spend = store.promotions.create(manager, dict(SPEND_10_SAVE_1))
    with nothing_written(store), pytest.raises(DomainError) as refused:
        store.promotions.update(manager, spend.id, change)
    assert refused.value.field == field


def test_a_member_price_above_the_price_is_refused_by_the_import(store):
    report = store.catalog.import_csv("sku,name,price,member_price\nNEW1,新品,100,120\nNEW2,新品二,100,90\n")
    assert report.imported == 1 and [e["field"] for e in report.errors] == ["member_price"]
    assert store.catalog.as_dict(store.catalog.by_sku("NEW2"))["member_price"] == 90


# -- the API --------------------------------------------------------------------------------------

@pytest.fixture
def world(store, flask_app, api) -> World:
    return World.around(store, flask_app, api)


def test_a_manager_runs_promotions_and_any_staff_reads_them(world):
    made = world.manager.post("/promotions", {**DRINKS_10, "id": "HQ-2026-DRINKS"})
    assert made.status_code == 201 and made.json["id"] == "HQ-2026-DRINKS"
    assert world.cashier.get("/promotions").json["promotions"][0]["label"] == "饮料9折 10% off"
    changed = world.manager.patch("/promotions/HQ-2026-DRINKS", {"percent": 20})
    assert changed.status_code == 200 and changed.json["percent"] == 20
    sale_id, _ = world.sale(COLA)
    assert world.cashier.get(f"/sales/{sale_id}").json["lines"][0]["promo_discount"] == 60
    assert world.manager.delete("/promotions/HQ-2026-DRINKS").json["active"] is False
    assert world.cashier.get("/promotions").json["promotions"] == []
    assert world.cashier.get("/promotions?include_inactive=true").json["promotions"][0]["active"] is False


def test_a_cashier_may_not_change_promotions(world):
    with nothing_written(world.store):
        refusal(world.cashier.post("/promotions", PROMOTION_BODY), 403)


def test_a_bad_promotion_over_http_names_the_field_and_writes_nothing(world):
    with nothing_written(world.store):
        refusal(world.manager.post("/promotions", {**PROMOTION_BODY, "amount": 20_000}), 422, field="amount")
        refusal(world.manager.get("/promotions/nope"), 404, field="promotion_id")
    taken = world.promotion()
    with nothing_written(world.store):
        refusal(world.manager.post("/promotions", {**PROMOTION_BODY, "id": taken}), 422, field="id", code="duplicate")


def test_the_product_api_takes_a_member_price_no_higher_than_the_price(world):
    with nothing_written(world.store):
        refusal(world.manager.post("/products", {"sku": "NEW9", "name": "新品", "price": 100, "member_price": 101}),
                422, field="member_price")
    made = world.manager.post("/products", {"sku": "NEW9", "name": "新品", "price": 100, "member_price": 80})
    assert made.status_code == 201 and made.json["member_price"] == 80


def test_the_demo_promotions_and_member_prices_show_at_the_till(store, cashier):
    assert seed_promotions(store) == ["demo: 4 promotions, 2 member prices"]
    assert seed_promotions(store) == ["demo: store already has promotions, none added"]
    sale = cart(store, cashier, COLA, COLA, COLA, YOGURT, member=member_of(store, cashier))
    by_kind = {p["kind"]: p for p in sale["promotions"]}
    assert (by_kind["buy_x_get_y"]["label"], by_kind["buy_x_get_y"]["amount"]) == ("可乐买二送一 buy 2 get 1 free", 300)
    assert by_kind["member_price"]["amount"] == 60


def test_the_order_items_are_scanned_in_does_not_change_the_sale(store, manager):
    for values in (DRINKS_10, SPEND_10_SAVE_1):
        store.promotions.create(manager, dict(values))
    member = member_of(store, terminal(store, lane=5))
    items = (COLA, CRISPS, WATER, COLA, YOGURT)
    priced = [cart(store, terminal(store, lane=lane), *order, member=member)
              for lane, order in ((6, items), (7, items[::-1]))]
    explained = [(sale["total"], sale["discount_total"], sorted((p["id"], p["amount"]) for p in sale["promotions"]))
                 for sale in priced]
    assert explained[0] == explained[1] and explained[0][1] > 0
