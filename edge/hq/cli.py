"""`storeedge hq …`: run the reference HQ, push to the stores, read the chain's figures."""

from __future__ import annotations

import gc
import json
import signal
import threading
from pathlib import Path

import click

from edge.config import ConfigError, parse_config
from edge.errors import DomainError

READY = "HQ subscribed: consuming the stores' events"


def _database(data_dir: str, dsn: str | None) -> None:
    from edge.hq.models import open_hq_database

    open_hq_database(dsn, Path(data_dir))


def database_options(command):
    command = click.option("--database", "dsn", envvar="STOREEDGE_HQ_DATABASE",
                           help="postgresql://… DSN (default: SQLite hq.db in --hq-data)")(command)
    return click.option("--hq-data", "data_dir", envvar="STOREEDGE_HQ_DATA", default="hq-data", show_default=True,
                        type=click.Path(file_okay=False), help="HQ's data folder")(command)


@click.group()
def hq():
    """The reference HQ: consume the stores' events, relay members, push catalog, report."""


@hq.command("run")
@database_options
@click.option("--broker", envvar="STOREEDGE_HQ_BROKER", required=True, help="mqtt[s]://host:port")
@click.option("--chain", "chain_id", envvar="STOREEDGE_HQ_CHAIN", required=True, help="the chain's id")
@click.option("--username", envvar="STOREEDGE_HQ_USERNAME")
@click.option("--password", envvar="STOREEDGE_HQ_PASSWORD")
@click.option("--ca-file", type=click.Path(dir_okay=False, exists=True))
@click.option("--cert-file", type=click.Path(dir_okay=False, exists=True))
@click.option("--key-file", type=click.Path(dir_okay=False, exists=True))
@click.option("--instance", envvar="STOREEDGE_HQ_INSTANCE",
              help="this instance's name in the shared subscription, its client id and session: keep it across "
                   "restarts (default: random)")
@click.option("--command-resend-seconds", type=click.FloatRange(min=0.1),
              help="publish a store command again this often while its reply has not come back (default 60)")
@click.option("--receive-maximum", type=int, envvar="STOREEDGE_HQ_RECEIVE_MAXIMUM",
              help="messages the broker may send this HQ before it acks them (1-65535, default 100)")
def run(data_dir, dsn, broker, chain_id, username, password, ca_file, cert_file, key_file, instance,
        command_resend_seconds, receive_maximum):
    """Consume, store, ack and relay until SIGTERM or Ctrl-C."""
    from edge.hq.service import HQService

    given = {"broker": broker, "username": username, "password": password, "ca_file": ca_file,
             "cert_file": cert_file, "key_file": key_file, "receive_maximum": receive_maximum}
    try:  # checked as a store's [hq] section is, errors naming the option
        section = parse_config({"hq": {k: v for k, v in given.items() if v is not None}}).hq
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    from edge import logs

    logs.setup("hq", None)  # journald under systemd, else stderr; info too (a database connection back, …)
    _database(data_dir, dsn)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    click.echo(f"HQ for chain {chain_id} on {broker}", err=True)
    pacing = {} if command_resend_seconds is None else {"command_resend_seconds": command_resend_seconds}
    service = HQService(section, chain_id, instance, on_ready=lambda: click.echo(READY, err=True), **pacing)
    # what start-up made (modules, the database, the service) lives as long as the process: kept out of the
    # collector's full passes, which parsing the stores' batches (thousands of dicts each) sets off often
    gc.freeze()
    service.run(stop)


@hq.command("push-catalog")
@database_options
@click.argument("csv_file", type=click.File(encoding="utf-8"))
def push_catalog(data_dir, dsn, csv_file):
    """Queue the products of a CSV (the store catalog's columns) for every store."""
    from edge.hq.push import push_catalog as push

    _queue_for_stores(data_dir, dsn, push, csv_file.read())


@hq.command("push-promotions")
@database_options
@click.argument("json_file", type=click.File(encoding="utf-8"))
def push_promotions(data_dir, dsn, json_file):
    """Queue chain promotions (a JSON list, each as POST /promotions takes it, with its id) for every store."""
    from edge.hq.push import push_promotions as push

    _queue_for_stores(data_dir, dsn, push, json_file.read())


def _queue_for_stores(data_dir, dsn, push, text: str) -> None:
    """Broadcasts from a file: prints the report; exits 1 when the file or some of its rows were refused."""
    _database(data_dir, dsn)
    try:
        report = push(text)
    except DomainError as error:
        raise click.ClickException(f"{error.field}: {error.message}") from None
    click.echo(json.dumps(report, ensure_ascii=False))
    if report["errors"]:
        raise SystemExit(1)


@hq.command("command")
@database_options
@click.argument("store_id")
@click.argument("command")
@click.option("--arg", "args", multiple=True, help="name=value, as often as needed")
def command(data_dir, dsn, store_id, command, args):
    """Queue a command for one store (ping, status, resend_events --arg from_seq=N); prints its id."""
    from edge.hq.push import send_command

    parsed = {}
    for arg in args:
        name, sep, value = arg.partition("=")
        if not sep:
            raise click.BadParameter(f"{arg!r} is not name=value", param_hint="--arg")
        parsed[name] = int(value) if value.lstrip("-").isdigit() else value
    _database(data_dir, dsn)
    click.echo(send_command(store_id, command, parsed))


@hq.command("invoice-status")
@database_options
@click.argument("request_id")
@click.argument("status", type=click.Choice(["processing", "issued", "rejected"]))
@click.option("--invoice-no", help="the invoice's number (issued)")
@click.option("--reason", help="why it was rejected, as the customer will read it (rejected)")
def invoice_status(data_dir, dsn, request_id, status, invoice_no, reason):
    """Record an e-invoice request's status and send it to its store (an invoice.status in a broadcast)."""
    from edge.hq.invoices import set_status

    _database(data_dir, dsn)
    try:
        done = set_status(request_id, status, invoice_no, reason)
    except DomainError as error:
        raise click.ClickException(f"{error.field}: {error.message}") from None
    click.echo(json.dumps(done, ensure_ascii=False))


@hq.command("report")
@database_options
@click.argument("what", type=click.Choice(["sales", "members", "settlement", "flags", "stores", "invoices"]))
@click.option("--from", "day_from", help="first day (sales)")
@click.option("--to", "day_to", help="last day (sales)")
def report(data_dir, dsn, what, day_from, day_to):
    """Chain-wide figures as JSON."""
    from edge.hq import invoices, reports

    _database(data_dir, dsn)
    answer = {"sales": lambda: reports.sales(day_from, day_to), "members": reports.members,
              "settlement": reports.settlement, "flags": reports.flags, "stores": reports.stores,
              "invoices": invoices.requests}[what]()
    click.echo(json.dumps(answer, ensure_ascii=False, indent=1))


@hq.command("api")
@database_options
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8090, show_default=True)
def api(data_dir, dsn, host, port):
    """Serve the read API (GET /hq/v1/sales, members, settlement, flags, stores, invoices)."""
    from edge.hq.api import create_app

    _database(data_dir, dsn)
    create_app().run(host=host, port=port)
