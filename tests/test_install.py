"""provisioning/install.sh into a temporary root, checked file by file, run twice; shellcheck on every script."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from edge.config import load_config
from tests.server_helpers import REPO_ROOT

INSTALL = REPO_ROOT / "provisioning/install.sh"
UNITS = sorted((REPO_ROOT / "systemd").glob("storeedge-*.*"))
ENABLED = {"multi-user.target.wants": {"storeedge-web.service", "storeedge-gateway.service"},
           "timers.target.wants": {"storeedge-backup.timer", "storeedge-daily.timer", "storeedge-insight.timer"}}


USER_UNITS = sorted((REPO_ROOT / "systemd/user").glob("storeedge-*.service"))
KIOSK_LINK = "etc/systemd/user/graphical-session.target.wants/storeedge-kiosk.service"


def install(root: Path, *options: str) -> str:
    done = subprocess.run(["bash", str(INSTALL), "--root", str(root), *options], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def tree(root: Path) -> dict[str, tuple]:
    """Every path under root: its kind, mode, and content digest or link target."""
    found = {}
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        if path.is_symlink():
            found[name] = ("link", str(path.readlink()))
        elif path.is_dir():
            found[name] = ("dir", oct(path.stat().st_mode & 0o7777))
        else:
            found[name] = ("file", oct(path.stat().st_mode & 0o7777), hashlib.sha256(path.read_bytes()).hexdigest())
    return found


@pytest.fixture
def installed(tmp_path) -> Path:
    root = tmp_path / "root"
    install(root)
    return root


def test_a_second_run_changes_nothing(installed):
    first = tree(installed)
    output = install(installed)
    assert tree(installed) == first
    assert "nothing to change" in output and "installed /" not in output


def test_the_units_and_udev_rules_are_installed_as_in_the_repository(installed):
    for unit in UNITS:
        placed = installed / "etc/systemd/system" / unit.name
        assert placed.read_bytes() == unit.read_bytes() and placed.stat().st_mode & 0o777 == 0o644
    for unit in USER_UNITS:  # the kiosk launcher's, for a desktop session's user
        placed = installed / "etc/systemd/user" / unit.name
        assert placed.read_bytes() == unit.read_bytes() and placed.stat().st_mode & 0o777 == 0o644
    for rules in (REPO_ROOT / "provisioning/udev").glob("*.rules"):
        assert (installed / "etc/udev/rules.d" / rules.name).read_bytes() == rules.read_bytes()


def test_the_kiosk_launcher_is_installed_but_enabled_only_with_kiosk(installed):
    assert (installed / "etc/systemd/user/storeedge-kiosk.service").is_file()
    assert not (installed / KIOSK_LINK).is_symlink() and not (installed / "etc/default/storeedge-kiosk").exists()
    output = install(installed, "--kiosk", "display")
    assert "enabled storeedge-kiosk.service for every desktop session (screen display)" in output
    assert str((installed / KIOSK_LINK).readlink()) == "/etc/systemd/user/storeedge-kiosk.service"
    assert "STOREEDGE_KIOSK_SCREEN=display\n" in (installed / "etc/default/storeedge-kiosk").read_text()
    # the unit reads that file before the user's own, so a user's choice still wins
    unit = (installed / "etc/systemd/user/storeedge-kiosk.service").read_text()
    assert unit.index("EnvironmentFile=-/etc/default/storeedge-kiosk") < unit.index("EnvironmentFile=-%h/")


def test_a_second_kiosk_run_changes_nothing_and_another_screen_changes_only_its_file(tmp_path):
    root = tmp_path / "root"
    install(root, "--kiosk", "display")
    first = tree(root)
    assert "nothing to change" in install(root, "--kiosk", "display") and tree(root) == first
    output = install(root, "--kiosk", "pos")
    changed = {path for path, entry in tree(root).items() if first.get(path) != entry}
    assert changed == {"etc/default/storeedge-kiosk"} and "1 change(s)" in output
    assert "STOREEDGE_KIOSK_SCREEN=pos\n" in (root / "etc/default/storeedge-kiosk").read_text()
    # without --kiosk, a later run (an upgrade) leaves the kiosk as it was set up
    assert "nothing to change" in install(root) and (root / KIOSK_LINK).is_symlink()


def test_web_gateway_and_the_timers_are_enabled_sync_only_with_hq(installed):
    for wants, units in ENABLED.items():
        links = {link.name: str(link.readlink()) for link in (installed / "etc/systemd/system" / wants).iterdir()}
        assert links == {unit: f"/etc/systemd/system/{unit}" for unit in units}
    assert not list(installed.rglob("*.wants/storeedge-sync.service"))
    assert not list(installed.rglob("*.wants/storeedge-hq.service"))


def test_folders_and_config_have_safe_modes(installed):
    modes = {"etc/storeedge": 0o750, "var/lib/storeedge": 0o750, "var/lib/storeedge/backups": 0o750,
             "opt/storeedge": 0o755, "etc/storeedge/storeedge.toml": 0o600, "etc/default/storeedge": 0o644}
    assert {path: (installed / path).stat().st_mode & 0o777 for path in modes} == modes
    assert load_config(installed / "etc/storeedge/storeedge.toml").store.id  # the template is a valid config


def test_the_technicians_config_survives_and_hq_enables_sync(installed):
    config = installed / "etc/storeedge/storeedge.toml"
    config.write_text('[store]\nid = "S042"\n\n[hq]\nbroker = "mqtts://hq.example:8883"\n')
    output = install(installed)
    assert config.read_text().startswith('[store]\nid = "S042"')
    assert "enabled storeedge-sync.service" in output
    assert (installed / "etc/systemd/system/multi-user.target.wants/storeedge-sync.service").is_symlink()


def test_a_unit_changed_on_the_box_is_put_back(installed):
    unit = installed / "etc/systemd/system/storeedge-web.service"
    unit.write_text(unit.read_text().replace("Restart=always", "Restart=no"))
    unit.chmod(0o600)
    output = install(installed)
    assert "installed /etc/systemd/system/storeedge-web.service" in output
    assert unit.read_bytes() == (REPO_ROOT / "systemd/storeedge-web.service").read_bytes()
    assert unit.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("options", [["--rot", "{root}"], ["--root", "{root}", "--kiosk", "tv"],
                                     ["--root", "{root}", "--kiosk"]])
def test_a_bad_option_is_refused_and_writes_nothing(tmp_path, options):
    command = [option.format(root=tmp_path / "root") for option in options]
    done = subprocess.run(["bash", str(INSTALL), *command], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "usage" in done.stderr
    assert not (tmp_path / "root").exists()


SCRIPTS = sorted(REPO_ROOT.glob("provisioning/**/*.sh"))


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck missing (provisioning/dev-setup.sh)")
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_every_script_is_shellcheck_clean(script):
    done = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout
