"""A synthetic but realistic purchase history, written straight into a store's tables (bench and holdout checks).

Members join over the period; each buys with their own rate (gamma across members) at gamma(2)-distributed
gaps — more regular than the Poisson buying BG/NBD assumes, so the holdout check is not the model grading
itself — and quits after a purchase with their own probability (beta across members). Hours follow a
shop's day (peaks at noon and after work), baskets are 1–6 demo products, tenders follow a per-member habit.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from stdnum import luhn

from edge.db import utc_now

TENDERS = ("wechat", "alipay", "cash", "card")
HOUR_WEIGHTS = np.array([0, 0, 0, 0, 0, 0, 0, 1, 3, 4, 5, 6, 8, 6, 4, 4, 5, 8, 9, 8, 5, 3, 1, 0], dtype=float)
CHUNK = 200_000
MEMBER_PREFIX, SALE_PREFIX = "SYN", "SYS"  # the ids written here, told from the demo store's own


def held(app) -> dict | None:
    """What ``fill`` wrote into this store before (members, sales, lines and its last day as ``end``), or None."""
    sql = app.db.peewee.execute_sql
    members = sql("SELECT COUNT(*) FROM member WHERE id LIKE ?", (f"{MEMBER_PREFIX}%",)).fetchone()[0]
    if not members:
        return None
    sales, last_day = sql("SELECT COUNT(*), MAX(business_date) FROM sale WHERE id LIKE ?",
                          (f"{SALE_PREFIX}%",)).fetchone()
    lines = sql("SELECT COUNT(*) FROM sale_line WHERE sale_id LIKE ?", (f"{SALE_PREFIX}%",)).fetchone()[0]
    return {"members": members, "sales": sales, "lines": lines,
            "end": date(int(last_day[:4]), int(last_day[4:6]), int(last_day[6:]))}


def simulate(members: int, days: int, rng: np.random.Generator, mean_gap: float = 25.0) -> tuple[np.ndarray, ...]:
    """(member index, day offset) of every purchase over ``days`` days, plus each member's joining day."""
    joined = rng.integers(0, days, members)
    rate_scale = rng.gamma(1.2, 1.0 / 1.2, members) / mean_gap  # purchases per day, mean 1/mean_gap
    quit_p = rng.beta(1.0, 12.0, members)
    alive = np.ones(members, dtype=bool)
    now = joined.astype(float)
    who, when = [np.arange(members)], [joined.copy()]  # everyone buys on joining
    while alive.any():
        idx = np.flatnonzero(alive)
        alive[idx[rng.random(len(idx)) < quit_p[idx]]] = False
        idx = np.flatnonzero(alive)
        now[idx] += rng.gamma(2.0, 0.5 / rate_scale[idx])
        within = now[idx] < days
        alive[idx[~within]] = False
        idx = idx[within]
        who.append(idx)
        when.append(np.floor(now[idx]).astype(int))
    return np.concatenate(who), np.concatenate(when), joined


