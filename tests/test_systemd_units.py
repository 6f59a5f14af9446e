"""The systemd units (systemd-analyze verify, hardening, device access) and sd_notify over a real socket.

The services run as child processes with NOTIFY_SOCKET pointing at a datagram
socket the test listens on, as systemd would give them.
"""

from __future__ import annotations

import configparser
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from edge.bench.broker import Broker
from edge.systemd import Watchdog, notify, watchdog_interval
from tests.mqtt_helpers import store_config, write_toml
from tests.server_helpers import CLEAN_ENV, REPO_ROOT, free_port

UNITS = REPO_ROOT / "systemd"
SERVICES = {"web", "gateway", "sync"}  # long-running, watched by systemd's watchdog
DAEMONS = {"web", "gateway", "sync", "hq"}
TIMERS = {"backup", "daily", "insight"}
EXECUTABLE = "opt/storeedge/venv/bin/storeedge"
WAIT_SECONDS = 30  # patience for a message; the test fails rather than hangs


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd's keys are case-sensitive
    parser.read(UNITS / name)
    return parser


def unit_files() -> list[Path]:
    return sorted(UNITS.glob("storeedge-*.*"))


def test_the_units_are_all_there():
    names = {path.name for path in unit_files()}
    assert names == ({f"storeedge-{d}.service" for d in DAEMONS} | {f"storeedge-{t}.service" for t in TIMERS}
                     | {f"storeedge-{t}.timer" for t in TIMERS})


