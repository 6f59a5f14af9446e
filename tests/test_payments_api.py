"""Scan-to-pay through the API, against the built-in simulator (no credentials configured): start from the
tender step or the scanner, follow with a long poll, cancel, switch tenders, refund."""

from __future__ import annotations

import itertools
import time

import pytest

from edge.db import database
from edge.payments.models import PaymentRefund
from tests.api_helpers import MANAGER_APPROVAL, World, client_for, nothing_written, refusal
from tests.conftest import WATER, copied_store
from tests.payments_helpers import FAST, payment_code


@pytest.fixture(scope="module")
def shop(demo_template, tmp_path_factory):
    store = copied_store(demo_template, tmp_path_factory.mktemp("payments-api"), {"payments": FAST})
    flask_app = store.web()  # starts the background drivers, as the web process does
    yield store, flask_app
    store.db.close()


lanes = itertools.count(1)


def lane_on(store, flask_app) -> World:
    """A cashier's lane of its own, with an open shift (the manager approves by PIN in the body)."""
    database.initialize(store.db.peewee)  # models follow the last store opened
    return World(store, flask_app, client_for(store, flask_app, lane=next(lanes), shift_float=10_000), None)


@pytest.fixture
def world(shop) -> World:
    return lane_on(*shop)


def follow(w: World, payment_id: str) -> dict:
    """The attempt once final, following it as the tender screen does (long polls, bounded)."""
    for _ in range(40):
        answer = w.cashier.get(f"/payments/{payment_id}?wait_ms=500")
        assert answer.status_code == 200, answer.json
        if answer.json["final"] and answer.json["sale_status"] != "open" or answer.json["state"] in ("failed",
                                                                                                     "reversed"):
            return answer.json
    raise AssertionError(f"payment {payment_id} did not settle: {answer.json}")


def start(w: World, sale_id: str, code: str, **body) -> dict:
    answer = w.cashier.post(f"/sales/{sale_id}/payments", {"code": code, **body})
    assert answer.status_code == 201, answer.json
    return answer.json


def test_a_code_paid_at_once_answers_paid_with_the_sale_completed(world):
    sale_id, _ = world.sale(WATER)
    attempt = start(world, sale_id, payment_code("wechat"))
    assert (attempt["state"], attempt["provider"], attempt["sale_status"]) == ("paid", "wechat", "completed")
    assert attempt["simulated"] is True and "SIMULATOR" in attempt["simulator_notice"]
    sale = world.cashier.get(f"/sales/{sale_id}").json
    assert sale["status"] == "completed"
    assert [(p["method"], p["amount"], p["reference"]) for p in sale["payments"]] == \
        [("wechat", sale["total"], attempt["id"])]


def test_while_the_customer_confirms_the_screen_is_told_and_follows(world):
    sale_id, _ = world.sale(WATER)
    attempt = start(world, sale_id, payment_code("alipay", "userpaying"))
    assert attempt["state"] == "paying" and "waiting for the customer to confirm" in attempt["message"]
    settled = follow(world, attempt["id"])
    assert settled["state"] == "paid" and settled["sale_status"] == "completed"
    listed = world.cashier.get(f"/sales/{sale_id}/payments").json["payments"]
    assert [p["id"] for p in listed] == [attempt["id"]]


def test_a_payment_code_read_by_the_scanner_starts_the_payment(world):
    sale_id, _ = world.sale(WATER)
    scanned = world.cashier.post(f"/sales/{sale_id}/scan", {"code": payment_code("unionpay")})
    assert scanned.status_code == 200, scanned.json
    assert scanned.json["kind"] == "payment" and scanned.json["payment"]["provider"] == "unionpay"
    assert follow(world, scanned.json["payment"]["id"])["state"] == "paid"
    assert world.cashier.get(f"/sales/{sale_id}").json["status"] == "completed"