def fill(app, *, members: int, lines: int, end: date, days: int = 730, seed: int = 7) -> dict:
    """Write members and about ``lines`` sale lines of history ending on ``end``; returns what was written."""
    rng = np.random.default_rng(seed)
    sql = app.db.peewee.execute_sql
    products = np.array(sql("SELECT id, price, sku, name FROM product WHERE active = 1").fetchall(), dtype=object)
    staff_id = sql("SELECT id FROM staff ORDER BY id LIMIT 1").fetchone()[0]
    device_id = _device(app)
    # the mean gap that gives about lines/3.5 tickets for this many members over the period
    mean_gap = 25.0 * max(1.0, (members * 3.5 * 12) / max(lines, 1))
    who, when, joined = simulate(members, days, rng, mean_gap)
    first_day = end - timedelta(days=days - 1)
    tender_of_member = rng.choice(len(TENDERS), members, p=[0.45, 0.3, 0.15, 0.1])
    now = utc_now()
    with app.db.transaction(durable=False):
        sql("PRAGMA defer_foreign_keys = ON")
        rows = ((f"{MEMBER_PREFIX}{i:08d}", _member_code(i), f"1{3800000000 + i:010d}", "active", app.config.store.id,
                 (first_day + timedelta(days=int(joined[i]))).isoformat() + "T00:00:00.000+00:00", now)
                for i in range(members))
        app.db.peewee.cursor().executemany(
            "INSERT INTO member (id, code, phone, status, home_store, registered_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    order = np.argsort(when, kind="stable")
    who, when = who[order], when[order]
    written = {"members": members, "sales": 0, "lines": 0}
    for start in range(0, len(who), CHUNK):
        written_now = _sales(app, rng, who[start:start + CHUNK], when[start:start + CHUNK], start, first_day,
                             products, staff_id, device_id, tender_of_member)
        written["sales"] += written_now[0]
        written["lines"] += written_now[1]
    return written


def _member_code(n: int) -> str:
    """A well-formed member code (M, 11 digits, a Luhn check digit) in a range of its own (leading 9)."""
    body = f"9{n:010d}"
    return "M" + body + luhn.calc_check_digit(body)


def _device(app) -> int:
    sql = app.db.peewee.execute_sql
    found = sql("SELECT id FROM device ORDER BY id LIMIT 1").fetchone()
    if found:
        return found[0]
    device, _token = app.staff.add_device(name="synthetic-lane", kind="terminal", lane=1)
    return device.id


def _sales(app, rng, who, when, offset, first_day, products, staff_id, device_id, tenders) -> tuple[int, int]:
    n = len(who)
    hours = rng.choice(24, n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    counts = rng.integers(1, 7, n)
    picks = rng.integers(0, len(products), counts.sum())
    owner = np.repeat(np.arange(n), counts)
    prices = products[picks, 1].astype(np.int64)
    totals = np.bincount(owner, weights=prices, minlength=n).astype(np.int64)
    days = [(first_day + timedelta(days=int(d))).isoformat() for d in when]
    business_dates = [day.replace("-", "") for day in days]  # YYYYMMDD, as the till writes it
    sale_ids = [f"{SALE_PREFIX}{offset + i:09d}" for i in range(n)]
    # store time is UTC+8 for the synthetic shop: the hour is written as UTC
    stamps = [f"{days[i]}T{(int(hours[i]) - 8) % 24:02d}:{i % 60:02d}:00.000+00:00" for i in range(n)]
    sql_cursor = app.db.peewee.cursor
    with app.db.transaction(durable=False):
        sql_cursor().executemany(
            "INSERT INTO sale (id, device_id, cashier_id, status, opened_at, completed_at, business_date, receipt_no, "
            "subtotal, total, paid, member_id) VALUES (?, ?, ?, 'completed', ?, ?, ?, ?, ?, ?, ?, ?)",
            ((sale_ids[i], device_id, staff_id, stamps[i], stamps[i], business_dates[i], f"R{offset + i:010d}",
              int(totals[i]), int(totals[i]), int(totals[i]), f"{MEMBER_PREFIX}{int(who[i]):08d}") for i in range(n)))
        line_no = np.concatenate([np.arange(1, c + 1) for c in counts])
        sql_cursor().executemany(
            "INSERT INTO sale_line (id, sale_id, line_no, product_id, sku, name, sold_by, qty, list_price, unit_price, "
            "tax_rate, gross, total) VALUES (?, ?, ?, ?, ?, ?, 'each', 1, ?, ?, 1300, ?, ?)",
            ((f"{sale_ids[o]}-{int(k)}", sale_ids[o], int(k), int(products[p, 0]), products[p, 2], products[p, 3],
              int(products[p, 1]), int(products[p, 1]), int(products[p, 1]), int(products[p, 1]))
             for o, k, p in zip(owner, line_no, picks)))
        sql_cursor().executemany(
            "INSERT INTO payment (id, sale_id, method, amount, tendered, change, at) VALUES (?, ?, ?, ?, ?, 0, ?)",
            ((f"P{sale_ids[i]}", sale_ids[i], TENDERS[tenders[int(who[i])]], int(totals[i]), int(totals[i]),
              stamps[i]) for i in range(n)))
    return n, int(counts.sum())
