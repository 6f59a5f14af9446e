"""`storeedge provision`: a box's config written once with safe permissions, its HQ certificates, the first admin.

Everything is checked before anything is written: the config as the store
would load it (errors name the key path), the certificate files, the PIN's
format, and that the store has no admin yet.
"""

from __future__ import annotations

import json
import os
import pwd
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from edge.config import ConfigError, parse_config
from edge.db import DB_FILENAME
from edge.errors import DomainError
from edge.field.backup import write_private
from edge.field.tls import CERT_NAME, KEY_NAME, make_certificate
from edge.staff.service import StaffService

SERVICE_USER = "storeedge"
CERTIFICATES = {"ca_file": "hq-ca.crt", "cert_file": "hq-client.crt", "key_file": "hq-client.key"}


class ProvisionError(Exception):
    """Refused, with nothing written; the message names the option or key."""


@dataclass
class Provisioning:
    store_id: str
    chain_id: str
    store_name: str | None = None
    broker: str | None = None
    username: str | None = None
    password: str | None = None
    certificates: dict[str, Path] = field(default_factory=dict)  # ca_file / cert_file / key_file: source files
    devices: list[dict] = field(default_factory=list)
    admin_name: str = "admin"
    admin_pin: str | None = None
    https_port: int | None = 8443  # None: plain HTTP on loopback (a box reached only through a proxy)


def parse_device(text: str) -> dict:
    """'name=scanner1,kind=scanner,backend=evdev,path=/dev/…,lane=1' as a [[devices]] table."""
    device: dict = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ProvisionError(f"--device {text!r}: {part!r} is not key=value")
        value = value.strip()
        device[key.strip()] = int(value) if value.isdigit() else {"true": True, "false": False}.get(value, value)
    return device


def config_for(plan: Provisioning, config_dir: Path) -> dict:
    """The config as a dict, the certificates named where they will be copied."""
    config: dict = {"store": {"id": plan.store_id, "chain_id": plan.chain_id}}
    if plan.store_name:
        config["store"]["name"] = plan.store_name
    if plan.broker:
        hq = {"broker": plan.broker, "username": plan.username, "password": plan.password}
        hq.update({key: str(config_dir / CERTIFICATES[key]) for key in plan.certificates})
        config["hq"] = {key: value for key, value in hq.items() if value is not None}
    elif plan.username or plan.password or plan.certificates:
        raise ProvisionError("--broker: HQ credentials and certificates need the broker's URL")
    if plan.devices:
        config["devices"] = plan.devices
    if plan.https_port is not None:  # tablets on the LAN, over HTTPS with the box's own certificate
        config["web"] = {"host": "0.0.0.0", "port": plan.https_port, "tls": True,
                         "cert_file": str(config_dir / CERT_NAME), "key_file": str(config_dir / KEY_NAME)}
    config["discovery"] = {"enabled": True, "interfaces": ["all"]}  # tablets find the box by its .local name
    return config


def to_toml(config: dict) -> str:
    """TOML for our config's shape: sections of scalars, and arrays of tables."""
    def value(item) -> str:
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, int):
            return str(item)
        if isinstance(item, list):
            return "[" + ", ".join(value(element) for element in item) + "]"
        return json.dumps(str(item), ensure_ascii=False)  # a JSON string is a TOML basic string

    lines = ["# Written by `storeedge provision`; see README, Configuration."]
    for section, body in config.items():
        for table in body if isinstance(body, list) else [body]:
            lines += ["", f"[[{section}]]" if isinstance(body, list) else f"[{section}]"]
            lines += [f"{key} = {value(item)}" for key, item in table.items()]
    return "\n".join(lines) + "\n"


def admins_in(data_dir: Path) -> int:
    path = data_dir / DB_FILENAME
    if not path.exists():
        return 0
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'staff'").fetchone():
            return 0
        return conn.execute("SELECT COUNT(*) FROM staff WHERE role = 'admin'").fetchone()[0]
    finally:
        conn.close()


def check(plan: Provisioning, config_path: Path, data_dir: Path, force: bool) -> dict:
    """Everything that could refuse, before anything is written; returns the config to write."""
    if config_path.exists() and not force:
        raise ProvisionError(f"{config_path} exists: this box is provisioned (--force writes it anew)")
    for key, source in plan.certificates.items():
        if not Path(source).is_file():
            raise ProvisionError(f"--{key.replace('_', '-')}: no such file {source}")
    config = config_for(plan, config_path.parent)
    try:
        parse_config(config)
    except ConfigError as error:
        raise ProvisionError(str(error).replace("\n", "; ")) from None
    if plan.admin_pin is not None:
        try:
            StaffService._check_pin_format(plan.admin_pin, field="admin_pin")
        except DomainError as error:
            raise ProvisionError(f"--admin-pin: {error.message}") from None
        if admins_in(data_dir):
            raise ProvisionError("--admin-pin: this store has an admin already (staff add, as that admin)")
    return config


def provision(plan: Provisioning, config_path: Path, data_dir: Path, force: bool = False) -> list[str]:
    """Write the config (0600, the service user's), copy the certificates, add the first admin; what was done."""
    config = check(plan, config_path, data_dir, force)
    config_path.parent.mkdir(parents=True, exist_ok=True)
    done = []
    for key, source in plan.certificates.items():
        target = config_path.parent / CERTIFICATES[key]
        write_private(target, Path(source).read_bytes())
        _own(target)
        done.append(f"copied {source} to {target} (0600)")
    if plan.https_port is not None:
        made = make_certificate(plan.store_id, config_path.parent)
        _own(made.key_file)
        done.append(f"{'made' if made.created else 'kept'} the HTTPS certificate {made.cert_file} "
                    f"(SHA-256 {made.fingerprint})")
    write_private(config_path, to_toml(config).encode())
    _own(config_path)
    done.append(f"wrote {config_path} (0600)")
    if plan.admin_pin is not None:
        from edge.app import StoreEdge

        store = StoreEdge(parse_config(config), data_dir)
        try:
            store.db.migrate()
            store.record_config_change()
            admin = store.staff.add_staff(plan.admin_name, "admin", plan.admin_pin)
        finally:
            store.db.close()
        done.append(f"admin {admin.name} added (staff {admin.id})")
    return done


def _own(path: Path) -> None:
    """The services read the config as the service user; as root, give it the file (mode stays 0600)."""
    if os.geteuid() != 0:
        return
    try:
        account = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return  # no service user (a development machine): the file stays its writer's
    os.chown(path, account.pw_uid, account.pw_gid)
