"""The kiosk launcher and the box's re-announcement, on a veth cable between two network namespaces the test
creates (never multicast on a real interface); Chromium's flags checked against the real /usr/bin/chromium."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edge.field.launcher import Box, CertificateMismatch, chromium_command, pinned_key, spki_pin
from tests.ops_helpers import answers_over_tls, running, store_config, tls_config
from tests.server_helpers import CLEAN_ENV, REPO_ROOT, STOREEDGE, storeedge

CHROMIUM = Path("/usr/bin/chromium")


def between_namespaces(*args: str) -> dict:
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("no network namespaces here (unshare -n)")
    done = subprocess.run(["unshare", "-n", sys.executable, "-m", "tests.launcher_helpers", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=180, env=CLEAN_ENV)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_the_box_announces_its_new_address_when_it_moves():
    seen = between_namespaces("browse", "S042")
    assert [box["url"] for box in seen["before"]] == ["http://10.9.0.1:8080/api/v1"]
    assert [box["url"] for box in seen["after"]] == ["http://10.9.0.2:8080/api/v1"]


def test_the_launcher_opens_the_screen_and_follows_the_box_to_its_new_address(tmp_path):
    fake_chromium = tmp_path / "chromium"  # stays up like Chromium; the command line is what is checked
    fake_chromium.write_text("#!/bin/sh\nexec sleep 300\n")
    fake_chromium.chmod(0o755)
    seen = between_namespaces("launcher", "S042", "display", str(fake_chromium), str(tmp_path / "profile"))
    first, second = seen["launches"]
    assert first[:2] == [str(fake_chromium), "--kiosk"]
    assert "--app=http://store-s042.local:8080/display" in first and "--app=http://store-s042.local:8080/display" in second
    assert "--host-resolver-rules=MAP store-s042.local 10.9.0.1" in first
    assert "--host-resolver-rules=MAP store-s042.local 10.9.0.2" in second  # same origin: the pairing survives
    assert seen["running_after_move"] and seen["closed_at_stop"]


def test_a_screen_outside_the_three_is_refused():
    with pytest.raises(ValueError, match="screen: one of pos, display, kiosk"):
        chromium_command(Box("S042", "10.9.0.1", 8080), "admin", Path("/tmp/p"))


@pytest.fixture
def tls_box(tmp_path):
    """web over TLS on loopback, as the launcher would find it: the address, the port, the announced fingerprint."""
    from edge.field.tls import fingerprint

    config = tls_config(tmp_path)
    port, cert_file = config["web"]["port"], tmp_path / "tls/web.crt"
    data = ["--config", str(store_config(tmp_path, config)), "--data-dir", str(tmp_path / "data")]
    storeedge(*data, "db", "migrate")
    with running(*data, "web", log=tmp_path / "web.log", ready=lambda: answers_over_tls(port, cert_file)):
        yield Box("S042", "127.0.0.1", port, fingerprint(cert_file))


def test_a_certificate_other_than_the_announced_one_is_not_trusted(tls_box):
    with pytest.raises(CertificateMismatch, match="announced"):
        pinned_key(Box(tls_box.store_id, tls_box.address, tls_box.port, "00:" * 31 + "00"))


@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")
def test_real_chromium_reaches_the_box_by_its_local_name_and_accepts_its_pinned_certificate(tls_box, tmp_path):
    pin = pinned_key(tls_box)
    assert pin == spki_pin((tmp_path / "tls/web.crt").read_text())
    command = chromium_command(tls_box, "pos", tmp_path / "profile", str(CHROMIUM), pin)
    # headless instead of the full-screen app window; every other flag exactly as the kiosk gets it
    flags = [flag for flag in command[1:] if flag != "--kiosk" and not flag.startswith("--app=")]
    dumped = subprocess.run([str(CHROMIUM), "--headless=new", "--no-sandbox", "--disable-gpu", *flags, "--dump-dom",
                             f"{tls_box.origin}/api/v1/health"], capture_output=True, text=True, timeout=120)
    assert '"store_id":"S042"' in dumped.stdout.replace(" ", ""), dumped.stderr[-2000:]


def test_the_kiosk_user_unit_verifies_and_runs_the_launcher(tmp_path):
    """systemd-analyze --user verify, with ExecStart pointing at this venv's storeedge (the unit names /opt's)."""
    unit = (REPO_ROOT / "systemd/user/storeedge-kiosk.service").read_text()
    assert "ExecStart=/opt/storeedge/venv/bin/storeedge kiosk-launch --screen" in unit and "Restart=always" in unit
    copy = tmp_path / "storeedge-kiosk.service"
    copy.write_text(unit.replace("/opt/storeedge/venv/bin/storeedge", str(STOREEDGE)))
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    done = subprocess.run(["systemd-analyze", "--user", "verify", str(copy)], capture_output=True, text=True,
                          timeout=60, env={**CLEAN_ENV, "XDG_RUNTIME_DIR": str(runtime), "HOME": str(tmp_path)})
    assert done.returncode == 0 and done.stdout + done.stderr == "", done.stdout + done.stderr
    assert "--screen" in storeedge("kiosk-launch", "--help").stdout
