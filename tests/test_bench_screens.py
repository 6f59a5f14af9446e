"""`storeedge bench screens` with tiny numbers: it runs against the real server and Chromium and prints its figures.

No figure is judged here (no timed asserts): the benchmark's own run is where they are read.
"""

from __future__ import annotations

import re
import subprocess
import sys

from tests.server_helpers import CLEAN_ENV, STOREEDGE

FIGURE = r"\s+\d+\.\d+ ms"


def test_bench_screens_prints_first_loads_scans_floors_and_the_budget():
    done = subprocess.run([str(STOREEDGE), "bench", "screens", "--rounds", "1", "--scans", "3"], capture_output=True,
                          text=True, env=CLEAN_ENV, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for kind in ("cold", "warm"):  # response end, DOMContentLoaded, load, cart usable, next frame; requests, bytes
        assert re.search(rf"^{kind}(\s+\d+\.\d / \s*\d+\.\d){{5}}\s+\d+\s+\d+$", out, re.M), out
    for path in ("floor: fetch GET /api/v1/health", "floor: one <li> inserted",
                 "wedge scan in the scan box \\(from Enter\\)", "scan at the lane's gateway \\(WebSocket\\)"):
        assert re.search(rf"^{path}({FIGURE}){{2}}", out, re.M), out
    for name in ("wedge scan", "gateway scan"):
        assert re.search(rf"^{name}: p99 to the next frame \d+\.\d\d ms against a budget of 50 ms: "
                         rf"(within|OVER) budget; in-DOM p50 = \d+\.\d× the floor", out, re.M), out


def test_bench_screens_without_playwright_says_which_extra_to_install():
    hide_playwright = "import sys; sys.modules['playwright'] = None; from edge.cli import main; main()"
    done = subprocess.run([sys.executable, "-c", hide_playwright, "bench", "screens"], capture_output=True, text=True,
                          env=CLEAN_ENV, timeout=60)
    assert done.returncode == 1
    assert "Playwright, which is not installed: pip install 'storeedge[bench]'" in done.stderr
