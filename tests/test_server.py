"""The real server under gunicorn, as a separate process, driven over HTTP.

A terminal is paired with the technician's CLI; sales go through the same
requests a cashier's tablet sends.
"""

from __future__ import annotations

import shlex
import subprocess
import threading

import pytest

from tests.conftest import APPLES_SKU, CASHIER_PIN, COLA, WATER
from tests.server_helpers import (
    CLEAN_ENV, REPO_ROOT, JsonClient, ServerProcess, add_terminal, count, demo_store_with_terminal, free_port,
    open_sale_with, query, running_server, sale_fact_rows, storeedge,
)

STORE_ID = "S042"
ONE_OF_EACH_FACT = {"payments": 1, "sale.completed events": 1, "sale.completed audit records": 1}


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("server") / "data"


@pytest.fixture(scope="module")
def lane(demo_dir):
    """`storeedge web` on a demo store of its own config; a cashier logged in on lane 1 with an open shift.

    Shared by the module: each test opens and finishes its own sale.
    """
    token = demo_store_with_terminal(demo_dir)
    config = demo_dir.parent / "store.toml"
    config.write_text(f'[store]\nid = "{STORE_ID}"\n\n[web]\nthreads = 4\n', encoding="utf-8")
    with running_server(demo_dir, "web", "--config", str(config)) as server:
        client = JsonClient(server.port, token)
        client.login(CASHIER_PIN)
        client.must("POST", "/shifts", {"opening_float": 20_000}, status=201)
        yield client
        client.close()


def test_a_sale_completes_over_http_against_gunicorn(lane, demo_dir):
    sale = open_sale_with(lane, [WATER, WATER])
    sale = lane.must("POST", f"/sales/{sale['id']}/lines", {"sku": APPLES_SKU, "qty": 1500}, status=201)
    assert sale["total"] == 2 * 200 + 1920  # 1.5 kg at 12.80 per kg

    done = lane.must("POST", f"/sales/{sale['id']}/complete", {"payments": [{"method": "cash", "amount": 5000}]})

    assert (done["status"], done["total"], done["paid"], done["change"]) == ("completed", 2320, 2320, 2680)
    assert done["receipt_no"].startswith(f"{STORE_ID}-")
    assert lane.must("GET", f"/sales/{sale['id']}") == done
    assert query(demo_dir, "SELECT status, receipt_no, total FROM sale WHERE id = ?", sale["id"]) == [
        ("completed", done["receipt_no"], 2320)]
    assert sale_fact_rows(demo_dir, sale["id"]) == {**ONE_OF_EACH_FACT, "stock movements": 2}


