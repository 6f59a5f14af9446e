"""Scan-to-pay rules without HTTP: which codes are payment codes, every path of the attempt's state machine
against the provider simulator (a real HTTP server speaking each provider's signed protocol), restarts,
concurrent scans, the scan tenders, refunds through the provider, and the [payments] config."""

from __future__ import annotations

import itertools
import re
import socket
import threading
import time
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.app import StoreEdge
from edge.config import ConfigError, parse_config
from edge.db import database
from edge.errors import Conflict, DomainError
from edge.payments.codes import provider_of
from edge.payments.models import PaymentAttempt, PaymentRefund
from edge.payments.reconcile import read_statement, reconcile, statement_csv
from edge.payments.simulator import Simulator
from edge.sales.models import Payment
from tests.api_helpers import nothing_written
from tests.domain_helpers import with_check_digit
from tests.conftest import COLA, MANAGER_PIN, WATER, copied_store, terminal
from tests.payments_helpers import ProviderKeys, payment_code, payments_config, start_simulator, to_toml
from tests.server_helpers import storeedge

PROVIDERS = ("wechat", "alipay", "unionpay")


@pytest.fixture(scope="session")
def test_keys(tmp_path_factory) -> ProviderKeys:
    return ProviderKeys(tmp_path_factory.mktemp("payment-keys"))


@pytest.fixture(scope="session")
def simulator(test_keys):
    sim = start_simulator(test_keys)
    yield sim
    sim.stop()


@dataclass
class Shop:
    store: StoreEdge
    caller: object
    sim: Simulator

    def sale(self, *barcodes: str):
        sale = self.store.sales.open(self.caller)
        for barcode in barcodes or (WATER, COLA):
            self.store.sales.add_line(sale.id, self.caller, barcode=barcode)
        return self.store.sales.get(sale.id)

    def pay(self, sale, code: str, amount: int | None = None) -> PaymentAttempt:
        """Scan the code at the tender step and drive the attempt to its end, as the web process's thread does."""
        attempt = self.store.payments.start(sale.id, self.caller, code, amount, send=False)
        return self.store.payments.drive(attempt.id)

    def transitions(self, attempt) -> list[str]:
        rows = self.store.db.peewee.execute_sql(
            "SELECT action FROM audit_record WHERE entity_id = ? ORDER BY seq", (attempt.id,)).fetchall()
        return [action.removeprefix("payment.") for (action,) in rows]

    def charged(self, attempt) -> int:
        """What the provider's books say the customer paid for this attempt, net of reversals and refunds."""
        return self.sim.ledger.net(attempt.out_trade_no)


@pytest.fixture(scope="module")
def shared_store(demo_template, tmp_path_factory, test_keys, simulator):
    """One store for the module: each test sells on a lane of its own, so tests do not meet."""
    store = copied_store(demo_template, tmp_path_factory.mktemp("payments-shop"), payments_config(test_keys, simulator))
    yield store
    store.db.close()


lanes = itertools.count(1)


@pytest.fixture
def own_shop(store_with, test_keys, simulator) -> Shop:
    """A store of its own, for tests that count everything unfinished in it (restarts)."""
    store = store_with(payments_config(test_keys, simulator))
    return Shop(store, terminal(store), simulator)


@pytest.fixture
def shop(shared_store, simulator) -> Shop:
    database.initialize(shared_store.db.peewee)  # models follow the last store opened; this test's is the shared one
    return Shop(shared_store, terminal(shared_store, lane=next(lanes)), simulator)


# -- recognising codes ----------------------------------------------------------------


@pytest.mark.parametrize("code, provider", [
    ("101234567890123456", "wechat"), ("151234567890123456", "wechat"),
    ("2512345678901234", "alipay"), ("301234567890123456789012", "alipay"), ("281234567890123456", "alipay"),
    ("6212345678901234567", "unionpay"),
])
def test_payment_codes_are_recognised_by_their_documented_shape(code, provider):
    assert provider_of(code) == provider


