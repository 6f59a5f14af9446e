"""`storeedge doctor`: each check against the real thing it looks at, and an exit code and JSON fit for a script.

A missing device, an unreachable broker, a full disk (a small tmpfs in a mount
namespace of the test's own), a corrupted database and a bad config each make
it fail, naming what is wrong.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import socket
import stat
import subprocess

import pytest

from edge.db import DB_FILENAME
from edge.field.doctor import EXIT_CODES, FAIL, OK, WARN, clock
from edge.sync.outbox import Outbox
from tests.server_helpers import CLEAN_ENV, STOREEDGE, free_port, storeedge
from tests.test_backup import corrupt

NULL_DEVICE = os.makedev(1, 3)  # /dev/null's numbers: a harmless character device to give modes to


def doctor(data_dir, config=None, *options) -> tuple[int, dict]:
    args = ["--data-dir", str(data_dir), *(["--config", str(config)] if config else []), "doctor", "--json", *options]
    done = storeedge(*args, check=False)
    return done.returncode, json.loads(done.stdout)


def statuses(report: dict) -> dict[str, str]:
    return {check["name"]: check["status"] for check in report["checks"]}


def detail(report: dict, name: str) -> str:
    return next(check["detail"] for check in report["checks"] if check["name"] == name)


def config_file(tmp_path, text: str):
    path = tmp_path / "store.toml"
    path.write_text(text)
    return path


@pytest.fixture
def stopped_store(store, tmp_path):
    """The demo store's data folder with the store closed, as the doctor finds it from a shell."""
    store.db.close()
    return tmp_path


