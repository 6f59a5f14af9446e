"""The `storeedge` command: what a technician, a script and the services run."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from edge import logs
from edge.app import StoreEdge, resolve_data_dir
from edge.db import DB_FILENAME
from edge.config import ConfigError, load_config
from edge.errors import DomainError
from edge.systemd import Watchdog, notify


class Context:
    def __init__(self):
        self.config_path: str | None = None
        self.data_dir: str | None = None

    def check_config(self) -> None:
        try:
            load_config(self.config_path)
        except ConfigError as error:
            raise click.ClickException(f"config: {error}") from None

    def store(self, migrate: bool = True) -> StoreEdge:
        try:
            store = StoreEdge.open(self.config_path, self.data_dir, migrate=migrate)
        except ConfigError as error:
            raise click.ClickException(f"config: {error}") from None
        # closed when the command ends, also when it is run in-process (tests, scripts calling main())
        click.get_current_context().call_on_close(store.db.close)
        return store


def store_options(command):
    """--config and --data-dir on every command, as well as before it."""

    def remember_config(ctx, _param, value):
        if value is not None:
            ctx.ensure_object(Context).config_path = value

    def remember_data_dir(ctx, _param, value):
        if value is not None:
            ctx.ensure_object(Context).data_dir = value

    command = click.option("--data-dir", type=click.Path(file_okay=False), expose_value=False, is_eager=True,
                           callback=remember_data_dir, help="data folder (default ./data or $STOREEDGE_DATA_DIR)")(command)
    return click.option("--config", type=click.Path(dir_okay=False), expose_value=False, is_eager=True,
                        callback=remember_config, help="TOML config (default $STOREEDGE_CONFIG or built-in)")(command)


def describe(field: str | None, message: str) -> str:
    """'field: message', without repeating a field the message already starts with (schema errors do)."""
    if not field or message.startswith(f"{field}:"):
        return message
    return f"{field}: {message}"


class Refused(click.ClickException):
    """A business refusal: exit 2 like click's own usage errors, apart from 1 (partly done, or broken)."""

    exit_code = 2


def domain_errors(function):
    """Business refusals print as one clear line and exit 2."""

    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except DomainError as error:
            raise Refused(describe(error.field, error.message)) from None

    wrapper.__name__ = function.__name__
    wrapper.__doc__ = function.__doc__
    return wrapper


@click.group()
@store_options
@click.pass_context
def main(ctx):
    """StoreEdge, the in-store server."""
    ctx.ensure_object(Context)


# -- serving ----------------------------------------------------------------


def _run_web(ctx: Context, host: str | None, port: int | None, threads: int | None, access_log: bool) -> None:
    from edge.server import GunicornServer

    store = ctx.store()
    logs.setup("web", store.config.store.id)  # in the arbiter: the worker inherits it
    web = store.config.web
    data_dir = str(store.data_dir)
    store.db.close()  # the worker opens its own connections after the fork
    scheme = "https" if web.tls else "http"
    click.echo(f"StoreEdge {store.config.store.id} on {scheme}://{host or web.host}:{port or web.port} "
               f"(data in {data_dir})", err=True)
    click.echo(store.payments.describe(), err=True)
    with _advertised(store.config, port or web.port):  # here, in gunicorn's arbiter: once per box
        GunicornServer(ctx.config_path, data_dir, host or web.host, port or web.port, threads or web.threads,
                       access_log, (web.cert_file, web.key_file) if web.tls else None).run()


@contextlib.contextmanager
def _advertised(config, port: int):
    """The box on mDNS while web runs, when [discovery] is on; a LAN without multicast only loses discovery."""
    if not config.discovery.enabled:
        yield
        return
    from edge.discovery import Advertiser

    fingerprint = None
    if config.web.tls:
        from edge.field.tls import fingerprint as of_certificate

        fingerprint = of_certificate(config.web.cert_file)
    advertiser = Advertiser(config.store.id, config.store.name, port, config.discovery.interfaces, fingerprint)
    try:
        advertiser.start()
    except OSError as error:
        click.echo(f"discovery: not advertised ({error}); tablets need the address", err=True)
        yield
        return
    try:
        yield
    finally:
        advertiser.stop()


def listen_options(command):
    command = click.option("--threads", type=int, help="worker threads (config web.threads)")(command)
    command = click.option("--port", type=int, help="port (config web.port)")(command)
    return click.option("--host", help="address to listen on (config web.host)")(command)