NOT_PAYMENT_CODES = [
    "6904321000012",  # a product's EAN-13
    "69043210000129",  # a GTIN-14
    "M123456789012",  # a member code
    "S001-20261123-0042",  # a receipt number
    "161234567890123456",  # 18 digits, but WeChat's start at 10-15
    "10123456789012345",  # WeChat's start, one digit short
    "251234567890123",  # Alipay's start, 15 digits
    "3012345678901234567890123",  # Alipay's start, 25 digits
    "621234567890123456",  # UnionPay's start, 18 digits
    "6312345678901234567",  # 19 digits not starting 62
    "13456789012345678x", "１３４５６７８９０１２３４５６７８９", "", " 134567890123456789",
]


@pytest.mark.parametrize("code", NOT_PAYMENT_CODES)
def test_anything_else_is_not_a_payment_code(code):
    assert provider_of(code) is None


# The providers' rules written out as patterns, apart from the code under test.
ORACLE = {"wechat": re.compile(r"1[0-5]\d{16}"), "alipay": re.compile(r"(2[5-9]|30)\d{14,22}"),
          "unionpay": re.compile(r"62\d{17}")}


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet="0123456789", min_size=1, max_size=30))
def test_a_digit_string_is_the_payment_code_the_providers_rules_say(code):
    expected = [name for name, pattern in ORACLE.items() if pattern.fullmatch(code)]
    assert provider_of(code) == (expected[0] if expected else None)


@settings(max_examples=30, deadline=None)
@given(st.from_regex(r"\A\d{12}\Z"))
def test_no_product_barcode_is_a_payment_code(body):
    assert provider_of(with_check_digit(body)) is None and provider_of(with_check_digit(body[:7])) is None


def test_a_code_that_is_not_a_payment_code_starts_nothing(shop):
    sale = shop.sale()
    for code in NOT_PAYMENT_CODES:
        with nothing_written(shop.store), pytest.raises(DomainError) as refused:
            shop.store.payments.start(sale.id, shop.caller, code)
        assert refused.value.code == "not_a_payment_code" and refused.value.field == "code"


# -- the state machine ----------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_confirmed_payment_completes_the_sale_with_the_attempt_as_its_payment(shop, provider):
    sale = shop.sale()
    attempt = shop.pay(sale, payment_code(provider))
    assert attempt.state == "paid" and attempt.transaction_id and len(attempt.out_trade_no) <= 32
    assert shop.transitions(attempt)[0] == "created" and shop.transitions(attempt)[-1] == "paid"
    completed = shop.store.sales.get(sale.id)
    assert completed.status == "completed" and completed.paid == sale.total
    [payment] = Payment.select().where(Payment.sale_id == sale.id)
    assert (payment.method, payment.amount, payment.reference) == (provider, sale.total, attempt.id)
    assert shop.charged(attempt) == sale.total


@pytest.mark.parametrize("provider", PROVIDERS)
def test_userpaying_is_followed_by_queries_until_the_customer_confirms(shop, provider):
    sale = shop.sale()
    attempt = shop.pay(sale, payment_code(provider, "userpaying"))
    assert attempt.state == "paid"
    assert shop.transitions(attempt) == ["created", "paying", "paid"]
    assert shop.store.sales.get(sale.id).status == "completed"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_system_error_is_followed_by_a_query_that_finds_the_payment(shop, provider):
    sale = shop.sale()
    attempt = shop.pay(sale, payment_code(provider, "system_error"))
    assert shop.transitions(attempt) == ["created", "paying", "paid"]
    assert "asking again" in attempt.reason
    assert shop.charged(attempt) == sale.total and shop.store.sales.get(sale.id).status == "completed"


def test_an_answer_slower_than_the_store_waits_is_not_taken_as_a_failure(shop):
    sale = shop.sale()
    attempt = shop.pay(sale, payment_code("alipay", "slow"))
    assert shop.transitions(attempt) == ["created", "paying", "paid"]
    assert shop.charged(attempt) == sale.total


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_customer_who_never_confirms_is_reversed_after_the_timeout(shop, provider):
    sale = shop.sale()
    attempt = shop.pay(sale, payment_code(provider, "never"))
    assert shop.transitions(attempt) == ["created", "paying", "reversing", "reversed"]
    assert "not confirmed within" in attempt.reason
    assert shop.charged(attempt) == 0 and shop.store.sales.get(sale.id).status == "open"


