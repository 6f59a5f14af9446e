"""A real PostgreSQL for HQ's tests: initdb into a temporary folder, postgres on 127.0.0.1 and a random port.

As root the server runs as the ``postgres`` user (PostgreSQL refuses to run
as root), which is given the folder. One server per test session, one new
database per test; the tests skip, saying why, when the binaries are missing.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from edge.bench.broker import free_port, wait_until

SUPERUSER = "storeedge"
_databases = itertools.count(1)


def postgres_bin() -> Path | None:
    """The folder of initdb and postgres: on PATH, or Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(versions[-1]).parent if versions else None


class PostgresServer:
    """One postgres child process; ``dsn(name)`` makes a new database on it."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="storeedge-pg-"))  # in /tmp: the postgres user can reach it
        self.data = self.folder / "data"
        self.sockets = self.folder / "sockets"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        self.process: subprocess.Popen | None = None

    def _as_server_user(self) -> dict:
        if self.user is None:
            return {}
        account = pwd.getpwnam(self.user)
        return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    def start(self) -> "PostgresServer":
        self.sockets.mkdir()
        if self.user is not None:
            for path in (self.folder, self.sockets):
                shutil.chown(path, self.user, self.user)
        with open(self.folder / "postgres.log", "ab") as log:
            subprocess.run([self.bin_dir / "initdb", "-D", self.data, "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                            "--no-locale", "--no-sync"], check=True, stdout=log, stderr=log,
                           **self._as_server_user())
        self._serve()
        return self

    def _serve(self) -> None:
        with open(self.folder / "postgres.log", "ab") as log:
            self.process = subprocess.Popen(
                [self.bin_dir / "postgres", "-D", self.data, "-h", "127.0.0.1", "-p", str(self.port),
                 "-k", self.sockets, "-c", "max_connections=50"],
                stdout=log, stderr=log, start_new_session=True, **self._as_server_user())
        wait_until(self._accepting, timeout=60, what=f"postgres on port {self.port}")

    def shut_down(self) -> None:
        """A fast shutdown: every client's connection cut, their transactions rolled back; the data kept."""
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=60)

    def restart(self) -> None:
        """The same server on the same port and data again, as after a PostgreSQL upgrade or a failover."""
        if self.process.poll() is None:
            self.shut_down()
        self._serve()

    def _connect(self, database: str = "postgres"):
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=database)

    def _accepting(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"postgres exited with {self.process.returncode}: {self.log()[-2000:]}")
        try:
            self._connect().close()
            return True
        except Exception:  # noqa: BLE001 — psycopg2.OperationalError while it starts
            return False

    def new_database(self) -> str:
        """A new, empty database; returns its DSN."""
        name = f"hq_{next(_databases)}"
        conn = self._connect()
        conn.autocommit = True  # CREATE DATABASE cannot run in a transaction
        try:
            conn.cursor().execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{name}"

    def log(self) -> str:
        return (self.folder / "postgres.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # immediate shutdown: the data is thrown away next
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server():
    """The test session's PostgreSQL, started at the first test that needs it."""
    bin_dir = postgres_bin()
    if bin_dir is None or not (bin_dir / "postgres").exists():
        pytest.skip("PostgreSQL binaries (initdb, postgres) not found: install the Debian package postgresql")
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        pytest.skip("psycopg2 is not installed (pip install -e '.[test]')")
    server = PostgresServer(bin_dir).start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def hq_dsn(request) -> str | None:
    """HQ's database for one test, on each backend in turn: None (SQLite in HQ's folder) or a new PostgreSQL
    database's DSN."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("postgres_server").new_database()
