"""`storeedge bench reports`: two years of a busy shop's sales, the summaries built, every report timed.

The sales are written straight into a fresh database (ringing up 365k tickets through the checkout is not
what is measured): ~500 tickets a day over the opening hours with a lunch and an evening peak, ~3 lines a
ticket from a catalog of 3,000 products whose popularity falls off steeply, 40 % member tickets, 60 % with a
salesperson, 1 % refunded, a stock movement per line and top-ups every day. Then: the full summary rebuild,
an incremental refresh after sales rung up through the real checkout, and each report over the last 30
days, the last year and the whole two years, p50/p99 in process. The floor, measured in the same run: raw
sqlite3 running the summary SELECT behind sales by day; and for scale, the same answer summed from the raw
sale rows, which is what the summaries save.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from edge.app import StoreEdge
from edge.bench.checkout import Lane, running_server
from edge.bench.stats import ms, percentile, timed
from edge.config import Config
from edge.db import DB_FILENAME
from edge.staff.models import Staff
from edge.staff.service import Caller

ZONE = ZoneInfo("Asia/Shanghai")
PRODUCTS, CATEGORIES, MEMBERS = 3000, 24, 20_000
CASHIERS, SALESPEOPLE = 4, 8
HOURS = list(range(8, 22))
MANAGER_PIN = "8642"
HOUR_WEIGHTS = [2, 4, 5, 8, 10, 7, 4, 4, 5, 7, 10, 9, 5, 2]  # lunch and after-work peaks


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


class Seeder:
    """Writes the shop's history with plain sqlite3, a month per transaction."""

    def __init__(self, path: Path, days: int, tickets_per_day: int, seed: int = 7):
        self.conn = sqlite3.connect(path / DB_FILENAME)
        self.days, self.tickets_per_day = days, tickets_per_day
        self.random = random.Random(seed)
        self.first_day = date.today() - timedelta(days=days)
        self.counts = {"sales": 0, "lines": 0, "refunds": 0, "topups": 0}

    def catalog_and_people(self) -> None:
        now = _utc(datetime.now(timezone.utc))
        with self.conn:
            self.conn.executemany("INSERT INTO category (id, code, name) VALUES (?, ?, ?)",
                                  [(c, f"C{c:02d}", f"品类 {c}") for c in range(1, CATEGORIES + 1)])
            self.prices = [self.random.choice([150, 300, 550, 990, 1590, 2990, 8990]) for _ in range(PRODUCTS)]
            self.conn.executemany(
                "INSERT INTO product (id, sku, name, category_id, unit, sold_by, price, tax_rate, updated_at) "
                "VALUES (?, ?, ?, ?, '件', 'each', ?, 1300, ?)",
                [(p, f"P{p:05d}", f"商品 {p}", 1 + p % CATEGORIES, self.prices[p - 1], now)
                 for p in range(1, PRODUCTS + 1)])
            self.conn.executemany("INSERT INTO stock_level (product_id, on_hand, updated_at) VALUES (?, ?, ?)",
                                  [(p, self.random.randint(0, 400), now) for p in range(1, PRODUCTS + 1)])
            staff = [(s, f"员工 {s}", "cashier", f"bench-{s}", f"lookup-{s}", now)
                     for s in range(1, CASHIERS + SALESPEOPLE + 1)]
            self.conn.executemany("INSERT INTO staff (id, name, role, pin_hash, pin_lookup, active, created_at) "
                                  "VALUES (?, ?, ?, ?, ?, 1, ?)", staff)
            self.conn.executemany("INSERT INTO device (id, name, kind, lane, paired_at) VALUES (?, ?, 'terminal', ?, ?)",
                                  [(d, f"lane{d}", d, now) for d in range(1, CASHIERS + 1)])
            self.members = [str(uuid.uuid4()) for _ in range(MEMBERS)]
            self.conn.executemany(
                "INSERT INTO member (id, code, phone, status, home_store, registered_at, updated_at) "
                "VALUES (?, ?, ?, 'active', 'S001', ?4, ?4)",
                [(m, f"M{n:011d}", str(13_800_000_000 + n), now) for n, m in enumerate(self.members)])
        # a steep popularity curve: a few products sell all day, most seldom
        self.popularity = [1 / (rank ** 0.9) for rank in range(1, PRODUCTS + 1)]

    def history(self) -> None:
        for month_start in range(0, self.days, 30):
            sales, lines, movements, refunds, refund_lines, topups = [], [], [], [], [], []
            for offset in range(month_start, min(month_start + 30, self.days)):
                day = self.first_day + timedelta(days=offset)
                for _ in range(self.random.randint(int(self.tickets_per_day * 0.8), int(self.tickets_per_day * 1.2))):
                    self._ticket(day, sales, lines, movements, refunds, refund_lines)
                for _ in range(20):
                    at = _utc(datetime.combine(day, datetime.min.time(), ZONE) + timedelta(hours=self.random.choice(HOURS)))
                    topups.append((str(uuid.uuid4()), self.random.choice(self.members), self.random.randint(1, CASHIERS),
                                   self.random.choice([10_000, 20_000, 50_000]), at))
            self._write(sales, lines, movements, refunds, refund_lines, topups)

    def _ticket(self, day, sales, lines, movements, refunds, refund_lines) -> None:
        moment = datetime.combine(day, datetime.min.time(), ZONE) + timedelta(
            hours=self.random.choices(HOURS, HOUR_WEIGHTS)[0], minutes=self.random.randint(0, 59))
        at, sale_id = _utc(moment), str(uuid.uuid4())
        products = set(self.random.choices(range(1, PRODUCTS + 1), self.popularity,
                                           k=self.random.choices([1, 2, 3, 4, 5, 6], [20, 20, 25, 15, 12, 8])[0]))
        cashier = self.random.randint(1, CASHIERS)
        total, sale_lines = 0, []
        for line_no, product in enumerate(sorted(products), 1):
            qty = self.random.choices([1, 2, 3], [70, 22, 8])[0]
            amount = qty * self.prices[product - 1]
            total += amount
            line_id = str(uuid.uuid4())
            sale_lines.append((line_id, qty, amount))
            lines.append((line_id, sale_id, line_no, product, f"P{product:05d}", f"商品 {product}", qty,
                          self.prices[product - 1], self.prices[product - 1], amount, amount))
            movements.append((str(uuid.uuid4()), product, -qty, sale_id, at))
        sales.append((sale_id, cashier, cashier, self.random.randint(CASHIERS + 1, CASHIERS + SALESPEOPLE)
                      if self.random.random() < 0.6 else None,
                      self.random.choice(self.members) if self.random.random() < 0.4 else None,
                      at, at, day.strftime("%Y%m%d"), f"S001-{day:%Y%m%d}-{len(sales):05d}-{sale_id[:8]}",
                      total, total, total, total))
        if self.random.random() < 0.01:
            refund_id = str(uuid.uuid4())
            later = _utc(moment + timedelta(hours=1))
            refunds.append((refund_id, f"R{sale_id}", sale_id, cashier, total, later))
            refund_lines.extend((str(uuid.uuid4()), refund_id, line_id, qty, amount)
                                for line_id, qty, amount in sale_lines)

    def _write(self, sales, lines, movements, refunds, refund_lines, topups) -> None:
        with self.conn:
            self.conn.executemany(
                "INSERT INTO sale (id, device_id, lane, cashier_id, salesperson_id, member_id, status, opened_at, "
                "completed_at, business_date, receipt_no, subtotal, total, paid, change) "
                "VALUES (?, ?, ?, ?, ?, ?, 'completed', ?, ?, ?, ?, ?, ?, ?, 0)",
                [(s[0], s[1], s[2], s[1], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11])
                 for s in sales])
            self.conn.executemany(
                "INSERT INTO sale_line (id, sale_id, line_no, product_id, sku, name, sold_by, qty, list_price, "
                "unit_price, tax_rate, gross, total) VALUES (?, ?, ?, ?, ?, ?, 'each', ?, ?, ?, 1300, ?, ?)", lines)
            self.conn.executemany("INSERT INTO stock_movement (id, product_id, qty, reason, ref, at) "
                                  "VALUES (?, ?, ?, 'sale', ?, ?)", movements)
            self.conn.executemany(
                "INSERT INTO refund (id, refund_no, sale_id, device_id, staff_id, approved_by, reason, total, at) "
                "VALUES (?, ?, ?, ?4, ?4, 1, '质量问题', ?, ?)", refunds)
            self.conn.executemany("INSERT INTO refund_line (id, refund_id, sale_line_id, qty, amount) "
                                  "VALUES (?, ?, ?, ?, ?)", refund_lines)
            self.conn.executemany(
                "INSERT INTO stored_value_topup (id, member_id, shift_id, device_id, staff_id, method, amount, bonus, at) "
                "VALUES (?, ?, 'bench', 1, ?, 'cash', ?, 0, ?)", topups)
        self.counts["sales"] += len(sales)
        self.counts["lines"] += len(lines)
        self.counts["refunds"] += len(refunds)
        self.counts["topups"] += len(topups)

    def close(self) -> None:
        self.conn.close()


