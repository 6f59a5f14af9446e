"""`storeedge bench checkout`: complete sales of N lines from concurrent lanes over HTTP.

Three measurements in one run, on fresh databases in a temporary folder:
1. HTTP: the real server under gunicorn (one worker, threads), `clients`
   lanes each opening a sale, adding its lines and completing it; latency
   percentiles per request kind and sales per second.
2. Database time per sale on the domain path (in process, no HTTP): the time
   spent inside SQLite (statements, BEGIN and COMMIT) while StoreEdge's own
   services sell, measured with peewee's query hooks.
3. The floor: raw sqlite3 in one process writing the same rows a completed
   sale leaves (sale, lines, payment, stock movements and levels, outbox
   event, audit record) in one transaction with the same pragmas.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from edge.app import StoreEdge
from edge.bench.stats import ms, percentile
from edge.catalog.models import Barcode, Product
from edge.config import Config
from edge.db import DB_FILENAME
from edge.demo.seed import seed
from edge.staff.models import Staff
from edge.staff.service import Caller

CASHIER_PIN = "0000"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def demo_barcodes(count: int) -> list[str]:
    codes = [b.code for b in Barcode.select().join(Product, on=(Barcode.product_id == Product.id))
             .where(Product.sold_by == "each").order_by(Barcode.code)]
    if len(codes) < count:
        raise SystemExit(f"the demo catalog has {len(codes)} barcoded items; ask for at most that many lines")
    return codes[:count]


class Lane:
    """One cashier terminal speaking HTTP/1.1 keep-alive to the server."""

    def __init__(self, port: int, device_token: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"X-Device-Token": device_token, "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict, float]:
        start = time.perf_counter()
        self.conn.request(method, "/api/v1" + path, body=json.dumps(body or {}), headers=self.headers)
        response = self.conn.getresponse()
        data = json.loads(response.read())
        return response.status, data, time.perf_counter() - start

    def download(self, path: str) -> float:
        """GET ``path`` and read the whole answer, whatever its type (JSON, CSV); returns the seconds taken."""
        start = time.perf_counter()
        self.conn.request("GET", "/api/v1" + path, headers=self.headers)
        response = self.conn.getresponse()
        body = response.read()
        if response.status >= 300:
            raise RuntimeError(f"GET {path} → {response.status} {body[:200]!r}")
        return time.perf_counter() - start

    def must(self, method: str, path: str, body: dict | None = None) -> tuple[dict, float]:
        status, data, elapsed = self.call(method, path, body)
        if status >= 300:
            raise RuntimeError(f"{method} {path} → {status} {data}")
        return data, elapsed

    def fill_cart(self, barcodes: list[str], samples: dict[str, list[float]]) -> dict:
        sale, elapsed = self.must("POST", "/sales", {})
        samples["open sale"] = [elapsed]
        samples["add line"] = []
        for code in barcodes:
            sale, elapsed = self.must("POST", f"/sales/{sale['id']}/lines", {"barcode": code, "qty": 1})
            samples["add line"].append(elapsed)
        return sale

    def pay(self, sale: dict, payments: list[dict] | None = None) -> float:
        """By default half by card, the rest in cash with change: the mixed tender of the budget."""
        _, elapsed = self.must("POST", f"/sales/{sale['id']}/complete", {"payments": payments or [
            {"method": "card", "amount": sale["total"] // 2, "reference": "bench"},
            {"method": "cash", "amount": sale["total"] - sale["total"] // 2 + 1000},
        ]})
        return elapsed

    def sell(self, barcodes: list[str], timings: dict[str, list[float]] | None) -> None:
        start = time.perf_counter()
        samples: dict[str, list[float]] = {}
        sale = self.fill_cart(barcodes, samples)
        samples["complete sale"] = [self.pay(sale)]
        samples["whole sale"] = [time.perf_counter() - start]
        if timings is not None:
            for kind, values in samples.items():
                timings[kind].extend(values)


def open_lane(port: int, token: str) -> Lane:
    """A lane with the demo cashier logged in and a shift open."""
    lane = Lane(port, token)
    session, _ = lane.must("POST", "/auth/login", {"pin": CASHIER_PIN})
    lane.headers["Authorization"] = f"Bearer {session['token']}"
    lane.must("POST", "/shifts", {"opening_float": 10_000})
    return lane


def _http_run(root: Path, sale_count: int, clients: int, line_count: int, burst_rounds: int) -> dict:
    data_dir = root / "http"
    store = StoreEdge(Config(), data_dir)
    store.db.migrate()
    seed(store)
    barcodes = demo_barcodes(line_count)
    tokens = [store.staff.add_device(f"bench-lane{i + 1}", "terminal", i + 1)[1] for i in range(clients)]
    store.db.close()
    threads = max(16, clients * 2)
    with running_server(data_dir, threads) as port:
        lanes = [open_lane(port, token) for token in tokens]
        for lane in lanes:
            lane.sell(barcodes, None)  # warm-up: connections, caches, code paths
        timings: dict[str, list[float]] = {"open sale": [], "add line": [], "complete sale": [], "whole sale": []}
        per_lane = [sale_count // clients + (1 if i < sale_count % clients else 0) for i in range(clients)]
        errors: list[BaseException] = []

        def work(lane: Lane, count: int) -> None:
            try:
                for _ in range(count):
                    lane.sell(barcodes, timings)
            except BaseException as error:  # reported after the run
                errors.append(error)

        started = time.perf_counter()
        in_parallel(work, [(lane, n) for lane, n in zip(lanes, per_lane)])
        wall = time.perf_counter() - started
        timings["complete, all lanes at once"] = bursts(
            lanes, burst_rounds, errors, fill=lambda lane, _: lane.fill_cart(barcodes, {}),
            pay=lambda lane, sale, _: lane.pay(sale))
    if errors:
        raise RuntimeError(f"{len(errors)} lane(s) failed: {errors[0]}")
    return {"timings": timings, "wall": wall, "sales": sum(per_lane), "threads": threads}


def in_parallel(target, argument_lists: list[tuple]) -> None:
    workers = [threading.Thread(target=target, args=args) for args in argument_lists]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def bursts(lanes: list[Lane], rounds: int, errors: list, fill, pay) -> list[float]:
    """Every lane fills a cart (``fill(lane, round)``), then all press 'pay' together
    (``pay(lane, sale, round)`` → seconds): the moment the budget names."""
    barrier = threading.Barrier(len(lanes))
    latencies: list[float] = []

    def lane_rounds(lane: Lane) -> None:
        try:
            for n in range(rounds):
                sale = fill(lane, n)
                barrier.wait(timeout=60)
                latencies.append(pay(lane, sale, n))
        except BaseException as error:  # reported after the run
            errors.append(error)
            barrier.abort()

    in_parallel(lane_rounds, [(lane,) for lane in lanes])
    return latencies


@contextmanager
def running_server(data_dir: Path, threads: int, config_path: Path | None = None):
    """`storeedge web` on a free loopback port for the length of the block."""
    port = _free_port()
    config = ["--config", str(config_path)] if config_path else []
    server = subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "--data-dir", str(data_dir), *config, "web", "--host", "127.0.0.1",
         "--port", str(port), "--threads", str(threads)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        _wait_for(port)
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the server did not answer /api/v1/health within 30 s")


class SqlTimer:
    """Time spent inside SQLite by one store database: statements, BEGIN and COMMIT, and the group commit's
    fsync of the WAL (which SQLite's own COMMIT did at synchronous=FULL)."""

    def __init__(self, database):
        self.total = 0.0
        self.statements = 0
        database.peewee.query_hooks.append(self._statement)
        for name in ("begin", "commit"):
            original = getattr(database.peewee, name)
            setattr(database.peewee, name, self._timed(original))
        database.wal_flush.sync = self._timed(database.wal_flush.sync)

    def _statement(self, event) -> None:
        self.statements += 1
        self._add(event.duration)

    def _add(self, seconds: float) -> None:
        self.total += seconds

    def _timed(self, method):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self._add(time.perf_counter() - start)

        return timed


def _domain_run(root: Path, sale_count: int, line_count: int) -> dict:
    store = StoreEdge(Config(), root / "domain")
    store.db.migrate()
    seed(store)
    barcodes = demo_barcodes(line_count)
    device, _ = store.staff.add_device("bench-domain", "terminal", 1)
    caller = Caller(device=device, staff=Staff.get(Staff.role == "cashier"))
    store.shifts.open(caller, 10_000)
    timer = SqlTimer(store.db)
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(sale_count):
        sale = store.sales.open(caller)
        for code in barcodes:
            store.sales.add_line(sale.id, caller, barcode=code, qty=1)
        total = store.sales.get(sale.id).total
        store.sales.complete(sale.id, caller, [{"method": "card", "amount": total // 2, "reference": "bench"},
                                               {"method": "cash", "amount": total - total // 2 + 1000}])
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    store.db.close()
    return {"db": timer.total / sale_count, "wall": wall / sale_count, "cpu": cpu / sale_count,
            "statements": timer.statements / sale_count}


def _domain_bursts(root: Path, clients: int, rounds: int, line_count: int) -> dict:
    """All lanes completing at once in process (no HTTP): the write lock's queue and the group commit alone.
    Returns the completions' seconds and the WAL fsyncs per durable commit over the bursts."""
    store = StoreEdge(Config(), root / "bursts")
    store.db.migrate()
    seed(store)
    barcodes = demo_barcodes(line_count)
    cashier = Staff.get(Staff.role == "cashier")
    callers = []
    for lane in range(1, clients + 1):
        device, _ = store.staff.add_device(f"bench-burst{lane}", "terminal", lane)
        callers.append(Caller(device=device, staff=cashier))
        store.shifts.open(callers[-1], 10_000)

    def fill(caller: Caller, _round: int):
        sale = store.sales.open(caller)
        for code in barcodes:
            store.sales.add_line(sale.id, caller, barcode=code, qty=1)
        return sale.id

    def pay(caller: Caller, sale_id: str, _round: int) -> float:
        total = store.sales.get(sale_id).total
        start = time.perf_counter()
        store.sales.complete(sale_id, caller, [{"method": "cash", "amount": total}])
        return time.perf_counter() - start

    flush = store.db.wal_flush
    commits, syncs, sync_seconds = flush.commits, flush.syncs, flush.sync_seconds
    errors: list[BaseException] = []
    latencies = bursts(callers, rounds, errors, fill, pay)
    if errors:
        raise RuntimeError(f"{len(errors)} lane(s) failed in process: {errors[0]}")
    synced = flush.syncs - syncs
    figures = {"latencies": latencies, "syncs_per_commit": synced / max(1, flush.commits - commits),
               "sync_mean": (flush.sync_seconds - sync_seconds) / max(1, synced)}
    store.db.close()
    return figures


def _floor_run(root: Path, sale_count: int, line_count: int) -> float:
    """Raw sqlite3: the rows of one completed sale in one FULL-sync transaction."""
    store = StoreEdge(Config(), root / "floor")
    store.db.migrate()
    seed(store)
    products = [(p.id, p.sku, p.name, p.price) for p in Product.select().where(Product.sold_by == "each")
                .order_by(Product.id).limit(line_count)]
    device, _ = store.staff.add_device("bench-floor", "terminal", 1)
    store.db.close()
    conn = sqlite3.connect(root / "floor" / DB_FILENAME, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    staff_id = conn.execute("SELECT id FROM staff WHERE role='cashier'").fetchone()[0]
    shift_id = str(uuid.uuid4())
    conn.execute("INSERT INTO shift (id, device_id, opened_by, opened_at, opening_float, status) "
                 "VALUES (?, ?, ?, '2026-01-01', 0, 'open')", (shift_id, device.id, staff_id))
    started = time.perf_counter()
    for n in range(sale_count):
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        sale_id = str(uuid.uuid4())
        total = sum(p[3] for p in products)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO sale (id, device_id, lane, shift_id, cashier_id, status, opened_at, completed_at, "
            "business_date, receipt_no, subtotal, total, paid, change) "
            "VALUES (?, ?, 1, ?, ?, 'completed', ?, ?, '20260101', ?, ?, ?, ?, 1000)",
            (sale_id, device.id, shift_id, staff_id, now, now, f"F-{n}", total, total, total))
        conn.executemany(
            "INSERT INTO sale_line (id, sale_id, line_no, product_id, sku, name, sold_by, qty, list_price, "
            "unit_price, tax_rate, gross, total) VALUES (?, ?, ?, ?, ?, ?, 'each', 1, ?, ?, 1300, ?, ?)",
            [(str(uuid.uuid4()), sale_id, i + 1, p[0], p[1], p[2], p[3], p[3], p[3], p[3])
             for i, p in enumerate(products)])
        conn.executemany(
            "INSERT INTO payment (id, sale_id, method, amount, tendered, change, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(str(uuid.uuid4()), sale_id, "card", total // 2, total // 2, 0, now),
             (str(uuid.uuid4()), sale_id, "cash", total - total // 2, total - total // 2 + 1000, 1000, now)])
        for p in products:
            conn.execute("INSERT INTO stock_movement (id, product_id, qty, reason, ref, at) "
                         "VALUES (?, ?, -1, 'sale', ?, ?)", (str(uuid.uuid4()), p[0], sale_id, now))
            conn.execute("UPDATE stock_level SET on_hand = on_hand - 1 WHERE product_id = ?", (p[0],))
        seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox_event").fetchone()[0]
        conn.execute("INSERT INTO outbox_event (seq, id, type, at, data) VALUES (?, ?, 'sale.completed', ?, ?)",
                     (seq, str(uuid.uuid4()), now, json.dumps({"sale_id": sale_id, "lines": products})))
        last = conn.execute("SELECT seq, hash FROM audit_record ORDER BY seq DESC LIMIT 1").fetchone()
        conn.execute("INSERT INTO audit_record (seq, at, action, data, prev_hash, hash) "
                     "VALUES (?, ?, 'sale.completed', '{}', ?, ?)", (last[0] + 1, now, last[1], uuid.uuid4().hex))
        conn.execute("COMMIT")
    elapsed = (time.perf_counter() - started) / sale_count
    conn.close()
    return elapsed


def run(sale_count: int, clients: int, line_count: int, burst_rounds: int = 50, echo=print) -> dict:
    domain_sales = min(sale_count, 300)
    with tempfile.TemporaryDirectory(prefix="storeedge-bench-") as tmp:
        root = Path(tmp)
        echo(f"checkout benchmark: {sale_count} sales × {line_count} lines from {clients} lanes over HTTP, "
             f"each lane selling back to back; then {burst_rounds} rounds of all lanes paying at once")
        result = _http_run(root, sale_count, clients, line_count, burst_rounds)
        domain = _domain_run(root, domain_sales, line_count)
        in_process = _domain_bursts(root, clients, burst_rounds, line_count)
        floor = _floor_run(root, domain_sales, line_count)
    timings = result["timings"]
    echo(f"server: gunicorn, 1 worker × {result['threads']} threads, SQLite WAL")
    echo(f"{'request':<30}{'count':>7}{'p50':>12}{'p99':>12}{'max':>12}")
    for kind in ("open sale", "add line", "complete sale", "whole sale", "complete, all lanes at once"):
        values = timings[kind]
        echo(f"{kind:<30}{len(values):>7}{ms(percentile(values, 0.5)):>12}{ms(percentile(values, 0.99)):>12}"
             f"{ms(max(values)):>12}")
    throughput = result["sales"] / result["wall"]
    echo(f"throughput, back to back: {throughput:.1f} sales/s ({throughput * (line_count + 2):.0f} requests/s)")
    verdicts = {}
    for kind in ("complete sale", "complete, all lanes at once"):
        p99 = percentile(timings[kind], 0.99)
        verdicts[kind] = p99
        echo(f"{kind}: p99 {p99 * 1000:.2f} ms against a budget of 25 ms: "
             f"{'within' if p99 < 0.025 else 'OVER'} budget")
    ratio = domain["db"] / floor
    echo(f"database time per sale ({domain_sales} sales, in process):")
    echo(f"  floor, raw sqlite3, one transaction : {ms(floor)}")
    echo(f"  StoreEdge domain path, inside SQLite: {ms(domain['db'])}  = {ratio:.2f}× the floor "
         f"(budget 4×: {'within' if ratio <= 4 else 'OVER'})")
    echo(f"  StoreEdge domain path, all of it    : {ms(domain['wall'])}  (Python included)")
    # CPU and statements hardly move with the neighbours on a shared machine; the times above do
    echo(f"  StoreEdge domain path, CPU          : {ms(domain['cpu'])}  ({domain['statements']:.1f} SQL statements "
         f"per sale: open, {line_count} lines, complete)")
    bursts_in_process = in_process["latencies"]
    echo(f"{clients} lanes completing at once, in process ({burst_rounds} rounds, no HTTP): "
         f"p50 {ms(percentile(bursts_in_process, 0.5)).strip()}, p99 {ms(percentile(bursts_in_process, 0.99)).strip()}; "
         f"WAL fsyncs per durable commit {in_process['syncs_per_commit']:.2f} (group commit; 1.00 would be one each), "
         f"each {ms(in_process['sync_mean']).strip()} on average")
    return {"complete_p99": verdicts["complete sale"], "burst_p99": verdicts["complete, all lanes at once"],
            "throughput": throughput, "db_ratio": ratio, "syncs_per_commit": in_process["syncs_per_commit"]}
