"""Summary tables behind the reports, kept up to date from the audit journal's sequence.

Why the audit journal: every completed sale, refund and stored-value top-up writes one record in
its own transaction, under the write lock, with a gap-free seq; and the journal is never pruned
(the outbox is, once HQ acknowledges). So "every record after seq W" is exactly what the summaries
have not folded in yet, and W (the watermark, kept in `meta`) moves in the same transaction as the
summary rows it stands for. Nothing here runs inside the checkout's transaction: the summaries
catch up when a report is asked for and from a timer in the web process.

Every summary row is a sum, so folding in a batch of facts is an additive upsert, and a full
rebuild is the same fold over every fact, in chunks.

Rules the reports follow (and the tests check against the raw sales):
- a sale counts on its business date, in the local hour of its completion;
- a refund counts on the local date and hour it was made, against the sale's products, categories,
  cashier and salespeople (so a ranking is net of what came back);
- a line's salesperson is its own (several counters' 导购 on one ticket) or else the sale's: a
  salesperson's ticket is one they sold a line on, their sales and refunds the lines they sold;
- a voided sale was never sold: it counts nowhere;
- items: pieces for goods sold by the piece, one per line for goods sold by weight;
- a product's category is the one it has when the fact is folded in.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timezone
from itertools import combinations
from zoneinfo import ZoneInfo

from edge.store_meta import Meta

WATERMARK_KEY = "reports_watermark"
BATCH = 2000  # audit records folded per transaction: short write locks even after a long pause
REBUILD_CHUNK = 20_000  # sales (or refunds, top-ups) per fold during a rebuild, bounding memory

# table: (key columns, summed columns)
TABLES = {
    "report_category_day": (("day", "category_id"),
                            ("sold_qty", "sold_amount", "lines", "refund_qty", "refund_amount")),
    "report_ticket_hour": (("day", "hour"),
                           ("tickets", "amount", "items", "member_tickets", "refunds", "refund_amount")),
    "report_product_day": (("day", "product_id"),
                           ("sold_qty", "sold_amount", "tickets", "refund_qty", "refund_amount")),
    "report_staff_day": (("day", "role", "staff_id"),
                         ("tickets", "amount", "items", "member_tickets", "refunds", "refund_amount",
                          "stored_value_sold")),
    "report_pair_day": (("day", "product_a", "product_b"), ("tickets",)),
    "report_product_month": (("month", "product_id"),
                             ("sold_qty", "sold_amount", "tickets", "refund_qty", "refund_amount")),
    "report_pair_month": (("month", "product_a", "product_b"), ("tickets",)),
}
# day tables rolled up by month (their key's first part, YYYY-MM-DD, cut to YYYY-MM) as they are written
MONTHLY = {"report_product_day": "report_product_month", "report_pair_day": "report_pair_month"}


def _upsert_sql(table: str) -> str:
    keys, values = TABLES[table]
    columns = keys + values
    sums = ", ".join(f"{v} = {v} + excluded.{v}" for v in values)
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sums}")


_UPSERTS = {table: _upsert_sql(table) for table in TABLES}

_SALES = ("SELECT s.id, s.business_date, s.completed_at, s.cashier_id, s.member_id IS NOT NULL "
          "FROM sale s WHERE s.status = 'completed' AND {where}")
_SALE_LINES = ("SELECT l.sale_id, l.product_id, l.sold_by, l.qty, l.total, COALESCE(p.category_id, 0), "
               "COALESCE(l.salesperson_id, s.salesperson_id) "
               "FROM sale s JOIN sale_line l ON l.sale_id = s.id LEFT JOIN product p ON p.id = l.product_id "
               "WHERE s.status = 'completed' AND {where}")
_REFUNDS = "SELECT r.id, r.at, r.total, s.cashier_id FROM refund r JOIN sale s ON s.id = r.sale_id WHERE {where}"
_REFUND_LINES = ("SELECT r.id, r.at, sl.product_id, rl.qty, rl.amount, COALESCE(p.category_id, 0), "
                 "COALESCE(sl.salesperson_id, s.salesperson_id) "
                 "FROM refund r JOIN sale s ON s.id = r.sale_id JOIN refund_line rl ON rl.refund_id = r.id "
                 "JOIN sale_line sl ON sl.id = rl.sale_line_id LEFT JOIN product p ON p.id = sl.product_id "
                 "WHERE {where}")
_TOPUPS = "SELECT t.at, t.staff_id, t.amount FROM stored_value_topup t WHERE {where}"

_BY_IDS = {"s": "s.id IN (SELECT value FROM json_each(?))", "r": "r.id IN (SELECT value FROM json_each(?))",
           "t": "t.id IN (SELECT value FROM json_each(?))"}
_BY_ROWIDS = {alias: f"{alias}.rowid > ? AND {alias}.rowid <= ?" for alias in ("s", "r", "t")}


def items_of(sold_by: str, qty: int) -> int:
    """What a line adds to a ticket's item count: its pieces, or one for goods sold by weight."""
    return qty if sold_by == "each" else 1


