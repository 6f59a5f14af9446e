"""HTTPS on the shop's LAN: `storeedge tls` makes the certificate for store-<id>.local; web serves it under
gunicorn; a tablet trusting it reaches the box by name; the gateway and `scan` reach web over wss://."""

from __future__ import annotations

import hashlib
import http.client
import ssl

import pytest
from cryptography import x509

from edge.config import ConfigError, parse_config
from edge.field.tls import fingerprint
from tests.gateway_helpers import GATEWAY_TOKEN
from tests.ops_helpers import answers_over_tls, https_json, running, store_config, tablet_context, tls_config
from tests.server_helpers import storeedge


def test_tls_makes_a_key_only_its_owner_reads_and_a_certificate_for_the_local_name(tmp_path):
    done = storeedge("tls", "--store-id", "S042", "--dir", str(tmp_path))
    cert = x509.load_pem_x509_certificate((tmp_path / "web.crt").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "store-s042.local" in names.get_values_for_type(x509.DNSName)
    assert (tmp_path / "web.key").stat().st_mode & 0o777 == 0o600
    der = ssl.PEM_cert_to_DER_cert((tmp_path / "web.crt").read_text())
    assert fingerprint(tmp_path / "web.crt") == hashlib.sha256(der).digest().hex(":").upper()
    assert f"SHA-256 fingerprint {fingerprint(tmp_path / 'web.crt')}" in done.stdout


def test_a_second_run_keeps_the_pair_and_renew_replaces_it(tmp_path):
    storeedge("tls", "--store-id", "S042", "--dir", str(tmp_path))
    first = fingerprint(tmp_path / "web.crt")
    assert "kept" in storeedge("tls", "--store-id", "S042", "--dir", str(tmp_path)).stdout
    assert fingerprint(tmp_path / "web.crt") == first  # paired tablets keep trusting the box
    storeedge("tls", "--store-id", "S042", "--dir", str(tmp_path), "--renew")
    assert fingerprint(tmp_path / "web.crt") != first


def test_a_store_id_that_cannot_be_a_host_name_is_refused_and_nothing_written(tmp_path):
    done = storeedge("tls", "--store-id", "S 042/x", "--dir", str(tmp_path / "tls"), check=False)
    assert done.returncode == 2 and "--store-id: store.id" in done.stderr and not (tmp_path / "tls").exists()


def test_tls_needs_both_files_and_is_off_by_default():
    assert parse_config({}).web.tls is False  # `make run` stays plain HTTP
    with pytest.raises(ConfigError, match="web: .*tls = true needs cert_file and key_file"):
        parse_config({"web": {"tls": True, "cert_file": "/etc/storeedge/web.crt"}})


def test_web_serves_https_to_a_tablet_that_dialled_the_local_name_and_no_plain_http(tmp_path):
    config = tls_config(tmp_path)
    path = store_config(tmp_path, config)
    port, cert_file = config["web"]["port"], tmp_path / "tls/web.crt"
    data = ["--config", str(path), "--data-dir", str(tmp_path / "data")]
    storeedge(*data, "db", "migrate")
    with running(*data, "web", log=tmp_path / "web.log", ready=lambda: answers_over_tls(port, cert_file)):
        status, health = https_json(port, "/api/v1/health", tablet_context(cert_file), "store-s042.local")
        assert status == 200 and health["store_id"] == "S042"
        with pytest.raises(ssl.SSLCertVerificationError):  # another box's name: the certificate does not match
            https_json(port, "/api/v1/health", tablet_context(cert_file), "store-s043.local")
        plain = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        with pytest.raises((http.client.HTTPException, OSError)):
            plain.request("GET", "/api/v1/health")
            plain.getresponse().read()


def test_the_box_s_own_tools_reach_web_over_wss_trusting_its_certificate(tmp_path):
    config = tls_config(tmp_path, gateway={"token": GATEWAY_TOKEN})
    path = store_config(tmp_path, config)
    port, cert_file = config["web"]["port"], tmp_path / "tls/web.crt"
    data = ["--config", str(path), "--data-dir", str(tmp_path / "data")]
    storeedge(*data, "db", "migrate")
    with running(*data, "web", log=tmp_path / "web.log", ready=lambda: answers_over_tls(port, cert_file)):
        scanned = storeedge(*data, "scan", "6901234567892", "--lane", "1", check=False)
    # web's own refusal, which came back over the wss:// gateway socket: the link works
    assert scanned.returncode == 2 and "no terminal on lane 1 has an open shift" in scanned.stderr