@main.command()
@store_options
@listen_options
@click.option("--demo", is_flag=True, help="load demo products, staff and stock into an empty store first")
@click.pass_obj
def serve(ctx: Context, host, port, threads, demo):
    """Run every service in one process (development and demo)."""
    if demo:
        from edge.demo.seed import seed

        store = ctx.store()
        for line in seed(store, promotions=True):
            click.echo(line, err=True)
        store.db.close()
    gateway_process = _start_gateway(ctx, port)
    try:
        _run_web(ctx, host, port, threads, access_log=True)
    finally:
        if gateway_process is not None:
            gateway_process.terminate()
            gateway_process.wait(timeout=10)


def _start_gateway(ctx: Context, port: int | None):
    """The gateway beside web, as its own process (as in production), when devices are configured."""
    import subprocess

    store = ctx.store()
    configured = bool(store.config.devices)
    scheme = "wss" if store.config.web.tls else "ws"
    data_dir = str(store.data_dir)
    store.db.close()
    if not configured:
        click.echo("no [[devices]] in the config: no gateway (see README, Hardware)", err=True)
        return None
    command = [sys.executable, "-m", "edge.cli", "gateway", "--data-dir", data_dir]
    if ctx.config_path:
        command += ["--config", ctx.config_path]
    if port:
        command += ["--url", f"{scheme}://127.0.0.1:{port}/ws/gateway"]
    return subprocess.Popen(command)


@main.command()
@store_options
@click.option("--url", help="web's gateway socket (default [gateway] url, or ws://127.0.0.1:{web.port}/ws/gateway)")
@click.pass_obj
def gateway(ctx: Context, url):
    """Run the hardware gateway: the devices in [[devices]], linked to web over a loopback WebSocket."""
    import signal
    import threading

    from drivers.gateway.service import Gateway

    store = ctx.store()
    logs.setup("gateway", store.config.store.id)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    with Gateway(store, url=url) as running:
        click.echo(f"gateway: {len(running.devices.all())} device(s), web at {running.link.url}", err=True)
        notify("READY=1")
        watchdog = Watchdog()
        while not stopping.wait(watchdog.interval / 2 if watchdog.interval else None):
            if running.alive():
                watchdog.ping()


@main.command()
@store_options
@click.argument("code")
@click.option("--lane", type=int, required=True, help="the lane whose cart gets the item")
@click.option("--url", help="web's gateway socket (default as for `storeedge gateway`)")
@click.pass_obj
def scan(ctx: Context, code, lane, url):
    """Scan a code on a lane, as a scanner there would (the demo's virtual scanner)."""
    import json

    import simple_websocket

    from drivers.gateway.socket_client import SocketClient
    from edge.hardware.token import gateway_token

    from edge.field.tls import loopback_context, loopback_url

    store = ctx.store()
    web = store.config.web
    url = url or store.config.gateway.url or loopback_url(web, "/ws/gateway", websocket=True)
    try:
        ws = SocketClient.connect(url, headers={"Authorization": f"Bearer {gateway_token(store)}"},
                                             ssl_context=loopback_context(web.cert_file) if web.tls else None)
    except Exception as error:
        raise click.ClickException(f"web is not reachable at {url}: {error}") from None
    try:
        ws.send(json.dumps({"type": "scan", "device": "cli", "lane": lane, "code": code}))
        while True:
            text = ws.receive(timeout=10)
            if text is None:
                raise click.ClickException("web did not answer the scan within 10 s")
            answer = json.loads(text)
            if answer.get("type") == "scan.result":
                break
    except simple_websocket.ConnectionClosed as closed:
        raise click.ClickException(f"web closed the connection: {closed.message}") from None
    finally:
        ws.close()
    if not answer["ok"]:
        raise Refused(f"lane {lane}: {answer['message']}")
    if "member" in answer:
        click.echo(f"lane {lane}: member {answer['member']['code']} on the sale")
        return
    if "payment" in answer:
        payment = answer["payment"]
        click.echo(f"lane {lane}: {payment['provider']} payment of {payment['amount'] / 100:.2f} {payment['state']}, "
                   f"sale total {answer['total'] / 100:.2f}")
        return
    line = answer["line"]
    click.echo(f"lane {lane}: {line['name']} × {line['qty']}, sale total {answer['total'] / 100:.2f}")


@main.command()
@store_options
@listen_options
@click.pass_obj
def web(ctx: Context, host, port, threads):
    """Run the web service (API) alone, as its systemd unit does."""
    _run_web(ctx, host, port, threads, access_log=False)


# -- database ---------------------------------------------------------------


@main.group()
def db():
    """Schema migrations."""


