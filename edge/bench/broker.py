"""A Mosquitto broker as a child process on 127.0.0.1: the sync benchmark's and the sync tests' broker.

It listens on a random free port and keeps its persistence file in its own
folder, so it can be killed with SIGKILL and started again on the same port
with the sessions and queued messages it had saved.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
START_TIMEOUT_SECONDS = 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, timeout: float = 30.0, interval: float = 0.05, what: str = "condition"):
    """Poll ``condition`` until it returns something true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class Broker:
    """One Mosquitto child process; ``kill()`` is SIGKILL, ``start()`` again reuses the port and persistence."""

    def __init__(self, folder: Path, port: int | None = None, access: list[str] | None = None):
        """``access``: config lines for logins and ACLs (password_file, acl_file); anonymous without them."""
        self.access = access or ["allow_anonymous true"]
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.config_file = self.folder / "mosquitto.conf"
        self.log_file = self.folder / "mosquitto.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _write_config(self) -> None:
        # user root: mosquitto otherwise drops to the "mosquitto" user, which cannot write the test's folder.
        # autosave_interval 1: the persistence file is rewritten every second, so a SIGKILL loses little of
        # the broker's own queue (the outbox and hq_seq make up for what it does lose).
        self.config_file.write_text("\n".join([
            "user root",
            f"listener {self.port} 127.0.0.1",
            *self.access,
            "persistence true",
            f"persistence_location {self.folder}/",
            "autosave_interval 1",
            "max_queued_messages 1000000",
            "max_inflight_messages 100",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "",
        ]))

    def start(self) -> "Broker":
        self._write_config()
        log = open(self.log_file, "ab")
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.config_file)], stdout=log, stderr=log,
                                        start_new_session=True)
        log.close()
        wait_until(self._accepting, timeout=START_TIMEOUT_SECONDS, what=f"mosquitto on port {self.port}")
        return self

    def _accepting(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"mosquitto exited with {self.process.returncode}: "
                                 f"{self.log_file.read_text(errors='replace')[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL, as a power cut or the OOM killer would."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
