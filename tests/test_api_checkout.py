"""Checkout over HTTP: the README's curl walkthrough, then each part of the sale, stock and product API."""

from __future__ import annotations

import json

import pytest

from edge import audit
from edge.catalog.barcodes import make_scale_label
from tests.api_helpers import client_for, nothing_written, refusal
from tests.conftest import APPLES_SKU, COLA, MANAGER_PIN, WATER

APPROVAL = {"approval": {"pin": MANAGER_PIN}}
SALE_FIELDS = {"id", "status", "lines", "subtotal", "discount_total", "total"}
COMPLETED_FIELDS = SALE_FIELDS | {"receipt_no", "paid", "change", "rounding", "payments"}


def events(store, event_type: str) -> list[dict]:
    rows = store.db.peewee.execute_sql("SELECT data FROM outbox_event WHERE type = ? ORDER BY seq", (event_type,))
    return [json.loads(data) for (data,) in rows]


def audit_actions(store) -> list[str]:
    return [action for (action,) in store.db.peewee.execute_sql("SELECT action FROM audit_record ORDER BY seq")]


def sale_with(api, *items: dict) -> dict:
    """An open sale on the client's lane with the given lines ({"barcode"|"sku", "qty"?})."""
    sale = api.post("/sales").json
    for item in items:
        answer = api.post(f"/sales/{sale['id']}/lines", item)
        assert answer.status_code == 201, answer.json
        sale = answer.json
    return sale


def pay_cash(api, sale_id: str, amount: int) -> dict:
    answer = api.post(f"/sales/{sale_id}/complete", {"payments": [{"method": "cash", "amount": amount}]})
    assert answer.status_code == 200, answer.json
    return answer.json


@pytest.fixture
def manager(store, flask_app):
    return client_for(store, flask_app, lane=9, pin=MANAGER_PIN)


def test_the_readme_walkthrough(store, flask_app):
    lane = client_for(store, flask_app, lane=1, pin=None)
    login = lane.post("/auth/login", {"pin": "0000"})
    assert {"token", "staff"} <= login.json.keys() and login.json["staff"]["name"] == "李收银"
    lane.session = login.json["token"]
    shift = lane.post("/shifts", {"opening_float": 20000})
    assert shift.status_code == 201 and shift.json["status"] == "open" and shift.json["opening_float"] == 20000

    sale = lane.post("/sales", {}).json
    assert sale["status"] == "open" and sale["lines"] == [] and sale["total"] == 0
    lane.post(f"/sales/{sale['id']}/lines", {"barcode": "6904321000012", "qty": 2})
    cart = lane.post(f"/sales/{sale['id']}/lines", {"sku": "FRT001", "qty": 1500}).json
    assert [(l["sku"], l["qty"], l["total"]) for l in cart["lines"]] == [("DRK001", 2, 400), ("FRT001", 1500, 1920)]
    assert cart["total"] == 2320

    pay = {"payments": [{"method": "cash", "amount": 5000}]}
    key = {"Idempotency-Key": "sale-1-pay"}
    paid = lane.post(f"/sales/{sale['id']}/complete", pay, headers=key)
    assert paid.status_code == 200
    done = paid.json
    assert COMPLETED_FIELDS <= done.keys()
    assert (done["status"], done["total"], done["paid"], done["change"]) == ("completed", 2320, 2320, 2680)
    assert done["payments"][0] | {"id": None} == {"id": None, "method": "cash", "amount": 2320, "tendered": 5000,
                                                  "change": 2680, "reference": None}
    assert done["receipt_no"].startswith("S001-") and done["receipt_no"].endswith("-0001")
    with nothing_written(store):
        assert lane.post(f"/sales/{sale['id']}/complete", pay, headers=key).json == done

    line = lane.get(f"/sales/{sale['id']}").json["lines"][0]["id"]
    refund = lane.post("/refunds", {"sale_id": sale["id"], "lines": [{"line_id": line, "qty": 1}],
                                    "reason": "damaged", "approval": {"pin": "1234"}})
    assert refund.status_code == 201
    assert (refund.json["total"], refund.json["payments"]) == (200, [{"method": "cash", "amount": 200,
                                                                      "reference": None}])

    x = lane.get(f"/shifts/{shift.json['id']}/report").json
    assert x["kind"] == "X" and x["sales"]["count"] == 1 and x["sales"]["net"] == 2320
    assert x["refunds"]["total"] == 200 and x["cash"]["expected"] == 22120

    z = lane.post(f"/shifts/{shift.json['id']}/close", {"counted_cash": 22120})
    assert z.status_code == 200
    assert z.json["kind"] == "Z" and z.json["cash"]["expected"] == z.json["cash"]["counted"] == 22120
    assert z.json["cash"]["variance"] == 0
    assert [e["kind"] for e in events(store, "shift.closed")] == ["Z"]
    assert len(events(store, "sale.completed")) == len(events(store, "refund.completed")) == 1
    assert audit.verify().ok


