"""`storeedge doctor`'s tls check: web's HTTPS pair there, readable by the service, matching, naming the box, in date.

The pairs are real: made by `storeedge tls`'s own code, or built here with
the dates and names a broken box would have.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edge.config import parse_config
from edge.field.doctor import CERT_WARN_DAYS, EXIT_CODES, FAIL, OK, WARN, certificate
from edge.field.tls import make_certificate
from tests.ops_helpers import store_config, tls_config
from tests.server_helpers import REPO_ROOT
from tests.test_doctor import detail, doctor, statuses, stopped_store  # noqa: F401 (a fixture)

NOW = datetime.datetime.now(datetime.timezone.utc)


def self_signed(folder, name: str, not_after: datetime.datetime) -> None:
    """A web.crt / web.key pair in `folder` naming `name`, valid from a year before NOW until `not_after`."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=365)).not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    (folder / "web.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "web.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    (folder / "web.key").chmod(0o600)


@pytest.fixture
def tls_store(stopped_store, tmp_path):
    """A stopped store whose config serves HTTPS with a pair `storeedge tls` made for S042; the config's path."""
    return store_config(tmp_path, tls_config(tmp_path))


def loaded(tmp_path, store_id: str = "S042"):
    return parse_config(tls_config(tmp_path, store_id))


def test_a_sound_pair_passes_and_says_until_when(stopped_store, tls_store):
    code, report = doctor(stopped_store, tls_store)
    assert statuses(report)["tls"] == OK
    assert "for store-s042.local, its key matches, valid until" in detail(report, "tls")
    assert code == EXIT_CODES[report["status"]]


def test_plain_http_has_no_tls_line(stopped_store):
    _, report = doctor(stopped_store)
    assert "tls" not in statuses(report)


def test_an_expired_certificate_fails_the_doctor(stopped_store, tls_store, tmp_path):
    self_signed(tmp_path / "tls", "store-s042.local", NOW - datetime.timedelta(days=2))
    code, report = doctor(stopped_store, tls_store)
    assert code == 2 and report["status"] == FAIL and statuses(report)["tls"] == FAIL
    assert "expired on" in detail(report, "tls")


@pytest.mark.parametrize("days_left, status, words", [
    (CERT_WARN_DAYS + 5, OK, "valid until"),
    (CERT_WARN_DAYS - 5, WARN, f"in {CERT_WARN_DAYS - 6} days"),  # whole days left, counted down from now
    (1, WARN, "in 0 days"),
])
def test_a_certificate_running_out_warns_30_days_ahead(tmp_path, days_left, status, words):
    config = loaded(tmp_path)
    self_signed(tmp_path / "tls", "store-s042.local", NOW + datetime.timedelta(days=days_left))
    check = certificate(config)
    assert check.status == status and words in check.detail, check.detail


def test_the_real_pair_is_judged_against_the_clock_it_is_given(tmp_path):
    config = loaded(tmp_path)
    until = x509.load_pem_x509_certificate((tmp_path / "tls/web.crt").read_bytes()).not_valid_after_utc
    assert certificate(config, now=until - datetime.timedelta(days=10)).status == WARN
    assert certificate(config, now=until).status == FAIL
    assert "is the clock right?" in certificate(config, now=NOW - datetime.timedelta(days=3)).detail


def test_a_certificate_for_another_store_fails_naming_both(tmp_path):
    config = loaded(tmp_path, "S042")
    make_certificate("S001", tmp_path / "tls", renew=True)
    check = certificate(config)
    assert check.status == FAIL
    assert "store-s001.local" in check.detail and "not store-s042.local" in check.detail


def test_a_key_of_another_pair_fails(tmp_path):
    config = loaded(tmp_path)
    other = make_certificate("S042", tmp_path / "other")
    shutil.copy(other.key_file, tmp_path / "tls/web.key")
    check = certificate(config)
    assert check.status == FAIL and "is not the key of" in check.detail


@pytest.mark.parametrize("lost", ["web.crt", "web.key"])
def test_a_missing_file_fails_naming_its_key(tmp_path, lost):
    config = loaded(tmp_path)
    (tmp_path / "tls" / lost).unlink()
    check = certificate(config)
    key = "cert_file" if lost == "web.crt" else "key_file"
    assert check.status == FAIL and f"web.{key}" in check.detail and "missing" in check.detail


def test_a_file_that_is_not_pem_fails(tmp_path):
    config = loaded(tmp_path)
    (tmp_path / "tls/web.crt").write_text("not a certificate\n")
    check = certificate(config)
    assert check.status == FAIL and "is not a PEM certificate" in check.detail


@pytest.mark.skipif(os.geteuid() != 0, reason="judging another user's access needs root-owned files")
@pytest.mark.parametrize("mode, status", [
    (0o600, FAIL),  # root's alone, as a provision that did not give the key to the service user leaves it
    (0o644, OK),
])
def test_the_key_must_be_readable_by_the_services_user(stopped_store, tls_store, tmp_path, mode, status):
    key = tmp_path / "tls/web.key"
    os.chown(key, 0, 0)
    key.chmod(mode)
    code, report = doctor(stopped_store, tls_store, "--gateway-user", "nobody")
    assert statuses(report)["tls"] == status, detail(report, "tls")
    if status == FAIL:
        assert code == 2 and "nobody cannot read it" in detail(report, "tls")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="running as nobody needs root")
def test_a_doctor_that_cannot_read_the_key_itself_warns_and_says_how_to_run_it():
    """The services' user may read the key (0600, its own) while a technician's account running the doctor
    may not: nobody runs it here on a root-owned key, judged for root."""
    with tempfile.TemporaryDirectory() as folder:  # not pytest's tmp_path: nobody must reach the files
        Path(folder).chmod(0o755)
        config = tls_config(Path(folder))
        (Path(folder) / "tls").chmod(0o755)
        script = ("import json, sys; from edge.config import parse_config; from edge.field.doctor import certificate;"
                  "check = certificate(parse_config(json.loads(sys.argv[1])), user='root');"
                  "print(json.dumps([check.status, check.detail]))")
        done = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable,
                               "-c", script, json.dumps(config)], capture_output=True, text=True, timeout=60,
                              cwd=REPO_ROOT)
    status, words = json.loads(done.stdout or '["", ""]')
    assert status == WARN and "web.key" in words and "cannot read" in words and "run the doctor as" in words, \
        done.stderr