def test_a_reversal_is_retried_until_the_provider_confirms_it(shop):
    sale = shop.sale()
    shop.sim.ledger.failing_reversals = 3
    attempt = shop.pay(sale, payment_code("wechat", "never"))
    assert attempt.state == "reversed" and shop.sim.ledger.failing_reversals == 0
    assert shop.sim.ledger.orders[attempt.out_trade_no].state == "CLOSED"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_insufficient_balance_fails_and_the_cashier_takes_cash_instead(shop, provider):
    sale = shop.sale()
    attempt = shop.pay(sale, payment_code(provider, "insufficient"))
    assert attempt.state == "failed" and shop.charged(attempt) == 0
    assert shop.store.sales.get(sale.id).status == "open"
    completed = shop.store.sales.complete(sale.id, shop.caller, [{"method": "cash", "amount": sale.total}])
    assert completed.status == "completed"


def test_an_unreachable_provider_fails_at_once_and_the_sale_is_kept(store_with, test_keys, simulator):
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}"
    config = payments_config(test_keys, simulator)
    config["payments"]["wechat"]["url"] = url
    store = store_with(config)
    shop = Shop(store, terminal(store), simulator)
    sale = shop.sale()
    attempt = shop.pay(sale, payment_code("wechat"))
    assert attempt.state == "failed" and "unreachable" in attempt.reason
    assert shop.transitions(attempt) == ["created", "failed"]
    # the same customer pays with another app on the same sale
    assert shop.pay(sale, payment_code("alipay")).state == "paid"
    assert store.sales.get(sale.id).status == "completed"


def test_answers_not_signed_by_the_provider_are_never_trusted(store_with, test_keys, simulator, tmp_path):
    impostor = ProviderKeys(tmp_path / "impostor")
    config = payments_config(test_keys, simulator)
    config["payments"]["wechat"]["platform_key_file"] = str(impostor.platform_file)
    config["payments"]["pay_timeout_seconds"] = 0.25
    store = store_with(config)
    shop = Shop(store, terminal(store), simulator)
    sale = shop.sale()
    attempt = store.payments.start(sale.id, shop.caller, payment_code("wechat"), send=False)
    while time.time() < attempt.deadline + 0.1:  # past the deadline: the store tries to reverse
        store.payments.step(attempt.id)
        time.sleep(0.01)
    attempt = store.payments.get(attempt.id)
    # the provider did charge, but without a verified answer the store neither counts it nor gives up on it
    assert attempt.state == "reversing" and store.sales.get(sale.id).status == "open"
    assert shop.transitions(attempt) == ["created", "paying", "reversing"]
    [(why,)] = store.db.peewee.execute_sql("SELECT json_extract(data, '$.reason') FROM audit_record "
                                          "WHERE entity_id = ? AND action = 'payment.paying'", (attempt.id,))
    assert "signature does not verify" in why


def test_requests_not_signed_by_the_merchant_are_refused_by_the_provider(store_with, test_keys, simulator, tmp_path):
    impostor = ProviderKeys(tmp_path / "impostor")
    config = payments_config(test_keys, simulator)
    config["payments"]["alipay"]["private_key_file"] = str(impostor.merchant_file)
    store = store_with(config)
    shop = Shop(store, terminal(store), simulator)
    attempt = shop.pay(shop.sale(), payment_code("alipay"))
    assert attempt.state == "failed" and "invalid-signature" in attempt.reason
    assert attempt.out_trade_no not in simulator.ledger.orders


def test_cancelling_while_the_customer_confirms_reverses_the_payment(shop):
    sale = shop.sale()
    code = payment_code("wechat", "never")
    attempt = shop.store.payments.start(sale.id, shop.caller, code, send=False)
    attempt = shop.store.payments.step(attempt.id)
    assert attempt.state == "paying"
    cancelled = shop.store.payments.cancel(attempt.id, shop.caller)
    assert cancelled.state == "reversing" and "cancelled by staff" in cancelled.reason
    assert shop.store.payments.drive(attempt.id).state == "reversed"
    assert shop.charged(attempt) == 0
    with pytest.raises(Conflict, match="scanned already"):  # a reversed code stays spent
        shop.store.payments.start(sale.id, shop.caller, code, amount=100)


