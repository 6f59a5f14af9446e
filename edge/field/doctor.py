"""`storeedge doctor`: the box's health, one check per line (OK, WARN or FAIL), for a technician or a script.

Every check only reads: the database is opened read-only, nothing is
migrated or created, so the doctor can run beside the services and on a
store that is in trouble.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import sqlite3
import stat
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from edge.config import Config
from edge.db import DB_FILENAME, available_migrations
from edge.discovery import host_name
from edge.field.backup import integrity_problems, schema_version_of
from edge.outbox.events import ACKED_UPTO_KEY

OK, WARN, FAIL = "OK", "WARN", "FAIL"
EXIT_CODES = {OK: 0, WARN: 1, FAIL: 2}
GATEWAY_USER = "storeedge"  # every service's user: gateway, web (which reads the TLS pair), sync
GATEWAY_GROUPS = ("input", "dialout", "lp")  # storeedge-gateway.service's SupplementaryGroups
DISK_FAIL_BYTES, DISK_WARN_BYTES = 100 * 2**20, 1 * 2**30
OUTBOX_WARN = 10_000  # events not yet acknowledged by HQ: about a day of a busy store
BROKER_TIMEOUT_SECONDS = 3.0
CLOCK_TIMEOUT_SECONDS = 5.0
CERT_WARN_DAYS = 30  # time to renew and re-pair the tablets before they refuse the box


@dataclass
class Check:
    name: str
    status: str
    detail: str

    def line(self) -> str:
        return f"{self.status:<4} {self.name}: {self.detail}"


def worst(checks: list[Check]) -> str:
    return max((check.status for check in checks), key=EXIT_CODES.__getitem__, default=OK)


def as_json(checks: list[Check]) -> dict:
    return {"status": worst(checks), "checks": [asdict(check) for check in checks]}


# -- the checks -------------------------------------------------------------------------------------------


Runner = Callable[[list[str]], str | None]


def run_quietly(argv: list[str]) -> str | None:
    """A command's output, or None when it is missing, fails or hangs."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=CLOCK_TIMEOUT_SECONDS)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def clock(run: Runner = run_quietly) -> Check:
    """Receipts, audit times and HQ's ordering of days need a synchronised clock (a Pi has no RTC)."""
    synced = run(["timedatectl", "show", "--property=NTPSynchronized", "--value"])
    if synced is not None and synced.strip() in ("yes", "no"):
        if synced.strip() == "yes":
            return Check("clock", OK, "synchronised (timedatectl)")
        return Check("clock", WARN, "not synchronised (timedatectl): check the network and NTP")
    tracking = run(["chronyc", "-n", "tracking"])
    if tracking is not None:
        leap = next((line.split(":", 1)[1].strip() for line in tracking.splitlines()
                     if line.startswith("Leap status")), "unknown")
        if leap == "Normal":
            return Check("clock", OK, "synchronised (chrony)")
        return Check("clock", WARN, f"not synchronised (chrony leap status {leap})")
    return Check("clock", WARN, "sync state unknown (neither timedatectl nor chrony answers)")


def disk(data_dir: Path) -> Check:
    usage = shutil.disk_usage(next(folder for folder in (data_dir, *data_dir.parents) if folder.exists()))
    detail = f"{usage.free // 2**20} MiB free of {usage.total // 2**20} MiB at {data_dir}"
    if usage.free < DISK_FAIL_BYTES:
        return Check("disk", FAIL, f"{detail}: sales cannot be written safely")
    if usage.free < DISK_WARN_BYTES:
        return Check("disk", WARN, detail)
    return Check("disk", OK, detail)


def database(data_dir: Path) -> Check:
    path = data_dir / DB_FILENAME
    if not path.exists():
        return Check("database", FAIL, f"no store database at {path}")
    problems = integrity_problems(path)
    if problems:
        return Check("database", FAIL, f"integrity check failed: {'; '.join(problems[:3])}")
    version = schema_version_of(path)
    newest = max(step.version for step in available_migrations())
    if version < newest:
        return Check("database", WARN, f"integrity ok; schema version {version}, migrations up to {newest} pending "
                                       "(storeedge db migrate)")
    return Check("database", OK, f"integrity ok, schema version {version}")


