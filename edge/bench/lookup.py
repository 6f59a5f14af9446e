"""`storeedge bench lookup`: product by barcode in a catalog of 100k SKUs.

The catalog is written straight into a fresh database (the CSV import would
take minutes and is not what is measured). Then: the domain lookup in
process, the same over HTTP against gunicorn, and the floor: raw sqlite3
running the one indexed SELECT.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
from pathlib import Path

from stdnum import ean

from edge.app import StoreEdge
from edge.bench.checkout import Lane, running_server
from edge.bench.stats import report_paths, timed
from edge.config import Config
from edge.db import DB_FILENAME


def _fill(path: Path, count: int) -> list[str]:
    conn = sqlite3.connect(path / DB_FILENAME)
    codes = []
    with conn:
        products, barcodes = [], []
        for n in range(1, count + 1):
            body = f"69{n:010d}"
            code = body + ean.calc_check_digit(body)
            codes.append(code)
            products.append((n, f"B{n:06d}", f"商品 {n}", "件", "each", 100 + n % 5000, 1300, "2026-01-01"))
            barcodes.append((code, n))
        conn.executemany("INSERT INTO product (id, sku, name, unit, sold_by, price, tax_rate, updated_at) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", products)
        conn.executemany("INSERT INTO barcode (code, product_id) VALUES (?, ?)", barcodes)
    conn.close()
    return codes


def run(sku_count: int, lookups: int, echo=print) -> dict:
    with tempfile.TemporaryDirectory(prefix="storeedge-bench-") as tmp:
        root = Path(tmp)
        store = StoreEdge(Config(), root)
        store.db.migrate()
        codes = _fill(root, sku_count)
        sample = random.Random(7).choices(codes, k=lookups)

        domain = timed(store.catalog.scan, sample)

        _, token = store.staff.add_device("bench-lookup", "terminal", 1)
        store.db.close()
        over_http = []
        with running_server(root, threads=8) as port:
            lane = Lane(port, token)
            for code in sample:
                _, elapsed = lane.must("GET", f"/products?barcode={code}")
                over_http.append(elapsed)

        conn = sqlite3.connect(root / DB_FILENAME)
        floor = timed(lambda code: conn.execute(
            "SELECT p.* FROM product p JOIN barcode b ON b.product_id = p.id WHERE b.code = ?", (code,)).fetchone(),
            sample)
        conn.close()

    echo(f"product by barcode: {sku_count} SKUs, {lookups} random lookups")
    p99 = report_paths(echo, [("raw sqlite3 (floor)", floor), ("domain, in process", domain),
                              ("HTTP GET /products", over_http)], budget_seconds=0.005)
    return {"http_p99": p99}