def test_a_paid_payment_cannot_be_cancelled(shop):
    attempt = shop.pay(shop.sale(), payment_code("wechat"))
    with nothing_written(shop.store), pytest.raises(Conflict, match="refund"):
        shop.store.payments.cancel(attempt.id, shop.caller)


def test_split_payments_complete_the_sale_once_they_cover_it(shop):
    sale = shop.sale()
    first = shop.pay(sale, payment_code("wechat"), amount=200)
    assert first.state == "paid" and shop.store.sales.get(sale.id).status == "open"
    second = shop.pay(sale, payment_code("alipay"))
    assert second.amount == sale.total - 200
    completed = shop.store.sales.get(sale.id)
    assert completed.status == "completed"
    assert sorted((p.method, p.amount) for p in Payment.select().where(Payment.sale_id == sale.id)) == \
        [("alipay", sale.total - 200), ("wechat", 200)]


def test_a_scan_payment_and_cash_complete_the_sale_together(shop):
    sale = shop.sale()
    attempt = shop.pay(sale, payment_code("unionpay"), amount=300)
    with pytest.raises(Conflict, match="include it"):  # cash alone would lose the paid scan payment
        shop.store.sales.complete(sale.id, shop.caller, [{"method": "cash", "amount": 1000}])
    completed = shop.store.sales.complete(sale.id, shop.caller, [
        {"method": "unionpay", "amount": 300, "reference": attempt.id}, {"method": "cash", "amount": 1000}])
    assert completed.status == "completed" and completed.change == 1300 - sale.total


# -- bad input and the tenders ------------------------------------------------------------


def test_bad_requests_write_nothing(shop):
    sale = shop.sale()
    empty = shop.store.sales.open(terminal(shop.store, lane=next(lanes)))
    cases = [
        (sale.id, shop.caller, payment_code(), sale.total + 1, "amount_exceeds_due"),
        (sale.id, shop.caller, payment_code(), 0, None),
        (empty.id, shop.caller, payment_code(), None, "other_terminal"),
    ]
    for sale_id, caller, code, amount, error_code in cases:
        with nothing_written(shop.store), pytest.raises(DomainError) as refused:
            shop.store.payments.start(sale_id, caller, code, amount)
        assert error_code is None or refused.value.code == error_code


def test_an_empty_sale_has_nothing_to_pay(shop):
    sale = shop.store.sales.open(shop.caller)
    with nothing_written(shop.store), pytest.raises(Conflict, match="scan the items first"):
        shop.store.payments.start(sale.id, shop.caller, payment_code())


@pytest.mark.parametrize("state", ["paying", "unpaid other sale"])
def test_the_scan_tender_takes_only_a_paid_attempt_of_the_same_sale(shop, state):
    sale = shop.sale()
    if state == "paying":
        attempt = shop.store.payments.start(sale.id, shop.caller, payment_code("wechat", "never"), send=False)
        attempt = shop.store.payments.step(attempt.id)
    else:
        other = Shop(shop.store, terminal(shop.store, lane=next(lanes)), shop.sim)
        attempt = other.pay(other.sale(), payment_code("wechat"), amount=100)
    with nothing_written(shop.store), pytest.raises(DomainError):
        shop.store.sales.complete(sale.id, shop.caller,
                                  [{"method": "wechat", "amount": attempt.amount, "reference": attempt.id},
                                   {"method": "cash", "amount": 5000}])


# -- concurrency ---------------------------------------------------------------------------


def run_together(*actions):
    """Run the actions on threads released at the same moment; returns each result or exception."""
    barrier, results = threading.Barrier(len(actions)), [None] * len(actions)

    def run(index, action):
        barrier.wait()
        try:
            results[index] = action()
        except Exception as error:  # noqa: BLE001 - the refusal is the result under test
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_the_same_code_scanned_twice_at_once_on_one_sale_charges_once(shop):
    sale, code = shop.sale(), payment_code("wechat")
    first, second = run_together(lambda: shop.pay(sale, code), lambda: shop.pay(sale, code))
    assert first.id == second.id and shop.store.payments.get(first.id).state == "paid"
    assert PaymentAttempt.select().where(PaymentAttempt.sale_id == sale.id).count() == 1
    assert [o for o in shop.sim.ledger.orders.values() if o.code == code] == [shop.sim.ledger.orders[first.out_trade_no]]


