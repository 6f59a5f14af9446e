"""Bad input over HTTP: each case gets a 4xx JSON error naming the field or reason, and writes nothing.

The cases share one store (module scope): every case must leave it exactly as it found it, which is what
each one checks, so sharing costs no isolation.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.api_helpers import client_for, nothing_written, refusal
from tests.conftest import APPLES_SKU, MANAGER_PIN, WATER, open_store

UNKNOWN_BARCODE = "6904321000999"  # a valid EAN-13 no product has
BAD_CHECK_DIGIT = "6904321000013"  # water's barcode with the last digit changed
LABEL_BAD_CHECK_DIGIT = "2001020005005"  # 5.00 of apples, check digit 4 changed to 5
LABEL_UNKNOWN_PLU = "2009999005001"
TOO_MUCH = 10**10 + 1
APPROVAL = {"pin": MANAGER_PIN}


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """Lane 1: an open sale with two waters, and a completed sale; lane 2: an empty open sale; a manager."""
    store = open_store(tmp_path_factory.mktemp("shop"))
    flask_app = store.web()
    lane1 = client_for(store, flask_app, lane=1, shift_float=10_000)
    lane2 = client_for(store, flask_app, lane=2, shift_float=10_000)
    manager = client_for(store, flask_app, lane=9, pin=MANAGER_PIN)

    done = lane1.post("/sales").json["id"]
    lane1.post(f"/sales/{done}/lines", {"barcode": WATER})
    assert lane1.post(f"/sales/{done}/complete", {"payments": [{"method": "cash", "amount": 200}]}).status_code == 200
    sale = lane1.post("/sales").json["id"]
    lines = lane1.post(f"/sales/{sale}/lines", {"barcode": WATER, "qty": 2}).json["lines"]
    ids = {
        "sale": sale, "line": lines[0]["id"], "done": done,
        "done_line": lane1.get(f"/sales/{done}").json["lines"][0]["id"],
        "empty": lane2.post("/sales").json["id"], "shift": lane1.get("/shifts/current").json["id"],
    }
    yield SimpleNamespace(store=store, clients={"lane1": lane1, "lane2": lane2, "manager": manager}, ids=ids)
    store.db.close()


def case(name, method, path, body, status, field=None, code=None, client="lane1", raw=None):
    """One refused request; ``path`` and string bodies may name the shop's ids as {sale}, {line}, …"""
    return pytest.param(client, method, path, body, raw, status, field, code, id=name)