def test_systemd_analyze_verifies_every_unit(tmp_path):
    """Into a root with the venv's command and systemd's targets, as on the box after install.sh."""
    executable = tmp_path / EXECUTABLE
    executable.parent.mkdir(parents=True)
    executable.write_text("#!/bin/sh\n")
    executable.chmod(0o755)
    system_units = tmp_path / "etc/systemd/system"
    system_units.mkdir(parents=True)
    targets = tmp_path / "usr/lib/systemd/system"
    targets.mkdir(parents=True)
    for target in Path("/lib/systemd/system").glob("*.target"):
        shutil.copy(target, targets)
    for path in unit_files():
        shutil.copy(path, system_units)
    done = subprocess.run(["systemd-analyze", "verify", f"--root={tmp_path}",
                           *(str(system_units / path.name) for path in unit_files())],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout + done.stderr == "", done.stdout + done.stderr


@pytest.mark.parametrize("name", sorted(DAEMONS))
def test_every_daemon_restarts_and_is_hardened(name):
    service = unit(f"storeedge-{name}.service")["Service"]
    assert service["Restart"] == "always"
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "yes" and service["ReadWritePaths"].startswith("/var/lib/storeedge")
    assert service["User"] == "storeedge"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_is_watched_through_sd_notify(name):
    service = unit(f"storeedge-{name}.service")["Service"]
    assert service["Type"] == "notify" and int(service["WatchdogSec"]) > 0


def test_only_the_gateway_reaches_devices():
    for path in unit_files():
        if path.suffix != ".service":
            continue
        service = unit(path.name)["Service"]
        if path.name == "storeedge-gateway.service":
            assert set(service["SupplementaryGroups"].split()) == {"input", "dialout", "lp"}
            assert "PrivateDevices" not in service
        else:
            assert "SupplementaryGroups" not in service and service["PrivateDevices"] == "yes", path.name


def test_the_web_unit_runs_gunicorn_without_its_control_socket():
    from edge.server import GunicornServer

    assert unit("storeedge-web.service")["Service"]["ExecStart"].endswith("storeedge web")
    assert GunicornServer(None, "data", "127.0.0.1", 8080, 4).settings["control_socket_disable"] is True


def test_the_timers_run_backups_and_the_daily_member_jobs():
    daily = (UNITS / "storeedge-daily.service").read_text()
    assert "storeedge members expire-points" in daily and "storeedge members review-levels" in daily
    assert unit("storeedge-backup.service")["Service"]["ExecStart"].endswith("storeedge backup")
    for timer in TIMERS:
        assert unit(f"storeedge-{timer}.timer")["Timer"]["Persistent"] == "true"


# -- sd_notify ------------------------------------------------------------------------------------------


@pytest.fixture
def notify_socket(tmp_path):
    """systemd's end: a datagram socket bound to a path, as $NOTIFY_SOCKET names it."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(WAIT_SECONDS)
        yield sock, str(path)


def received(sock: socket.socket, until: set[str]) -> list[str]:
    """Datagrams as lines, until every state in `until` has been seen."""
    seen: list[str] = []
    while not until <= set(seen):
        seen += sock.recv(4096).decode().splitlines()
    return seen


def test_notify_sends_one_datagram_to_the_socket(notify_socket):
    sock, path = notify_socket
    assert notify("READY=1\nSTATUS=serving", {"NOTIFY_SOCKET": path})
    assert sock.recv(4096) == b"READY=1\nSTATUS=serving"


def test_notify_reaches_an_abstract_socket():
    name = f"storeedge-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(WAIT_SECONDS)
        assert notify("WATCHDOG=1", {"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(4096) == b"WATCHDOG=1"


def test_without_systemd_notify_does_nothing():
    assert notify("READY=1", {}) is False
    assert Watchdog({}).ping() is False


def test_the_watchdog_pings_at_half_the_interval(notify_socket):
    sock, path = notify_socket
    now = [100.0]
    watchdog = Watchdog({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "10000000"}, clock=lambda: now[0])
    assert watchdog.interval == 5
    sent = []
    for step in (0, 1, 3.9, 5, 9.9, 10):  # seconds since the first ping
        now[0] = 100.0 + step
        sent.append(watchdog.ping())
    assert sent == [True, False, False, True, False, True]
    sock.settimeout(0)
    assert [sock.recv(64) for _ in range(3)] == [b"WATCHDOG=1"] * 3
    with pytest.raises(BlockingIOError):
        sock.recv(64)


def test_the_watchdog_is_for_the_process_systemd_names():
    other = {"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getppid())}
    assert watchdog_interval(other) is None
    assert watchdog_interval(other, any_pid=True) == 1
    assert watchdog_interval({**other, "WATCHDOG_PID": str(os.getpid())}) == 1


def service_env(path: str) -> dict:
    return {**CLEAN_ENV, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000", "PYTHONUNBUFFERED": "1"}


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_the_web_worker_says_ready_and_keeps_pinging(notify_socket, tmp_path):
    sock, path = notify_socket
    argv = [sys.executable, "-m", "edge.cli", "--data-dir", str(tmp_path / "data"), "web",
            "--host", "127.0.0.1", "--port", str(free_port())]
    subprocess.run([*argv[:5], "db", "migrate"], check=True, capture_output=True, env=CLEAN_ENV)
    process = subprocess.Popen(argv, env=service_env(path), cwd=REPO_ROOT, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        seen = received(sock, until={"READY=1", "WATCHDOG=1"})
    finally:
        stop(process)
    assert "STATUS=serving on 127.0.0.1" in " ".join(seen)  # the worker's READY, not only gunicorn's own


def test_the_sync_loop_says_ready_and_keeps_pinging(notify_socket, tmp_path):
    sock, path = notify_socket
    broker = Broker(tmp_path / "broker").start()
    config = write_toml(tmp_path / "store.toml", store_config("s1", broker))
    argv = [sys.executable, "-m", "edge.cli", "--data-dir", str(tmp_path / "data"), "--config", str(config)]
    try:
        process = subprocess.Popen([*argv, "sync"], env=service_env(path), cwd=REPO_ROOT, start_new_session=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            seen = received(sock, until={"READY=1", "WATCHDOG=1"})
            assert seen.count("WATCHDOG=1") >= 1
            assert received(sock, until={"WATCHDOG=1"}) == ["WATCHDOG=1"]  # and again, from the loop
        finally:
            stop(process)
    finally:
        broker.stop()


def test_the_gateway_says_ready_and_pings_while_its_loops_run(notify_socket, tmp_path):
    """A virtual scanner, and web away (the link keeps retrying: the gateway is still healthy)."""
    sock, path = notify_socket
    config = tmp_path / "store.toml"
    config.write_text('[[devices]]\nname = "scanner1"\nkind = "scanner"\nbackend = "virtual"\nlane = 1\n')
    argv = [sys.executable, "-m", "edge.cli", "--data-dir", str(tmp_path / "data"), "--config", str(config),
            "gateway", "--url", f"ws://127.0.0.1:{free_port()}/ws/gateway"]
    process = subprocess.Popen(argv, env=service_env(path), cwd=REPO_ROOT, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert received(sock, until={"READY=1", "WATCHDOG=1"})[0] == "READY=1"
    finally:
        stop(process)