class LocalClock:
    """UTC timestamps → the store's local (day, hour); memoised per minute, which every zone keeps whole."""

    def __init__(self, zone: str):
        self.zone = ZoneInfo(zone)
        self.seen: dict[str, tuple[str, int]] = {}

    def __call__(self, stamp: str) -> tuple[str, int]:
        minute = stamp[:16]
        local = self.seen.get(minute)
        if local is None:
            moment = datetime.fromisoformat(minute).replace(tzinfo=timezone.utc).astimezone(self.zone)
            local = self.seen[minute] = (moment.strftime("%Y-%m-%d"), moment.hour)
        return local


def dashed(business_date: str) -> str:
    return f"{business_date[:4]}-{business_date[4:6]}-{business_date[6:]}"


class Fold:
    """The sums one batch of facts adds to each summary table."""

    def __init__(self, clock: LocalClock):
        self.clock = clock
        self.rows = {table: defaultdict(lambda n=len(values): [0] * n) for table, (_, values) in TABLES.items()}

    def add(self, table: str, key: tuple, *amounts: int) -> None:
        row = self.rows[table][key]
        for index, amount in enumerate(amounts):
            row[index] += amount

    def sales(self, db, where: str, params: tuple) -> None:
        sales = {}
        for sale_id, business_date, completed_at, cashier, member in db.execute_sql(
                _SALES.format(where=where), params):
            day, hour = dashed(business_date), self.clock(completed_at)[1]
            # day, hour, cashier, member, amount, items, products, and per salesperson [amount, items]
            sales[sale_id] = [day, hour, cashier, member, 0, 0, set(), defaultdict(lambda: [0, 0])]
        for sale_id, product_id, sold_by, qty, total, category, salesperson in db.execute_sql(
                _SALE_LINES.format(where=where), params):
            sale = sales[sale_id]
            day, items = sale[0], items_of(sold_by, qty)
            self.add("report_category_day", (day, category), qty, total, 1, 0, 0)
            self.add("report_product_day", (day, product_id), qty, total, 0, 0, 0)
            sale[4] += total
            sale[5] += items
            sale[6].add(product_id)
            if salesperson is not None:
                sale[7][salesperson][0] += total
                sale[7][salesperson][1] += items
        for day, hour, cashier, member, amount, items, products, salespeople in sales.values():
            self.add("report_ticket_hour", (day, hour), 1, amount, items, member, 0, 0)
            self.add("report_staff_day", (day, "cashier", cashier), 1, amount, items, member, 0, 0, 0)
            # a salesperson's ticket is one they sold a line on; their sales, the lines they sold
            for salesperson, (sold, sold_items) in salespeople.items():
                self.add("report_staff_day", (day, "salesperson", salesperson), 1, sold, sold_items, member, 0, 0, 0)
            for product_id in products:
                self.add("report_product_day", (day, product_id), 0, 0, 1, 0, 0)
            for pair in combinations(sorted(products), 2):
                self.add("report_pair_day", (day, *pair), 1)

    def refunds(self, db, where: str, params: tuple) -> None:
        for _refund_id, at, total, cashier in db.execute_sql(_REFUNDS.format(where=where), params):
            day, hour = self.clock(at)
            self.add("report_ticket_hour", (day, hour), 0, 0, 0, 0, 1, total)
            self.add("report_staff_day", (day, "cashier", cashier), 0, 0, 0, 0, 1, total, 0)
        refunded_by = defaultdict(int)  # (refund, day, salesperson) → the amount of their lines given back
        for refund_id, at, product_id, qty, amount, category, salesperson in db.execute_sql(
                _REFUND_LINES.format(where=where), params):
            day = self.clock(at)[0]
            self.add("report_category_day", (day, category), 0, 0, 0, qty, amount)
            self.add("report_product_day", (day, product_id), 0, 0, 0, qty, amount)
            if salesperson is not None:
                refunded_by[refund_id, day, salesperson] += amount
        for (_refund_id, day, salesperson), amount in refunded_by.items():
            self.add("report_staff_day", (day, "salesperson", salesperson), 0, 0, 0, 0, 1, amount, 0)

    def topups(self, db, where: str, params: tuple) -> None:
        for at, staff_id, amount in db.execute_sql(_TOPUPS.format(where=where), params):
            self.add("report_staff_day", (self.clock(at)[0], "cashier", staff_id), 0, 0, 0, 0, 0, 0, amount)

    def write(self, db) -> None:
        for daily, monthly in MONTHLY.items():
            for (day, *rest), sums in self.rows[daily].items():
                self.add(monthly, (day[:7], *rest), *sums)
        for table, rows in self.rows.items():
            if rows:
                db.connection().executemany(_UPSERTS[table], [(*key, *sums) for key, sums in rows.items()])


