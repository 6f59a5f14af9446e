"""`storeedge bench insight`: member profiles over a large synthetic history.

A fresh demo store gets ``members`` members and about ``lines`` sale lines over two years (written straight
into the tables; the seeding time is reported, not judged). Then: the full rebuild (every profile, the model
fitted, the automatic tags), an incremental refresh after a day of sales touching ``touched`` members, and
the holdout accuracy of the predictions on that history. A ``keep`` folder holding a history already is reused
as it is (only the rebuild, refresh and holdout run again), so runs before and after a change compare.
Budget (issue 9): full rebuild of 1M members and 10M sale lines under 10 minutes.
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from edge.app import StoreEdge
from edge.config import Config
from edge.demo.seed import seed
from edge.insight import holdout, synthetic

BUDGET_SECONDS = 600


def run(members: int, lines: int, touched: int, echo=print, keep: Path | None = None) -> dict:
    folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="storeedge-bench-insight-"))
    store = StoreEdge(Config(), folder)
    store.db.migrate()
    written = synthetic.held(store)
    if written:
        end = written.pop("end")
        echo(f"reusing {written['members']:,} members, {written['sales']:,} sales, {written['lines']:,} lines "
             f"seeded before in {folder} (--members and --lines do not apply)")
    else:
        for _ in seed(store):
            pass
        end = date.today() - timedelta(days=1)
        started = time.perf_counter()
        written = synthetic.fill(store, members=members, lines=lines, end=end)
        echo(f"seeded {written['members']:,} members, {written['sales']:,} sales, {written['lines']:,} lines "
             f"in {time.perf_counter() - started:.1f} s ({folder})")
        _auto_tag_rules(store)
    figures: dict = {"members": written["members"], "sales": written["sales"], "lines": written["lines"]}

    full = store.insight.refresh(full=True, as_of=end + timedelta(days=1))
    figures["full_rebuild_s"] = full["seconds"]
    figures["full_rebuild_cpu_s"] = full["cpu_seconds"]
    echo(f"full rebuild: {full['members']:,} profiles, {full['auto_tags']:,} automatic tags in "
         f"{full['seconds']:.1f} s wall, {full['cpu_seconds']:.1f} s CPU "
         f"(budget {BUDGET_SECONDS} s: {'ok' if full['seconds'] < BUDGET_SECONDS else 'OVER'})")

    sql = store.db.peewee.execute_sql
    ids = [row[0] for row in sql("SELECT id FROM member ORDER BY random() LIMIT ?", (touched,))]
    for member_id in ids:  # what a day's member sales leave behind: one queue mark each
        store.insight.mark(member_id)
    incremental = store.insight.refresh(full=False, as_of=end + timedelta(days=1))
    figures["incremental_s"] = incremental["seconds"]
    figures["incremental_members"] = incremental["members"]
    echo(f"incremental refresh: {incremental['members']:,} queued members in {incremental['seconds']:.2f} s wall, "
         f"{incremental['cpu_seconds']:.2f} s CPU (their profiles and automatic tags)")

    started = time.perf_counter()
    accuracy = holdout.evaluate(store, cutoff=end - timedelta(days=90), holdout_days=90)
    figures["holdout"] = accuracy
    echo(f"holdout (fit to {accuracy['cutoff']}, next {accuracy['holdout_days']} days, "
         f"{accuracy['members']:,} members, {time.perf_counter() - started:.1f} s): {json.dumps(accuracy)}")
    store.db.close()
    return figures


def _auto_tag_rules(store) -> None:
    """The issue's example rule, so the rebuild's figure includes tag evaluation."""
    tag = store.insight.tags.create(None, name="母婴", group="品类偏好", kind="auto")
    store.insight.tags.add_rule(None, tag.id, category="母婴", min_times=3, days=60)