def test_one_code_scanned_on_two_lanes_at_once_pays_one_sale(shop):
    other = terminal(shop.store, lane=next(lanes))
    mine, theirs = shop.sale(), None
    theirs = shop.store.sales.open(other)
    shop.store.sales.add_line(theirs.id, other, barcode=WATER)
    code = payment_code("alipay")
    results = run_together(lambda: shop.pay(mine, code),
                           lambda: shop.store.payments.drive(
                               shop.store.payments.start(theirs.id, other, code, send=False).id))
    paid = [r for r in results if isinstance(r, PaymentAttempt)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(paid) == 1 and len(refused) == 1 and refused[0].code == "code_used"
    assert sum(o.net for o in shop.sim.ledger.orders.values() if o.code == code) == paid[0].amount


def test_two_codes_on_one_sale_at_once_start_one_payment(shop):
    sale = shop.sale()
    results = run_together(lambda: shop.store.payments.start(sale.id, shop.caller, payment_code(), send=False),
                           lambda: shop.store.payments.start(sale.id, shop.caller, payment_code(), send=False))
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "PaymentAttempt"]
    assert [r.code for r in results if isinstance(r, Conflict)] == ["payment_in_flight"]


# -- restarts ------------------------------------------------------------------------------


def reopened(shop: Shop) -> Shop:
    """The same data folder opened afresh, as after a crash: nothing of the old process's memory."""
    store = StoreEdge(shop.store.config, shop.store.data_dir)
    return Shop(store, shop.caller, shop.sim)


def test_a_created_attempt_whose_pay_never_arrived_is_reversed_after_a_restart(own_shop):
    shop = own_shop
    sale = shop.sale()
    attempt = shop.store.payments.start(sale.id, shop.caller, payment_code("wechat"), send=False)
    after = reopened(own_shop)
    assert after.store.payments.resume_all()["attempts"] == 1
    attempt = after.store.payments.get(attempt.id)
    assert attempt.state == "reversed" and after.charged(attempt) == 0
    assert after.transitions(attempt) == ["created", "reversing", "reversed"]
    # the pay call arriving late is refused by the provider: nothing can be charged any more
    late = after.store.payments.adapter("wechat").pay(attempt.out_trade_no, payment_code(), 100, "x", "S001")
    assert late.outcome == "failed" and after.charged(attempt) == 0


def test_a_created_attempt_whose_pay_arrived_is_found_paid_after_a_restart(own_shop):
    shop = own_shop
    sale = shop.sale()
    code = payment_code("unionpay")
    attempt = shop.store.payments.start(sale.id, shop.caller, code, send=False)
    # the pay call reached the provider, then the process died before recording the answer
    shop.store.payments.adapter("unionpay").pay(attempt.out_trade_no, code, attempt.amount, "x", "S001")
    after = reopened(own_shop)
    after.store.payments.resume_all()
    assert after.store.payments.get(attempt.id).state == "paid"
    assert after.store.sales.get(sale.id).status == "completed" and after.charged(attempt) == sale.total


def test_a_paid_attempt_left_with_its_sale_open_completes_it_after_a_restart(own_shop):
    shop = own_shop
    sale = shop.sale()
    code = payment_code("alipay")
    attempt = shop.store.payments.start(sale.id, shop.caller, code, send=False)
    shop.store.payments.adapter("alipay").pay(attempt.out_trade_no, code, attempt.amount, "x", "S001")
    # paid, and its sale left open (a completion refused at the time): the books as a restart finds them
    shop.store.db.peewee.execute_sql("UPDATE payment_attempt SET state = 'paid' WHERE id = ?", (attempt.id,))
    after = reopened(own_shop)
    assert after.store.payments.resume_all()["paid_sales"] == 1
    assert after.store.sales.get(sale.id).status == "completed"


def test_a_reversal_interrupted_by_a_restart_is_finished(own_shop):
    shop = own_shop
    sale = shop.sale()
    attempt = shop.store.payments.start(sale.id, shop.caller, payment_code("wechat", "never"), send=False)
    shop.store.payments.step(attempt.id)
    shop.store.payments.cancel(attempt.id, shop.caller)
    after = reopened(own_shop)
    after.store.payments.resume_all()
    assert after.store.payments.get(attempt.id).state == "reversed" and after.charged(attempt) == 0