def broker(config: Config, timeout: float = BROKER_TIMEOUT_SECONDS) -> Check:
    if config.hq is None:
        return Check("broker", OK, "no [hq]: this store works alone")
    address = f"{config.hq.host}:{config.hq.port}"
    try:
        socket.create_connection((config.hq.host, config.hq.port), timeout=timeout).close()
    except OSError as error:
        return Check("broker", FAIL, f"{address} unreachable: {error.strerror or error}")
    return Check("broker", OK, f"{address} reachable")


def devices(config: Config, user: str = GATEWAY_USER) -> list[Check]:
    """Each configured device file: there, a device (not a leftover plain file), and openable by the gateway."""
    checks = []
    for device in config.devices:
        name = f"device {device.name}"
        if device.backend not in ("evdev", "serial"):
            checks.append(Check(name, OK, f"{device.backend} backend: no device file to check"))
            continue
        path = Path(device.path)
        if not path.exists():
            checks.append(Check(name, FAIL, f"{path} missing (unplugged, or no udev rule for it)"))
            continue
        if not stat.S_ISCHR(path.stat().st_mode):
            checks.append(Check(name, WARN, f"{path} is not a character device"))
        elif not gateway_can_open(path, user):
            checks.append(Check(name, FAIL, f"{path} present but {user} cannot read and write it "
                                            f"({describe_owner(path)})"))
        else:
            checks.append(Check(name, OK, f"{path} present ({describe_owner(path)})"))
    return checks


def gateway_can_open(path: Path, user: str) -> bool:
    """Read and write by mode bits for the gateway's user and groups (the doctor may run as root)."""
    return user_may(path, user, GATEWAY_GROUPS, write=True)


def user_may(path: Path, user: str, unit_groups: tuple[str, ...] = (), write: bool = False,
             search: bool = False) -> bool:
    """Read (and write; and for a folder, enter) by mode bits for `user`, its groups and the unit's
    SupplementaryGroups."""
    try:
        account = pwd.getpwnam(user)
    except KeyError:  # no such user here (a development machine): as whoever runs the doctor
        return os.access(path, os.R_OK | (os.W_OK if write else 0) | (os.X_OK if search else 0))
    groups = {account.pw_gid, *(g.gr_gid for g in grp.getgrall() if user in g.gr_mem)}
    for name in unit_groups:
        try:
            groups.add(grp.getgrnam(name).gr_gid)
        except KeyError:
            pass
    info = path.stat()
    if account.pw_uid == 0:
        return True
    if info.st_uid == account.pw_uid:
        needed = stat.S_IRUSR | (stat.S_IWUSR if write else 0) | (stat.S_IXUSR if search else 0)
    elif info.st_gid in groups:
        needed = stat.S_IRGRP | (stat.S_IWGRP if write else 0) | (stat.S_IXGRP if search else 0)
    else:
        needed = stat.S_IROTH | (stat.S_IWOTH if write else 0) | (stat.S_IXOTH if search else 0)
    return info.st_mode & needed == needed


def data_folder(data_dir: Path, user: str = GATEWAY_USER) -> Check:
    """The data folder and everything in it writable by the services' user: a command run as root on it (a
    restore, a migration into a new folder, a backup to it) leaves root's files, and then web cannot write a sale.
    Run before the database check, whose read-only open may add SQLite's shared-memory file."""
    if not data_dir.is_dir():
        return Check("data", FAIL, f"no data folder at {data_dir}")
    refused = []
    for folder, subfolders, files in os.walk(data_dir):
        for path in (Path(folder), *(Path(folder) / name for name in sorted(files))):
            try:
                if not user_may(path, user, write=True, search=path.is_dir()):
                    refused.append(path)
            except FileNotFoundError:  # a WAL or backup file gone between the listing and the look
                continue
        subfolders.sort()
    if refused:
        shown = "; ".join(f"{path} ({describe_owner(path, with_user=True)})" for path in refused[:3])
        more = f" and {len(refused) - 3} more" if len(refused) > 3 else ""
        return Check("data", FAIL, f"{user} cannot write {shown}{more}: chown -R {user}: {data_dir}")
    return Check("data", OK, f"{data_dir} and everything in it writable by {user}")


