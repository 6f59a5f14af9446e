"""`storeedge bench devices`: the hardware paths against their budgets, with real processes and OS parts.

`storeedge web` (gunicorn) and `storeedge gateway` run as their own processes
on a fresh demo store; the scanner is a pseudo-terminal, the printer a TCP
server on loopback answering DLE EOT, the cashier screen a WebSocket client
on /ws/lane/1.
1. A scan written at the pty → the cart.line event at the screen (budget p99 < 50 ms).
2. A completed sale (the HTTP request sent) → the first receipt byte at the printer (budget p99 < 100 ms).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from drivers.gateway.socket_client import SocketClient
from edge.app import StoreEdge
from edge.bench.checkout import _free_port, _wait_for, demo_barcodes, open_lane
from edge.bench.stats import ms, percentile
from edge.config import load_config
from edge.demo.seed import seed

TOKEN = "bench-gateway-token-0123456789"
STATUS_OK = {1: 0x12, 2: 0x12, 4: 0x12}  # DLE EOT answers of a ready printer


class TcpPrinter:
    """A network printer on loopback: answers DLE EOT, stamps the first print byte after each ``arm``."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.port = self.server.getsockname()[1]
        self.first_byte = threading.Event()
        self.first_byte_at = 0.0
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self) -> None:
        self.first_byte.clear()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client) -> None:
        pending = b""
        while chunk := client.recv(65536):
            data, pending = pending + chunk, b""
            index, printed = 0, False
            while index < len(data):
                if data[index:index + 2] == b"\x10\x04":
                    if index + 2 >= len(data):
                        pending = data[index:]
                        break
                    client.sendall(bytes([STATUS_OK.get(data[index + 2], 0x12)]))
                    index += 3
                else:
                    printed = True
                    index += 1
            if printed and not self.first_byte.is_set():
                self.first_byte_at = time.perf_counter()
                self.first_byte.set()

    def close(self) -> None:
        self.server.close()


@contextmanager
def process(args: list[str]):
    child = subprocess.Popen([sys.executable, "-m", "edge.cli", *args], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        yield child
    finally:
        os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def _config(root: Path, scanner_path: str, printer_port: int) -> Path:
    path = root / "bench.toml"
    path.write_text(f'''[gateway]
token = "{TOKEN}"

[[devices]]
name = "scanner"
kind = "scanner"
backend = "serial"
path = "{scanner_path}"
lane = 1

[[devices]]
name = "printer"
kind = "printer"
backend = "network"
host = "127.0.0.1"
port = {printer_port}
lane = 1
''', encoding="utf-8")
    return path


class Screen:
    def __init__(self, url: str):
        self.ws = SocketClient.connect(url)

    def next_cart_line(self, timeout: float = 5.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.ws.receive(timeout=max(0.0, deadline - time.monotonic()))
            if text is not None and (message := json.loads(text))["type"] in ("cart.line", "scan.rejected"):
                if message["type"] == "scan.rejected":
                    raise RuntimeError(f"scan rejected: {message['message']}")
                return message
        raise RuntimeError("no cart.line event within 5 s")


def run(scans: int, sales: int, echo) -> None:
    with tempfile.TemporaryDirectory(prefix="storeedge-bench-devices-") as tmp:
        root = Path(tmp)
        master, slave = os.openpty()
        scanner_link = root / "scanner"
        scanner_link.symlink_to(os.ttyname(slave))
        printer = TcpPrinter()
        config = _config(root, str(scanner_link), printer.port)
        data_dir = root / "data"
        store = StoreEdge(load_config(config), data_dir)
        store.db.migrate()
        seed(store)
        codes = demo_barcodes(10)
        _, terminal_token = store.staff.add_device("bench-lane1", "terminal", 1)
        _, screen_token = store.staff.add_device("bench-screen1", "display", 1)
        store.db.close()
        port = _free_port()
        common = ["--config", str(config), "--data-dir", str(data_dir)]
        try:
            with process([*common, "web", "--host", "127.0.0.1", "--port", str(port), "--threads", "16"]):
                _wait_for(port)
                with process([*common, "gateway", "--url", f"ws://127.0.0.1:{port}/ws/gateway"]):
                    lane = open_lane(port, terminal_token)
                    screen = Screen(f"ws://127.0.0.1:{port}/ws/lane/1?token={screen_token}")
                    _measure(echo, lane, screen, master, printer, codes, scans, sales)
        finally:
            printer.close()
            os.close(master)
            os.close(slave)


def _scan(master: int, screen: Screen, code: str) -> float:
    start = time.perf_counter()
    os.write(master, code.encode() + b"\r")
    screen.next_cart_line()
    return time.perf_counter() - start


def _measure(echo, lane, screen, master, printer, codes, scans, sales) -> None:
    deadline = time.monotonic() + 30
    while True:  # the gateway connects to web and opens the scanner on its own time
        try:
            _scan(master, screen, codes[0])
            break
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
    scan_times = [_scan(master, screen, codes[i % len(codes)]) for i in range(scans)]
    receipt_times = []
    for number in range(sales + 1):
        if number:  # the scans' sale is the first; then one sale of one scan each
            _scan(master, screen, codes[number % len(codes)])
        lane.conn.close()  # gunicorn drops a keep-alive connection idle for 2 s (the scans); a fresh one
        current, _ = lane.must("GET", "/sales/current")
        printer.arm()
        start = time.perf_counter()
        lane.must("POST", f"/sales/{current['id']}/complete",
                  {"payments": [{"method": "cash", "amount": current["total"] + 1000}]})
        if not printer.first_byte.wait(10):
            raise RuntimeError("no receipt byte within 10 s")
        if number:
            receipt_times.append(printer.first_byte_at - start)
    echo(f"scan at the pty → cart.line at the lane screen ({scans} scans): "
         f"p50 {ms(percentile(scan_times, 0.5))}  p99 {ms(percentile(scan_times, 0.99))}  (budget p99 < 50 ms)")
    echo(f"completed sale → first receipt byte at the TCP printer ({sales} sales): "
         f"p50 {ms(percentile(receipt_times, 0.5))}  p99 {ms(percentile(receipt_times, 0.99))}  (budget p99 < 100 ms)")