def complete_from_two_threads(lane: JsonClient, sale_id: str, amounts: tuple[int, int],
                              headers: dict | None = None) -> list[tuple[int, dict, int]]:
    """Both requests leave together, each on its own connection; outcomes sorted by status."""
    barrier = threading.Barrier(2)
    outcomes: list[tuple[int, dict, int]] = []

    def complete(amount: int) -> None:
        client = JsonClient(lane.port, lane.device_token)
        client.session = lane.session
        client.call("GET", "/health")  # connect before the barrier, so both requests start at once
        barrier.wait()
        status, answer = client.call("POST", f"/sales/{sale_id}/complete",
                                     {"payments": [{"method": "cash", "amount": amount}]}, headers)
        outcomes.append((status, answer, amount))
        client.close()

    threads = [threading.Thread(target=complete, args=(amount,)) for amount in amounts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(outcomes, key=lambda outcome: outcome[0])


@pytest.mark.parametrize("attempt", range(3))
def test_two_completes_of_one_sale_racing_make_one_sale(lane, demo_dir, attempt):
    sale = open_sale_with(lane, [WATER, COLA])
    # Each names its own cash amount, so the winner shows in the payment row.
    outcomes = complete_from_two_threads(lane, sale["id"], (1000, 2000))

    assert [status for status, _, _ in outcomes] == [200, 409], outcomes
    (_, won, paid_with), (_, refused, _) = outcomes
    assert refused["error"]["code"] == "sale_completed"
    assert refused["error"]["field"] == "sale_id"
    assert "completed" in refused["error"]["message"]
    assert won["status"] == "completed" and won["change"] == paid_with - 500
    assert query(demo_dir, "SELECT tendered FROM payment WHERE sale_id = ?", sale["id"]) == [(paid_with,)]
    assert sale_fact_rows(demo_dir, sale["id"]) == {**ONE_OF_EACH_FACT, "stock movements": 2}


def test_a_complete_and_its_retry_racing_with_one_idempotency_key_both_get_the_first_answer(lane, demo_dir):
    sale = open_sale_with(lane, [WATER, COLA])
    outcomes = complete_from_two_threads(lane, sale["id"], (1000, 1000), {"Idempotency-Key": f"pay-{sale['id']}"})

    assert [status for status, _, _ in outcomes] == [200, 200], outcomes
    (_, first, _), (_, second, _) = outcomes
    assert first == second and first["status"] == "completed"
    assert sale_fact_rows(demo_dir, sale["id"]) == {**ONE_OF_EACH_FACT, "stock movements": 2}


def test_lanes_selling_at_once_get_unique_gap_free_receipt_numbers(lane, demo_dir):
    """Four terminals sell together; the one write lock keeps numbers, events and the audit chain in order."""
    tokens = [add_terminal(demo_dir, lane=number) for number in (2, 3, 4, 5)]
    receipts: list[str] = []
    failures: list[BaseException] = []

    def sell(token: str) -> None:
        client = JsonClient(lane.port, token)
        try:
            client.login(CASHIER_PIN)
            client.must("POST", "/shifts", {"opening_float": 0}, status=201)
            for _ in range(5):
                sale = open_sale_with(client, [WATER, COLA])
                done = client.must("POST", f"/sales/{sale['id']}/complete",
                                   {"payments": [{"method": "card", "amount": 500, "reference": "pos"}]})
                receipts.append(done["receipt_no"])
        except BaseException as error:  # reported by the test thread
            failures.append(error)
        finally:
            client.close()

    threads = [threading.Thread(target=sell, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert len(set(receipts)) == 20
    numbers_by_date: dict[str, list[int]] = {}
    for (receipt,) in query(demo_dir, "SELECT receipt_no FROM sale WHERE status = 'completed' ORDER BY receipt_no"):
        _, business_date, number = receipt.split("-")
        numbers_by_date.setdefault(business_date, []).append(int(number))
    assert all(numbers == list(range(1, len(numbers) + 1)) for numbers in numbers_by_date.values()), numbers_by_date
    assert query(demo_dir, "SELECT MAX(seq) = COUNT(*) FROM outbox_event") == [(1,)]
    verified = storeedge("--data-dir", str(demo_dir), "audit", "verify")
    assert verified.stdout.startswith("audit journal ok")


def make_run_command(data_dir, port: int) -> list[str]:
    """The command `make run` runs, with our data folder and port, read from the Makefile itself."""
    planned = subprocess.run(["make", "-s", "-n", "run", f"DATA={data_dir}", "HOST=127.0.0.1", f"PORT={port}"],
                             cwd=REPO_ROOT, env=CLEAN_ENV, capture_output=True, text=True, check=True).stdout
    [command] = [line for line in planned.splitlines() if "storeedge" in line]
    argv = shlex.split(command)
    assert {"serve", "--demo"} <= set(argv), argv
    return argv


def test_make_run_serves_the_demo_catalog(tmp_path):
    data_dir = tmp_path / "data"
    port = free_port()
    server = ServerProcess(make_run_command(data_dir, port), port, tmp_path / "make-run.log")
    server.start()
    try:
        # As in the README: with the demo running, a technician pairs lane 1 from another terminal.
        client = JsonClient(port, add_terminal(data_dir))
        found = client.must("GET", f"/products?barcode={WATER}")["products"]
        assert [(p["sku"], p["price"]) for p in found] == [("DRK001", 200)]
        assert client.must("GET", f"/products?sku={APPLES_SKU}")["products"][0]["sold_by"] == "weight"
        assert client.login(CASHIER_PIN)["staff"]["role"] == "cashier"
        client.close()
    finally:
        server.stop()
    assert count(data_dir, "SELECT COUNT(*) FROM product") == 24
    assert "demo: 24 products" in server.log()