def test_a_completed_sale_takes_its_stock_and_tells_hq(store, api):
    before = api.get("/stock/DRK001").json["on_hand"]
    sale = sale_with(api, {"barcode": WATER, "qty": 3})
    done = pay_cash(api, sale["id"], 600)
    assert api.get("/stock/DRK001").json["on_hand"] == before - 3
    [event] = events(store, "sale.completed")
    assert event["id"] == done["id"] and event["store_id"] == "S001" and event["receipt_no"] == done["receipt_no"]
    refusal(api.post(f"/sales/{sale['id']}/complete", {"payments": [{"method": "cash", "amount": 600}]}), 409,
            code="sale_completed")


def test_mixed_tender_gives_change_from_the_cash_only(api):
    sale = sale_with(api, {"barcode": COLA, "qty": 3})
    answer = api.post(f"/sales/{sale['id']}/complete", {"payments": [
        {"method": "card", "amount": 500, "reference": "POS-778812"}, {"method": "cash", "amount": 1000}]})
    assert answer.status_code == 200
    payments = [(p["method"], p["amount"], p["tendered"], p["change"], p["reference"])
                for p in answer.json["payments"]]
    assert payments == [("card", 500, 500, 0, "POS-778812"), ("cash", 400, 1000, 600, None)]
    assert (answer.json["paid"], answer.json["change"]) == (900, 600)


def test_lines_change_and_go(api):
    sale = sale_with(api, {"barcode": WATER}, {"barcode": WATER}, {"sku": "DRK002"})
    water, cola = sale["lines"]
    assert water["qty"] == 2  # the same plain item again adds to its line
    changed = api.patch(f"/sales/{sale['id']}/lines/{water['id']}", {"qty": 5}).json
    assert changed["lines"][0]["qty"] == 5 and changed["total"] == 5 * 200 + 300
    removed = api.delete(f"/sales/{sale['id']}/lines/{cola['id']}").json
    assert [l["sku"] for l in removed["lines"]] == ["DRK001"] and removed["total"] == 1000
    refusal(api.delete(f"/sales/{sale['id']}/lines/{cola['id']}"), 404, field="line_id")


