"""The level downgrade review at period end: members whose rolling 12-month spend fell below their level move
down to the level it earns, with history, event and audit, each in its own transaction; a level earned within
the grace is kept; the period is recorded so a second run changes nothing; dry run, off switch, a failure
part-way, the CLI and its config, on a real store."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from edge.app import StoreEdge
from edge.cli import main as cli
from edge.config import ConfigError, parse_config
from edge.members.level_review import LevelReview, Period
from edge.members.levels import MemberLevel, MemberLevelHistory
from edge.sales.models import Sale
from tests.api_helpers import nothing_written
from tests.card_helpers import LEVELS, join, member_sale, shop, store  # noqa: F401 (fixtures)
from tests.conftest import COLA, terminal
from tests.domain2_helpers import audit_records, events

def days_ago(days: int) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days)).isoformat(timespec="milliseconds")


LONG_AGO = days_ago(400)  # out of the rolling 12 months
BEFORE_GRACE = days_ago(800)  # before the period reviewed (a year at most ago) began


@pytest.mark.parametrize("kind, today, due, start, end", [
    ("year", date(2027, 1, 1), "2026", date(2026, 1, 1), date(2026, 12, 31)),
    ("year", date(2026, 11, 23), "2025", date(2025, 1, 1), date(2025, 12, 31)),
    ("quarter", date(2026, 11, 23), "2026-Q3", date(2026, 7, 1), date(2026, 9, 30)),
    ("quarter", date(2027, 1, 1), "2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
    ("month", date(2026, 3, 1), "2026-02", date(2026, 2, 1), date(2026, 2, 28)),
    ("month", date(2026, 1, 5), "2025-12", date(2025, 12, 1), date(2025, 12, 31)),
])
def test_the_period_due_is_the_last_one_ended(kind, today, due, start, end):
    period = Period.of(kind, today).shifted(-1)
    assert (period.key, period.start, period.end) == (due, start, end)


def gold_member(store, cashier, *, spend_now: int = 0, earned_at: str = BEFORE_GRACE):
    """A 金卡 member whose 9000 fen of spend is 400 days old, with spend_now fen of 3-yuan colas at list price
    still recent (paid less 金卡's 5 % level discount)."""
    member = join(store, cashier)
    old = member_sale(store, cashier, member, COLA, 30)
    Sale.update(completed_at=LONG_AGO).where(Sale.id == old.id).execute()
    if spend_now:
        member_sale(store, cashier, member, COLA, spend_now // 300)
    MemberLevel.update(since=earned_at).where(MemberLevel.member_id == member.id).execute()
    assert store.levels.level_of(member.id).name == "金卡"
    return member


def test_a_member_whose_spend_fell_moves_down_to_the_level_it_earns(store, cashier):
    lowered = gold_member(store, cashier, spend_now=3300)  # pays 3135: still 银卡 (3000), no longer 金卡
    staying = join(store, cashier)
    member_sale(store, cashier, staying, COLA, 10)  # 银卡, and still spends enough

    outcome = store.level_review.review()

    period = store.level_review.period_due(store.today()).key
    assert [(c["member_id"], c["from"], c["to"], c["spend_12m"]) for c in outcome.lowered] == [
        (lowered.id, "金卡", "银卡", 3135)]
    assert outcome.members == 2 and outcome.kept == [] and outcome.failures == []
    assert store.levels.level_of(lowered.id).name == "银卡" and store.levels.level_of(staying.id).name == "银卡"
    assert store.levels.history(lowered.id)[-1] | {"at": None} == {
        "from": "金卡", "to": "银卡", "spend_12m": 3135, "reason": "review", "ref": f"review:{period}", "at": None}
    [event] = [e["data"] for e in events("member.updated") if e["data"].get("reason") == "review"]
    assert (event["id"], event["change"], event["level"]) == (lowered.id, "level", "银卡")
    [changed] = [r for r in audit_records("member.level_changed") if r["data"]["reason"] == "review"]
    assert changed["entity_id"] == lowered.id
    record = LevelReview.get_by_id(period)
    assert (record.kind, record.members, record.lowered, record.kept) == ("year", 2, 1, 0)
    assert audit_records("member.levels_reviewed")[0]["data"]["lowered"] == 1


def test_no_spend_left_moves_to_the_lowest_level(store, cashier):
    member = gold_member(store, cashier)
    store.level_review.review()
    assert store.levels.level_of(member.id).name == "普通"


def test_merged_and_erased_members_are_not_reviewed(store, cashier, manager):
    keep, duplicate, erased = (gold_member(store, cashier) for _ in range(3))
    store.members.merge(manager, keep.id, duplicate.id)
    store.members.erase(manager, erased.id, "本人要求")
    outcome = store.level_review.review()
    assert outcome.members == 1 and [c["member_id"] for c in outcome.lowered] == [keep.id]


def test_a_second_run_for_the_same_period_changes_nothing(store, cashier):
    member = gold_member(store, cashier)
    assert len(store.level_review.review().lowered) == 1
    member_sale(store, cashier, member, COLA, 30)  # back to 金卡 …
    Sale.update(completed_at=LONG_AGO).where(Sale.member_id == member.id).execute()  # … and lapsed again
    with nothing_written(store):
        again = store.level_review.review()
    assert again.already_done and again.lowered == []
    assert store.levels.level_of(member.id).name == "金卡"


def test_a_level_earned_within_the_grace_is_kept(store, cashier):
    recent = gold_member(store, cashier, earned_at=days_ago(0))
    outcome = store.level_review.review()
    assert [c["member_id"] for c in outcome.kept] == [recent.id] and outcome.lowered == []
    assert store.levels.level_of(recent.id).name == "金卡"
    assert LevelReview.get_by_id(outcome.period).kept == 1


def test_without_grace_every_level_is_reviewed(shop):
    store = shop(level_review={"grace_periods": 0})
    recent = gold_member(store, terminal(store), earned_at=days_ago(0))
    assert [c["member_id"] for c in store.level_review.review().lowered] == [recent.id]


def test_a_dry_run_writes_nothing_and_leaves_the_period_due(store, cashier):
    member = gold_member(store, cashier)
    with nothing_written(store):
        outcome = store.level_review.review(dry_run=True)
    assert outcome.dry_run and [c["member_id"] for c in outcome.lowered] == [member.id]
    assert len(store.level_review.review().lowered) == 1


def test_the_review_can_be_switched_off(shop):
    store = shop(level_review={"enabled": False})
    with nothing_written(store):
        assert store.level_review.review().enabled is False


def test_a_failure_part_way_keeps_what_was_done_and_the_next_run_finishes(store, cashier):
    first, second = gold_member(store, cashier), gold_member(store, cashier)
    # a real write failure for one member: the database refuses its history row
    store.db.peewee.execute_sql(f"""CREATE TRIGGER refuse_one BEFORE INSERT ON member_level_history
        WHEN NEW.member_id = '{second.id}' BEGIN SELECT RAISE(ABORT, 'disk trouble'); END""")
    outcome = store.level_review.review()
    assert [c["member_id"] for c in outcome.lowered] == [first.id]
    assert [f["member_id"] for f in outcome.failures] == [second.id]
    assert store.levels.level_of(second.id).name == "金卡"  # its transaction rolled back whole
    assert LevelReview.select().count() == 0  # the period stays due

    store.db.peewee.execute_sql("DROP TRIGGER refuse_one")
    again = store.level_review.review()
    assert [c["member_id"] for c in again.lowered] == [second.id] and again.failures == []
    assert MemberLevelHistory.select().where(MemberLevelHistory.reason == "review").count() == 2


# -- the command line and the config ------------------------------------------------


def run_cli(store, tmp_path, *args):
    config = tmp_path / "storeedge.toml"
    levels = ", ".join(f'{{ name = "{level["name"]}", min_spend = {level["min_spend"]} }}' for level in LEVELS)
    config.write_text(f"[members]\nlevels = [{levels}]\n", encoding="utf-8")
    store.db.close()
    return CliRunner().invoke(cli, ["members", "review-levels", "--config", str(config),
                                    "--data-dir", str(store.data_dir), *args])


def test_the_cli_prints_what_changed_and_acts_once_per_period(store, cashier, tmp_path):
    member = gold_member(store, cashier)
    dry = run_cli(store, tmp_path, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"{member.code}: would move 金卡 -> 普通" in dry.output and "dry run: nothing written" in dry.output
    done = run_cli(store, tmp_path)
    assert done.exit_code == 0 and f"{member.code}: moved 金卡 -> 普通" in done.output
    again = run_cli(store, tmp_path)
    assert again.exit_code == 0 and "already reviewed" in again.output
    reopened = StoreEdge.open(data_dir=store.data_dir)
    assert MemberLevel.get_by_id(member.id).level == "普通"
    reopened.db.close()


def test_the_cli_reviews_as_of_a_given_day_and_refuses_a_bad_one(store, tmp_path):
    assert run_cli(store, tmp_path, "--today", "2026-13-01").exit_code == 2
    result = run_cli(store, tmp_path, "--today", "2030-01-02")
    assert result.exit_code == 0 and "period 2029:" in result.output


@pytest.mark.parametrize("section, key", [
    ({"period": "week"}, "members.level_review.period"),
    ({"grace_periods": -1}, "members.level_review.grace_periods"),
    ({"every": "day"}, "members.level_review.every"),
])
def test_bad_review_settings_name_the_key(section, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse_config({"members": {"level_review": section}})