def _ring_up(store, sales: int) -> None:
    """Sales through the real checkout, as after a day of trading: what an incremental refresh folds in."""
    cashier = Staff.get_by_id(1)
    device, _ = store.staff.add_device("bench-reports", "terminal", 90)
    caller = Caller(device=device, staff=cashier)
    store.shifts.open(caller, 0)
    for n in range(sales):
        sale = store.sales.open(caller, salesperson_id=CASHIERS + 1 + n % SALESPEOPLE)
        for product in (1 + n % 50, 2 + n % 300, 3 + n % 1000):
            store.sales.add_line(sale.id, caller, sku=f"P{product:05d}")
        store.sales.complete(sale.id, caller, [{"method": "cash", "amount": store.sales.get(sale.id).total}])


def run(days: int, tickets_per_day: int, rounds: int, echo=print) -> dict:
    figures = {}
    with tempfile.TemporaryDirectory(prefix="storeedge-bench-") as tmp:
        root = Path(tmp)
        store = StoreEdge(Config(), root)
        store.db.migrate()
        started = time.perf_counter()
        seeder = Seeder(root, days, tickets_per_day)
        seeder.catalog_and_people()
        seeder.history()
        seeder.close()
        figures["seed_s"] = time.perf_counter() - started
        counts = seeder.counts
        echo(f"seeded {days} days: {counts['sales']} tickets, {counts['lines']} lines, {counts['refunds']} refunds, "
             f"{counts['topups']} top-ups in {figures['seed_s']:.1f} s "
             f"({(root / DB_FILENAME).stat().st_size / 1e6:.0f} MB)")

        started = time.perf_counter()
        rebuilt = store.reports.summaries.rebuild()
        figures["rebuild_s"] = time.perf_counter() - started
        echo(f"full rebuild: {figures['rebuild_s']:.1f} s; rows: "
             + ", ".join(f"{table} {count}" for table, count in rebuilt["rows"].items()))

        _ring_up(store, 200)
        started = time.perf_counter()
        folded = store.reports.summaries.refresh()
        figures["refresh_s"] = time.perf_counter() - started
        echo(f"incremental refresh: {folded} sales rung up through the checkout folded in "
             f"{figures['refresh_s'] * 1000:.0f} ms")

        figures.update(measure(store, root, days, rounds, echo))
        manager = store.staff.add_staff("报表经理", "manager", MANAGER_PIN)
        _, token = store.staff.add_device("bench-reports-office", "terminal", 91)
        store.db.close()
        figures.update(measure_http(root, days, rounds, token, manager.id, echo))
    return figures


