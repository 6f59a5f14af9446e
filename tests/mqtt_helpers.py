"""The sync tests' chain: a real Mosquitto (edge/bench/broker.py), HQ and stores as child processes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from edge.bench.broker import Broker, wait_until
from edge.db import database
from edge.hq.cli import READY

__all__ = ["Broker", "wait_until"]  # the tests' broker, shared with the sync benchmark

# -- StoreEdge processes around the broker ------------------------------------------------------------

STOREEDGE = [sys.executable, "-m", "edge.cli"]
CHAIN = "testchain"


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value)


def write_toml(path: Path, config: dict) -> Path:
    """A config file from {section: {key: value}} (flat sections are all the sync tests need)."""
    lines = []
    for section, values in config.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def store_config(store_id: str, broker: Broker, hq: dict | None = None, **sync) -> dict:
    """A store of the test chain syncing quickly: short back-off, short ack patience, frequent telemetry."""
    return {"store": {"id": store_id, "chain_id": CHAIN}, "hq": hq or {"broker": broker.url},
            "sync": {"reconnect_max_seconds": 1, "ack_timeout_seconds": 3, "telemetry_seconds": 1, **sync}}


class Process:
    """A `storeedge …` child process with its output in a log file; SIGKILL or SIGTERM by its own pid."""

    def __init__(self, args: list[str], log_file: Path):
        self.args = args
        self.log_file = Path(log_file)
        self.process: subprocess.Popen | None = None

    def start(self) -> "Process":
        log = open(self.log_file, "ab")
        self.process = subprocess.Popen([*STOREEDGE, *self.args], stdout=log, stderr=log, start_new_session=True)
        log.close()
        return self

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> int | None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode if self.process else None

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")


def sync_process(data_dir: Path, config_file: Path) -> Process:
    return Process(["--config", str(config_file), "--data-dir", str(data_dir), "sync"], data_dir / "sync.log")


class HQDatabase:
    """HQ's database as the tests read it: SQLite in HQ's folder, or PostgreSQL at a DSN."""

    def __init__(self, folder: Path, dsn: str | None = None):
        self.folder = Path(folder)
        self.dsn = dsn
        self.folder.mkdir(parents=True, exist_ok=True)

    @property
    def options(self) -> tuple[str, ...]:
        """The `storeedge hq …` options that name this database."""
        return ("--hq-data", str(self.folder), *(("--database", self.dsn) if self.dsn else ()))

    def rows(self, sql: str, params=()) -> list[tuple]:
        """``sql`` with ? placeholders; no rows while HQ has not made its tables yet."""
        if self.dsn:
            return self._postgresql_rows(sql.replace("?", "%s"), params)
        path = self.folder / "hq.db"
        if not path.exists():
            return []
        with sqlite3.connect(path) as conn:
            try:
                return conn.execute(sql, params).fetchall()
            except sqlite3.OperationalError:
                return []

    def _postgresql_rows(self, sql: str, params) -> list[tuple]:
        import psycopg2

        conn = psycopg2.connect(self.dsn)
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()
        except psycopg2.errors.UndefinedTable:
            return []
        finally:
            conn.close()


def hq_process(hq: HQDatabase, broker: Broker, instance: str = "1", options: tuple[str, ...] = ()) -> Process:
    """``options``: more `hq run` options (TLS files; --broker again overrides the plain one)."""
    return Process(["hq", "run", *hq.options, "--broker", broker.url, "--chain", CHAIN,
                    "--instance", instance, *options], hq.folder / f"hq-{instance}.log")


def make_certificates(folder: Path, clients: tuple[str, ...]) -> Path:
    """A test CA, a broker certificate for 127.0.0.1 and one client certificate per name (CN = name)."""
    folder.mkdir(parents=True, exist_ok=True)

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=storeedge-test-ca",
            "-keyout", "ca.key", "-out", "ca.crt")
    (folder / "san.cnf").write_text("subjectAltName = IP:127.0.0.1\n")
    for name, extra in (("broker", ("-extfile", "san.cnf")), *((client, ()) for client in clients)):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name if name != 'broker' else '127.0.0.1'}",
                "-keyout", f"{name}.key", "-out", f"{name}.csr")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-out", f"{name}.crt", *extra)
    return folder


def ready(process: Process) -> bool:
    """HQ has subscribed (events published before would reach no HQ until the store's ack timeout)."""
    return READY in process.log()


def activate(store) -> None:
    """Point the models at this store's database: peewee's proxy serves one store at a time per process."""
    database.initialize(store.db.peewee)


def store_events(store) -> list[tuple[int, str]]:
    """(seq, id) of every outbox event of the store, read straight from its file."""
    with sqlite3.connect(store.db.path) as conn:
        return conn.execute("SELECT seq, id FROM outbox_event ORDER BY seq").fetchall()


def acked_upto(store) -> int:
    with sqlite3.connect(store.db.path) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'sync.acked_upto'").fetchone()
    return int(row[0]) if row else 0


def hq_events(hq: HQDatabase, store_id: str) -> list[tuple[int, str]]:
    return hq.rows("SELECT seq, id FROM store_event WHERE store_id = ? ORDER BY seq", (store_id,))


def all_synced(hq: HQDatabase, *stores) -> bool:
    """HQ holds exactly each store's events and each store knows it (acked up to its last seq)."""
    for store in stores:
        events = store_events(store)
        if hq_events(hq, store.config.store.id) != events or acked_upto(store) != (events[-1][0] if events else 0):
            return False
    return True
