"""The reports, read from the summary tables (and, for stock and stored value, from their ledgers).

Each report is a dict with `columns` (the row keys, in order), `money` (the columns in fen) and
`rows`, so the API can answer JSON or CSV from the same value; anything else in it is context.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from edge.errors import DomainError

MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class Period:
    """Whole local days, both ends included."""

    first: date
    last: date

    @classmethod
    def parse(cls, first: str | None, last: str | None, today: date) -> "Period":
        def day(text: str | None, field: str, default: date) -> date:
            if text is None:
                return default
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise DomainError(f"{field} must be a date as YYYY-MM-DD, not {text!r}", field=field) from None

        last_day = day(last, "to", today)
        first_day = day(first, "from", last_day - timedelta(days=29))
        if first_day > last_day:
            raise DomainError(f"from ({first_day}) is after to ({last_day})", field="from")
        if (last_day - first_day).days >= MAX_DAYS:
            raise DomainError(f"a report covers at most {MAX_DAYS} days", field="from")
        return cls(first_day, last_day)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def bounds(self) -> tuple[str, str]:
        return self.first.isoformat(), self.last.isoformat()

    def utc_bounds(self, zone: str) -> tuple[str, str]:
        """The period as UTC timestamps [start, end), comparable with the ledgers' `at`."""
        tz = ZoneInfo(zone)

        def utc(day: date) -> str:
            return datetime.combine(day, time(), tz).astimezone(timezone.utc).isoformat(timespec="milliseconds")

        return utc(self.first), utc(self.last + timedelta(days=1))

    def as_dict(self) -> dict:
        return {"from": self.first.isoformat(), "to": self.last.isoformat(), "days": self.days}

    def by_months(self) -> tuple[list["Period"], tuple[str, str] | None]:
        """The period as its partial months at either end (read by day) and the whole months between
        them (read by month, YYYY-MM first and last), so a long period reads few summary rows."""
        start = self.first if self.first.day == 1 else (self.first.replace(day=1) + timedelta(days=32)).replace(day=1)
        after = self.last + timedelta(days=1)
        end = after if after.day == 1 else self.last.replace(day=1)  # the day after the whole months
        if start >= end:
            return [self], None
        edges = ([Period(self.first, start - timedelta(days=1))] if self.first < start else []) + (
            [Period(end, self.last)] if end <= self.last else [])
        return edges, (start.strftime("%Y-%m"), (end - timedelta(days=1)).strftime("%Y-%m"))


def report(name: str, period: Period, columns: list[str], money: list[str], rows: list[dict], **extra) -> dict:
    return {"report": name, "period": period.as_dict(), "columns": columns, "money": money, "rows": rows, **extra}