@pytest.fixture
def listening_broker():
    """Something accepting TCP on loopback, where the [hq] broker is configured."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


def test_a_healthy_store_passes_every_check_but_perhaps_the_clock(stopped_store, tmp_path, listening_broker):
    config = config_file(tmp_path, f'[hq]\nbroker = "mqtt://127.0.0.1:{listening_broker}"\n')
    code, report = doctor(stopped_store, config)
    found = statuses(report)
    assert {name: status for name, status in found.items() if name != "clock"} == {
        "disk": OK, "data": OK, "database": OK, "broker": OK, "outbox": OK}
    assert report["status"] == found["clock"] and code == EXIT_CODES[found["clock"]]
    assert f"127.0.0.1:{listening_broker} reachable" in detail(report, "broker")


def test_the_outbox_counts_the_events_after_hqs_ack(store, tmp_path, listening_broker):
    outbox = Outbox(store, store.config.store.id)
    last = outbox.last_seq()
    assert last > 2  # the demo store's events
    outbox.ack(last - 2)
    store.db.close()
    config = config_file(tmp_path, f'[hq]\nbroker = "mqtt://127.0.0.1:{listening_broker}"\n')
    _, report = doctor(tmp_path, config)
    assert detail(report, "outbox") == "2 events not yet acknowledged by HQ"


def test_the_lines_say_the_same_as_the_json(stopped_store):
    done = storeedge("--data-dir", str(stopped_store), "doctor", check=False)
    _, report = doctor(stopped_store)
    # the details carry live figures (free space): the lines are compared up to the colon
    assert [line.split(":")[0] for line in done.stdout.splitlines()] == [
        f"{c['status']:<4} {c['name']}" for c in report["checks"]]


def test_an_unreachable_broker_fails(stopped_store, tmp_path):
    config = config_file(tmp_path, f'[hq]\nbroker = "mqtt://127.0.0.1:{free_port()}"\n')
    code, report = doctor(stopped_store, config)
    assert code == 2 and report["status"] == FAIL
    assert statuses(report)["broker"] == FAIL and "unreachable" in detail(report, "broker")


def test_a_corrupted_database_fails_and_its_outbox_is_not_counted(stopped_store):
    corrupt(stopped_store / DB_FILENAME)
    code, report = doctor(stopped_store)
    assert code == 2 and statuses(report)["database"] == FAIL
    assert "integrity check failed" in detail(report, "database") and "outbox" not in statuses(report)


def test_a_missing_database_fails_and_nothing_is_created(tmp_path):
    code, report = doctor(tmp_path / "typo")
    assert code == 2 and "no store database" in detail(report, "database")
    assert not (tmp_path / "typo").exists()


def test_a_bad_config_fails_naming_the_key(stopped_store, tmp_path):
    code, report = doctor(stopped_store, config_file(tmp_path, "[hq]\nbrokr = 'mqtt://x'\n"))
    assert code == 2 and statuses(report)["config"] == FAIL and "hq.brokr" in detail(report, "config")


def scanner_config(tmp_path, path) -> str:
    return config_file(tmp_path, f'[[devices]]\nname = "scanner1"\nkind = "scanner"\nbackend = "evdev"\n'
                                 f'path = "{path}"\nlane = 1\n')


def character_device(path, mode: int, group: str = "root"):
    os.mknod(path, stat.S_IFCHR | mode, NULL_DEVICE)
    os.chown(path, 0, grp.getgrnam(group).gr_gid)
    os.chmod(path, mode)  # mknod's mode passes through the umask
    return path


def test_a_missing_device_fails_naming_it(stopped_store, tmp_path):
    code, report = doctor(stopped_store, scanner_config(tmp_path, tmp_path / "by-id/usb-scanner-event-kbd"))
    assert code == 2 and statuses(report)["device scanner1"] == FAIL
    assert "usb-scanner-event-kbd missing" in detail(report, "device scanner1")


@pytest.mark.skipif(os.geteuid() != 0, reason="making device nodes and chown need root")
@pytest.mark.parametrize("mode, group, status", [
    (0o600, "root", FAIL),  # root's alone: the gateway's user cannot open it
    (0o660, "input", OK),  # the udev rule's group and mode: the gateway is in group input
    (0o666, "root", OK),
])
def test_device_permissions_are_judged_for_the_gateways_user(stopped_store, tmp_path, mode, group, status):
    device = character_device(tmp_path / "scanner", mode, group)
    # nobody stands in for the storeedge user here; the gateway unit adds input, dialout and lp
    code, report = doctor(stopped_store, scanner_config(tmp_path, device), "--gateway-user", "nobody")
    assert statuses(report)["device scanner1"] == status, detail(report, "device scanner1")
    if status == FAIL:  # (the data folder is root's here: nobody could not write it either)
        assert code == 2 and "nobody cannot read and write it" in detail(report, "device scanner1")


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_a_file_in_the_data_folder_the_services_cannot_write_fails_naming_it(stopped_store):
    nobody = pwd.getpwnam("nobody")
    for folder, _, files in os.walk(stopped_store):  # as install.sh leaves it: the services' user owns it all
        for path in (folder, *(os.path.join(folder, name) for name in files)):
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
    _, report = doctor(stopped_store, None, "--gateway-user", "nobody")
    assert statuses(report)["data"] == OK, detail(report, "data")
    # a restore run as root left root's database behind: the next sale cannot be written
    database = stopped_store / DB_FILENAME
    os.chown(database, 0, 0)
    database.chmod(0o644)
    code, report = doctor(stopped_store, None, "--gateway-user", "nobody")
    assert code == 2 and statuses(report)["data"] == FAIL
    assert detail(report, "data") == (f"nobody cannot write {database} (owner root, group root, mode -rw-r--r--): "
                                      f"chown -R nobody: {stopped_store}")


def test_a_missing_data_folder_fails(tmp_path):
    _, report = doctor(tmp_path / "typo")
    assert statuses(report)["data"] == FAIL and detail(report, "data") == f"no data folder at {tmp_path / 'typo'}"


def test_a_plain_file_where_a_device_should_be_warns(stopped_store, tmp_path):
    (tmp_path / "scanner").write_text("")
    _, report = doctor(stopped_store, scanner_config(tmp_path, tmp_path / "scanner"))
    assert statuses(report)["device scanner1"] == WARN


def test_a_full_disk_fails(stopped_store, tmp_path):
    """The data folder copied onto an 8 MiB tmpfs, mounted in a mount namespace only this command sees."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"]).returncode != 0:
        pytest.skip("no mount namespaces here (unshare -m)")
    small = tmp_path / "small"
    small.mkdir()
    script = (f'mount -t tmpfs -o size=8M tmpfs "{small}" && cp -a "{stopped_store}/{DB_FILENAME}" "{small}/" '
              f'&& exec "{STOREEDGE}" --data-dir "{small}" doctor --json')
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, env=CLEAN_ENV,
                          timeout=60)
    report = json.loads(done.stdout)
    assert done.returncode == 2 and statuses(report)["disk"] == FAIL
    assert "sales cannot be written safely" in detail(report, "disk")
    assert statuses(report)["database"] == OK  # the copy itself is sound: only the space is short


@pytest.mark.parametrize("answers, status, words", [
    ({"timedatectl": "yes\n"}, OK, "synchronised (timedatectl)"),
    ({"timedatectl": "no\n"}, WARN, "not synchronised"),
    ({"chronyc": "Reference ID    : C0A80001\nLeap status     : Normal\n"}, OK, "synchronised (chrony)"),
    ({"chronyc": "Leap status     : Not synchronised\n"}, WARN, "leap status Not synchronised"),
    ({}, WARN, "unknown"),
])
def test_the_clock_is_read_from_timedatectl_or_chrony(answers, status, words):
    """The system's tools answer as given (this machine may have neither)."""
    check = clock(lambda argv: answers.get(argv[0]))
    assert check.status == status and words in check.detail
