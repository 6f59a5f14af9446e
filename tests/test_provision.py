"""`storeedge provision`: the config written 0600 and loadable, certificates copied, the first admin; refusals
that write nothing."""

from __future__ import annotations

import sqlite3

import pytest

from edge.config import load_config
from edge.field.tls import fingerprint
from edge.staff.secrets import SECRET_FILENAME, pin_lookup
from tests.server_helpers import query, storeedge

SCANNER = "name=scanner1,kind=scanner,backend=evdev,path=/dev/storeedge/scanner-1,lane=1"


def provision(tmp_path, *options: str, check: bool = True):
    return storeedge("--config", str(tmp_path / "etc/storeedge.toml"), "--data-dir", str(tmp_path / "data"),
                     "provision", "--store-id", "S042", "--chain", "acme", *options, check=check)


def written(tmp_path) -> list[str]:
    """Every file provisioning may write, relative to tmp_path."""
    return sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*") if path.is_file())


def test_a_box_is_provisioned_with_hq_devices_and_its_first_admin(tmp_path):
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    provision(tmp_path, "--store-name", "人民路店", "--broker", "mqtts://hq.example:8883", "--username", "S042",
              "--password", 'se"cret', "--ca-file", str(tmp_path / "ca.crt"), "--device", SCANNER,
              "--admin-name", "王芳", "--admin-pin", "4711")
    config_file = tmp_path / "etc/storeedge.toml"
    config = load_config(config_file)
    assert (config.store.id, config.store.chain_id, config.store.name) == ("S042", "acme", "人民路店")
    assert (config.hq.broker, config.hq.username, config.hq.password) == ("mqtts://hq.example:8883", "S042", 'se"cret')
    assert config.hq.ca_file == str(tmp_path / "etc/hq-ca.crt")
    assert (tmp_path / "etc/hq-ca.crt").read_text() == "-----BEGIN CERTIFICATE-----\n"
    [device] = config.devices
    assert (device.name, device.backend, device.path, device.lane) == ("scanner1", "evdev", "/dev/storeedge/scanner-1", 1)
    for secret in (config_file, tmp_path / "etc/hq-ca.crt"):
        assert secret.stat().st_mode & 0o777 == 0o600
    key = bytes.fromhex((tmp_path / "data" / SECRET_FILENAME).read_text())
    data = tmp_path / "data"
    assert query(data, "SELECT name, role FROM staff WHERE pin_lookup = ?", pin_lookup(key, "4711")) == [("王芳", "admin")]
    assert [a for (a,) in query(data, "SELECT action FROM audit_record ORDER BY seq")] == [
        "config.first_start", "staff.added"]


def test_an_existing_config_is_kept_unless_forced(tmp_path):
    provision(tmp_path)
    config_file = tmp_path / "etc/storeedge.toml"
    before = config_file.read_bytes()
    done = provision(tmp_path, "--store-name", "新店", check=False)
    assert done.returncode == 2 and "exists" in done.stderr and config_file.read_bytes() == before
    provision(tmp_path, "--store-name", "新店", "--force")
    assert load_config(config_file).store.name == "新店"


@pytest.mark.parametrize("options, named", [
    (["--broker", "http://hq.example"], "hq.broker"),
    (["--device", "name=scanner1,kind=scanner,backend=evdev,lane=1"], "scanner1: backend evdev needs path"),
    (["--device", "name=scanner1,evdev"], "--device"),
    (["--username", "S042"], "--broker"),
    (["--broker", "mqtts://hq.example", "--ca-file", "/nonexistent/ca.crt"], "--ca-file"),
    (["--admin-pin", "12ab"], "--admin-pin"),
    (["--store-id", "S 42"], "store.id"),
])
def test_bad_input_is_refused_naming_it_and_writes_nothing(tmp_path, options, named):
    done = provision(tmp_path, *options, check=False)
    assert done.returncode == 2 and named in done.stderr, done.stderr
    assert written(tmp_path) == []


def test_a_second_first_admin_is_refused(tmp_path):
    provision(tmp_path, "--admin-pin", "4711")
    staff = sqlite3.connect(tmp_path / "data/storeedge.db").execute("SELECT COUNT(*) FROM staff").fetchone()
    done = provision(tmp_path, "--admin-pin", "5812", "--force", check=False)
    assert done.returncode == 2 and "has an admin already" in done.stderr
    assert sqlite3.connect(tmp_path / "data/storeedge.db").execute("SELECT COUNT(*) FROM staff").fetchone() == staff


def test_a_provisioned_box_serves_the_lan_over_https_with_its_own_certificate(tmp_path):
    done = provision(tmp_path)
    web = load_config(tmp_path / "etc/storeedge.toml").web
    assert (web.host, web.port, web.tls) == ("0.0.0.0", 8443, True)
    assert web.cert_file == str(tmp_path / "etc/web.crt") and (tmp_path / "etc/web.crt").is_file()
    assert (tmp_path / "etc/web.key").stat().st_mode & 0o777 == 0o600
    assert f"SHA-256 {fingerprint(tmp_path / 'etc/web.crt')}" in done.stdout


def test_no_tls_keeps_web_on_plain_http_and_loopback(tmp_path):
    provision(tmp_path, "--no-tls")
    web = load_config(tmp_path / "etc/storeedge.toml").web
    assert (web.host, web.tls) == ("127.0.0.1", False) and not (tmp_path / "etc/web.key").exists()