CASES = [
    # malformed JSON
    case("truncated JSON", "POST", "/sales/{sale}/lines", None, 400, code="malformed_json",
         raw=b'{"barcode": '),
    case("not JSON at all", "POST", "/sales/{sale}/complete", None, 400, code="malformed_json", raw=b"cash 50"),
    case("not UTF-8", "POST", "/shifts", None, 400, code="malformed_json", raw=b'{"opening_float": "\xff"}'),
    case("JSON list for an object", "POST", "/sales/{sale}/lines", [WATER], 422, field="body"),
    case("JSON null for an object", "POST", "/sales/{sale}/complete", None, 422, field="body", raw=b"null"),
    case("body over 1 MiB", "POST", "/products/import", None, 413, code="too_large", client="manager",
         raw=b'{"csv": "' + b"x" * (1 << 20) + b'"}'),
    # wrong types
    case("qty as text", "POST", "/sales/{sale}/lines", {"barcode": WATER, "qty": "2"}, 422, "qty"),
    case("qty as a fraction", "POST", "/sales/{sale}/lines", {"barcode": WATER, "qty": 1.5}, 422, "qty"),
    case("qty as a boolean", "POST", "/sales/{sale}/lines", {"barcode": WATER, "qty": True}, 422, "qty"),
    case("barcode as a number", "POST", "/sales/{sale}/lines", {"barcode": int(WATER)}, 422, "barcode"),
    case("payments as text", "POST", "/sales/{sale}/complete", {"payments": "cash"}, 422, "payments"),
    case("amount as text", "POST", "/sales/{sale}/complete",
         {"payments": [{"method": "cash", "amount": "500"}]}, 422, "payments[0].amount"),
    case("amount in yuan", "POST", "/sales/{sale}/complete",
         {"payments": [{"method": "cash", "amount": 5.0}]}, 422, "payments[0].amount"),
    case("float as text", "POST", "/shifts", {"opening_float": "20000"}, 422, "opening_float", client="lane2"),
    case("discount kind unknown", "POST", "/sales/{sale}/discount",
         {"discount": {"kind": "bogo", "value": 1}}, 422, "discount.kind"),
    case("unknown field", "POST", "/sales/{sale}/lines", {"barcode": WATER, "price": 1}, 422, "price"),
    case("approval PIN not digits", "POST", "/sales/{sale}/void", {"reason": "x", "approval": {"pin": "abcd"}},
         422, "approval.pin"),
    case("limit not a number", "GET", "/products?q=水&limit=many", None, 422, "limit"),
    # missing or conflicting fields
    case("no barcode nor sku", "POST", "/sales/{sale}/lines", {"qty": 1}, 422, "body"),
    case("both barcode and sku", "POST", "/sales/{sale}/lines", {"barcode": WATER, "sku": "DRK001"}, 422, "body"),
    case("no payments", "POST", "/sales/{sale}/complete", {}, 422, "payments"),
    case("empty payments", "POST", "/sales/{sale}/complete", {"payments": []}, 422, "payments"),
    case("payment without amount", "POST", "/sales/{sale}/complete", {"payments": [{"method": "cash"}]}, 422,
         "payments[0].amount"),
    case("void without reason", "POST", "/sales/{sale}/void", {"approval": APPROVAL}, 422, "reason"),
    case("refund of no sale", "POST", "/refunds", {"reason": "x", "approval": APPROVAL}, 422, "body"),
    case("refund without reason", "POST", "/refunds", {"sale_id": "{done}", "approval": APPROVAL}, 422, "reason"),
    case("close without count", "POST", "/shifts/{shift}/close", {}, 422, "counted_cash"),
    case("product without price", "POST", "/products", {"sku": "X1", "name": "x"}, 422, "price", client="manager"),
    case("product with blank name", "POST", "/products", {"sku": "X1", "name": "  ", "price": 1}, 422, "name",
         client="manager"),
    case("receipt without lines", "POST", "/stock/receipts", {"lines": []}, 422, "lines", client="manager"),
    case("adjustment by qty and count", "POST", "/stock/adjustments",
         {"sku": "DRK001", "qty": 1, "counted": 5, "reason": "x"}, 422, "qty", client="manager"),
    case("adjustment by neither", "POST", "/stock/adjustments", {"sku": "DRK001", "reason": "x"}, 422, "qty",
         client="manager"),
    case("no search term", "GET", "/products", None, 422, "q"),
    # zero, negative and absurd quantities
    case("qty zero", "POST", "/sales/{sale}/lines", {"barcode": WATER, "qty": 0}, 422, "qty"),
    case("qty negative", "POST", "/sales/{sale}/lines", {"barcode": WATER, "qty": -1}, 422, "qty"),
    case("qty above the line limit", "POST", "/sales/{sale}/lines", {"barcode": WATER, "qty": 10_000}, 422, "qty"),
    case("qty beyond any limit", "POST", "/sales/{sale}/lines", {"barcode": WATER, "qty": 10**30}, 422, "qty"),
    case("line grows past the limit", "POST", "/sales/{sale}/lines", {"barcode": WATER, "qty": 9998}, 422, "qty"),
    case("weighed without grams", "POST", "/sales/{sale}/lines", {"sku": APPLES_SKU}, 422, "qty"),
    case("weighed over 100 kg", "POST", "/sales/{sale}/lines", {"sku": APPLES_SKU, "qty": 100_001}, 422, "qty"),
    case("qty for a scale label", "POST", "/sales/{sale}/lines",
         {"barcode": "2001020005004", "qty": 2}, 422, "qty"),
    case("line qty to zero", "PATCH", "/sales/{sale}/lines/{line}", {"qty": 0}, 422, "qty"),
    case("line qty absurd", "PATCH", "/sales/{sale}/lines/{line}", {"qty": 50_000}, 422, "qty"),
    case("received qty zero", "POST", "/stock/receipts", {"lines": [{"sku": "DRK001", "qty": 0}]}, 422,
         "lines[0].qty", client="manager"),
    case("adjustment absurd", "POST", "/stock/adjustments", {"sku": "DRK001", "qty": -10**7, "reason": "x"}, 422,
         "qty", client="manager"),
    case("refund qty zero", "POST", "/refunds", {"sale_id": "{done}", "lines": [{"line_id": "{done_line}", "qty": 0}],
                                                 "reason": "x", "approval": APPROVAL}, 422, "lines[0].qty"),
    case("refund more than sold", "POST", "/refunds",
         {"sale_id": "{done}", "lines": [{"line_id": "{done_line}", "qty": 2}], "reason": "x", "approval": APPROVAL},
         422, "lines[0].qty", code="refund_exceeds_sale"),
    # amounts beyond 10^10 fen, and negative amounts
    case("payment too large", "POST", "/sales/{sale}/complete",
         {"payments": [{"method": "cash", "amount": TOO_MUCH}]}, 422, "payments[0].amount"),
    case("payment negative", "POST", "/sales/{sale}/complete",
         {"payments": [{"method": "cash", "amount": -400}]}, 422, "payments[0].amount"),
    case("float too large", "POST", "/shifts", {"opening_float": TOO_MUCH}, 422, "opening_float", client="lane2"),
    case("float negative", "POST", "/shifts", {"opening_float": -1}, 422, "opening_float", client="lane2"),
    case("counted cash too large", "POST", "/shifts/{shift}/close", {"counted_cash": TOO_MUCH}, 422,
         "counted_cash"),
    case("cash in too large", "POST", "/shifts/{shift}/cash", {"kind": "in", "amount": TOO_MUCH, "reason": "x"},
         422, "amount"),
    case("cash out of nothing", "POST", "/shifts/{shift}/cash", {"kind": "out", "amount": 0, "reason": "x"}, 422,
         "amount"),
    case("price override too large", "PATCH", "/sales/{sale}/lines/{line}",
         {"unit_price": TOO_MUCH, "approval": APPROVAL}, 422, "unit_price"),
    case("discount too large", "POST", "/sales/{sale}/discount", {"discount": {"kind": "amount", "value": TOO_MUCH}},
         422, "discount.value"),
    case("discount over 100 %", "PATCH", "/sales/{sale}/lines/{line}", {"discount": {"kind": "percent", "value": 101}},
         422, "discount.value"),
    case("line discount over the line", "PATCH", "/sales/{sale}/lines/{line}",
         {"discount": {"kind": "amount", "value": 401}, "approval": APPROVAL}, 422, "discount.value"),
    case("sale discount over the sale", "POST", "/sales/{sale}/discount",
         {"discount": {"kind": "amount", "value": 401}, "approval": APPROVAL}, 422, "discount.value"),
    case("product price too large", "POST", "/products", {"sku": "X1", "name": "x", "price": TOO_MUCH}, 422, "price",
         client="manager"),
    # unknown and mistyped barcodes
    case("unknown barcode", "POST", "/sales/{sale}/lines", {"barcode": UNKNOWN_BARCODE}, 404, "barcode"),
    case("bad check digit", "POST", "/sales/{sale}/lines", {"barcode": BAD_CHECK_DIGIT}, 422, "barcode"),
    case("letters in barcode", "POST", "/sales/{sale}/lines", {"barcode": "69043210000AB"}, 422, "barcode"),
    case("barcode too short", "POST", "/sales/{sale}/lines", {"barcode": "69043210"}, 422, "barcode"),
    case("scale label bad check digit", "POST", "/sales/{sale}/lines", {"barcode": LABEL_BAD_CHECK_DIGIT}, 422,
         "barcode"),
    case("scale label unknown PLU", "POST", "/sales/{sale}/lines", {"barcode": LABEL_UNKNOWN_PLU}, 404, "barcode"),
    case("unknown SKU", "POST", "/sales/{sale}/lines", {"sku": "NOPE01"}, 404, "sku"),
    case("lookup bad check digit", "GET", f"/products?barcode={BAD_CHECK_DIGIT}", None, 422, "barcode"),
    case("lookup unknown barcode", "GET", f"/products?barcode={UNKNOWN_BARCODE}", None, 404, "barcode"),
    case("product with bad barcode", "POST", "/products",
         {"sku": "X1", "name": "x", "price": 1, "barcodes": [BAD_CHECK_DIGIT]}, 422, "barcodes[0]", client="manager"),
    # payments that do not settle the sale
    case("payment short", "POST", "/sales/{sale}/complete", {"payments": [{"method": "cash", "amount": 399}]}, 422,
         "payments", code="payment_short"),
    case("card without reference", "POST", "/sales/{sale}/complete",
         {"payments": [{"method": "card", "amount": 400}]}, 422, "payments[0].reference"),
    case("card over the total", "POST", "/sales/{sale}/complete",
         {"payments": [{"method": "card", "amount": 500, "reference": "T1"}]}, 422, "payments"),
    case("unknown tender", "POST", "/sales/{sale}/complete", {"payments": [{"method": "bitcoin", "amount": 400}]},
         422, "payments[0].method"),
    # the sale is in the wrong state
    case("complete an empty sale", "POST", "/sales/{empty}/complete",
         {"payments": [{"method": "cash", "amount": 100}]}, 409, "sale_id", code="sale_empty", client="lane2"),
    case("complete a completed sale", "POST", "/sales/{done}/complete",
         {"payments": [{"method": "cash", "amount": 200}]}, 409, "sale_id", code="sale_completed"),
    case("add to a completed sale", "POST", "/sales/{done}/lines", {"barcode": WATER}, 409, "sale_id",
         code="sale_completed"),
    case("void a completed sale", "POST", "/sales/{done}/void", {"reason": "x", "approval": APPROVAL}, 409,
         "sale_id", code="sale_completed"),
    case("refund an open sale", "POST", "/refunds", {"sale_id": "{sale}", "reason": "x", "approval": APPROVAL}, 409,
         "sale_id", code="sale_open"),
    case("resume an open sale", "POST", "/sales/{sale}/resume", None, 409, "sale_id"),
    case("a second open sale", "POST", "/sales", {}, 409, "sale_id", code="sale_open"),
    case("a second shift", "POST", "/shifts", {"opening_float": 0}, 409, code="shift_open"),
    case("another lane's sale", "POST", "/sales/{sale}/lines", {"barcode": WATER}, 409, "sale_id",
         code="other_terminal", client="lane2"),
    case("another lane's shift", "POST", "/shifts/{shift}/close", {"counted_cash": 0}, 409, "shift_id",
         client="lane2"),
    # unknown ids and routes
    case("unknown sale", "GET", "/sales/no-such-sale", None, 404, "sale_id"),
    case("line on unknown sale", "POST", "/sales/no-such-sale/lines", {"barcode": WATER}, 404, "sale_id"),
    case("change unknown line", "PATCH", "/sales/{sale}/lines/no-such-line", {"qty": 1}, 404, "line_id"),
    case("remove unknown line", "DELETE", "/sales/{sale}/lines/no-such-line", None, 404, "line_id"),
    case("refund unknown sale", "POST", "/refunds", {"sale_id": "no-such-sale", "reason": "x", "approval": APPROVAL},
         404, "sale_id"),
    case("refund a line of another sale", "POST", "/refunds",
         {"sale_id": "{done}", "lines": [{"line_id": "{line}"}], "reason": "x", "approval": APPROVAL}, 422,
         "lines[0].line_id"),
    case("close unknown shift", "POST", "/shifts/no-such-shift/close", {"counted_cash": 0}, 404, "shift_id"),
    case("report of unknown shift", "GET", "/shifts/no-such-shift/report", None, 404, "shift_id"),
    case("unknown product", "GET", "/products/424242", None, 404, "product_id"),
    case("product id not a number", "GET", "/products/abc", None, 404, code="not_found"),
    case("unknown salesperson", "PATCH", "/sales/{sale}", {"salesperson_id": 999}, 422, "salesperson_id"),
    case("receive unknown SKU", "POST", "/stock/receipts", {"lines": [{"sku": "DRK001", "qty": 1},
                                                                    {"sku": "NOPE01", "qty": 1}]},
         404, "lines[1].sku", client="manager"),
    case("unpair unknown device", "DELETE", "/devices/4242", None, 404, "device_id", client="manager"),
    case("unknown route", "POST", "/tills", {}, 404, code="not_found"),
    case("wrong method", "PUT", "/sales/{sale}", {}, 405, code="method_not_allowed"),
]


def _fill(value, ids: dict):
    """The case's path or body with the shop's ids put in."""
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("client, method, path, body, raw, status, field, code", CASES)
def test_bad_input_is_refused_and_writes_nothing(shop, client, method, path, body, raw, status, field, code):
    headers = {"Content-Type": "application/json"} if raw is not None else None
    with nothing_written(shop.store):
        answer = shop.clients[client].request(method, _fill(path, shop.ids), json=_fill(body, shop.ids),
                                              data=raw, headers=headers)
    refusal(answer, status, field=field, code=code)


def test_the_first_problem_is_named_and_the_others_counted(shop):
    answer = shop.clients["lane1"].post("/sales/{sale}/complete".format(**shop.ids), {"payments": [
        {"method": "cash", "amount": "1"}, {"method": "", "amount": -1}]})
    error = refusal(answer, 422, field="payments[0].amount", code="invalid")
    assert error["message"].startswith("payments[0].amount: ") and "(and 2 more problems)" in error["message"]