class Summaries:
    """Keeps the summary tables in step with the sales: refresh (incremental) and rebuild (full)."""

    def __init__(self, app):
        self.app = app

    @property
    def db(self):
        return self.app.db.peewee

    def watermark(self) -> int:
        return int(Meta.get_value(WATERMARK_KEY) or 0)

    def latest_seq(self) -> int:
        return self.db.execute_sql("SELECT COALESCE(MAX(seq), 0) FROM audit_record").fetchone()[0]

    def refresh(self) -> int:
        """Fold in what the journal recorded since the watermark; returns how many facts were folded."""
        folded = 0
        while self.latest_seq() > self.watermark():
            with self.app.db.transaction(durable=False):
                # read again under the write lock: a racing refresh may have folded these already
                records = self.db.execute_sql(
                    "SELECT seq, action, entity_id, data FROM audit_record WHERE seq > ? ORDER BY seq LIMIT ?",
                    (self.watermark(), BATCH)).fetchall()
                if not records:
                    break
                wanted = defaultdict(list)
                for _seq, action, entity_id, data in records:
                    if action == "sale.completed":
                        wanted["s"].append(entity_id)
                    elif action == "refund.completed":
                        wanted["r"].append(entity_id)
                    elif action == "stored_value.topup":
                        wanted["t"].append(json.loads(data)["topup_id"])
                fold = Fold(LocalClock(self.app.config.store.timezone))
                for alias, method in (("s", fold.sales), ("r", fold.refunds), ("t", fold.topups)):
                    if wanted[alias]:
                        method(self.db, _BY_IDS[alias], (json.dumps(wanted[alias]),))
                fold.write(self.db)
                Meta.put(WATERMARK_KEY, str(records[-1][0]))
                folded += sum(len(ids) for ids in wanted.values())
        return folded

    def rebuild(self) -> dict:
        """Recompute every summary from the sales, refunds and top-ups, in one transaction."""
        with self.app.db.transaction(durable=False):
            for table in TABLES:
                self.db.execute_sql(f"DELETE FROM {table}")
            latest = self.latest_seq()
            for alias, table, folder in (("s", "sale", Fold.sales), ("r", "refund", Fold.refunds),
                                         ("t", "stored_value_topup", Fold.topups)):
                top = self.db.execute_sql(f"SELECT COALESCE(MAX(rowid), 0) FROM {table}").fetchone()[0]
                for start in range(0, top, REBUILD_CHUNK):
                    fold = Fold(LocalClock(self.app.config.store.timezone))
                    folder(fold, self.db, _BY_ROWIDS[alias], (start, start + REBUILD_CHUNK))
                    fold.write(self.db)
            Meta.put(WATERMARK_KEY, str(latest))
        return {"watermark": latest, "rows": {table: self.db.execute_sql(
            f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in TABLES}}
