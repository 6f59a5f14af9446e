"""The real server under gunicorn killed with SIGKILL while scan payments stand in each unfinished state
(created with the pay call outstanding, paying, reversing), then restarted: every attempt ends paid or
reversed by itself, and the store's books agree with the provider simulator's ledger."""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import CASHIER_PIN, WATER, open_store
from tests.payments_helpers import ProviderKeys, payment_code, payments_config, start_simulator, to_toml
from tests.server_helpers import JsonClient, NoAnswer, ServerProcess, count, open_sale_with, query

# Slow enough to kill the server between the provider's decision and its answer reaching the store.
RULES = {"poll_interval_seconds": 1.0, "pay_timeout_seconds": 4.0, "reverse_retry_seconds": 0.2,
         "request_timeout_seconds": 2.0}
SETTLE_SECONDS = 90  # a ceiling, not a timing: a busy shared machine is slow to restart gunicorn


@pytest.fixture(scope="module")
def simulator(tmp_path_factory):
    keys = ProviderKeys(tmp_path_factory.mktemp("crash-keys"))
    sim = start_simulator(keys, slow_seconds=3.0)
    sim.keys = keys
    yield sim
    sim.stop()


def wait_for(condition, what: str, seconds: float = SETTLE_SECONDS):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def attempt_of(data_dir, sale_id: str) -> dict:
    [(attempt_id, state, out_trade_no, amount)] = query(
        data_dir, "SELECT id, state, out_trade_no, amount FROM payment_attempt WHERE sale_id = ?", sale_id)
    return {"id": attempt_id, "state": state, "out_trade_no": out_trade_no, "amount": amount}


def test_attempts_killed_in_every_state_end_paid_or_reversed_after_a_restart(tmp_path, simulator):
    config = payments_config(simulator.keys, simulator, **RULES)
    config_file = tmp_path / "storeedge.toml"
    config_file.write_text(to_toml(config))
    data_dir = tmp_path / "data"
    store = open_store(data_dir, config)
    tokens = [store.staff.add_device(f"lane{lane}", "terminal", lane)[1] for lane in range(1, 5)]
    store.db.close()

    server = ServerProcess.storeedge(data_dir, "web", "--config", str(config_file))
    server.start()
    lanes = []
    for token in tokens:
        client = JsonClient(server.port, token)
        client.login(CASHIER_PIN)
        client.must("POST", "/shifts", {"opening_float": 10_000}, status=201)
        lanes.append((client, open_sale_with(client, [WATER])["id"]))
    (outstanding, sale_a), (reversing, sale_d), (never, sale_c), (confirming, sale_b) = lanes

    # A: the provider has charged, its answer is still on the way when the server dies
    slow_code = payment_code("wechat", "slow")
    pay_a = threading.Thread(target=lambda: _ignore_no_answer(outstanding, sale_a, slow_code), daemon=True)
    pay_a.start()
    wait_for(lambda: any(o.code == slow_code for o in simulator.ledger.orders.values()), "the slow pay to arrive")
    # D: cancelled, and the provider keeps asking to try the reversal again
    simulator.ledger.failing_reversals = 10**6
    attempt_d = reversing.must("POST", f"/sales/{sale_d}/payments", {"code": payment_code("alipay", "never")},
                               status=201)
    reversing.must("POST", f"/payments/{attempt_d['id']}/cancel")
    # C: the customer never confirms; B: the customer confirms on the phone after the crash
    assert never.must("POST", f"/sales/{sale_c}/payments", {"code": payment_code("unionpay", "never")},
                      status=201)["state"] == "paying"
    assert confirming.must("POST", f"/sales/{sale_b}/payments", {"code": payment_code("wechat", "userpaying")},
                           status=201)["state"] == "paying"
    server.kill()

    before = {sale: attempt_of(data_dir, sale)["state"] for sale in (sale_a, sale_b, sale_c, sale_d)}
    assert before == {sale_a: "created", sale_b: "paying", sale_c: "paying", sale_d: "reversing"}
    simulator.ledger.failing_reversals = 0

    server.start()  # nothing but the restart: the web process resumes what was unfinished
    try:
        wait_for(lambda: count(data_dir, "SELECT COUNT(*) FROM payment_attempt WHERE state IN "
                                         "('created', 'paying', 'reversing')") == 0, "every attempt to settle")
        wait_for(lambda: count(data_dir, "SELECT COUNT(*) FROM sale WHERE id IN (?, ?) AND status = 'completed'",
                               sale_a, sale_b) == 2, "the paid sales to complete")
    finally:
        server.stop()

    expected = {sale_a: ("paid", "completed"), sale_b: ("paid", "completed"), sale_c: ("reversed", "open"),
                sale_d: ("reversed", "open")}
    for sale_id, (state, status) in expected.items():
        attempt = attempt_of(data_dir, sale_id)
        [(sale_status, total)] = query(data_dir, "SELECT status, total FROM sale WHERE id = ?", sale_id)
        assert (attempt["state"], sale_status) == (state, status), sale_id
        # the store and the provider agree: what is paid was charged once, what is reversed costs nothing
        assert simulator.ledger.net(attempt["out_trade_no"]) == (total if state == "paid" else 0)
        payments = query(data_dir, "SELECT method, amount, reference FROM payment WHERE sale_id = ?", sale_id)
        assert payments == ([(simulator.ledger.orders[attempt["out_trade_no"]].provider, total, attempt["id"])]
                            if state == "paid" else [])


def _ignore_no_answer(client: JsonClient, sale_id: str, code: str) -> None:
    """The cashier's request dies with the server: its outcome is the store's to find out."""
    try:
        client.call("POST", f"/sales/{sale_id}/payments", {"code": code})
    except NoAnswer:
        pass