@db.command("migrate")
@store_options
@click.option("--to", "target", type=int, help="stop at this schema version")
@click.pass_obj
def db_migrate(ctx: Context, target):
    """Apply pending migrations (a copy of the database is taken first)."""
    store = ctx.store(migrate=False)
    applied = store.db.migrate(target)
    if target is None:  # the store now runs as configured: audit its config like any start
        store.record_config_change()
    click.echo(f"applied {applied}" if applied else "already up to date")
    click.echo(f"schema version {store.db.schema_version()}")


# -- field service ----------------------------------------------------------


def existing_store_dir(ctx: Context) -> Path:
    """The data folder, which must hold a store: a mistyped --data-dir must not become a new, empty store."""
    data_dir = resolve_data_dir(ctx.data_dir)
    if not (data_dir / DB_FILENAME).exists():
        raise click.ClickException(f"no store database in {data_dir}")
    return data_dir


@main.command()
@store_options
@click.option("--to", "folder", envvar="STOREEDGE_BACKUP_DIR", type=click.Path(file_okay=False),
              help="folder for the backups, e.g. a USB stick's (default $STOREEDGE_BACKUP_DIR or DATA_DIR/backups)")
@click.option("--keep", type=click.IntRange(min=1), default=14, show_default=True,
              help="backups kept in that folder; older ones are removed")
@click.pass_obj
def backup(ctx: Context, folder, keep):
    """Copy the database while the store keeps selling (SQLite's online backup), check it, rotate."""
    from edge.field import backup as backups

    ctx.check_config()
    data_dir = existing_store_dir(ctx)
    store = ctx.store(migrate=False)
    try:
        made = backups.take(store.db, data_dir, Path(folder) if folder else data_dir / "backups", keep)
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"backup {made.path} (schema version {made.schema_version}, {made.path.stat().st_size} bytes); "
               f"removed {len(made.removed)} older")


@main.command()
@store_options
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_obj
def restore(ctx: Context, file):
    """Put a backup back (stop the services first); a file failing its integrity check is refused."""
    from edge.field import backup as backups

    try:
        restored = backups.restore(Path(file), resolve_data_dir(ctx.data_dir))
    except backups.BackupError as error:
        raise Refused(str(error)) from None
    if restored.previous:
        click.echo(f"the database it replaced is kept as {restored.previous}")
    click.echo(f"restored {file} (schema version {restored.schema_version}); "
               "the services migrate it on start if it is older")


@main.command()
@store_options
@click.option("--json", "as_json", is_flag=True, help="one JSON object instead of lines")
@click.option("--gateway-user", default="storeedge", show_default=True,
              help="the user whose access to the data folder, the device files and the TLS pair is checked "
                   "(the services')")
@click.pass_obj
def doctor(ctx: Context, as_json, gateway_user):
    """Check clock, disk, database, data folder, broker, devices, TLS certificate and outbox; exit 0 all OK, 1 a
    warning, 2 a failure."""
    import json

    from edge.field import doctor as checks

    found = []
    try:
        config = load_config(ctx.config_path)
    except ConfigError as error:
        config = None
        found.append(checks.Check("config", checks.FAIL, str(error).replace("\n", "; ")))
    found += checks.examine(config, resolve_data_dir(ctx.data_dir), gateway_user)
    if as_json:
        click.echo(json.dumps(checks.as_json(found), ensure_ascii=False))
    else:
        for check in found:
            click.echo(check.line())
    sys.exit(checks.EXIT_CODES[checks.worst(found)])


@main.command()
@store_options
@click.option("--store-id", required=True, help="this store's id (letters, digits, _ and -)")
@click.option("--chain", "chain_id", required=True, help="the chain's id")
@click.option("--store-name", help="the store's name on receipts")
@click.option("--broker", help="HQ's broker, mqtts://host:port")
@click.option("--username", help="this store's broker user")
@click.option("--password", envvar="STOREEDGE_HQ_PASSWORD", help="its password (better: $STOREEDGE_HQ_PASSWORD)")
@click.option("--ca-file", help="HQ's CA certificate, copied beside the config")
@click.option("--cert-file", help="this store's client certificate, copied beside the config")
@click.option("--key-file", help="its key, copied beside the config")
@click.option("--device", "devices", multiple=True, metavar="KEY=VALUE,…",
              help="a [[devices]] entry, e.g. name=scanner1,kind=scanner,backend=evdev,path=/dev/…,lane=1")
