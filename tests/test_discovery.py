"""Zeroconf discovery, inside a network namespace each test creates (`unshare -n`): never on a real interface.

The advertiser alone, and `storeedge web` with [discovery] on: found with its
TXT records and .local URL while it runs, gone once it stops.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from edge import __version__
from edge.config import ConfigError, parse_config
from edge.discovery import HTTP_TYPE, STOREEDGE_TYPE, host_name, service_infos
from edge.field.tls import fingerprint
from tests.ops_helpers import store_config, tls_config
from tests.server_helpers import CLEAN_ENV, REPO_ROOT, free_port, storeedge


def in_namespace(*args: str) -> dict:
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("no network namespaces here (unshare -n)")
    done = subprocess.run(["unshare", "-n", sys.executable, "-m", "tests.discovery_helpers", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120, env=CLEAN_ENV)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_advertised_box_is_found_with_its_txt_records_and_gone_after_stop():
    seen = in_namespace("advertised", "S042", "人民路店", "8080")
    assert seen["found"] == [{"store_id": "S042", "name": "人民路店", "version": __version__,
                              "url": "http://127.0.0.1:8080/api/v1", "cert_sha256": ""}]
    assert seen["after_stop"] == []


def test_web_advertises_once_while_it_runs(tmp_path):
    storeedge("--data-dir", str(tmp_path / "data"), "db", "migrate")
    config = tmp_path / "store.toml"
    config.write_text('[store]\nid = "S007"\nname = "东门店"\n\n[discovery]\nenabled = true\n')
    port = str(free_port())
    seen = in_namespace("web", str(tmp_path / "data"), str(config), port)
    assert seen["found"] == [{"store_id": "S007", "name": "东门店", "version": __version__,
                              "url": f"http://127.0.0.1:{port}/api/v1", "cert_sha256": ""}]
    assert seen["after_stop"] == []  # unregistered when systemd stops web


def test_web_over_tls_announces_its_https_port_and_certificate_fingerprint(tmp_path):
    config = tls_config(tmp_path, discovery={"enabled": True})
    port = config["web"]["port"]
    storeedge("--data-dir", str(tmp_path / "data"), "db", "migrate")
    seen = in_namespace("web", str(tmp_path / "data"), str(store_config(tmp_path, config)), str(port))
    assert seen["found"] == [{"store_id": "S042", "name": "人民路店", "version": __version__,
                              "url": f"https://127.0.0.1:{port}/api/v1",
                              "cert_sha256": fingerprint(tmp_path / "tls/web.crt")}]


def test_the_box_answers_both_service_types_as_store_id_dot_local():
    infos = service_infos("S042", "人民路店", 8080, ["192.168.1.20"])
    assert [info.type for info in infos] == [STOREEDGE_TYPE, HTTP_TYPE]
    assert {info.server for info in infos} == {"store-s042.local."} == {host_name("S042")}
    assert infos[0].properties == {b"store_id": b"S042", b"name": "人民路店".encode(), b"version": __version__.encode(),
                                   b"api": b"/api/v1"}
    assert infos[0].parsed_addresses() == ["192.168.1.20"]
    with_tls = service_infos("S042", "人民路店", 8443, ["192.168.1.20"], fingerprint="AB:CD")
    assert (with_tls[0].properties[b"https_port"], with_tls[0].properties[b"cert_sha256"]) == (b"8443", b"AB:CD")


def test_discovery_is_off_and_on_loopback_by_default_and_needs_an_interface():
    assert (parse_config({}).discovery.enabled, parse_config({}).discovery.interfaces) == (False, ["127.0.0.1"])
    with pytest.raises(ConfigError, match="discovery.interfaces"):
        parse_config({"discovery": {"interfaces": []}})
