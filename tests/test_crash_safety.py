"""Crash safety: SIGKILL the server at random moments while a lane keeps selling, then check the books.

A lane completes sales in a loop over HTTP. The test kills gunicorn's whole
process group (master and worker) several times and restarts it on the same
data folder. Afterwards every sale the lane saw confirmed must be present and
whole, no partial fact may exist anywhere, and the audit chain must verify.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time

from tests.conftest import CASHIER_PIN, COLA, WATER
from tests.server_helpers import (
    JsonClient, NoAnswer, ServerProcess, demo_store_with_terminal, open_sale_with, query, running_server,
    sale_fact_rows, storeedge,
)

KILLS = 5
BARCODES = ["6904321000012", "6904321000029", "6904321000036", "6904321000074", "6904321000128"]
STOP_AFTER = 60  # seconds: the lane gives up if the test never tells it to stop


class SellingLane(threading.Thread):
    """A cashier selling as fast as the server answers; a lost connection is retried after a pause."""

    def __init__(self, port: int, token: str, seed: int):
        super().__init__(daemon=True)
        self.client = JsonClient(port, token)
        self.random = random.Random(seed)
        self.stop = threading.Event()
        self.confirmed: list[dict] = []  # sales answered 200 by complete
        self.unanswered = 0  # calls the server died under: their outcome is unknown
        self.failure: str | None = None
        self.pending_complete: tuple[str, dict] | None = None  # (sale id, body): a complete not yet answered

    def run(self) -> None:
        deadline = time.monotonic() + STOP_AFTER
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                self.sell_one()
            except NoAnswer:
                self.unanswered += 1
                time.sleep(0.02)  # the server is down or restarting
            except AssertionError as error:  # an answer no crash can explain
                self.failure = str(error)
                return
        self.client.close()

    def sell_one(self) -> None:
        if self.pending_complete is None:
            # After a crash the terminal's open sale (kept in SQLite) may already hold lines: carry on with it.
            status, sale = self.client.call("GET", "/sales/current")
            if status == 404:
                sale = self.client.must("POST", "/sales", {}, status=201)
            for code in self.random.sample(BARCODES, self.random.randint(1, 3)):
                sale = self.client.must("POST", f"/sales/{sale['id']}/lines", {"barcode": code, "qty": 1},
                                        status=201)
            cash = sale["total"] + self.random.choice([0, 50, 1000])
            self.pending_complete = (sale["id"], {"payments": [{"method": "cash", "amount": cash}]})
        # A complete the server died under is sent again with the same Idempotency-Key: it either
        # happens now or answers what it answered before the crash; either way it is confirmed.
        sale_id, body = self.pending_complete
        done = self.client.must("POST", f"/sales/{sale_id}/complete", body,
                                headers={"Idempotency-Key": f"complete-{sale_id}"})
        self.pending_complete = None
        self.confirmed.append(done)


def test_confirmed_sales_survive_sigkill_and_nothing_is_half_written(tmp_path):
    data_dir = tmp_path / "data"
    token = demo_store_with_terminal(data_dir)
    server = ServerProcess.storeedge(data_dir, "web")
    server.start()
    cashier = JsonClient(server.port, token)
    cashier.login(CASHIER_PIN)
    cashier.must("POST", "/shifts", {"opening_float": 10_000}, status=201)
    lane = SellingLane(server.port, token, seed=random.randrange(1 << 30))
    lane.client.session = cashier.session  # sessions live in SQLite: they outlast every restart
    moments = [random.uniform(0.2, 0.8) for _ in range(KILLS)]
    cashier.close()
    lane.start()
    try:
        for moment in moments:
            time.sleep(moment)
            server.kill()
            server.start()
        confirmed_before_last_kill = len(lane.confirmed)
        deadline = time.monotonic() + 10
        while len(lane.confirmed) == confirmed_before_last_kill and time.monotonic() < deadline:
            time.sleep(0.05)  # the lane is selling again on the restarted server
    finally:
        lane.stop.set()
        lane.join(timeout=30)
        server.stop()

    context = f"kills at {moments}, {len(lane.confirmed)} confirmed, {lane.unanswered} unanswered calls"
    assert lane.failure is None, f"{lane.failure} ({context})"
    assert len(lane.confirmed) > confirmed_before_last_kill, f"no sale after the last restart ({context})"
    for answer in lane.confirmed:
        assert_confirmed_sale_is_whole(data_dir, answer)
    for problem, rows in partial_facts(data_dir).items():
        assert rows == [], f"{problem}: {rows} ({context})"
    verified = storeedge("--data-dir", str(data_dir), "audit", "verify", check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "audit journal ok" in verified.stdout


def test_a_killed_worker_is_replaced_and_the_open_cart_is_still_there(tmp_path):
    data_dir = tmp_path / "data"
    token = demo_store_with_terminal(data_dir)
    with running_server(data_dir) as server:
        client = JsonClient(server.port, token)
        client.login(CASHIER_PIN)
        client.must("POST", "/shifts", {"opening_float": 10_000}, status=201)
        cart = open_sale_with(client, [WATER, COLA, WATER])
        [worker] = server.workers()

        os.kill(worker, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while server.workers() in ([], [worker]) and time.monotonic() < deadline:
            time.sleep(0.05)  # gunicorn's master notices and boots a new worker
        assert server.workers() not in ([], [worker]), server.log()
        client.close()  # the keep-alive connection died with the old worker

        assert client.must("GET", "/sales/current") == cart
        done = client.must("POST", f"/sales/{cart['id']}/complete", {"payments": [{"method": "cash", "amount": 1000}]})
        client.close()
    assert (done["status"], done["total"], done["change"]) == ("completed", 700, 300)


def assert_confirmed_sale_is_whole(data_dir, answer: dict) -> None:
    sale_id = answer["id"]
    [(status, receipt_no, total, paid, change)] = query(
        data_dir, "SELECT status, receipt_no, total, paid, change FROM sale WHERE id = ?", sale_id)
    assert (status, receipt_no, total, change) == ("completed", answer["receipt_no"], answer["total"], answer["change"])
    lines = query(data_dir, "SELECT product_id, qty, total FROM sale_line WHERE sale_id = ?", sale_id)
    assert sorted((l["product_id"], l["qty"]) for l in answer["lines"]) == sorted((p, q) for p, q, _ in lines)
    assert sum(line_total for _, _, line_total in lines) == total
    [(amount, tendered)] = query(data_dir, "SELECT SUM(amount), SUM(tendered) FROM payment WHERE sale_id = ?", sale_id)
    assert amount == paid == total and tendered - change == total
    movements = query(data_dir, "SELECT product_id, qty FROM stock_movement WHERE reason = 'sale' AND ref = ?",
                      sale_id)
    assert sorted(movements) == sorted((p, -q) for p, q, _ in lines)
    [(event,)] = query(data_dir, "SELECT data FROM outbox_event WHERE type = 'sale.completed' "
                                 "AND json_extract(data, '$.id') = ?", sale_id)
    assert json.loads(event)["receipt_no"] == receipt_no
    assert sale_fact_rows(data_dir, sale_id)["sale.completed audit records"] == 1


def partial_facts(data_dir) -> dict[str, list[tuple]]:
    """Each kind of half-written fact, with the rows that show it (all empty in a sound store)."""
    checks = {
        "completed sale without lines": "SELECT id FROM sale s WHERE status = 'completed' "
                                        "AND NOT EXISTS (SELECT 1 FROM sale_line WHERE sale_id = s.id)",
        "completed sale whose payments do not add up": "SELECT id, total FROM sale s WHERE status = 'completed' "
                                                       "AND total != (SELECT COALESCE(SUM(amount), 0) FROM payment "
                                                       "WHERE sale_id = s.id)",
        "completed sale whose stock movements do not match its lines":
            "SELECT id FROM sale s WHERE status = 'completed' AND EXISTS ("
            "SELECT product_id, -SUM(qty) FROM sale_line WHERE sale_id = s.id GROUP BY product_id EXCEPT "
            "SELECT product_id, SUM(qty) FROM stock_movement WHERE reason = 'sale' AND ref = s.id GROUP BY product_id)",
        "completed sale without exactly one event": "SELECT id FROM sale s WHERE status = 'completed' AND 1 != ("
                                                    "SELECT COUNT(*) FROM outbox_event WHERE type = 'sale.completed' "
                                                    "AND json_extract(data, '$.id') = s.id)",
        "completed sale without exactly one audit record": "SELECT id FROM sale s WHERE status = 'completed' AND 1 != "
                                                           "(SELECT COUNT(*) FROM audit_record WHERE action = "
                                                           "'sale.completed' AND entity_id = s.id)",
        "unfinished sale with a receipt number": "SELECT id FROM sale WHERE status != 'completed' "
                                                 "AND receipt_no IS NOT NULL",
        "payment of a sale that is not completed": "SELECT p.id FROM payment p LEFT JOIN sale s ON s.id = p.sale_id "
                                                   "WHERE s.status IS NOT 'completed'",
        "sale line without its sale": "SELECT l.id FROM sale_line l LEFT JOIN sale s ON s.id = l.sale_id "
                                      "WHERE s.id IS NULL",
        "sale stock movement without a completed sale": "SELECT m.id FROM stock_movement m LEFT JOIN sale s "
                                                        "ON s.id = m.ref WHERE m.reason = 'sale' "
                                                        "AND s.status IS NOT 'completed'",
        "sale.completed event without a completed sale": "SELECT e.seq FROM outbox_event e LEFT JOIN sale s "
                                                         "ON s.id = json_extract(e.data, '$.id') WHERE e.type = "
                                                         "'sale.completed' AND s.status IS NOT 'completed'",
        "receipt numbers with a gap (a counter ahead of its sales)":
            "SELECT business_date, last_no FROM receipt_counter c WHERE last_no != ("
            "SELECT COUNT(*) FROM sale WHERE business_date = c.business_date AND status = 'completed')",
        "stock level that is not the sum of its ledger": "SELECT l.product_id, l.on_hand FROM stock_level l "
                                                         "WHERE on_hand != (SELECT COALESCE(SUM(qty), 0) FROM "
                                                         "stock_movement WHERE product_id = l.product_id)",
        "outbox sequence with a gap": "SELECT MAX(seq), COUNT(*) FROM outbox_event HAVING MAX(seq) != COUNT(*)",
    }
    return {problem: query(data_dir, sql) for problem, sql in checks.items()}