def test_a_payment_confirmed_after_the_sale_was_voided_is_given_back(own_shop):
    shop = own_shop
    sale = shop.sale()
    attempt = shop.store.payments.start(sale.id, shop.caller, payment_code("wechat", "userpaying"), send=False)
    shop.store.payments.step(attempt.id)
    shop.store.sales.void(sale.id, shop.caller, "顾客离开", {"pin": MANAGER_PIN})
    attempt = shop.store.payments.drive(attempt.id)
    assert attempt.state == "reversed" and "voided" in attempt.reason and shop.charged(attempt) == 0


# -- refunds -------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_refund_goes_back_through_the_provider(shop, provider):
    sale = shop.sale()
    attempt = shop.pay(sale, payment_code(provider))
    line = shop.store.sales.lines(sale)[0]
    refund = shop.store.refunds.refund(shop.caller, sale.id, [{"line_id": line.id, "qty": 1}], "破损", "original",
                                       {"pin": MANAGER_PIN})
    [row] = PaymentRefund.select().where(PaymentRefund.refund_id == refund.id)
    assert row.state == "pending" and row.amount == refund.total and row.attempt_id == attempt.id
    assert shop.store.payments.drive_refund(row.id).state == "refunded"
    assert shop.charged(attempt) == sale.total - refund.total
    assert shop.store.payments.drive_refund(row.id).state == "refunded"  # again: nothing more is refunded
    assert shop.charged(attempt) == sale.total - refund.total


def test_a_refund_sent_before_a_crash_is_not_sent_twice(shop):
    sale = shop.sale()
    attempt = shop.pay(sale, payment_code("wechat"))
    refund = shop.store.refunds.refund(shop.caller, sale.id, None, "退货", "original", {"pin": MANAGER_PIN})
    [row] = PaymentRefund.select().where(PaymentRefund.refund_id == refund.id)
    # the refund reached the provider, then the process died before recording the answer
    shop.store.payments.adapter("wechat").refund(attempt.out_trade_no, row.out_refund_no, row.amount, attempt.amount)
    after = reopened(shop)
    assert after.store.payments.resume_all()["refunds"] == 1
    assert PaymentRefund.get_by_id(row.id).state == "refunded"
    assert after.charged(attempt) == 0
    assert len(shop.sim.ledger.orders[attempt.out_trade_no].refunds) == 1


# -- the built-in simulator and the config ----------------------------------------------------


def test_without_credentials_the_built_in_simulator_serves_and_says_so(store):
    caller = terminal(store)
    shop = Shop(store, caller, store.payments.simulator())
    attempt = shop.pay(shop.sale(), payment_code("wechat"))
    assert attempt.state == "paid" and attempt.simulated
    shown = store.payments.as_dict(attempt)
    assert shown["simulated"] is True and "SIMULATOR" in shown["simulator_notice"]
    assert store.payments.simulator().ledger.net(attempt.out_trade_no) == attempt.amount


def test_a_configured_provider_is_not_simulated(shop):
    attempt = shop.pay(shop.sale(), payment_code("alipay"))
    assert attempt.simulated is False and shop.store.payments.as_dict(attempt)["simulator_notice"] is None


