"""`storeedge bench insight --only reports` with tiny numbers: it seeds, rebuilds, refreshes, asks every report in
process and over HTTP (gunicorn, a manager's session, CSV too) and prints its figures.

No figure is judged here (no timed asserts): the benchmark's own run is where they are read.
"""

from __future__ import annotations

import re
import subprocess

from tests.server_helpers import CLEAN_ENV, STOREEDGE

FIGURE = r"\s+\d+\.\d+ ms"
REPORTS = ["/reports/sales?by=hour", "/reports/sales?by=day", "/reports/sales?by=week", "/reports/sales?by=category",
           "/reports/sales?by=product", "/reports/traffic", "/reports/staff?role=salesperson",
           "/reports/staff?role=cashier", "/reports/basket?min_support=0.01", "/reports/stock",
           "/reports/settlement", "/reports/sales?by=product&format=csv"]


def test_bench_reports_prints_every_report_in_process_and_over_http():
    done = subprocess.run([str(STOREEDGE), "bench", "insight", "--only", "reports", "--days", "20", "--tickets", "15",
                           "--rounds", "2"], capture_output=True, text=True, env=CLEAN_ENV, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert re.search(r"^seeded 20 days: \d+ tickets, \d+ lines", out, re.M), out
    assert re.search(r"^incremental refresh: 200 sales rung up through the checkout folded in \d+ ms$", out, re.M), out
    for label in ("30 days", "1 year", "2 years"):
        for name in ("floor: raw sqlite3, summary", "sales by day", "bought together \\(1 %\\)", "settlement"):
            assert re.search(rf"^{name}\s+{label}({FIGURE}){{2}}$", out, re.M), (name, label, out)
    http = out[out.index("over HTTP (gunicorn, a manager's session), 20 days, 2 rounds each"):]
    for report in REPORTS:
        assert re.search(rf"^{re.escape(report)}({FIGURE}){{2}}$", http, re.M), (report, http)
    assert re.search(r"^  slowest report p99 over HTTP: \d+ ms \((within|OVER) the 1 s budget\)$", http, re.M), http
