"""`storeedge insight …`: refresh the member profiles (the timers run it) and check the predictions.

Built by ``commands(…)`` from edge/cli.py's store options: importing edge.cli from here would run it twice
when it is started as ``python -m edge.cli``."""

from __future__ import annotations

import json
import tempfile
from datetime import date, timedelta
from pathlib import Path

import click


def commands(store_options, domain_errors) -> click.Group:
    @click.group()
    def insight():
        """Customer insight (客户画像): member profiles, tags, predictions."""

    @insight.command("refresh")
    @store_options
    @click.option("--full", is_flag=True, help="rebuild every member's profile and refit the model (nightly)")
    @click.option("--keep-model", is_flag=True, help="with --full: keep the fitted model and RFM cut points")
    @click.pass_obj
    @domain_errors
    def refresh(ctx, full, keep_model):
        """Rebuild the profiles of members whose data changed (or of all, --full)."""
        summary = ctx.store().insight.refresh(full=full, refit=not keep_model)
        click.echo(json.dumps(summary, ensure_ascii=False))

    @insight.command("status")
    @store_options
    @click.pass_obj
    def status(ctx):
        """The last refresh, the queue of changed members, the fitted model."""
        click.echo(json.dumps(ctx.store().insight.status(), ensure_ascii=False, indent=2))

    @insight.command("evaluate")
    @store_options
    @click.option("--holdout-days", type=click.IntRange(7, 365), default=90, show_default=True)
    @click.option("--cutoff", type=click.DateTime(formats=["%Y-%m-%d"]),
                  help="end of the calibration period (default: holdout-days before yesterday)")
    @click.option("--synthetic", "synthetic_members", type=click.IntRange(min=100),
                  help="judge on this many synthetic members (a throw-away store) instead of this store's sales")
    @click.pass_obj
    def evaluate(ctx, holdout_days, cutoff, synthetic_members):
        """Fit BG/NBD on a calibration period and print its accuracy on the holdout that follows."""
        from edge.insight import holdout, synthetic

        end = date.today() - timedelta(days=1)
        if synthetic_members:
            from edge.app import StoreEdge
            from edge.config import Config
            from edge.demo.seed import seed

            store = StoreEdge(Config(), Path(tempfile.mkdtemp(prefix="storeedge-insight-eval-")))
            store.db.migrate()
            list(seed(store))
            synthetic.fill(store, members=synthetic_members, lines=synthetic_members * 10, end=end)
        else:
            store = ctx.store()
        cut = cutoff.date() if cutoff else end - timedelta(days=holdout_days)
        try:
            figures = holdout.evaluate(store, cutoff=cut, holdout_days=holdout_days)
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        click.echo(json.dumps(figures, ensure_ascii=False, indent=2))

    return insight