@pytest.mark.parametrize("change, named", [
    ({"pay_timeout": 30}, "payments.pay_timeout"),
    ({"poll_interval_seconds": 0}, "payments.poll_interval_seconds"),
    ({"gateway_url": "ftp://hq"}, "payments.gateway_url"),
    ({"wechat": {"mchid": "1"}}, "payments.wechat.appid"),
])
def test_the_payments_section_is_strict(change, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        parse_config({"payments": change})


def test_an_unreadable_key_file_is_named_at_start(test_keys, simulator, tmp_path):
    config = payments_config(test_keys, simulator)
    config["payments"]["unionpay"]["private_key_file"] = str(tmp_path / "missing.pem")
    with pytest.raises(ConfigError, match=r"payments\.unionpay\.private_key_file"):
        StoreEdge(parse_config(config), tmp_path / "data")


# -- reconciliation (对账) ---------------------------------------------------------------------


def test_reconciliation_agrees_with_the_statement_and_lists_every_difference(own_shop, tmp_path, test_keys):
    shop = own_shop
    sale = shop.sale()
    paid = shop.pay(sale, payment_code("wechat"))
    refund = shop.store.refunds.refund(shop.caller, sale.id, [{"line_id": shop.store.sales.lines(sale)[0].id}],
                                       "破损", "original", {"pin": MANAGER_PIN})
    shop.store.payments.drive_refund(PaymentRefund.get(PaymentRefund.refund_id == refund.id).id)
    shop.pay(shop.sale(), payment_code("alipay", "never"))
    ours = {a.out_trade_no for a in PaymentAttempt.select()}
    statement = [row for row in shop.sim.ledger.statement() if row["out_trade_no"] in ours]
    agreed = reconcile(shop.store, shop.store.today(), statement)
    assert agreed["differences"] == []
    assert agreed["providers"]["wechat"] == {"paid": sale.total, "count": 1, "refunded": refund.total, "reversed": 0}
    assert agreed["providers"]["alipay"]["reversed"] == 1

    # the provider lists a charge the store never made, and misses the store's payment
    foreign = {"provider": "wechat", "out_trade_no": "20261123000000ffffffffffffffffff", "transaction_id": "WXX",
               "kind": "pay", "amount": 990}
    tampered = [row for row in statement if not (row["out_trade_no"] == paid.out_trade_no and row["kind"] == "pay")]
    found = reconcile(shop.store, shop.store.today(), [*tampered, foreign])["differences"]
    assert sorted((d["kind"], d["out_trade_no"]) for d in found) == sorted(
        [("unknown_to_store", foreign["out_trade_no"]), ("amount_differs", paid.out_trade_no)])

    # the manager's command: the same comparison from a statement file, exit 1 on differences
    statement_file = tmp_path / "statement.csv"
    statement_file.write_text(statement_csv([*tampered, foreign]))
    config_file = tmp_path / "storeedge.toml"
    config_file.write_text(to_toml(payments_config(test_keys, shop.sim)))
    done = storeedge("--data-dir", str(shop.store.data_dir), "--config", str(config_file), "payments", "reconcile",
                     "--date", shop.store.today().isoformat(), "--statement", str(statement_file), check=False)
    assert done.returncode == 1, done.stderr
    assert "DIFFERENCE unknown_to_store" in done.stdout and "DIFFERENCE amount_differs" in done.stdout
    assert "2 difference(s)" in done.stdout


def test_a_statement_with_a_bad_row_is_refused_naming_the_line():
    with pytest.raises(DomainError, match="line 3: amount"):
        read_statement("provider,out_trade_no,transaction_id,kind,amount\nwechat,a,b,pay,100\nwechat,c,d,pay,1.5\n")


def test_the_resume_command_finishes_what_a_stopped_server_left(own_shop, tmp_path, test_keys):
    shop = own_shop
    attempt = shop.store.payments.start(shop.sale().id, shop.caller, payment_code("unionpay"), send=False)
    config_file = tmp_path / "storeedge.toml"
    config_file.write_text(to_toml(payments_config(test_keys, shop.sim)))
    done = storeedge("--data-dir", str(shop.store.data_dir), "--config", str(config_file), "payments", "resume")
    assert "resumed 1 payment(s)" in done.stdout
    assert shop.store.payments.get(attempt.id).state == "reversed" and shop.charged(attempt) == 0


def test_the_start_up_line_says_which_providers_are_simulated(store, shop):
    assert store.payments.describe().count("built-in SIMULATOR") == 3
    assert "SIMULATOR" not in shop.store.payments.describe() and "wechat: direct" in shop.store.payments.describe()


def test_through_the_hq_gateway_every_provider_is_reached_under_its_name(store_with, test_keys, simulator):
    config = payments_config(test_keys, simulator, gateway_url=simulator.url)
    for section in PROVIDERS:  # the providers' own addresses are not used through a gateway
        config["payments"][section]["url"] = "https://unreachable.invalid"
    store = store_with(config)
    shop = Shop(store, terminal(store), simulator)
    for provider in PROVIDERS:
        sale = shop.sale()
        assert shop.pay(sale, payment_code(provider)).state == "paid", provider
        assert store.sales.get(sale.id).status == "completed"