def describe_owner(path: Path, with_user: bool = False) -> str:
    info = path.stat()
    try:
        group = grp.getgrgid(info.st_gid).gr_name
    except KeyError:
        group = str(info.st_gid)
    owner = ""
    if with_user:
        try:
            owner = f"owner {pwd.getpwuid(info.st_uid).pw_name}, "
        except KeyError:
            owner = f"owner {info.st_uid}, "
    return f"{owner}group {group}, mode {stat.filemode(info.st_mode)}"


def outbox(config: Config, data_dir: Path) -> Check:
    path = data_dir / DB_FILENAME
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            # sequence numbers have no gaps: the unacked events are the ones after the acked-up-to
            waiting = conn.execute("SELECT COALESCE(MAX(seq), 0) - COALESCE((SELECT CAST(value AS INTEGER) FROM meta "
                                   "WHERE key = ?), 0) FROM outbox_event", (ACKED_UPTO_KEY,)).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as error:
        return Check("outbox", FAIL, f"cannot be read: {error}")
    if config.hq is None:
        return Check("outbox", OK, f"{waiting} events kept (no [hq] to send them to)")
    if waiting > OUTBOX_WARN:
        return Check("outbox", WARN, f"{waiting} events not yet acknowledged by HQ (is sync running?)")
    return Check("outbox", OK, f"{waiting} events not yet acknowledged by HQ")


def certificate(config: Config, user: str = GATEWAY_USER, now: datetime | None = None) -> Check:
    """web's HTTPS pair: both files there and readable by the service, the key the certificate's, the
    certificate naming store-<id>.local and in date (a warning CERT_WARN_DAYS before it runs out)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    files = {"cert_file": Path(config.web.cert_file), "key_file": Path(config.web.key_file)}
    for key, path in files.items():
        if not path.is_file():
            return Check("tls", FAIL, f"web.{key} {path} missing (storeedge tls makes the pair)")
        if not user_may(path, user):
            return Check("tls", FAIL, f"web.{key} {path} present but {user} cannot read it ({describe_owner(path)})")
    try:
        cert_pem, key_pem = files["cert_file"].read_bytes(), files["key_file"].read_bytes()
    except OSError as error:  # the service's user may read them, whoever runs the doctor may not
        return Check("tls", WARN, f"cannot read {error.filename} to check it ({error.strerror}): run the doctor "
                                  f"as root or as {user}")
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as error:
        return Check("tls", FAIL, f"web.cert_file {files['cert_file']} is not a PEM certificate: {error}")
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as error:  # TypeError: the key wants a password web does not have
        return Check("tls", FAIL, f"web.key_file {files['key_file']} is not an unencrypted PEM key: {error}")
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
        return Check("tls", FAIL, f"web.key_file {files['key_file']} is not the key of {files['cert_file']}")
    name = host_name(config.store.id).rstrip(".")
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = names.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        dns_names = []
    if name not in dns_names:
        return Check("tls", FAIL, f"the certificate names {', '.join(dns_names) or 'no host'}, not {name}: "
                                  "tablets refuse it (storeedge tls --renew)")
    now = now or datetime.now(timezone.utc)
    until = cert.not_valid_after_utc
    if now < cert.not_valid_before_utc:
        return Check("tls", FAIL, f"not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC "
                                  "(is the clock right?)")
    if now >= until:
        return Check("tls", FAIL, f"expired on {until:%Y-%m-%d}: tablets refuse it (storeedge tls --renew)")
    days = (until - now).days
    if days < CERT_WARN_DAYS:
        return Check("tls", WARN, f"expires on {until:%Y-%m-%d}, in {days} days (storeedge tls --renew, "
                                  "then pair the tablets again)")
    return Check("tls", OK, f"{files['cert_file']} for {name}, its key matches, valid until {until:%Y-%m-%d}")


def examine(config: Config | None, data_dir: Path, user: str = GATEWAY_USER,
            run: Runner = run_quietly) -> list[Check]:
    """Every check, in the order a technician reads them; with no usable config, those that need none."""
    checks = [clock(run), disk(data_dir), data_folder(data_dir, user)]
    stored = database(data_dir)
    checks.append(stored)
    if config is not None:
        checks += [broker(config), *devices(config, user)]
        if config.web.tls:
            checks.append(certificate(config, user))
        if stored.status != FAIL:  # no outbox to count in a missing or broken database
            checks.append(outbox(config, data_dir))
    return checks
