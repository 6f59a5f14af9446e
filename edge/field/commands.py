"""Field-service commands registered on `storeedge` by edge/cli.py: tls, upgrade, devices pair-qr, kiosk-launch.

edge/cli.py hands over its groups and option decorators: importing edge.cli
from here would run it twice under `python -m edge.cli` (as __main__ and as
a module), and the second run would find this module half-imported.
"""

from __future__ import annotations

import os
from pathlib import Path

import click


DEFAULT_CONFIG = "/etc/storeedge/storeedge.toml"


def register(main: click.Group, devices: click.Group, store_options, refused) -> None:
    """Add the commands to `main` and its `devices` group."""

    @click.command("tls")
    @store_options
    @click.option("--dir", "folder", type=click.Path(file_okay=False),
                  help="where web.crt and web.key go (default: the config file's folder)")
    @click.option("--store-id", help="the store the certificate names (default: the config's store id)")
    @click.option("--renew", is_flag=True, help="make a new pair although one exists (every tablet must re-pair)")
    @click.pass_obj
    def tls(ctx, folder, store_id, renew):
        """Make the self-signed HTTPS certificate for store-<id>.local and print what to put in [web]."""
        from edge.config import ConfigError, load_config, parse_config
        from edge.field.tls import make_certificate

        config_path = Path(ctx.config_path or os.environ.get("STOREEDGE_CONFIG") or DEFAULT_CONFIG)
        try:
            if store_id is None:
                store_id = load_config(config_path if config_path.exists() else None).store.id
            parse_config({"store": {"id": store_id}})  # the name goes into the certificate: the config's rules
        except ConfigError as error:
            raise refused(f"--store-id: {error}" if "store.id" in str(error) else f"config: {error}") from None
        try:
            made = make_certificate(store_id, Path(folder) if folder else config_path.parent, renew)
        except OSError as error:
            raise click.ClickException(f"certificate not written: {error}") from None
        click.echo(f"{'made' if made.created else 'kept'} {made.cert_file} and {made.key_file} (0600)")
        click.echo(f"SHA-256 fingerprint {made.fingerprint}")
        click.echo(f'[web]\ntls = true\ncert_file = "{made.cert_file}"\nkey_file = "{made.key_file}"')


    @click.command("pair-qr")
    @store_options
    @click.option("--screen", type=click.Choice(["pos", "display", "kiosk"]), default="pos", show_default=True,
                  help="the screen the tablet opens")
    @click.option("--lane", type=int, help="print on this lane's printer (default: a printer serving every lane)")
    @click.pass_obj
    def pair_qr(ctx, screen, lane):
        """Print a QR code with the pairing URL (https://store-<id>.local:…) on the receipt printer."""
        from edge.field.pairing import print_pairing_qr

        store = ctx.store()
        if store.config.web.host in ("127.0.0.1", "localhost", "::1"):
            click.echo(f"warning: web listens on {store.config.web.host} only: no tablet can reach this URL "
                       "([web] host = \"0.0.0.0\", as storeedge provision sets it)", err=True)
        queued = print_pairing_qr(store, screen, lane)
        if queued is None:
            where = f"for lane {lane}" if lane is not None else "in [[devices]]"
            raise refused(f"no receipt printer is configured {where} (kind = \"printer\")")
        job, url = queued
        click.echo(f"{url}\nqueued as print job {job.id} on {job.printer}; the gateway prints it")

    @click.command("kiosk-launch")
    @click.option("--screen", type=click.Choice(["pos", "display", "kiosk"]), default="kiosk", show_default=True)
    @click.option("--store-id", help="the box to open when the LAN has several (default: the first found)")
    @click.option("--browser", default="/usr/bin/chromium", show_default=True)
    @click.option("--profile", type=click.Path(file_okay=False), default="~/.local/share/storeedge-kiosk",
                  show_default=True, help="Chromium's profile: the screen's pairing lives here")
    @click.option("--interface", "interfaces", multiple=True, help="an address to browse on (default: all)")
    def kiosk_launch(screen, store_id, browser, profile, interfaces):
        """Find the box (mDNS) and keep Chromium full screen on its screen, following it when it moves."""
        import signal
        import threading

        from edge import logs
        from edge.field.launcher import KioskLauncher
        from edge.systemd import Watchdog, notify

        logs.setup("kiosk", store_id)
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        launcher = KioskLauncher(screen, Path(profile).expanduser(), store_id or None, browser,
                                 list(interfaces) or "all")
        notify("READY=1")
        launcher.run(stop, alive=Watchdog().ping)

    @click.command("upgrade")
    @store_options
    @click.option("--rollback", "back", is_flag=True, help="put the newest pre-upgrade backup back instead")
    @click.pass_obj
    def upgrade(ctx, back):
        """Back up, run the migrations and check the store's health; on failure put the backup back (exit 1).
        Stop the services first."""
        import sys

        from edge.app import resolve_data_dir
        from edge.field import upgrade as upgrades
        from edge.field.backup import BackupError

        ctx.check_config()
        data_dir = resolve_data_dir(ctx.data_dir)
        try:
            if back:
                restored = upgrades.rollback(data_dir)
                click.echo(f"rolled back to schema version {restored.schema_version}"
                           + (f"; the database it replaced is kept as {restored.previous}" if restored.previous else ""))
                return
            done = upgrades.upgrade(ctx.store, data_dir)
        except (upgrades.UpgradeError, BackupError) as error:
            raise refused(str(error)) from None
        if done.backup is None:
            click.echo(f"no migration pending; schema version {done.after}")
            return
        click.echo(f"backup {done.backup} (schema version {done.before})")
        if done.rolled_back:
            for problem in done.problems:
                click.echo(f"FAILED: {problem}", err=True)
            click.echo(f"upgrade FAILED and was ROLLED BACK: the store is as before, schema version {done.after}",
                       err=True)
            sys.exit(1)
        click.echo(f"applied migrations {', '.join(map(str, done.applied))}; schema version {done.after}; "
                   "health check passed")

    main.add_command(tls)
    main.add_command(upgrade)
    main.add_command(kiosk_launch)
    devices.add_command(pair_qr)
