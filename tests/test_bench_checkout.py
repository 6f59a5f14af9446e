"""`storeedge bench checkout` with tiny numbers: lanes over HTTP against gunicorn, the domain path in process with
its raw sqlite3 floor, and lanes completing at once in process with the group commit's fsyncs per commit.

No figure is judged here (no timed asserts): the benchmark's own run is where they are read.
"""

from __future__ import annotations

import re
import subprocess

from tests.server_helpers import CLEAN_ENV, STOREEDGE

FIGURE = r"\s+\d+\.\d+ ms"


def test_bench_checkout_prints_http_domain_floor_and_group_commit_figures():
    done = subprocess.run([str(STOREEDGE), "bench", "checkout", "--sales", "12", "--clients", "3", "--lines", "3",
                           "--bursts", "3"], capture_output=True, text=True, env=CLEAN_ENV, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for kind, count in (("open sale", 12), ("add line", 36), ("complete sale", 12), ("complete, all lanes at once", 9)):
        assert re.search(rf"^{kind}\s+{count}({FIGURE}){{3}}$", out, re.M), (kind, out)
    assert re.search(rf"^  floor, raw sqlite3, one transaction :{FIGURE}$", out, re.M), out
    assert re.search(rf"^  StoreEdge domain path, inside SQLite:{FIGURE}  = \d+\.\d\d× the floor", out, re.M), out
    found = re.search(r"^3 lanes completing at once, in process \(3 rounds, no HTTP\): p50 \d+\.\d\d ms, "
                      r"p99 \d+\.\d\d ms; WAL fsyncs per durable commit (\d+\.\d\d) \(group commit; 1\.00 would be one "
                      r"each\), each \d+\.\d\d ms on average$", out, re.M)
    assert found, out
    assert 0 < float(found[1]) <= 1  # never more than one fsync a commit; fewer when commits meet
