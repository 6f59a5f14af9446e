"""Rebuilding member profiles from sales: set-based SQL into temporary tables, rules on numpy columns.

One path serves both kinds of refresh; only the scope differs: a full rebuild takes every member, an
incremental refresh the members queued in ``insight_dirty`` (a sale, refund, merge, joining, a status or level
change touched them), so its cost follows the members touched, not the size of the store.
The heavy reading happens in the connection's temporary database, outside any write transaction, so the
checkout keeps committing; profiles are then written in chunks of short transactions. A member queued again
while a refresh runs stays queued (the queue row carries a counter), so no change is ever missed.

Time moves even when data does not: recency, lifecycle, predictions and the automatic tags' windows are judged
as of the refresh that computed the member (``as_of``); the nightly full rebuild brings every member to today.
Within one day an incremental refresh therefore leaves exactly what a full rebuild keeping the model would.
"""

from __future__ import annotations

import json
import math
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from edge.db import utc_now
from edge.insight import bgnbd, scoring
from edge.insight.tags import ACTIVE_MEMBER, SALE_DAY
from edge.store_meta import Meta

MODEL_KEY = "insight.model"  # fitted BG/NBD parameters and the RFM cut points, from the last full rebuild
LAST_KEY = "insight.last_refresh"
CHUNK = 20_000
NEXT_PURCHASE_CAP_DAYS = 3650

_PROFILE_COLUMNS = (
    "member_id", "level", "tickets", "visits", "first_visit", "last_visit", "monetary", "avg_basket",
    "usual_interval", "recency_days", "r_score", "f_score", "m_score", "segment", "lifecycle",
    "favourite_categories", "preferred_tender", "weekday_tickets", "weekend_tickets", "hours", "top_hour",
    "p_alive", "p_buy_30d", "expected_30d", "next_purchase", "as_of", "refreshed_at")
_WRITE = (f"INSERT OR REPLACE INTO insight_profile ({', '.join(_PROFILE_COLUMNS)}) "
          f"VALUES ({', '.join('?' for _ in _PROFILE_COLUMNS)})")


def _utc_offset_modifier(timezone: str, on: date) -> str:
    """SQLite's time modifier turning a UTC timestamp into store time (the offset of ``on``)."""
    offset = datetime(on.year, on.month, on.day, 12, tzinfo=ZoneInfo(timezone)).utcoffset()
    return f"{int(offset.total_seconds() // 60):+d} minutes"