@click.option("--admin-name", default="admin", show_default=True)
@click.option("--admin-pin", envvar="STOREEDGE_ADMIN_PIN", help="the first admin's PIN (better: $STOREEDGE_ADMIN_PIN)")
@click.option("--force", is_flag=True, help="write the config although one exists")
@click.option("--https-port", type=click.IntRange(1, 65535), default=8443, show_default=True,
              help="web serves the LAN over HTTPS here, with a self-signed certificate for store-<id>.local")
@click.option("--no-tls", is_flag=True, help="no HTTPS: web stays plain HTTP on loopback (behind a proxy)")
@click.pass_obj
def provision(ctx: Context, store_id, chain_id, store_name, broker, username, password, ca_file, cert_file,
              key_file, devices, admin_name, admin_pin, force, https_port, no_tls):
    """Write this box's config (mode 0600), HQ certificates and HTTPS certificate, and add the first admin."""
    import os

    from edge.field.provision import Provisioning, ProvisionError, parse_device, provision as write

    config_path = Path(ctx.config_path or os.environ.get("STOREEDGE_CONFIG") or "/etc/storeedge/storeedge.toml")
    certificates = {key: Path(value) for key, value in
                    {"ca_file": ca_file, "cert_file": cert_file, "key_file": key_file}.items() if value}
    try:
        plan = Provisioning(store_id, chain_id, store_name, broker, username, password, certificates,
                            [parse_device(text) for text in devices], admin_name, admin_pin,
                            None if no_tls else https_port)
        for line in write(plan, config_path, resolve_data_dir(ctx.data_dir), force):
            click.echo(line)
    except ProvisionError as error:
        raise Refused(str(error)) from None


@main.command()
@click.option("--seconds", type=click.FloatRange(min=0.5, max=60), default=3, show_default=True,
              help="how long to listen for answers")
@click.option("--interface", "interfaces", multiple=True, help="an address to browse on (default: all)")
@click.option("--json", "as_json", is_flag=True, help="one JSON array instead of lines")
def discover(seconds, interfaces, as_json):
    """List the StoreEdge boxes answering on the LAN (mDNS), with each one's API URL; exit 1 when none."""
    import dataclasses
    import json

    from edge.discovery import browse

    found = browse(seconds, list(interfaces) or "all")
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(box) for box in found], ensure_ascii=False))
    for box in [] if as_json else found:
        click.echo(f"{box.store_id}\t{box.name}\t{box.url}\t(StoreEdge {box.version})")
    sys.exit(0 if found else 1)


# -- catalog ----------------------------------------------------------------


@main.group()
def catalog():
    """Products."""


@catalog.command("import")
@store_options
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
@click.pass_obj
@domain_errors
def catalog_import(ctx: Context, csv_file):
    """Import products from CSV; each bad row is reported by line and skipped."""
    try:
        text = Path(csv_file).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise Refused(f"{csv_file}: not UTF-8 text (byte {error.start}); save the CSV as UTF-8 "
                      "(Excel: 'CSV UTF-8') and import it again") from None
    store = ctx.store()
    report = store.catalog.import_csv(text)
    click.echo(f"imported {report.imported}, updated {report.updated}, rejected {len(report.errors)}")
    for error in report.errors:
        click.echo(f"line {error['line']}: {describe(error['field'], error['message'])}", err=True)
    if report.errors:
        sys.exit(1)


# -- staff and devices ------------------------------------------------------


@main.group()
def staff():
    """Staff members."""


@staff.command("add")
@store_options
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(["cashier", "manager", "admin"]))
@click.option("--pin", required=True, help="4 to 8 digits, unique in the store")
@click.pass_obj
@domain_errors
def staff_add(ctx: Context, name, role, pin):
    """Add a staff member with a PIN."""
    member = ctx.store().staff.add_staff(name, role, pin)
    click.echo(f"staff {member.id}: {member.name} ({member.role})")


@main.group()
def devices():
    """Paired devices, and the hardware in [[devices]]."""


@devices.command("list")
@store_options
@click.pass_obj
def devices_list(ctx: Context):
    """The configured hardware with its last known state, then the candidates found on this box."""
    from drivers.candidates import candidates

    store = ctx.store()
    states = {state["name"]: state for state in store.hardware.jobs.states()}
    for section in store.config.devices:
        where = section.path or (f"{section.host}:{section.port or 9100}" if section.host else None) or (
            f"usb {section.vendor_id:04x}:{section.product_id:04x}" if section.vendor_id is not None else "virtual")
        state = states.get(section.name, {})
        detail = f" ({state['detail']})" if state.get("detail") else ""
        lane = f"lane {section.lane}" if section.lane else "every lane"
        click.echo(f"{section.name}\t{section.kind}\t{section.backend}\t{where}\t{lane}\t"
                   f"{state.get('state', 'unknown')}{detail}")
    if not store.config.devices:
        click.echo("no [[devices]] configured")
    for group, found in candidates().items():
        click.echo(f"{group}: {', '.join(found) if found else 'none found'}")


