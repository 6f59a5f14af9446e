"""The real `storeedge` command and server as separate processes, and a small JSON client for them.

The server runs in its own session, so gunicorn's master and worker form one
process group that a test can stop, or kill with SIGKILL, as a whole.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing, contextmanager
from pathlib import Path

from edge.db import DB_FILENAME

STOREEDGE = Path(sys.executable).with_name("storeedge")
if not STOREEDGE.exists():
    STOREEDGE = Path(shutil.which("storeedge") or STOREEDGE)
# The tester's own $STOREEDGE_CONFIG or $STOREEDGE_DATA_DIR must not leak into the stores under test.
STORE_ENV_VARS = ("STOREEDGE_CONFIG", "STOREEDGE_DATA_DIR")
CLEAN_ENV = {name: value for name, value in os.environ.items() if name not in STORE_ENV_VARS}
REPO_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30  # seconds for a server to answer /api/v1/health
COMMAND_TIMEOUT = 60


def storeedge(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the `storeedge` command; with check, a non-zero exit fails with its output."""
    done = subprocess.run([str(STOREEDGE), *args], capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
                          env=CLEAN_ENV)
    if check and done.returncode != 0:
        raise AssertionError(f"storeedge {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done


def demo_store_with_terminal(data_dir: Path, lane: int = 1) -> str:
    """A demo store made with the CLI, and a terminal token from `devices add --print-token`."""
    storeedge("--data-dir", str(data_dir), "demo", "seed")
    return add_terminal(data_dir, lane)


def add_terminal(data_dir: Path, lane: int = 1) -> str:
    done = storeedge("--data-dir", str(data_dir), "devices", "add", "--name", f"lane{lane}", "--kind", "terminal",
                     "--lane", str(lane), "--print-token")
    return done.stdout.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """One `storeedge … web|serve` process group on a fixed loopback port; it can be restarted."""

    def __init__(self, argv: list[str], port: int, log_path: Path):
        self.argv = argv
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @classmethod
    def storeedge(cls, data_dir: Path, command: str = "web", *options: str) -> "ServerProcess":
        port = free_port()
        argv = [str(STOREEDGE), "--data-dir", str(data_dir), command, *options,
                "--host", "127.0.0.1", "--port", str(port)]
        return cls(argv, port, Path(data_dir).parent / f"server-{port}.log")

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
                                            env=CLEAN_ENV, start_new_session=True)
        self._wait_until_healthy()

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited with {self.process.returncode}:\n{self.log()}")
            try:
                status, _ = JsonClient(self.port).call("GET", "/health")
                if status == 200:
                    return
            except NoAnswer:
                pass
            time.sleep(0.05)
        self.kill()
        raise AssertionError(f"the server did not answer /api/v1/health within {START_TIMEOUT} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def workers(self) -> list[int]:
        """gunicorn's worker processes: the master's children."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def kill(self) -> None:
        """SIGKILL to master and worker at once, as a power cut or the OOM killer would."""
        self._signal_group(signal.SIGKILL)
        self.process.wait()
        self._wait_until_port_closed()

    def stop(self) -> None:
        """SIGTERM: gunicorn's master stops its worker and waits for it before exiting."""
        self._signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def _signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass  # already gone

    def _wait_until_port_closed(self) -> None:
        """The worker shares the listening socket and may outlive the master by a moment."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except OSError:
                return
            time.sleep(0.02)
        raise AssertionError(f"port {self.port} still accepts connections after the server was killed")


@contextmanager
def running_server(data_dir: Path, command: str = "web", *options: str):
    """`storeedge web` (or `serve …`) for the length of the block; yields the ServerProcess."""
    server = ServerProcess.storeedge(data_dir, command, *options)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class NoAnswer(Exception):
    """The server did not answer (down, killed, connection reset): the call's outcome is unknown."""


class JsonClient:
    """JSON over one keep-alive HTTP connection, speaking as a paired device (and a logged-in staff member)."""

    def __init__(self, port: int, device_token: str | None = None):
        self.port = port
        self.device_token = device_token
        self.session: str | None = None
        self.conn: http.client.HTTPConnection | None = None

    def call(self, method: str, path: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, dict]:
        sent = {"Content-Type": "application/json"}
        if self.device_token:
            sent["X-Device-Token"] = self.device_token
        if self.session:
            sent["Authorization"] = f"Bearer {self.session}"
        sent.update(headers or {})
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            self.conn.request(method, "/api/v1" + path, body=None if body is None else json.dumps(body),
                              headers=sent)
            response = self.conn.getresponse()
            return response.status, json.loads(response.read())
        except (OSError, http.client.HTTPException) as error:
            self.close()
            raise NoAnswer(f"{method} {path}: {error!r}") from error

    def must(self, method: str, path: str, body: dict | None = None, status: int = 200,
             headers: dict | None = None) -> dict:
        got, answer = self.call(method, path, body, headers)
        assert got == status, f"{method} {path} → {got} {answer}"
        return answer

    def login(self, pin: str) -> dict:
        answer = self.must("POST", "/auth/login", {"pin": pin})
        self.session = answer["token"]
        return answer

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def open_sale_with(client: JsonClient, barcodes: list[str]) -> dict:
    """A new sale on the client's terminal with one of each barcode; answers the sale."""
    sale = client.must("POST", "/sales", {}, status=201)
    for code in barcodes:
        sale = client.must("POST", f"/sales/{sale['id']}/lines", {"barcode": code, "qty": 1}, status=201)
    return sale


def query(data_dir: Path, sql: str, *params) -> list[tuple]:
    """Rows straight from the store's SQLite file (WAL: safe while the server runs)."""
    return query_file(Path(data_dir) / DB_FILENAME, sql, *params)


def query_file(db_file: Path, sql: str, *params) -> list[tuple]:
    with closing(sqlite3.connect(db_file, timeout=10)) as conn:
        return conn.execute(sql, params).fetchall()


def execute(data_dir: Path, sql: str) -> None:
    """Change the store's file behind its back, as a tamperer with the sqlite3 shell would."""
    with closing(sqlite3.connect(Path(data_dir) / DB_FILENAME, timeout=10)) as conn, conn:
        conn.execute(sql)


def count(data_dir: Path, sql: str, *params) -> int:
    return query(data_dir, sql, *params)[0][0]


def sale_fact_rows(data_dir: Path, sale_id: str) -> dict[str, int]:
    """How many rows of each part of a completed-sale fact exist for one sale."""
    return {
        "payments": count(data_dir, "SELECT COUNT(*) FROM payment WHERE sale_id = ?", sale_id),
        "stock movements": count(data_dir, "SELECT COUNT(*) FROM stock_movement WHERE reason = 'sale' AND ref = ?",
                                 sale_id),
        "sale.completed events": count(data_dir, "SELECT COUNT(*) FROM outbox_event WHERE type = 'sale.completed' "
                                                 "AND json_extract(data, '$.id') = ?", sale_id),
        "sale.completed audit records": count(data_dir, "SELECT COUNT(*) FROM audit_record "
                                                        "WHERE action = 'sale.completed' AND entity_id = ?", sale_id),
    }
