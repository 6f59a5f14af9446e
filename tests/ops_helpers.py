"""Helpers for the field-service tests: web under gunicorn over TLS, a store config file, HTTPS calls."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import time
import tomllib
from contextlib import contextmanager
from pathlib import Path

from edge.field.provision import to_toml
from edge.field.tls import make_certificate
from tests.server_helpers import CLEAN_ENV, REPO_ROOT, START_TIMEOUT, STOREEDGE, free_port


def store_config(tmp_path: Path, config: dict) -> Path:
    """The config as a TOML file next to the data folder; checked the way the store loads it."""
    path = tmp_path / "store.toml"
    path.write_text(to_toml(config))
    tomllib.loads(path.read_text())
    return path


def tls_config(tmp_path: Path, store_id: str = "S042", **extra) -> dict:
    """A config whose web serves HTTPS on a free port, with the certificate `storeedge tls` makes (made here in
    the test's process: test_tls runs the command itself)."""
    make_certificate(store_id, tmp_path / "tls")
    web = {"host": "127.0.0.1", "port": free_port(), "tls": True,
           "cert_file": str(tmp_path / "tls/web.crt"), "key_file": str(tmp_path / "tls/web.key")}
    return {"store": {"id": store_id, "name": "人民路店"}, "web": web, **extra}


def tablet_context(cert_file: Path) -> ssl.SSLContext:
    """What a paired tablet does: trust the box's certificate and check its name, store-<id>.local."""
    return ssl.create_default_context(cafile=str(cert_file))


def https_json(port: int, path: str, context: ssl.SSLContext, server_name: str) -> tuple[int, dict]:
    """GET over TLS to 127.0.0.1, presenting `server_name` as a tablet that dialled the .local name would."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    # SNI and the name check use the .local name; the TCP connection goes to loopback
    conn.sock = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                                    server_hostname=server_name)
    try:
        conn.request("GET", path)
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        conn.close()


@contextmanager
def running(*args: str, log: Path, ready=None):
    """A `storeedge …` process for the block (stopped with SIGTERM); `ready()` polled until true first."""
    with open(log, "ab") as out:
        process = subprocess.Popen([str(STOREEDGE), *args], stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
                                   env=CLEAN_ENV)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while ready is not None and not ready():
            assert process.poll() is None, f"exited {process.returncode}: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"not ready in {START_TIMEOUT} s: {log.read_text()[-3000:]}"
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def answers_over_tls(port: int, cert_file: Path) -> bool:
    try:
        return https_json(port, "/api/v1/health", tablet_context(cert_file), "localhost")[0] == 200
    except OSError:
        return False