@devices.command("jobs")
@store_options
@click.option("--retry", "retry_id", help="queue this failed job again")
@click.pass_obj
@domain_errors
def devices_jobs(ctx: Context, retry_id):
    """Print jobs not yet done (queued, printing, failed), or queue a failed one again."""
    store = ctx.store()
    if retry_id:
        job = store.hardware.jobs.retry(retry_id)
        click.echo(f"print job {job.id} queued again on {job.printer}")
        return
    jobs = store.hardware.jobs.unfinished()
    for job in jobs:
        click.echo(f"{job.id}\t{job.printer}\t{job.kind}\t{job.status}\t{job.attempts}\t{job.created_at}\t"
                   f"{job.last_error or ''}")
    if not jobs:
        click.echo("every print job is done")


@devices.command("test")
@store_options
@click.argument("name")
@click.pass_obj
def devices_test(ctx: Context, name):
    """Print a test page, open the drawer, show text on a display, or echo scans for 10 s."""
    from drivers import factory
    from drivers.errors import DeviceError
    from drivers.printer.document import TextPage
    from drivers.printer.layout import render

    store = ctx.store()
    built = factory.build(store.config.devices, store.data_dir)
    device = built.all().get(name)
    if device is None:
        raise Refused(f"no device named {name!r} in [[devices]] (storeedge devices list)")
    try:
        if name in built.printers:
            with device:
                page = TextPage(title="StoreEdge 打印测试", body=[f"{name}: {device.paper_mm} mm, {device.columns} 列",
                                                                  "中文 ABC 123 ￥12.50"], qr="StoreEdge")
                device.print(render(page, device.paper_mm, device.chinese))
            click.echo(f"{name}: test page sent")
        elif name in built.drawers:
            opener = getattr(device, "open", None)
            if opener is not None:
                opener()
            device.open_drawer()
            click.echo(f"{name}: drawer pulse sent")
        elif name in built.displays:
            with device:
                device.show_text("StoreEdge 测试", "0123456789")
            click.echo(f"{name}: text shown")
        else:
            import time

            with device:
                click.echo(f"{name}: scan something within 10 s")
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    for code in device.read(0.2):
                        click.echo(f"{name}: {code}")
    except DeviceError as error:
        raise click.ClickException(str(error)) from None


@devices.command("add")
@store_options
@click.option("--name", required=True)
@click.option("--kind", required=True, type=click.Choice(["terminal", "kiosk", "display"]))
@click.option("--lane", type=int, help="the lane this device serves")
@click.option("--print-token", is_flag=True, help="print only the device token (for scripts)")
@click.pass_obj
@domain_errors
def devices_add(ctx: Context, name, kind, lane, print_token):
    """Pair a device without the approval dance (technician's shortcut)."""
    device, token = ctx.store().staff.add_device(name, kind, lane)
    if print_token:
        click.echo(token)
    else:
        lane_text = f"lane {device.lane}" if device.lane is not None else "no lane"
        click.echo(f"device {device.id}: {device.name} ({device.kind}, {lane_text}); "
                   "run with --print-token to get its token")


@devices.command("pairing")
@store_options
@click.pass_obj
def devices_pairing(ctx: Context):
    """Pairing requests waiting for a manager: the code each device shows."""
    requests = ctx.store().staff.pending_pairings()
    for request in requests:
        click.echo(f"{request.code}\t{request.kind}\t{request.name}\texpires {request.expires_at}")
    if not requests:
        click.echo("no pairing request is waiting")


@devices.command("approve")
@store_options
@click.argument("code")
@click.option("--lane", type=int, help="the lane the device serves")
@click.option("--manager-pin", prompt=True, hide_input=True, help="a manager's PIN (asked when not given)")
@click.pass_obj
@domain_errors
def devices_approve(ctx: Context, code, lane, manager_pin):
    """Approve the pairing code a device shows (a screen's first run), as a manager would in the back office."""
    from edge.staff.service import Caller

    staff = ctx.store().staff
    manager = staff.approve({"pin": manager_pin}, "approving a pairing", Caller(), field="manager_pin")
    request = staff.decide_pairing(code, True, lane, Caller(staff=manager))
    lane_text = f"lane {request.lane}" if request.lane is not None else "no lane"
    click.echo(f"approved {request.code}: {request.name} ({request.kind}, {lane_text}), by {manager.name}")