def ratio(part: float, whole: float, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole else None


def average_fen(amount: int, count: int) -> int | None:
    return (amount * 2 + count) // (count * 2) if count else None  # half up, in whole fen


SALES_BY = ("hour", "day", "week", "category", "product")
_PRODUCT_COLUMNS = "product_id, sold_qty, sold_amount, tickets, refund_qty, refund_amount"
_TICKET_SUMS = ("SUM(tickets), SUM(amount), SUM(items), SUM(member_tickets), SUM(refunds), SUM(refund_amount)")


class Reports:
    def __init__(self, app):
        self.app = app

    @property
    def db(self):
        return self.app.db.peewee

    def _rows(self, sql: str, params: tuple) -> list[tuple]:
        return self.db.execute_sql(sql, params).fetchall()

    @staticmethod
    def _rolled(stem: str, columns: str, period: Period) -> tuple[str, list]:
        """A subquery over `{stem}_day` for the period's partial months and `{stem}_month` for the whole ones."""
        edges, months = period.by_months()
        parts = [f"SELECT {columns} FROM {stem}_day WHERE day BETWEEN ? AND ?" for _ in edges]
        params = [bound for edge in edges for bound in edge.bounds]
        if months:
            parts.append(f"SELECT {columns} FROM {stem}_month WHERE month BETWEEN ? AND ?")
            params += months
        return "(" + " UNION ALL ".join(parts) + ")", params

    # -- sales ------------------------------------------------------------------

    def sales(self, period: Period, by: str, limit: int = 100) -> dict:
        if by not in SALES_BY:
            raise DomainError(f"by must be one of {', '.join(SALES_BY)}", field="by")
        return getattr(self, f"_sales_by_{by}")(period, limit)

    def _ticket_rows(self, key: str, period: Period) -> list[tuple]:
        return self._rows(f"SELECT {key}, {_TICKET_SUMS} FROM report_ticket_hour WHERE day BETWEEN ? AND ? "
                          f"GROUP BY {key} ORDER BY {key}", period.bounds)

    @staticmethod
    def _ticket_row(name: str, key, sums: tuple) -> dict:
        tickets, amount, items, members, refunds, refunded = sums
        return {name: key, "tickets": tickets, "sales": amount, "refunds": refunds, "refunded": refunded,
                "net": amount - refunded, "items": items, "average_ticket": average_fen(amount, tickets),
                "member_rate": ratio(members, tickets)}

    _TICKET_COLUMNS = ["tickets", "sales", "refunds", "refunded", "net", "items", "average_ticket", "member_rate"]
    _TICKET_MONEY = ["sales", "refunded", "net", "average_ticket"]

    def _sales_by_hour(self, period: Period, _limit: int) -> dict:
        rows = [self._ticket_row("hour", key, sums) for key, *sums in self._ticket_rows("hour", period)]
        return report("sales_by_hour", period, ["hour", *self._TICKET_COLUMNS], self._TICKET_MONEY, rows)

    def _sales_by_day(self, period: Period, _limit: int) -> dict:
        """Every day of the period, those without a sale as zeros, so a chart's time axis has no holes."""
        found = {key: sums for key, *sums in self._ticket_rows("day", period)}
        days = (period.first + timedelta(days=n) for n in range(period.days))
        rows = [self._ticket_row("day", day.isoformat(), found.get(day.isoformat(), (0,) * 6)) for day in days]
        return report("sales_by_day", period, ["day", *self._TICKET_COLUMNS], self._TICKET_MONEY, rows)

    def _sales_by_week(self, period: Period, _limit: int) -> dict:
        weeks: dict[str, list[int]] = {}
        for day, *sums in self._ticket_rows("day", period):
            year, week, _ = date.fromisoformat(day).isocalendar()
            total = weeks.setdefault(f"{year}-W{week:02d}", [0] * len(sums))
            for index, value in enumerate(sums):
                total[index] += value
        rows = [self._ticket_row("week", key, tuple(sums)) for key, sums in weeks.items()]
        return report("sales_by_week", period, ["week", *self._TICKET_COLUMNS], self._TICKET_MONEY, rows)

    def _sales_by_category(self, period: Period, _limit: int) -> dict:
        found = self._rows(
            "SELECT r.category_id, c.name, SUM(sold_qty), SUM(sold_amount), SUM(lines), SUM(refund_qty), "
            "SUM(refund_amount) FROM report_category_day r LEFT JOIN category c ON c.id = r.category_id "
            "WHERE day BETWEEN ? AND ? GROUP BY r.category_id ORDER BY SUM(sold_amount - refund_amount) DESC",
            period.bounds)
        total_net = sum(sold - refunded for *_, sold, _lines, _rq, refunded in found)
        rows = [{"category_id": category_id or None, "category": name or "—", "qty": qty, "lines": lines,
                 "sales": sold, "refund_qty": refund_qty, "refunded": refunded, "net": sold - refunded,
                 "share": ratio(sold - refunded, total_net)}
                for category_id, name, qty, sold, lines, refund_qty, refunded in found]
        return report("sales_by_category", period,
                      ["category_id", "category", "qty", "lines", "sales", "refund_qty", "refunded", "net", "share"],
                      ["sales", "refunded", "net"], rows)

    def _sales_by_product(self, period: Period, limit: int) -> dict:
        rolled, params = self._rolled("report_product", _PRODUCT_COLUMNS, period)
        found = self._rows(
            f"SELECT r.product_id, p.sku, p.name, SUM(sold_qty), SUM(sold_amount), SUM(tickets), SUM(refund_qty), "
            f"SUM(refund_amount) FROM {rolled} r LEFT JOIN product p ON p.id = r.product_id GROUP BY r.product_id "
            f"ORDER BY SUM(sold_amount - refund_amount) DESC, r.product_id LIMIT ?", (*params, limit))
        rows = [{"product_id": product_id, "sku": sku, "name": name, "qty": qty, "tickets": tickets, "sales": sold,
                 "refund_qty": refund_qty, "refunded": refunded, "net": sold - refunded}
                for product_id, sku, name, qty, sold, tickets, refund_qty, refunded in found]
        return report("sales_by_product", period,
                      ["product_id", "sku", "name", "qty", "tickets", "sales", "refund_qty", "refunded", "net"],
                      ["sales", "refunded", "net"], rows, limit=limit)

    # -- traffic ------------------------------------------------------------------

    def traffic(self, period: Period) -> dict:
        """Tickets by hour of the day (time slots), with the average per day of the period."""
        by_hour = {hour: (tickets, amount) for hour, tickets, amount in self._rows(
            "SELECT hour, SUM(tickets), SUM(amount) FROM report_ticket_hour WHERE day BETWEEN ? AND ? "
            "GROUP BY hour", period.bounds)}
        weekdays = [0] * 7
        for day, tickets in self._rows("SELECT day, SUM(tickets) FROM report_ticket_hour WHERE day BETWEEN ? AND ? "
                                       "GROUP BY day", period.bounds):
            weekdays[date.fromisoformat(day).weekday()] += tickets
        rows = [{"hour": hour, "slot": f"{hour:02d}:00-{hour:02d}:59", "tickets": tickets,
                 "per_day": round(tickets / period.days, 2), "sales": amount}
                for hour, (tickets, amount) in sorted(by_hour.items())]
        return report("traffic", period, ["hour", "slot", "tickets", "per_day", "sales"], ["sales"], rows,
                      by_weekday=[{"weekday": index + 1, "tickets": count} for index, count in enumerate(weekdays)])

    # -- staff --------------------------------------------------------------------

    def staff(self, period: Period, role: str) -> dict:
        """The ranking of salespeople (导购) or cashiers, best net sales first, with their targets."""
        found = self._rows(
            "SELECT r.staff_id, st.name, SUM(r.tickets), SUM(r.amount), SUM(r.items), SUM(r.member_tickets), SUM(r.refunds), "
            "SUM(r.refund_amount), SUM(r.stored_value_sold) FROM report_staff_day r LEFT JOIN staff st ON st.id = r.staff_id "
            "WHERE r.role = ? AND r.day BETWEEN ? AND ? GROUP BY r.staff_id "
            "ORDER BY SUM(r.amount - r.refund_amount) DESC, r.staff_id", (role, *period.bounds))
        targets = dict(self._rows("SELECT staff_id, amount FROM sales_target WHERE role = ? AND period_from = ? "
                                  "AND period_to = ?", (role, *period.bounds)))
        rows = []
        for rank, (staff_id, name, tickets, amount, items, members, refunds, refunded, stored) in enumerate(found, 1):
            net = amount - refunded
            target = targets.get(staff_id)
            rows.append({"rank": rank, "staff_id": staff_id, "name": name, "tickets": tickets, "sales": amount,
                         "refunds": refunds, "refunded": refunded, "net": net,
                         "average_ticket": average_fen(amount, tickets),
                         "items_per_ticket": ratio(items, tickets, 2), "member_rate": ratio(members, tickets),
                         "stored_value_sold": stored, "target": target,
                         "progress": ratio(net, target) if target else None})
        return report(f"staff_{role}", period,
                      ["rank", "staff_id", "name", "tickets", "sales", "refunds", "refunded", "net", "average_ticket",
                       "items_per_ticket", "member_rate", "stored_value_sold", "target", "progress"],
                      ["sales", "refunded", "net", "average_ticket", "stored_value_sold", "target"], rows, role=role)

    def net_sales(self, staff_id: int, role: str, period: Period) -> int:
        [(net,)] = self._rows("SELECT COALESCE(SUM(amount - refund_amount), 0) FROM report_staff_day "
                              "WHERE role = ? AND staff_id = ? AND day BETWEEN ? AND ?",
                              (role, staff_id, *period.bounds))
        return net

    # -- products bought together -------------------------------------------------

    def basket(self, period: Period, min_support: float, limit: int) -> dict:
        """Pairs of products on the same ticket: support, confidence both ways, and lift.

        A pair on at least a share s of all tickets is on at least a share s of the tickets of some month
        (or partial month) of the period. So the candidates are each whole month's frequent pairs (read
        by an index on the month's counts) and the partial months' (summed by day); only they are then
        counted over the whole period, each by its own indexed lookup.
        """
        edges, months = period.by_months()
        candidates: set[tuple[int, int]] = set()
        together: Counter = Counter()
        tickets = 0
        for edge in edges:
            [(count,)] = self._rows("SELECT COALESCE(SUM(tickets), 0) FROM report_ticket_hour "
                                    "WHERE day BETWEEN ? AND ?", edge.bounds)
            tickets += count
            for a, b, pair_count in self._rows(
                    "SELECT product_a, product_b, SUM(tickets) FROM report_pair_day WHERE day BETWEEN ? AND ? "
                    "GROUP BY product_a, product_b", edge.bounds):
                together[a, b] += pair_count
                if pair_count >= min_support * count:
                    candidates.add((a, b))
        if months:
            for month, count in self._rows(
                    "SELECT substr(day, 1, 7) AS month, SUM(tickets) FROM report_ticket_hour "
                    "WHERE day BETWEEN ? AND ? GROUP BY month", (f"{months[0]}-01", f"{months[1]}-31")):
                tickets += count
                candidates.update(self._rows("SELECT product_a, product_b FROM report_pair_month "
                                             "WHERE month = ? AND tickets >= ?", (month, min_support * count)))
            for a, b in candidates:
                [(in_months,)] = self._rows(
                    "SELECT COALESCE(SUM(tickets), 0) FROM report_pair_month INDEXED BY report_pair_month_pair "
                    "WHERE product_a = ? AND product_b = ? AND month BETWEEN ? AND ?", (a, b, *months))
                together[a, b] += in_months
        least = max(1, math.ceil(min_support * tickets - 1e-9))
        pairs = sorted(((a, b, together[a, b]) for a, b in candidates if together[a, b] >= least),
                       key=lambda pair: (-pair[2], pair[0], pair[1]))[:limit]
        wanted = sorted({p for a, b, _ in pairs for p in (a, b)})
        alone = {}
        if wanted:
            rolled, params = self._rolled("report_product", "product_id, tickets", period)
            marks = ", ".join("?" * len(wanted))
            alone = {product_id: (sku, name, count) for product_id, sku, name, count in self._rows(
                f"SELECT r.product_id, p.sku, p.name, SUM(r.tickets) FROM {rolled} r "
                f"LEFT JOIN product p ON p.id = r.product_id WHERE r.product_id IN ({marks}) "
                f"GROUP BY r.product_id", (*params, *wanted))}
        rows = []
        for a, b, together in pairs:
            (sku_a, name_a, count_a), (sku_b, name_b, count_b) = alone[a], alone[b]
            rows.append({"a_id": a, "a_sku": sku_a, "a_name": name_a, "b_id": b, "b_sku": sku_b, "b_name": name_b,
                         "tickets": together, "support": ratio(together, tickets),
                         "confidence_a_b": ratio(together, count_a), "confidence_b_a": ratio(together, count_b),
                         "lift": round(together * tickets / (count_a * count_b), 4)})
        return report("basket", period,
                      ["a_id", "a_sku", "a_name", "b_id", "b_sku", "b_name", "tickets", "support",
                       "confidence_a_b", "confidence_b_a", "lift"], [], rows,
                      tickets=tickets, min_support=min_support, min_tickets=least)

    # -- stock ----------------------------------------------------------------------

    def stock(self, period: Period, low_days: int) -> dict:
        """Turnover in the period (sold ÷ average stock), days of cover, and which products run low.

        Stock at the period's ends is walked back from today's on-hand: sales and refunds by the summaries'
        days, other movements (receipts, adjustments, stocktakes) by their time.
        """
        start, end = period.utc_bounds(self.app.config.store.timezone)
        rolled, params = self._rolled("report_product", _PRODUCT_COLUMNS, period)
        sold = {product_id: (qty, net) for product_id, qty, net in self._rows(
            f"SELECT product_id, SUM(sold_qty - refund_qty), SUM(sold_amount - refund_amount) FROM {rolled} "
            f"GROUP BY product_id", params)}
        sold_after = {}
        today = self.app.today()
        if period.last < today:
            rolled, params = self._rolled("report_product", _PRODUCT_COLUMNS,
                                          Period(period.last + timedelta(days=1), today))
            sold_after = dict(self._rows(f"SELECT product_id, SUM(sold_qty - refund_qty) FROM {rolled} "
                                         f"GROUP BY product_id", params))
        moved = {product_id: (within, after) for product_id, within, after in self._rows(
            "SELECT product_id, SUM(CASE WHEN at < ? THEN qty ELSE 0 END), SUM(CASE WHEN at >= ? THEN qty ELSE 0 END) "
            "FROM stock_movement INDEXED BY stock_movement_other_at WHERE reason NOT IN ('sale', 'refund') AND at >= ? "
            "GROUP BY product_id",
            (end, end, start))}
        rows = []
        for product_id, sku, name, sold_by, on_hand in self._rows(
                "SELECT p.id, p.sku, p.name, p.sold_by, COALESCE(l.on_hand, 0) FROM product p "
                "LEFT JOIN stock_level l ON l.product_id = p.id WHERE p.active OR l.on_hand != 0 ORDER BY p.sku", ()):
            qty, net = sold.get(product_id, (0, 0))
            within, after = moved.get(product_id, (0, 0))
            closing = on_hand - after + sold_after.get(product_id, 0)
            opening = closing - within + qty
            average = (opening + closing) / 2
            per_day = qty / period.days
            cover = round(on_hand / per_day, 1) if per_day > 0 else None
            rows.append({"product_id": product_id, "sku": sku, "name": name, "sold_by": sold_by,
                         "on_hand": on_hand, "opening": opening, "closing": closing, "sold_qty": qty, "net": net,
                         "turnover": round(qty / average, 2) if average > 0 else None,
                         "days_of_cover": cover,
                         "low": on_hand <= 0 or (cover is not None and cover < low_days)})
        rows.sort(key=lambda row: (not row["low"], row["days_of_cover"] is None, row["days_of_cover"] or 0,
                                   row["sku"]))
        return report("stock", period,
                      ["product_id", "sku", "name", "sold_by", "on_hand", "opening", "closing", "sold_qty", "net",
                       "turnover", "days_of_cover", "low"], ["net"], rows,
                      low_days=low_days, low_count=sum(row["low"] for row in rows))

    # -- stored value across stores ---------------------------------------------

    def settlement(self, period: Period) -> dict:
        """Stored value by store and kind: what this store's ledger knows, for HQ's settlement."""
        start, end = period.utc_bounds(self.app.config.store.timezone)
        here = self.app.config.store.id
        found = self._rows(
            "SELECT store_id, kind, account, COUNT(*), SUM(amount) FROM stored_value_entry WHERE at >= ? AND at < ? "
            "GROUP BY store_id, kind, account ORDER BY store_id != ?, store_id, kind, account", (start, end, here))
        rows = [{"store_id": store_id, "this_store": store_id == here, "kind": kind, "account": account,
                 "entries": count, "amount": amount} for store_id, kind, account, count, amount in found]

        def principal(kind: str) -> int:
            return sum(r["amount"] for r in rows if r["this_store"] and r["kind"] == kind and r["account"] == "principal")

        collected, spent = principal("topup"), -principal("spend") - principal("refund")
        summary = {"collected_here": collected, "spent_here": spent, "paid_out_here": -principal("payout"),
                   "net_position": collected - spent + principal("payout"),
                   "other_stores": sorted({r["store_id"] for r in rows if not r["this_store"]})}
        return report("settlement", period, ["store_id", "this_store", "kind", "account", "entries", "amount"],
                      ["amount"], rows, summary=summary,
                      note=("Principal collected here minus principal spent here and paid out: positive, this "
                            "store holds members' money for the chain; negative, it gave goods against money "
                            "taken elsewhere. Entries from other stores are those HQ sent down for members seen "
                            "here; HQ's ledger is the complete one, and the settlement itself is HQ's."))
