"""`storeedge bench members`: seed a large member register, find members by phone, sell to members.

The members are written straight into a fresh database in one transaction
(registration one by one is not what is measured); the seeding time is
reported. Then: the domain lookup in process, the same over HTTP against
gunicorn as a logged-in cashier, and the floor: raw sqlite3 running the one
indexed SELECT. Last, on the same register, every lane fills a 10-line cart
for a member and all lanes pay at the same moment with a coupon, points,
stored value and cash: the checkout budget of DESIGN.md.
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
from edge.bench.checkout import CASHIER_PIN, Lane, bursts, demo_barcodes, open_lane, running_server
from edge.bench.stats import ms, percentile, report_paths, timed
from edge.config import Config
from edge.db import DB_FILENAME
from edge.demo.seed import seed
from edge.members.service import Consent
from edge.staff.models import Staff
from edge.staff.service import Caller

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


BENCH_PHONES = 13_900_000_000  # outside the seeded range
COUPON_OFF, POINTS_PAID, STORED_VALUE_PAID = 300, 500, 1000  # fen; stored value below the PIN limit


def _members_ready_to_pay(store, lanes: int, rounds: int) -> list[list[tuple[str, str]]]:
    """Per lane, per round: a member (id) holding stored value, points and a coupon (code) of their own."""
    device, _ = store.staff.add_device("bench-counter", "terminal", 99)
    cashier = Caller(device=device, staff=Staff.get(Staff.role == "cashier"))
    manager = Caller(device=device, staff=Staff.get(Staff.role == "manager"))
    store.shifts.open(cashier, 0)
    definition = store.coupons.define(manager, name="立减3元", kind="amount", value=COUPON_OFF,
                                      valid_from="2020-01-01", valid_to="2099-12-31")
    consent = Consent(notice_version=store.config.members.privacy_notice_version, purposes=("membership",))
    ready = []
    for lane in range(lanes):
        row = []
        for n in range(rounds):
            member = store.members.register(cashier, phone=str(BENCH_PHONES + lane * rounds + n), consent=consent,
                                            channel="pos")
            store.stored_value.top_up(cashier, member.id, 10_000, "cash")
            store.points.adjust(manager, member.id, 10_000, "bench")
            [coupon] = store.coupons.issue(manager, definition.id, member_id=member.id)
            row.append((member.id, coupon.code))
        ready.append(row)
    return ready


def _member_checkout(root: Path, clients: int, rounds: int, line_count: int) -> list[float]:
    store = StoreEdge(Config(), root)
    barcodes = demo_barcodes(line_count)
    tokens = [store.staff.add_device(f"bench-lane{i + 1}", "terminal", i + 1)[1] for i in range(clients)]
    ready = _members_ready_to_pay(store, clients, rounds)
    store.db.close()
    errors: list[BaseException] = []
    with running_server(root, threads=max(16, clients * 2)) as port:
        lanes = [open_lane(port, token) for token in tokens]
        members_of = {id(lane): row for lane, row in zip(lanes, ready)}

        def fill(lane: Lane, n: int) -> dict:
            sale = lane.fill_cart(barcodes, {})
            lane.must("POST", f"/sales/{sale['id']}/member", {"member_id": members_of[id(lane)][n][0]})
            return sale

        def pay(lane: Lane, sale: dict, n: int) -> float:
            rest = sale["total"] - COUPON_OFF - POINTS_PAID - STORED_VALUE_PAID
            return lane.pay(sale, [
                {"method": "coupon", "amount": COUPON_OFF, "reference": members_of[id(lane)][n][1]},
                {"method": "points", "amount": POINTS_PAID},
                {"method": "stored_value", "amount": STORED_VALUE_PAID},
                {"method": "cash", "amount": rest + 500},
            ])

        latencies = bursts(lanes, rounds, errors, fill, pay)
    if errors:
        raise RuntimeError(f"{len(errors)} lane(s) failed: {errors[0]}")
    return latencies


def run(member_count: int, lookups: int, echo=print, clients: int = 8, rounds: int = 30) -> dict:
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
        paying = _member_checkout(root, clients, rounds, line_count=10)

    echo(f"member by phone: {member_count} members, seeded in {seeding:.1f} s "
         f"({'within' if seeding < 60 else 'OVER'} the 60 s budget); {lookups} random lookups")
    p99 = report_paths(echo, [("raw sqlite3 (floor)", floor), ("domain, in process", domain),
                              ("HTTP GET /members?phone=", over_http)], budget_seconds=0.005)
    complete_p99 = percentile(paying, 0.99)
    echo(f"member sale: {rounds} rounds of {clients} lanes paying at once, 10 lines, coupon + points + stored value "
         f"+ cash: complete p50 {ms(percentile(paying, 0.5)).strip()}, p99 {complete_p99 * 1000:.2f} ms against "
         f"a budget of 25 ms: {'within' if complete_p99 < 0.025 else 'OVER'} budget")
    return {"http_p99": p99, "seeding_seconds": seeding, "member_sale_p99": complete_p99}