# -- audit ------------------------------------------------------------------


@main.group()
def audit():
    """The audit journal."""


@audit.command("verify")
@store_options
@click.pass_obj
def audit_verify(ctx: Context):
    """Check the hash chain; exits 1 and names each broken record."""
    from edge import audit as journal

    # Read only: opening normally may append a config.changed record, which would
    # re-seal a journal whose last records were cut off and hide the damage.
    ctx.check_config()
    data_dir = resolve_data_dir(ctx.data_dir)
    if not (data_dir / DB_FILENAME).exists():  # a mistyped --data-dir must not become a new, "ok" store
        raise click.ClickException(f"no store database in {data_dir}")
    store = ctx.store(migrate=False)
    if store.db.schema_version() == 0:
        raise click.ClickException(f"no store database in {store.data_dir}")
    result = journal.verify()
    for problem in result.problems:
        click.echo(problem, err=True)
    if not result.ok:
        click.echo(f"audit journal BROKEN: {len(result.problems)} problem(s) in {result.records} records")
        sys.exit(1)
    click.echo(f"audit journal ok: {result.records} records")


@main.group()
def members():
    """Members: points and levels."""


@members.command("expire-points")
@store_options
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), help="the day to expire as of (default: today)")
@click.pass_obj
@domain_errors
def members_expire_points(ctx: Context, today):
    """Write expiry entries for every lot of points past its last day."""
    store = ctx.store()
    written = store.points.expire(today=today.date() if today else None)
    click.echo(f"expired {-sum(e.points for e in written)} points in {len(written)} lots "
               f"of {len({e.member_id for e in written})} members")


@members.command("review-levels")
@store_options
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), help="review as of this day (default: today)")
@click.option("--dry-run", is_flag=True, help="show who would move down; write nothing")
@click.pass_obj
@domain_errors
def members_review_levels(ctx: Context, today, dry_run):
    """Move members down whose 12-month spend no longer reaches their level, once per period end."""
    store = ctx.store()
    outcome = store.level_review.review(today=today.date() if today else None, dry_run=dry_run)
    if not outcome.enabled:
        click.echo("level review is off ([members.level_review] enabled = false)")
        return
    if outcome.already_done:
        click.echo(f"period {outcome.period} already reviewed; nothing to do")
        return
    verb = "would move" if dry_run else "moved"
    for change in outcome.lowered:
        click.echo(f"{change['code']}: {verb} {change['from']} -> {change['to']} "
                   f"(12-month spend {change['spend_12m']} fen)")
    for change in outcome.kept:
        click.echo(f"{change['code']}: keeps {change['from']} (earned {change['since']}, within the grace)")
    for failure in outcome.failures:
        click.echo(f"member {failure['member_id']}: not reviewed: {failure['error']}", err=True)
    click.echo(f"period {outcome.period}: {outcome.members} members above the lowest level, "
               f"{len(outcome.lowered)} {verb} down, {len(outcome.kept)} kept"
               + (" (dry run: nothing written)" if dry_run else ""))
    if outcome.failures:
        click.echo(f"{len(outcome.failures)} members not reviewed; the period stays due", err=True)
        sys.exit(1)


@main.group()
def marketing():
    """Marketing automation (SOP flows): the daily run."""


@marketing.command("run")
@store_options
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), help="run as of this day (default: today)")
@click.option("--flow", "flow_id", help="one flow (default: every active flow)")
@click.option("--dry-run", is_flag=True, help="show who would be reached; write nothing")
@click.pass_obj
@domain_errors
def marketing_run(ctx: Context, today, flow_id, dry_run):
    """Run active flows: journeys whose wait is over go on, then the triggers' new members enter."""
    store = ctx.store()
    day = today.date() if today else None
    if dry_run:
        flows = [flow_id] if flow_id else [flow.id for flow in store.marketing.flows() if flow.status == "active"]
        runs = [store.marketing.dry_run(one, day) for one in flows]
    else:
        runs = store.marketing.run(today=day, flow_id=flow_id)
    for run in runs:
        reached = ", ".join(f"{node} {count}" for node, count in run["reached"].items()) or "nobody"
        click.echo(f"{run['name']} ({run['flow_id']}): {run['entered']} entered, {run['resumed']} resumed; "
                   f"reached: {reached}" + (" (dry run: nothing written)" if dry_run else ""))
    if not runs:
        click.echo("no active flows")