def test_cancelling_reverses_and_the_cashier_switches_to_cash(world):
    sale_id, _ = world.sale(WATER)
    attempt = start(world, sale_id, payment_code("wechat", "never"))
    refused = world.cashier.post(f"/sales/{sale_id}/complete", {"payments": [{"method": "cash", "amount": 500}]})
    refusal(refused, 409, code="payment_in_flight")
    cancelled = world.cashier.post(f"/payments/{attempt['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["state"] in ("reversing", "reversed")
    assert follow(world, attempt["id"])["state"] == "reversed"
    paid = world.cashier.post(f"/sales/{sale_id}/complete", {"payments": [{"method": "cash", "amount": 500}]})
    assert paid.status_code == 200 and paid.json["status"] == "completed"


def test_an_unreachable_provider_is_reported_at_once_and_the_sale_is_kept(store_with):
    store = store_with({"payments": FAST})
    world = lane_on(store, store.web())
    world.store.payments.adapter("wechat")  # built against the simulator, which then goes away
    world.store.payments.simulator().stop()
    sale_id, _ = world.sale(WATER)
    attempt = start(world, sale_id, payment_code("wechat"))
    assert attempt["state"] == "failed" and "provider unreachable" in attempt["message"]
    paid = world.cashier.post(f"/sales/{sale_id}/complete", {"payments": [{"method": "cash", "amount": 500}]})
    assert paid.status_code == 200 and paid.json["status"] == "completed"


def test_the_same_scan_sent_twice_is_one_payment(world):
    sale_id, _ = world.sale(WATER)
    code = payment_code("alipay")
    first = start(world, sale_id, code)
    again = start(world, sale_id, code)
    assert again["id"] == first["id"] and again["state"] == "paid"
    assert [p["id"] for p in world.cashier.get(f"/sales/{sale_id}/payments").json["payments"]] == [first["id"]]


BAD_REQUESTS = [
    ({"code": WATER}, "code", "not_a_payment_code"),
    ({"code": "M123456789012"}, "code", "not_a_payment_code"),
    ({"code": "S001-20261123-0042"}, "code", "not_a_payment_code"),
    ({"code": "161234567890123456"}, "code", "not_a_payment_code"),
    ({"code": payment_code(), "amount": 999_999}, "amount", "amount_exceeds_due"),
    ({"code": payment_code(), "amount": 0}, "amount", "invalid"),
    ({"code": payment_code(), "pin": "123456"}, "pin", "invalid"),
]


def test_bad_payment_requests_are_refused_and_write_nothing(world):
    sale_id, _ = world.sale(WATER)
    for body, field, code in BAD_REQUESTS:
        with nothing_written(world.store):
            refusal(world.cashier.post(f"/sales/{sale_id}/payments", body), 422, field=field, code=code)


def test_a_foreign_code_at_the_scanner_is_refused_and_writes_nothing(world):
    sale_id, _ = world.sale(WATER)
    with nothing_written(world.store):
        refusal(world.cashier.post(f"/sales/{sale_id}/scan", {"code": "161234567890123456"}), 422, field="barcode")


def test_an_unknown_payment_is_not_found_and_cancelling_it_writes_nothing(world):
    refusal(world.cashier.get("/payments/no-such-payment"), 404, field="payment_id")
    with nothing_written(world.store):
        refusal(world.cashier.post("/payments/no-such-payment/cancel"), 404, field="payment_id")


def test_a_paid_payment_cannot_be_cancelled_over_the_api(world):
    sale_id, _ = world.sale(WATER)
    attempt = start(world, sale_id, payment_code("wechat"))
    with nothing_written(world.store):
        refusal(world.cashier.post(f"/payments/{attempt['id']}/cancel"), 409, code="payment_paid")


def test_a_refund_of_a_scan_paid_sale_goes_back_through_the_provider(world):
    sale_id, _ = world.sale(WATER)
    attempt = start(world, sale_id, payment_code("wechat"))
    refunded = world.cashier.post("/refunds", {"sale_id": sale_id, "reason": "退货", "approval": MANAGER_APPROVAL})
    assert refunded.status_code == 201, refunded.json
    assert [(p["method"], p["reference"]) for p in refunded.json["payments"]] == [("wechat", attempt["id"])]
    simulator = world.store.payments.simulator()
    for _ in range(200):  # the background driver sends it once the refund has committed
        if PaymentRefund.get(PaymentRefund.refund_id == refunded.json["id"]).state == "refunded":
            break
        time.sleep(0.01)
    assert PaymentRefund.get(PaymentRefund.refund_id == refunded.json["id"]).state == "refunded"
    assert simulator.ledger.net(attempt["out_trade_no"]) == 0