class Refresher:
    def __init__(self, app):
        self.app = app
        self.settings = app.config.insight
        self.sql = app.db.peewee.execute_sql

    # -- the whole run --------------------------------------------------------

    def run(self, *, full: bool, refit: bool = True, as_of: date | None = None) -> dict:
        started, cpu = time.perf_counter(), time.process_time()
        as_of = as_of or self.app.today()
        queued = self._scope(full)
        self._gather(as_of, full)
        model = self._model(as_of) if (full and refit) or self.model() is None else self.model()
        written = self._write(as_of, model, full)
        self._forget_scope(full)
        tagged = self.app.insight.tags.evaluate(as_of, scope=None if full else "ins_scope")
        summary = {"full": full, "as_of": as_of.isoformat(), "members": written, "queued": queued,
                   "auto_tags": tagged, "seconds": round(time.perf_counter() - started, 3),
                   "cpu_seconds": round(time.process_time() - cpu, 3),  # this process only: SQLite runs in it
                   "model": model}
        with self.app.db.transaction(durable=False):
            Meta.put(LAST_KEY, json.dumps({k: summary[k] for k in ("full", "as_of", "members", "seconds")}
                                          | {"at": utc_now()}))
        return summary

    def model(self) -> dict | None:
        stored = Meta.get_value(MODEL_KEY)
        return json.loads(stored) if stored else None

    # -- scope: which members ---------------------------------------------------

    def _scope(self, full: bool) -> int:
        """Fill temp.ins_scope (member ids with their queue counter); returns how many were queued."""
        self.sql("DROP TABLE IF EXISTS temp.ins_scope")
        self.sql("CREATE TEMP TABLE ins_scope (member_id TEXT PRIMARY KEY, marks INTEGER)")
        if full:
            self.sql("INSERT INTO temp.ins_scope SELECT m.id, d.marks FROM member m "
                     "LEFT JOIN insight_dirty d ON d.member_id = m.id")
        else:  # joining queues a member too (the insight_queue migration's triggers): nobody to look for
            self.sql("INSERT INTO temp.ins_scope SELECT member_id, marks FROM insight_dirty")
        return self.sql("SELECT COUNT(*) FROM insight_dirty").fetchone()[0]

    def _forget_scope(self, full: bool) -> None:
        """Profiles of members no longer active go; the queue forgets only marks this run has seen."""
        with self.app.db.transaction(durable=False):
            gone = "(SELECT s.member_id FROM temp.ins_scope s CROSS JOIN member m ON m.id = s.member_id " \
                   f"WHERE NOT ({ACTIVE_MEMBER}))"
            self.sql(f"DELETE FROM insight_profile WHERE member_id IN {gone}")
            if full:
                self.sql("DELETE FROM insight_profile WHERE member_id NOT IN (SELECT member_id FROM temp.ins_scope)")
            self.sql("DELETE FROM insight_dirty WHERE EXISTS (SELECT 1 FROM temp.ins_scope s "
                     "WHERE s.member_id = insight_dirty.member_id AND s.marks = insight_dirty.marks)")

    # -- reading sales, set-based -------------------------------------------------

    def _gather(self, as_of: date, full: bool) -> None:
        """Per-member aggregates of the scope's sales into temporary tables (merging moves a duplicate's
        sales to the member kept, so they count there)."""
        sql = self.sql
        for table in ("ins_sale", "ins_agg", "ins_refund", "ins_hour", "ins_tender", "ins_category"):
            sql(f"DROP TABLE IF EXISTS temp.{table}")
        # everyone's sales are read best in one pass; a few members' through the sale_member index (SQLite's
        # planner, knowing nothing of the temporary scope's size, would read every sale: CROSS JOIN fixes the order)
        sales = "sale s JOIN temp.ins_scope o" if full else "temp.ins_scope o CROSS JOIN sale s"
        sql(f"CREATE TEMP TABLE ins_sale AS SELECT o.member_id, s.id AS sale_id, {SALE_DAY} AS day, "
            "s.total AS total, CAST(strftime('%H', s.completed_at, ?) AS INTEGER) AS hour "
            f"FROM {sales} ON s.member_id = o.member_id "
            f"WHERE s.status = 'completed' AND s.business_date IS NOT NULL AND {SALE_DAY} <= ?",
            (_utc_offset_modifier(self.app.config.store.timezone, as_of), as_of.isoformat()))
        sql("CREATE INDEX temp.ins_sale_member ON ins_sale (member_id)")
        sql("CREATE TEMP TABLE ins_agg AS SELECT member_id, COUNT(*) AS tickets, COUNT(DISTINCT day) AS visits, "
            "MIN(day) AS first_visit, MAX(day) AS last_visit, SUM(total) AS spent, "
            "SUM(strftime('%w', day) IN ('0', '6')) AS weekend_tickets FROM temp.ins_sale GROUP BY member_id")
        sql("CREATE TEMP TABLE ins_refund AS SELECT i.member_id, SUM(r.total) AS refunded "
            "FROM temp.ins_sale i JOIN refund r ON r.sale_id = i.sale_id GROUP BY i.member_id")
        sql("CREATE TEMP TABLE ins_hour AS SELECT member_id, json_group_object(hour, n) AS hours, "
            "(SELECT h2.hour FROM (SELECT hour, COUNT(*) AS c FROM temp.ins_sale x WHERE x.member_id = h.member_id "
            " GROUP BY hour ORDER BY c DESC, hour LIMIT 1) h2) AS top_hour "
            "FROM (SELECT member_id, hour, COUNT(*) AS n FROM temp.ins_sale GROUP BY member_id, hour ORDER BY "
            "member_id, hour) h GROUP BY member_id")
        sql("CREATE TEMP TABLE ins_tender AS SELECT member_id, method FROM ("
            " SELECT i.member_id, p.method, ROW_NUMBER() OVER (PARTITION BY i.member_id "
            "  ORDER BY SUM(p.amount) DESC, p.method) AS rank "
            " FROM temp.ins_sale i JOIN payment p ON p.sale_id = i.sale_id GROUP BY i.member_id, p.method"
            ") WHERE rank = 1")
        sql("CREATE TEMP TABLE ins_category AS SELECT member_id, json_group_array(name) AS names FROM ("
            " SELECT i.member_id, c.name, ROW_NUMBER() OVER (PARTITION BY i.member_id "
            "  ORDER BY SUM(l.total) DESC, c.name) AS rank "
            " FROM temp.ins_sale i JOIN sale_line l ON l.sale_id = i.sale_id JOIN product p ON p.id = l.product_id "
            " JOIN category c ON c.id = p.category_id GROUP BY i.member_id, c.name ORDER BY i.member_id, rank"
            ") WHERE rank <= ? GROUP BY member_id", (self.settings.favourite_count,))

    # -- the model: RFM cut points and BG/NBD parameters ---------------------------

    def _model(self, as_of: date) -> dict:
        """Fit on every buyer in scope (a full rebuild's scope is everyone) and store the result."""
        day = as_of.isoformat()
        rows = self.sql("SELECT a.visits - 1, julianday(a.last_visit) - julianday(a.first_visit), "
                        "julianday(?) - julianday(a.first_visit), julianday(?) - julianday(a.last_visit), "
                        "a.spent - COALESCE(r.refunded, 0), COUNT(*) FROM temp.ins_agg a "
                        "LEFT JOIN temp.ins_refund r ON r.member_id = a.member_id GROUP BY 1, 2, 3, 4, 5",
                        (day, day)).fetchall()
        data = np.array(rows, dtype=float).reshape(-1, 6)
        x, t_x, T, recency, monetary, weight = data.T
        model = {"fitted_as_of": day, "rfm": self.settings.rfm, "bgnbd": None}
        if self.settings.rfm == "quintiles":
            expand = lambda column: np.repeat(column, weight.astype(int))  # noqa: E731 - quantiles per member
            model["cuts"] = {
                "recency_days": [math.floor(q) for q in scoring.quintile_cuts(expand(recency))],
                "frequency_visits": [math.floor(q) + 1 for q in scoring.quintile_cuts(expand(x + 1))],
                "monetary_fen": [math.floor(q) + 1 for q in scoring.quintile_cuts(expand(monetary))]}
        else:
            model["cuts"] = {key: list(getattr(self.settings, key))
                             for key in ("recency_days", "frequency_visits", "monetary_fen")}
        try:
            expanded = [np.repeat(column, weight.astype(int)) for column in (x, t_x, T)]
            model["bgnbd"] = bgnbd.fit(*expanded).as_dict()
        except ValueError:
            model["bgnbd"] = None  # too few buyers yet: profiles carry no predictions
        with self.app.db.transaction(durable=False):
            Meta.put(MODEL_KEY, json.dumps(model))
        return model

    # -- writing profiles -----------------------------------------------------------

    def _write(self, as_of: date, model: dict, full: bool) -> int:
        day = as_of.isoformat()
        join = "JOIN" if full else "CROSS JOIN"  # scope first for a few members, as in _gather
        self.sql("DROP TABLE IF EXISTS temp.ins_final")
        self.sql(
            "CREATE TEMP TABLE ins_final AS SELECT m.id AS member_id, COALESCE(lv.level, ?) AS level, COALESCE(a.tickets, 0) AS tickets, "
            "COALESCE(a.visits, 0) AS visits, a.first_visit, a.last_visit, "
            "COALESCE(a.spent, 0) - COALESCE(r.refunded, 0) AS monetary, "
            "julianday(?) - julianday(a.last_visit) AS recency, julianday(a.last_visit) - julianday(a.first_visit) "
            "AS span, julianday(?) - julianday(a.first_visit) AS age, "
            "julianday(?) - julianday(substr(m.registered_at, 1, 10)) AS joined_days, "
            "COALESCE(c.names, '[]') AS categories, t.method, COALESCE(a.weekend_tickets, 0) AS weekend, "
            "COALESCE(h.hours, '{}') AS hours, h.top_hour "
            f"FROM temp.ins_scope s {join} member m ON m.id = s.member_id AND {ACTIVE_MEMBER} "
            "LEFT JOIN member_level lv ON lv.member_id = m.id LEFT JOIN temp.ins_agg a ON a.member_id = m.id "
            "LEFT JOIN temp.ins_refund r ON r.member_id = m.id LEFT JOIN temp.ins_category c ON c.member_id = m.id "
            "LEFT JOIN temp.ins_tender t ON t.member_id = m.id LEFT JOIN temp.ins_hour h ON h.member_id = m.id",
            (self.app.config.members.levels[0].name, day, day, day))
        written, last = 0, 0
        while True:
            rows = self.sql("SELECT rowid, * FROM temp.ins_final WHERE rowid > ? ORDER BY rowid LIMIT ?",
                            (last, CHUNK)).fetchall()
            if not rows:
                return written
            last = rows[-1][0]
            profiles = self._profiles([row[1:] for row in rows], as_of, model)
            with self.app.db.transaction(durable=False):
                self.app.db.peewee.cursor().executemany(_WRITE, profiles)
            written += len(profiles)

    def _profiles(self, rows: list[tuple], as_of: date, model: dict) -> list[tuple]:
        """The rules, on one chunk's columns at once."""
        s = self.settings
        (member_id, level, tickets, visits, first, last, monetary, recency, span, age, joined, categories,
         tender, weekend, hours, top_hour) = zip(*rows)
        tickets, visits, monetary = (np.array(v, dtype=np.int64) for v in (tickets, visits, monetary))
        bought = visits > 0
        recency = np.array([v if v is not None else np.nan for v in recency], dtype=float)
        span = np.array([v if v is not None else np.nan for v in span], dtype=float)
        age = np.array([v if v is not None else np.nan for v in age], dtype=float)
        joined = np.array([v if v is not None else 0.0 for v in joined], dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            interval = np.where(visits >= 2, span / np.maximum(visits - 1, 1), np.nan)
        # lifecycle: a member who never bought is judged from joining, with the default interval
        judged_interval = np.where(visits >= 2, np.maximum(interval, s.min_interval_days), s.default_interval_days)
        stage = scoring.lifecycle(np.where(bought, recency, joined), judged_interval, np.where(bought, age, joined),
                                  new_days=s.new_days, at_risk_after=s.at_risk_after,
                                  sleeping_after=s.sleeping_after, lost_after=s.lost_after)
        cuts = model["cuts"]
        r = scoring.score_recency(np.nan_to_num(recency), cuts["recency_days"])
        f = scoring.score_higher(visits, cuts["frequency_visits"])
        m = scoring.score_higher(monetary, cuts["monetary_fen"])
        segment = scoring.segments(r, f, m, s.high_score)
        predicted = self._predict(model, visits, span, age, as_of)
        now = utc_now()
        out = []
        for i in range(len(rows)):
            b = bool(bought[i])
            p_alive, p_buy, expected, next_day = predicted[i] if b else (None, None, None, None)
            out.append((
                member_id[i], level[i], int(tickets[i]), int(visits[i]), first[i], last[i], int(monetary[i]),
                int(monetary[i] // tickets[i]) if tickets[i] else 0,
                None if math.isnan(interval[i]) else round(float(interval[i]), 2),
                int(recency[i]) if b else None, int(r[i]) if b else None, int(f[i]) if b else None,
                int(m[i]) if b else None, segment[i] if b else None, stage[i], categories[i], tender[i],
                int(tickets[i]) - int(weekend[i]), int(weekend[i]), hours[i], top_hour[i],
                p_alive, p_buy, expected, next_day, as_of.isoformat(), now))
        return out

    def _predict(self, model: dict, visits, span, age, as_of: date) -> list[tuple]:
        params = model.get("bgnbd")
        if params is None:
            return [(None, None, None, None)] * len(visits)
        params = bgnbd.Params(**params)
        x = np.maximum(visits - 1, 0).astype(float)
        t_x, T = np.nan_to_num(span), np.nan_to_num(age)
        alive = bgnbd.p_alive(params, x, t_x, T)
        p_buy = bgnbd.p_buy_within(params, 30, x, t_x, T)
        expected = bgnbd.expected_purchases(params, 30, x, t_x, T)
        wait = np.minimum(np.ceil(bgnbd.median_wait_if_alive(params, x, T)), NEXT_PURCHASE_CAP_DAYS)
        return [(round(float(a), 4), round(float(p), 4), round(float(e), 3),
                 (as_of + timedelta(days=int(w))).isoformat()) for a, p, e, w in zip(alive, p_buy, expected, wait)]