@main.group()
def payments():
    """Scan payments (扫码收银): resume after a stop, reconcile with the providers."""


@payments.command("resume")
@store_options
@click.pass_obj
def payments_resume(ctx: Context):
    """Finish every unfinished scan payment and refund (the web service does this itself at start;
    run this only while it is stopped)."""
    store = ctx.store()
    done = store.payments.resume_all()
    click.echo(f"resumed {done['attempts']} payment(s) and {done['refunds']} refund(s); "
               f"completed sales checked: {done['paid_sales']}")


@payments.command("reconcile")
@store_options
@click.option("--date", "day", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="the business day")
@click.option("--statement", type=click.Path(exists=True, dir_okay=False),
              help="the provider's statement as CSV (provider,out_trade_no,transaction_id,kind,amount)")
@click.pass_obj
@domain_errors
def payments_reconcile(ctx: Context, day, statement):
    """对账: compare the day's scan payments with the provider's statement; exits 1 if anything differs."""
    from edge.payments.reconcile import read_statement, reconcile

    rows = read_statement(Path(statement).read_text(encoding="utf-8-sig")) if statement else None
    report = reconcile(ctx.store(), day.date(), rows)
    for provider, figures in sorted(report["providers"].items()):
        click.echo(f"{provider}: {figures['count']} paid, {figures['paid']} fen; refunded {figures['refunded']} fen; "
                   f"{figures['reversed']} reversed")
    if not statement:
        click.echo("no statement given: only the store's own loose ends are checked")
    for difference in report["differences"]:
        click.echo(f"DIFFERENCE {difference['kind']}: {difference['provider']} {difference['out_trade_no']}: "
                   f"{difference['detail']}")
    click.echo(f"{len(report['differences'])} difference(s) on {report['date']}")
    if report["differences"]:
        sys.exit(1)


@main.group()
def reports():
    """Report summaries: refresh them now, or rebuild them from the sales."""


@reports.command("refresh")
@store_options
@click.pass_obj
def reports_refresh(ctx: Context):
    """Fold the sales, refunds and top-ups recorded since the last refresh into the summaries."""
    store = ctx.store()
    folded = store.reports.summaries.refresh()
    click.echo(f"folded {folded} facts; watermark at audit seq {store.reports.summaries.watermark()}")


@reports.command("rebuild")
@store_options
@click.pass_obj
def reports_rebuild(ctx: Context):
    """Recompute every summary from the raw sales (holds the write lock: best while the shop is closed)."""
    outcome = ctx.store().reports.summaries.rebuild()
    rows = ", ".join(f"{table} {count}" for table, count in outcome["rows"].items())
    click.echo(f"rebuilt up to audit seq {outcome['watermark']}: {rows}")


# -- demo and benchmarks ----------------------------------------------------


@main.group()
def demo():
    """Demo data."""


@demo.command("seed")
@store_options
@click.pass_obj
def demo_seed(ctx: Context):
    """Load demo products, staff, stock, promotions and member prices into an empty store."""
    from edge.demo.seed import seed

    for line in seed(ctx.store(), promotions=True):
        click.echo(line)


@main.group()
def bench():
    """Benchmarks: figures and ratios against a floor measured in the same run."""


@bench.command("checkout")
@click.option("--sales", "sale_count", type=int, default=800, show_default=True, help="sales to complete")
@click.option("--clients", type=int, default=8, show_default=True, help="concurrent lanes")
@click.option("--lines", "line_count", type=int, default=10, show_default=True, help="lines per sale")
@click.option("--bursts", "burst_rounds", type=int, default=50, show_default=True,
              help="rounds of every lane paying at the same moment")
def bench_checkout(sale_count, clients, line_count, burst_rounds):
    """Complete sales over HTTP against gunicorn; compare database time with raw sqlite3."""
    from edge.bench.checkout import run

    run(sale_count, clients, line_count, burst_rounds, echo=click.echo)


@bench.command("lookup")
@click.option("--skus", "sku_count", type=int, default=100_000, show_default=True, help="catalog size")
@click.option("--lookups", type=int, default=2000, show_default=True, help="random barcode lookups")
def bench_lookup(sku_count, lookups):
    """Product by barcode in a large catalog: domain, HTTP and the raw sqlite3 floor."""
    from edge.bench.lookup import run

    run(sku_count, lookups, echo=click.echo)


@bench.command("members")
@click.option("--members", "member_count", type=int, default=1_000_000, show_default=True,
              help="members to seed")
