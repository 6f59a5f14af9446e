"""`storeedge bench members`: seed a large member register, then find members by phone.

The members are written straight into a fresh database in one transaction
(registration one by one is not what is measured); the seeding time is
reported. Then: the domain lookup in process, the same over HTTP against
gunicorn as a logged-in cashier, and the floor: raw sqlite3 running the one
indexed SELECT.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

from stdnum import luhn

from edge.app import StoreEdge
from edge.bench.checkout import CASHIER_PIN, Lane, running_server
from edge.bench.stats import report_paths, timed
from edge.config import Config
from edge.db import DB_FILENAME
from edge.demo.seed import seed

FIRST_PHONE = 13_800_000_000  # China Mobile's 138 range: valid mainland mobile numbers


def _fill(path: Path, count: int, batch: int = 50_000) -> list[str]:
    conn = sqlite3.connect(path / DB_FILENAME)
    phones = []
    with conn:
        for start in range(0, count, batch):
            rows = []
            for n in range(start, min(start + batch, count)):
                phone = str(FIRST_PHONE + n)
                body = f"{n:011d}"
                rows.append((str(uuid.uuid4()), "M" + body + luhn.calc_check_digit(body), phone,
                             "2026-01-01T00:00:00+00:00"))
                phones.append(phone)
            conn.executemany("INSERT INTO member (id, code, phone, status, home_store, registered_at, updated_at) "
                             "VALUES (?, ?, ?, 'active', 'S001', ?4, ?4)", rows)
    conn.close()
    return phones


def run(member_count: int, lookups: int, echo=print) -> dict:
    with tempfile.TemporaryDirectory(prefix="storeedge-bench-") as tmp:
        root = Path(tmp)
        store = StoreEdge(Config(), root)
        store.db.migrate()
        seed(store)
        started = time.perf_counter()
        phones = _fill(root, member_count)
        seeding = time.perf_counter() - started
        sample = random.Random(7).choices(phones, k=lookups)

        domain = timed(lambda phone: store.members.find(phone=phone), sample)

        _, token = store.staff.add_device("bench-members", "terminal", 1)
        store.db.close()
        with running_server(root, threads=8) as port:
            lane = Lane(port, token)
            session, _ = lane.must("POST", "/auth/login", {"pin": CASHIER_PIN})
            lane.headers["Authorization"] = f"Bearer {session['token']}"
            over_http = [lane.must("GET", f"/members?phone={phone}")[1] for phone in sample]

        conn = sqlite3.connect(root / DB_FILENAME)
        floor = timed(lambda phone: conn.execute("SELECT * FROM member WHERE phone = ?", (phone,)).fetchone(),
                      sample)
        conn.close()

    echo(f"member by phone: {member_count} members, seeded in {seeding:.1f} s "
         f"({'within' if seeding < 60 else 'OVER'} the 60 s budget); {lookups} random lookups")
    p99 = report_paths(echo, [("raw sqlite3 (floor)", floor), ("domain, in process", domain),
                              ("HTTP GET /members?phone=", over_http)], budget_seconds=0.005)
    return {"http_p99": p99, "seeding_seconds": seeding}
