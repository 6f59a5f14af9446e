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
        from edge.config import ConfigError, load_config
        from edge.field.tls import make_certificate

        config_path = Path(ctx.config_path or os.environ.get("STOREEDGE_CONFIG") or DEFAULT_CONFIG)
        if store_id is None:
            try:
                store_id = load_config(config_path if config_path.exists() else None).store.id
            except ConfigError as error:
                raise click.ClickException(f"config: {error}") from None
        made = make_certificate(store_id, Path(folder) if folder else config_path.parent, renew)
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

        queued = print_pairing_qr(ctx.store(), screen, lane)
        if queued is None:
            where = f"for lane {lane}" if lane is not None else "in [[devices]]"
            raise refused(f"no receipt printer is configured {where} (kind = \"printer\")")
        job, url = queued
        click.echo(f"{url}\nqueued as print job {job.id} on {job.printer}; the gateway prints it")

    main.add_command(tls)
    devices.add_command(pair_qr)