@click.option("--lookups", type=int, default=2000, show_default=True, help="random lookups by phone")
def bench_members(member_count, lookups):
    """Member by phone in a large register: seeding time, domain, HTTP and the raw sqlite3 floor."""
    from edge.bench.members import run

    run(member_count, lookups, echo=click.echo)


@bench.command("insight")
@click.option("--only", type=click.Choice(["profiles", "reports"]), help="measure one part (default: both)")
@click.option("--members", "member_count", type=int, default=1_000_000, show_default=True)
@click.option("--lines", "line_count", type=int, default=10_000_000, show_default=True, help="sale lines, about")
@click.option("--touched", type=int, default=5_000, show_default=True,
              help="members queued for the incremental refresh")
@click.option("--keep", type=click.Path(file_okay=False), help="build the profiles' store here and keep it")
@click.option("--days", type=int, default=730, show_default=True, help="reports: days of sales to seed")
@click.option("--tickets", "tickets_per_day", type=int, default=500, show_default=True, help="reports: tickets a day")
@click.option("--rounds", type=int, default=30, show_default=True, help="reports: times each report is asked")
def bench_insight(only, member_count, line_count, touched, keep, days, tickets_per_day, rounds):
    """Member profiles (full rebuild, incremental refresh, prediction accuracy on a holdout), then reports over
    years of sales (seeding, summary rebuild, each report's p50/p99 against a raw-SQL floor)."""
    if only != "reports":
        from edge.bench.insight import run as run_profiles

        run_profiles(member_count, line_count, touched, echo=click.echo, keep=keep)
    if only != "profiles":
        from edge.bench.insight_reports import run as run_reports

        run_reports(days, tickets_per_day, rounds, echo=click.echo)


@bench.command("pay")
@click.option("--sales", "sale_count", type=int, default=400, show_default=True, help="sales paid by code")
@click.option("--clients", type=int, default=4, show_default=True, help="concurrent lanes")
def bench_pay(sale_count, clients):
    """Payment code scanned → sale completed, over HTTP against the provider simulator; its own time is the floor."""
    from edge.bench.pay import run

    run(sale_count, clients, echo=click.echo)


@bench.command("sync")
@click.option("--events", type=int, default=20_000, show_default=True, help="events for the rate against raw paho")
@click.option("--backlog", type=int, default=100_000, show_default=True, help="backlog to drain")
def bench_sync(events, backlog):
    """Outbox to HQ with acks against raw paho QoS 1 with the same bytes; a backlog's drain time."""
    from edge.bench.sync import run

    run(events, backlog, echo=click.echo)


# -- sync with HQ -------------------------------------------------------------


@main.command()
@store_options
@click.pass_obj
def sync(ctx: Context):
    """Publish the outbox to HQ and apply what HQ sends, until SIGTERM or Ctrl-C."""
    import signal
    import threading

    from edge.sync.service import SyncService

    store = ctx.store()
    if store.config.hq is None:
        raise click.ClickException("config: no [hq] section: this store works alone and keeps its outbox")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    logs.setup("sync", store.config.store.id)
    click.echo(f"sync: store {store.config.store.id} to {store.config.hq.broker}", err=True)
    service = SyncService(store)
    notify("READY=1")
    service.run(stop, alive=Watchdog().ping)


from edge.hq.cli import hq  # noqa: E402  (its own module: the HQ is not a store)
from edge.insight.cli import commands as insight_commands  # noqa: E402  (its own module, beside its domain)

main.add_command(hq)
main.add_command(insight_commands(store_options, domain_errors))

from edge.field.commands import register as register_field_service  # noqa: E402  (its own module)

register_field_service(main, devices, store_options, Refused)




@bench.command("devices")
@click.option("--scans", type=int, default=300, show_default=True, help="scans at the pty scanner")
@click.option("--sales", type=int, default=200, show_default=True, help="sales completed (one receipt each)")
def bench_devices(scans, sales):
    """Scan → cart event at a lane screen; completed sale → first receipt byte at a TCP printer."""
    from edge.bench.devices import run

    run(scans, sales, echo=click.echo)


@bench.command("screens")
@click.option("--rounds", type=int, default=20, show_default=True, help="first loads of /pos, cold and warm")
@click.option("--scans", type=int, default=200, show_default=True, help="scans each way (wedge, gateway)")
def bench_screens(rounds, scans):
    """/pos in Chromium: first load, and scan → line visible measured inside the page, against in-page floors."""
    from edge.bench.screens import run

    run(rounds, scans, echo=click.echo)


if __name__ == "__main__":
    main()