def measure_http(root: Path, days: int, rounds: int, device_token: str, manager_id: int, echo=print) -> dict:
    """Every report over the whole history through `storeedge web` (gunicorn) as the back office asks for it:
    a manager's session, JSON out, the summaries' catch-up included; CSV export of the longest one."""
    today = date.today()
    period = f"from={(today - timedelta(days=days)).isoformat()}&to={today.isoformat()}"
    reports = [f"/reports/sales?by={by}" for by in ("hour", "day", "week", "category", "product")] + [
        "/reports/traffic?", "/reports/staff?role=salesperson", "/reports/staff?role=cashier",
        "/reports/basket?min_support=0.01", "/reports/stock?", "/reports/settlement?",
        "/reports/sales?by=product&format=csv"]
    timings: list[tuple[str, list[float]]] = []
    with running_server(root, threads=4) as port:
        office = Lane(port, device_token)
        session, _ = office.must("POST", "/auth/login", {"pin": MANAGER_PIN})
        if session["staff"]["id"] != manager_id:
            raise RuntimeError(f"logged in as {session['staff']} instead of the bench's manager")
        office.headers["Authorization"] = f"Bearer {session['token']}"
        for report in reports:
            path = f"{report}{'' if report.endswith('?') else '&'}{period}"
            office.download(path)  # warm-up: the connection, the summaries' catch-up, the code path
            timings.append((report.rstrip("?"), timed(lambda _, path=path: office.download(path), range(rounds))))
    echo(f"over HTTP (gunicorn, a manager's session), {days} days, {rounds} rounds each")
    echo(f"{'GET /api/v1':<48}{'p50':>12}{'p99':>12}")
    for report, samples in timings:
        echo(f"{report:<48}{ms(percentile(samples, 0.5)):>12}{ms(percentile(samples, 0.99)):>12}")
    worst = max(percentile(samples, 0.99) for _, samples in timings)
    echo(f"  slowest report p99 over HTTP: {worst * 1000:.0f} ms ({'within' if worst < 1 else 'OVER'} the 1 s budget)")
    return {"worst_p99_http": worst}


