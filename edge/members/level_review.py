"""The level downgrade review at period end (`[members.level_review]`).

Upgrades happen at the sale that crosses a threshold; downgrades wait for the
end of a period (month, quarter or year, in the store's calendar). On any day
after a period has ended, the review looks at every member holding more than
the lowest level and moves down those whose rolling 12-month spend no longer
reaches it, to the level that spend earns: a history row (reason "review",
ref "review:<period>"), the member.updated event and an audit record, each
member in a transaction of its own, so a crash part-way loses nothing done
and the next run carries on. A level earned within the last
`grace_periods` periods is kept this time. Once every member has been
reviewed the period is recorded (level_review), so a daily timer can call the
review every day and it acts once per period end; running it twice changes
nothing the second time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import peewee

from edge import audit
from edge.db import BaseModel, utc_now
from edge.members.levels import MemberLevel
from edge.members.models import Member

log = logging.getLogger("storeedge.members")

MONTHS_IN = {"month": 1, "quarter": 3, "year": 12}


class LevelReview(BaseModel):
    period = peewee.TextField(primary_key=True)
    kind = peewee.TextField()
    reviewed_on = peewee.TextField()
    members = peewee.IntegerField()
    lowered = peewee.IntegerField()
    kept = peewee.IntegerField()
    at = peewee.TextField()


@dataclass(frozen=True)
class Period:
    kind: str
    index: int  # months since year 0, divided by the period's length

    @classmethod
    def of(cls, kind: str, day: date) -> "Period":
        return cls(kind, (day.year * 12 + day.month - 1) // MONTHS_IN[kind])

    def shifted(self, periods: int) -> "Period":
        return Period(self.kind, self.index + periods)

    @property
    def start(self) -> date:
        year, month = divmod(self.index * MONTHS_IN[self.kind], 12)
        return date(year, month + 1, 1)

    @property
    def end(self) -> date:
        return self.shifted(1).start - timedelta(days=1)

    @property
    def key(self) -> str:
        """2026, 2026-Q4 or 2026-11."""
        start = self.start
        if self.kind == "year":
            return str(start.year)
        if self.kind == "quarter":
            return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
        return f"{start.year}-{start.month:02d}"


@dataclass
class ReviewOutcome:
    period: str
    enabled: bool = True
    already_done: bool = False
    dry_run: bool = False
    members: int = 0  # reviewed: holding more than the lowest level
    lowered: list[dict] = field(default_factory=list)
    kept: list[dict] = field(default_factory=list)  # would go down, but earned within the grace
    failures: list[dict] = field(default_factory=list)


class LevelReviewService:
    def __init__(self, app):
        self.app = app
        self.rules = app.config.members.level_review

    def period_due(self, today: date) -> Period:
        """The last period that has ended before today."""
        return Period.of(self.rules.period, today).shifted(-1)

    def done(self, period: Period) -> LevelReview | None:
        return LevelReview.get_or_none(LevelReview.period == period.key)

    def review(self, caller=None, today: date | None = None, dry_run: bool = False) -> ReviewOutcome:
        """Review the levels for the period that ended last; a period already reviewed is left alone."""
        today = today or self.app.today()
        period = self.period_due(today)
        outcome = ReviewOutcome(period=period.key, dry_run=dry_run)
        if not self.rules.enabled:
            outcome.enabled = False
            return outcome
        if self.done(period) is not None:
            outcome.already_done = True
            return outcome
        grace_from = self._grace_from(period)
        lowest = self.app.levels.levels[0].name
        holders = [member_id for (member_id,) in MemberLevel.select(MemberLevel.member_id).where(
            (MemberLevel.level != lowest)
            & MemberLevel.member_id.in_(Member.select(Member.id).where(Member.status.in_(("active", "inactive")))))
            .order_by(MemberLevel.member_id).tuples()]
        outcome.members = len(holders)
        for member_id in holders:
            try:
                # dry run: a read snapshot, not the writers' lock
                with self.app.db.peewee.atomic() if dry_run else self.app.db.transaction():
                    self._review_member(member_id, period, grace_from, caller, dry_run, outcome)
            except Exception as error:  # one member's failure must not stop the others; the period stays due
                log.exception("level review of member %s failed", member_id)
                outcome.failures.append({"member_id": member_id, "error": str(error)})
        if not dry_run and not outcome.failures:
            with self.app.db.transaction():
                LevelReview.create(period=period.key, kind=period.kind, reviewed_on=today.isoformat(),
                                   members=outcome.members, lowered=len(outcome.lowered), kept=len(outcome.kept),
                                   at=utc_now())
                audit.record("member.levels_reviewed", staff_id=getattr(caller, "staff_id", None),
                             device_id=getattr(caller, "device_id", None), entity="level_review",
                             entity_id=period.key, data={"members": outcome.members,
                                                         "lowered": len(outcome.lowered),
                                                         "kept": len(outcome.kept), "on": today.isoformat()})
        return outcome

    def _grace_from(self, period: Period) -> str | None:
        """The UTC time from which a level earned is kept this time (None: no grace)."""
        if self.rules.grace_periods == 0:
            return None
        first_day = period.shifted(1 - self.rules.grace_periods).start
        local = datetime.combine(first_day, time(), ZoneInfo(self.app.config.store.timezone))
        return local.astimezone(timezone.utc).isoformat(timespec="milliseconds")

    def _review_member(self, member_id: str, period: Period, grace_from: str | None, caller, dry_run: bool,
                       outcome: ReviewOutcome) -> None:
        levels = self.app.levels
        held_row = MemberLevel.get_or_none(MemberLevel.member_id == member_id)  # read again inside the transaction
        held = levels.rule(held_row.level)
        spend = levels.spend_12m(member_id)
        earned = levels.earned(spend)
        if earned.min_spend >= held.min_spend:
            return
        change = {"member_id": member_id, "code": Member.get_by_id(member_id).code, "from": held.name,
                  "to": earned.name, "spend_12m": spend, "since": held_row.since}
        if grace_from is not None and held_row.since >= grace_from:
            outcome.kept.append(change)
            return
        if not dry_run:
            levels.move(member_id, held, earned, spend, caller, reason="review", ref=f"review:{period.key}")
        outcome.lowered.append(change)
