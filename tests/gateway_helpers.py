"""Test doubles made of real OS parts: a TCP network printer, pseudo-terminal serial devices, evdev event streams."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

from evdev import InputEvent, ecodes

from drivers.printer import status as dle_eot

KEYS = {**{c: (getattr(ecodes, f"KEY_{c}"), False) for c in "0123456789"},
        **{c: (getattr(ecodes, f"KEY_{c.upper()}"), False) for c in "abcdefghijklmnopqrstuvwxyz"},
        **{c: (getattr(ecodes, f"KEY_{c}"), True) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
        "-": (ecodes.KEY_MINUS, False), "_": (ecodes.KEY_MINUS, True), "/": (ecodes.KEY_SLASH, False),
        ":": (ecodes.KEY_SEMICOLON, True), ".": (ecodes.KEY_DOT, False), "!": (ecodes.KEY_1, True)}


def key_events(text: str, start: float = 1000.0, gap: float = 0.004, suffix: int = ecodes.KEY_ENTER):
    """The InputEvents a keyboard-wedge scanner sends for text: shift around capitals, key down and up,
    a SYN report after each, then the suffix key. Returns (events, the time after the last one)."""
    events, at = [], start

    def emit(code, value):
        nonlocal at
        sec, usec = int(at), round((at - int(at)) * 1_000_000)
        events.append(InputEvent(sec, usec, ecodes.EV_KEY, code, value))
        events.append(InputEvent(sec, usec, ecodes.EV_SYN, ecodes.SYN_REPORT, 0))
        at += gap

    for char in text:
        code, shifted = KEYS[char]
        if shifted:
            emit(ecodes.KEY_LEFTSHIFT, 1)
        emit(code, 1)
        emit(code, 0)
        if shifted:
            emit(ecodes.KEY_LEFTSHIFT, 0)
    if suffix is not None:
        emit(suffix, 1)
        emit(suffix, 0)
    return events, at


class Pty:
    """A pseudo-terminal standing in for a serial device: the code under test opens ``path``
    (a symlink, as /dev/serial/by-id is); the test reads and writes the master side."""

    def __init__(self, link: Path):
        self.link = Path(link)
        self.master = self.slave = None
        self.plug()

    def plug(self) -> None:
        self.master, self.slave = os.openpty()
        os.set_blocking(self.master, False)
        tmp = self.link.with_suffix(".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(self.slave))
        tmp.replace(self.link)

    def unplug(self) -> None:
        """As a USB serial adapter pulled out: its device node disappears and reads fail."""
        self.link.unlink(missing_ok=True)
        os.close(self.master)
        os.close(self.slave)
        self.master = self.slave = None

    @property
    def path(self) -> str:
        return str(self.link)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def received(self, settle: float = 0.05) -> bytes:
        """Everything written to the device so far (waits until a pause of ``settle`` seconds)."""
        out = bytearray()
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < settle:
            try:
                chunk = os.read(self.master, 4096)
            except BlockingIOError:
                time.sleep(0.005)
                continue
            out += chunk
            quiet_since = time.monotonic()
        return bytes(out)

    def close(self) -> None:
        if self.master is not None:
            self.unplug()


class NetworkPrinter:
    """A receipt printer on TCP 9100 at 127.0.0.1: keeps what it is sent and answers DLE EOT from its state.

    ``unplug`` stops listening and drops connections; ``plug`` listens again on the same port.
    """

    def __init__(self, drop_after: int | None = None):
        self.state = {"online": True, "cover_open": False, "paper_out": False}
        self.drop_after = drop_after  # bytes of print data, then the printer goes away (once)
        self.received = bytearray()
        self.connections = 0
        self.port = 0
        self.first_byte_at: list[float] = []
        self._lock = threading.Lock()
        self._data = threading.Condition(self._lock)
        self._server = None
        self._clients: list[socket.socket] = []
        self.plug()

    def plug(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen()
        self.port = server.getsockname()[1]
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def unplug(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            try:
                server.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread, which holds the socket open
            except OSError:
                pass
            server.close()
        for client in self._clients:
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            client.close()
        self._clients.clear()

    close = unplug

    def _accept(self, server) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            self.connections += 1
            self._clients.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client) -> None:
        pending = b""
        while True:
            try:
                chunk = client.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            pending += chunk
            answers, printable, pending = self._split(pending)
            if answers:
                client.sendall(answers)
            if printable:
                with self._data:
                    if not self.received:
                        self.first_byte_at.append(time.perf_counter())
                    self.received += printable
                    self._data.notify_all()
                if self.drop_after is not None and len(self.received) >= self.drop_after:
                    self.drop_after = None
                    self.unplug()
                    return

    def _split(self, data: bytes) -> tuple[bytes, bytes, bytes]:
        """Status questions answered at once (they are real-time commands); the rest is print data."""
        answers, printable, index = bytearray(), bytearray(), 0
        table = dle_eot.answer_bytes(**self.state)
        while index < len(data):
            if data[index:index + 2] == dle_eot.DLE_EOT:
                if index + 2 >= len(data):
                    return bytes(answers), bytes(printable), data[index:]
                answers.append(table[data[index + 2]])
                index += 3
            else:
                printable.append(data[index])
                index += 1
        return bytes(answers), bytes(printable), b""

    def wait_for(self, predicate, timeout: float = 15.0) -> bytes:
        """Waits until predicate(bytes received) holds; returns the bytes (fails the test on timeout)."""
        deadline = time.monotonic() + timeout
        with self._data:
            while not predicate(bytes(self.received)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"printer never got what was expected; it has {bytes(self.received)!r}")
                self._data.wait(left)
            return bytes(self.received)


def eventually(check, timeout: float = 15.0, interval: float = 0.01):
    """Polls check() until it returns something truthy; fails the test after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


GATEWAY_TOKEN = "gateway-token-for-tests-0001"


def gateway_config(*devices: dict, **gateway) -> dict:
    """A store config with these [[devices]] and fast retries (tests wait for outcomes, not for timers)."""
    return {"devices": list(devices),
            "gateway": {"token": GATEWAY_TOKEN, "print_retry_seconds": 0.05, "reopen_seconds": 0.05, **gateway}}


def network_printer(port: int, lane: int | None = 1, **options) -> dict:
    return {"name": "printer", "kind": "printer", "backend": "network", "host": "127.0.0.1", "port": port,
            "lane": lane, **options}


class WebServer:
    """The real web app (flask-sock and all) on a loopback port, in a thread."""

    def __init__(self, store):
        from werkzeug.serving import make_server

        self.flask = store.web()
        self.server = make_server("127.0.0.1", 0, self.flask, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/gateway"

    def lane_url(self, lane: int, token: str) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/lane/{lane}?token={token}"

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


def sell(store, caller, barcodes, cash: int = 10_000):
    """Complete a sale of these items on the caller's lane, paid in cash."""
    sale = store.sales.open(caller)
    for barcode in barcodes:
        store.sales.add_line(sale.id, caller, barcode=barcode)
    return store.sales.complete(sale.id, caller, [{"method": "cash", "amount": cash}])