def measure(store, root: Path, days: int, rounds: int, echo=print) -> dict:
    """Each report over the last 30 days, the last year and the whole history: p50/p99 against the floor."""
    figures = {}
    today = store.today()
    periods = {"30 days": 29, "1 year": 364, "2 years": days}
    conn = sqlite3.connect(root / DB_FILENAME)
    echo(f"{'report':<34}{'period':>9}{'p50':>12}{'p99':>12}")
    for label, back in periods.items():
        period = store.reports.period((today - timedelta(days=back)).isoformat(), today.isoformat())
        bounds = period.bounds
        floor = timed(lambda _: conn.execute(
            "SELECT day, SUM(tickets), SUM(amount), SUM(items), SUM(member_tickets), SUM(refunds), "
            "SUM(refund_amount) FROM report_ticket_hour WHERE day BETWEEN ? AND ? GROUP BY day",
            bounds).fetchall(), range(rounds))
        paths = [("floor: raw sqlite3, summary", floor)]
        reports = store.reports
        cases = {
            **{f"sales by {by}": (lambda by=by: reports.fresh().sales(period, by)) for by in
               ("hour", "day", "week", "category", "product")},
            "traffic": lambda: reports.fresh().traffic(period),
            "staff (salesperson)": lambda: reports.fresh().staff(period, "salesperson"),
            "staff (cashier)": lambda: reports.fresh().staff(period, "cashier"),
            "bought together (1 %)": lambda: reports.fresh().basket(period, 0.01, 50),
            "stock": lambda: reports.fresh().stock(period, 7),
            "settlement": lambda: reports.reports.settlement(period),
        }
        for name, call in cases.items():
            paths.append((name, timed(lambda _, call=call: call(), range(rounds))))
        raw = timed(lambda _: conn.execute(
            "SELECT business_date, COUNT(*), SUM(total) FROM sale WHERE status = 'completed' "
            "AND business_date BETWEEN ? AND ? GROUP BY business_date",
            (bounds[0].replace("-", ""), bounds[1].replace("-", ""))).fetchall(), range(3))
        paths.append(("no summaries: raw sale rows", raw))
        for name, samples in paths:
            echo(f"{name:<34}{label:>9}{ms(percentile(samples, 0.5)):>12}{ms(percentile(samples, 0.99)):>12}")
        worst = max(percentile(samples, 0.99) for name, samples in paths[1:-1])
        figures[f"worst_p99_{label}"] = worst
        echo(f"  slowest report p99 over {label}: {worst * 1000:.0f} ms "
             f"({'within' if worst < 1 else 'OVER'} the 1 s budget); "
             f"sales by day p50 = {percentile(paths[2][1], 0.5) / percentile(floor, 0.5):.1f}× the floor")
    conn.close()
    return figures
