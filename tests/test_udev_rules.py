"""The udev rules, machine-checked: `udevadm verify` where this systemd has it (253 and later), and always a
parser that knows udev(7)'s keys and operators; the groups they grant are the gateway unit's, and no other."""

from __future__ import annotations

import configparser
import re
import subprocess

import pytest

from tests.server_helpers import REPO_ROOT

RULES = sorted((REPO_ROOT / "provisioning/udev").glob("*.rules"))
MATCH_ONLY = {"ACTION", "DEVPATH", "KERNEL", "KERNELS", "SUBSYSTEM", "SUBSYSTEMS", "DRIVER", "DRIVERS", "TAGS",
              "TEST", "PROGRAM", "RESULT", "CONST", "SYSCTL"}
ASSIGN_ONLY = {"OWNER", "GROUP", "MODE", "SECLABEL", "RUN", "LABEL", "GOTO", "IMPORT", "OPTIONS", "WAIT_FOR"}
BOTH = {"NAME", "SYMLINK", "ENV", "TAG", "ATTR", "ATTRS", "SYSCTL"}
NEEDS_ATTRIBUTE = {"ENV", "ATTR", "ATTRS", "SYSCTL", "CONST", "TEST", "IMPORT", "RUN", "SECLABEL"}
TOKEN = re.compile(r'\s*(?P<key>[A-Z_]+)(?:\{(?P<attr>[^}]*)\})?\s*(?P<op>==|!=|\+=|-=|:=|=)\s*"(?P<value>[^"]*)"\s*(,|$)')
SUBSTITUTION = re.compile(r"\$(?:env\{[A-Za-z0-9_]+\}|attr\{[^}]+\}|kernel|number|devpath|id|driver|major|minor"
                          r"|result|parent|name|links|root|sys|devnode|\$)|%[knpbMmcPNr%]")


def rules() -> list[tuple[str, int, str]]:
    """(file, line number, rule) for every rule, continuation lines joined."""
    found = []
    for path in RULES:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.strip() and not line.lstrip().startswith("#"):
                found.append((path.name, number, line))
    return found


def tokens(rule: str) -> list[re.Match]:
    parsed, at = [], 0
    while at < len(rule):
        match = TOKEN.match(rule, at)
        assert match, f"not a udev key-operator-value at: {rule[at:]!r}"
        parsed.append(match)
        at = match.end()
    return parsed


def gateway_groups() -> set[str]:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(REPO_ROOT / "systemd/storeedge-gateway.service")
    return set(unit["Service"]["SupplementaryGroups"].split())


def test_there_are_rules_for_every_device_family():
    text = "".join(path.read_text() for path in RULES)
    for subsystem in ("input", "tty", "usb", "usbmisc"):
        assert f'SUBSYSTEM=="{subsystem}"' in text


@pytest.mark.parametrize("where, number, rule", rules(), ids=lambda value: str(value)[:40])
def test_every_rule_uses_known_keys_with_their_operators(where, number, rule):
    parsed = tokens(rule)
    assert any(t["op"] in ("==", "!=") for t in parsed), f"{where}:{number}: a rule without a match runs everywhere"
    assert any(t["op"] not in ("==", "!=") for t in parsed), f"{where}:{number}: a rule that assigns nothing"
    for token in parsed:
        key, op, value = token["key"], token["op"], token["value"]
        assert key in MATCH_ONLY | ASSIGN_ONLY | BOTH, f"{where}:{number}: unknown key {key}"
        assert (token["attr"] is not None) == (key in NEEDS_ATTRIBUTE) or key in ("IMPORT", "RUN", "TEST"), \
            f"{where}:{number}: {key} takes {'an' if key in NEEDS_ATTRIBUTE else 'no'} {{attribute}}"
        if key in MATCH_ONLY:
            assert op in ("==", "!="), f"{where}:{number}: {key} only matches, {op} assigns"
        if key in ASSIGN_ONLY:
            assert op in ("=", "+=", "-=", ":="), f"{where}:{number}: {key} only assigns, {op} matches"
        if key == "MODE":
            assert re.fullmatch(r"0[0-7]{3}", value), f"{where}:{number}: MODE {value!r} is not octal"
        if key == "SYMLINK":
            assert value.startswith("storeedge/"), f"{where}:{number}: stable names live under /dev/storeedge/"
        for dollar in re.finditer(r"\$\S*|%.", value):
            assert SUBSTITUTION.match(dollar.group()), f"{where}:{number}: unknown substitution {dollar.group()}"


def test_the_groups_granted_are_exactly_the_gateway_s():
    granted = {t["value"] for _, _, rule in rules() for t in tokens(rule) if t["key"] == "GROUP"}
    assert granted == gateway_groups() == {"input", "dialout", "lp"}


def udevadm_verifies() -> bool:
    return subprocess.run(["udevadm", "verify", "--help"], capture_output=True).returncode == 0


@pytest.mark.skipif(not udevadm_verifies(), reason="udevadm verify needs systemd 253 or later")
def test_udevadm_verify_accepts_the_rules():
    done = subprocess.run(["udevadm", "verify", "--no-summary", *map(str, RULES)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