def test_a_scale_label_gives_a_weighed_line(store, api):
    label = make_scale_label("20", "01020", 750, store.config.checkout.variable_barcodes)  # 7.50 of apples
    sale = sale_with(api, {"barcode": label})
    [line] = sale["lines"]
    assert (line["sku"], line["label_price"], line["total"]) == (APPLES_SKU, 750, 750)
    assert (line["qty"], line["sold_by"]) == (750 * 1000 // 1280, "weight")
    refusal(api.patch(f"/sales/{sale['id']}/lines/{line['id']}", {"qty": 800}), 409, field="qty")


def test_suspend_and_resume_on_another_lane(store, flask_app, api):
    sale = sale_with(api, {"barcode": WATER})
    suspended = api.post(f"/sales/{sale['id']}/suspend")
    assert suspended.status_code == 200 and suspended.json["status"] == "suspended"
    assert [s["id"] for s in api.get("/sales").json["sales"]] == [sale["id"]]
    refusal(api.get("/sales/current"), 404, field="sale_id")
    refusal(api.post(f"/sales/{sale['id']}/lines", {"barcode": COLA}), 409, code="sale_suspended")

    lane2 = client_for(store, flask_app, lane=2, shift_float=0)
    waiting = lane2.post("/sales").json  # an empty sale gives way to the resumed one
    resumed = lane2.post(f"/sales/{sale['id']}/resume")
    assert resumed.status_code == 200 and resumed.json["status"] == "open" and resumed.json["lane"] == 2
    assert lane2.get("/sales/current").json["id"] == sale["id"]
    refusal(lane2.get(f"/sales/{waiting['id']}"), 404, field="sale_id")
    assert api.get("/sales").json["sales"] == []
    assert pay_cash(lane2, sale["id"], 200)["receipt_no"]
    assert "sale.suspended" in audit_actions(store) and "sale.resumed" in audit_actions(store)


def test_an_empty_sale_cannot_be_suspended(store, api):
    sale = api.post("/sales").json
    with nothing_written(store):
        refusal(api.post(f"/sales/{sale['id']}/suspend"), 409, code="sale_empty")


def test_void_needs_the_manager_once_the_sale_has_lines(store, api):
    sale = sale_with(api, {"barcode": WATER}, {"barcode": COLA})
    with nothing_written(store):
        refusal(api.post(f"/sales/{sale['id']}/void", {"reason": "顾客离开"}), 403, field="approval.pin",
                code="approval_required")
    voided = api.post(f"/sales/{sale['id']}/void", {"reason": "顾客离开", **APPROVAL})
    assert voided.status_code == 200
    manager_id = store.db.peewee.execute_sql("SELECT id FROM staff WHERE role = 'manager'").fetchone()[0]
    assert (voided.json["status"], voided.json["void_reason"], voided.json["voided_by"]) == (
        "voided", "顾客离开", manager_id)
    assert events(store, "sale.voided") == [{"sale_id": sale["id"], "reason": "顾客离开", "total": 500, "lines": 2,
                                             "approved_by": manager_id}]
    assert api.get(f"/shifts/{voided.json['shift_id']}/report").json["voids"] == 1
    refusal(api.post(f"/sales/{sale['id']}/void", {"reason": "again", **APPROVAL}), 409, code="sale_voided")

    empty = api.post("/sales").json  # an empty sale is voided without a manager
    assert api.post(f"/sales/{empty['id']}/void", {"reason": "误开"}).json["status"] == "voided"


def test_line_discounts_within_the_limit_need_no_manager(store, api):
    sale = sale_with(api, {"barcode": WATER, "qty": 5})  # 1000 fen
    line = sale["lines"][0]["id"]
    within = api.patch(f"/sales/{sale['id']}/lines/{line}", {"discount": {"kind": "percent", "value": 10}}).json
    assert (within["lines"][0]["line_discount"], within["total"], within["discount_total"]) == (100, 900, 100)
    with nothing_written(store):
        refusal(api.patch(f"/sales/{sale['id']}/lines/{line}", {"discount": {"kind": "percent", "value": 50}}),
                403, code="approval_required")
    above = api.patch(f"/sales/{sale['id']}/lines/{line}",
                      {"discount": {"kind": "percent", "value": 50}, **APPROVAL}).json
    assert above["lines"][0]["discount"] == {"kind": "percent", "value": 50} and above["total"] == 500
    cleared = api.patch(f"/sales/{sale['id']}/lines/{line}", {"clear_discount": True}).json
    assert cleared["total"] == 1000 and cleared["lines"][0]["discount"] is None
    assert audit_actions(store).count("sale.discount_approved") == 1


def test_a_whole_sale_discount_is_spread_exactly_over_the_lines(api):
    sale = sale_with(api, {"barcode": WATER}, {"barcode": COLA}, {"sku": "DRK003"})  # 200 + 300 + 350
    answer = api.post(f"/sales/{sale['id']}/discount", {"discount": {"kind": "amount", "value": 80}}).json
    shares = [l["sale_discount"] for l in answer["lines"]]
    assert sum(shares) == 80 and answer["total"] == 770 and answer["discount"] == {"kind": "amount", "value": 80}
    assert [l["total"] for l in answer["lines"]] == [l["gross"] - s for l, s in zip(answer["lines"], shares)]
    removed = api.post(f"/sales/{sale['id']}/discount", {"discount": None}).json
    assert removed["total"] == 850 and removed["discount"] is None


def test_a_price_override_needs_the_manager(store, api):
    sale = sale_with(api, {"barcode": COLA})
    line = sale["lines"][0]["id"]
    with nothing_written(store):
        refusal(api.patch(f"/sales/{sale['id']}/lines/{line}", {"unit_price": 250}), 403, code="approval_required")
    answer = api.patch(f"/sales/{sale['id']}/lines/{line}", {"unit_price": 250, **APPROVAL}).json
    assert answer["lines"][0]["price_overridden"] is True and answer["total"] == 250
    assert "sale.price_override" in audit_actions(store)


def test_the_salesperson_is_named_on_the_sale(store, api):
    sale = api.post("/sales", {"salesperson_id": 1}).json
    assert sale["salesperson_id"] == 1 and sale["cashier_id"] != 1
    assert api.patch(f"/sales/{sale['id']}", {"salesperson_id": None}).json["salesperson_id"] is None
    refusal(api.patch(f"/sales/{sale['id']}", {"salesperson_id": 999}), 422, field="salesperson_id")


def test_refund_by_receipt_number_and_its_lookup(store, api):
    sale = sale_with(api, {"barcode": WATER, "qty": 2}, {"barcode": COLA})
    done = pay_cash(api, sale["id"], 1000)
    refund = api.post("/refunds", {"receipt_no": done["receipt_no"], "reason": "整单退货", **APPROVAL})
    assert refund.status_code == 201 and refund.json["total"] == 700 and refund.json["refund_no"].startswith("RS001-")
    assert api.get(f"/refunds/{refund.json['id']}").json == refund.json
    assert api.get(f"/sales/{sale['id']}").json["receipt_no"] == done["receipt_no"]
    found = api.get(f"/sales?receipt_no={done['receipt_no']}").json["sales"]
    assert [s["id"] for s in found] == [sale["id"]]
    refusal(api.get("/sales?receipt_no=S001-19990101-0001"), 404, field="receipt_no")
    refusal(api.get(f"/sales?receipt_no={done['receipt_no']}&status=suspended"), 422)
    assert api.get("/stock/DRK001").json["on_hand"] == 50
    with nothing_written(store):
        refusal(api.post("/refunds", {"sale_id": sale["id"], "reason": "again", **APPROVAL}), 409,
                code="fully_refunded")
        refusal(api.post("/refunds", {"receipt_no": "S001-19990101-0001", "reason": "x", **APPROVAL}), 404,
                field="receipt_no")
        refusal(api.get("/refunds/nope"), 404, field="refund_id")


def test_cash_movements_count_in_the_expected_cash(store, api):
    shift = api.get("/shifts/current").json["id"]
    assert api.post(f"/shifts/{shift}/cash", {"kind": "in", "amount": 5000, "reason": "零钱"}).status_code == 201
    assert api.post(f"/shifts/{shift}/cash", {"kind": "out", "amount": 2000, "reason": "上缴"}).status_code == 201
    with nothing_written(store):
        refusal(api.post(f"/shifts/{shift}/cash", {"kind": "no_sale", "reason": "看看"}), 403,
                code="approval_required")
    drawer = api.post(f"/shifts/{shift}/cash", {"kind": "no_sale", "reason": "换零钱", **APPROVAL})
    assert drawer.status_code == 201 and drawer.json["approved_by"] is not None
    report = api.get(f"/shifts/{shift}/report").json
    assert report["cash"]["expected"] == 10_000 + 5000 - 2000 and report["no_sale_opens"] == 1
    z = api.post(f"/shifts/{shift}/close", {"counted_cash": 12_900}).json
    assert z["cash"]["variance"] == -100
    refusal(api.post("/sales"), 409, code="no_open_shift")


def test_stock_receipts_and_adjustments(store, api, manager):
    received = manager.post("/stock/receipts", {"lines": [{"sku": "DRK001", "qty": 24}], "supplier": "农夫山泉"})
    assert received.status_code == 201
    assert [(l["sku"], l["on_hand"]) for l in received.json["levels"]] == [("DRK001", 74)]
    broken = manager.post("/stock/adjustments", {"sku": "DRK001", "qty": -4, "reason": "破损"}).json
    assert broken["on_hand"] == 70 and broken["movement"]
    counted = manager.post("/stock/adjustments", {"sku": "DRK001", "counted": 68, "reason": "盘点"}).json
    assert counted["on_hand"] == 68
    same = manager.post("/stock/adjustments", {"sku": "DRK001", "counted": 68, "reason": "盘点"}).json
    assert same["movement"] is None
    assert [(e["sku"], e["qty"], e["reason"]) for e in events(store, "stock.movement")][-3:] == [
        ("DRK001", 24, "receipt"), ("DRK001", -4, "adjustment"), ("DRK001", -2, "stocktake")]
    assert api.get("/stock/DRK001").json["on_hand"] == 68
    refusal(api.get("/stock/NOPE"), 404, field="sku")


def test_stock_may_go_negative_and_is_flagged(api, manager):
    pay_cash(api, sale_with(api, {"barcode": "6904321000180", "qty": 51})["id"], 51 * 25800)  # 50 in stock
    level = api.get("/stock/BAB002").json
    assert (level["on_hand"], level["negative"]) == (-1, True)
    assert [l["sku"] for l in manager.get("/stock").json["negative"]] == ["BAB002"]


def test_finding_products(store, api):
    by_barcode = api.get(f"/products?barcode={WATER}").json["products"]
    assert [p["sku"] for p in by_barcode] == ["DRK001"]
    product = by_barcode[0]
    assert {"id", "sku", "name", "price", "barcodes", "sold_by", "tax_rate", "active"} <= product.keys()
    assert api.get(f"/products/{product['id']}").json == product
    assert api.get("/products?sku=DRK002").json["products"][0]["barcodes"] == [COLA]
    assert {p["sku"] for p in api.get("/products?q=牛").json["products"]} == {"DRK005", "NDL001", "NDL002",
                                                                             "SNK003"}
    assert len(api.get("/products?q=DRK&limit=2").json["products"]) == 2
    label = make_scale_label("20", "01020", 1234, store.config.checkout.variable_barcodes)
    assert api.get(f"/products?barcode={label}").json["products"][0]["sku"] == APPLES_SKU
    refusal(api.get("/products"), 422, field="q")
    refusal(api.get("/products/99999"), 404, field="product_id")


def test_a_new_product_can_be_sold_at_once(store, api, manager):
    created = manager.post("/products", {"sku": "NEW001", "name": "新品酸奶", "category": "乳品", "price": 590,
                                         "barcodes": ["036000291452"]})
    assert created.status_code == 201
    assert created.json["barcodes"] == ["0036000291452"] and created.json["category"] == "乳品"
    sale = sale_with(api, {"barcode": "036000291452"}, {"sku": "NEW001"})
    assert sale["lines"][0]["qty"] == 2 and sale["total"] == 1180
    repriced = manager.post("/products", {"sku": "NEW001", "name": "新品酸奶", "price": 650}).json
    assert repriced["id"] == created.json["id"] and repriced["price"] == 650
    assert [e["product"]["price"] for e in events(store, "product.upserted")][-2:] == [590, 650]
    with nothing_written(store):
        refusal(manager.post("/products", {"sku": "NEW002", "name": "冒牌", "price": 1, "barcodes": [WATER]}), 409,
                field="barcodes", code="conflict")


def test_a_csv_import_reports_bad_rows_and_keeps_the_good(manager, api):
    csv = ("sku,name,price,barcodes\n"
           "NEW010,好商品,300,\n"
           "NEW011,坏条码,300,6904321000013\n"
           "NEW012,坏价格,abc,\n")
    report = manager.post("/products/import", {"csv": csv}).json
    assert (report["imported"], report["updated"]) == (1, 0)
    assert [(e["line"], e["field"]) for e in report["errors"]] == [(3, "barcodes[0]"), (4, "price")]
    assert api.get("/products?sku=NEW010").status_code == 200
    refusal(api.get("/products?sku=NEW011"), 404, field="sku")
