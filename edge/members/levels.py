"""Member levels (普通 / 银卡 / 金卡 / 钻石): earned by rolling 12-month spend, with a kept history.

A member with no level row holds the lowest configured level. The sale that
crosses a threshold upgrades the member inside its own transaction (a
completion listener), with the member.updated event, the audit record and a
history row. Spend is what completed sales paid in the last 365 days, less
what was refunded on them. A refund does not downgrade: the period-end review
does (edge/members/level_review.py), lowering a member whose spend no longer
reaches the level held to the level it earns.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import peewee

from edge import audit
from edge.config import LevelRule
from edge.db import BaseModel, Prepared, utc_now
from edge.outbox.events import emit

ROLLING_DAYS = 365

_SPEND_SQL = """
SELECT (SELECT COALESCE(SUM(total), 0) FROM sale
        WHERE member_id = ?1 AND status = 'completed' AND completed_at >= ?2)
     - (SELECT COALESCE(SUM(refund.total), 0) FROM refund JOIN sale ON sale.id = refund.sale_id
        WHERE sale.member_id = ?1 AND sale.status = 'completed' AND sale.completed_at >= ?2)
"""


class MemberLevel(BaseModel):
    member_id = peewee.TextField(primary_key=True)
    level = peewee.TextField()
    since = peewee.TextField()


class MemberLevelHistory(BaseModel):
    id = peewee.TextField(primary_key=True)
    member_id = peewee.TextField()
    from_level = peewee.TextField()
    to_level = peewee.TextField()
    spend_12m = peewee.IntegerField()
    reason = peewee.TextField()
    ref = peewee.TextField(null=True)
    at = peewee.TextField()


# read on every member sale (earning and upgrading): written once (see Prepared)
_LEVEL_OF_MEMBER = Prepared(MemberLevel.select().where(MemberLevel.member_id == Prepared.arg(0)))


class LevelsService:
    def __init__(self, app):
        self.app = app
        self.levels: list[LevelRule] = list(app.config.members.levels)
        app.sales.completion_listeners.append(self._on_sale_completed)

    # -- reading --------------------------------------------------------------

    def rule(self, name: str | None) -> LevelRule:
        """The configured level of this name; a level since removed from the config counts as the lowest."""
        return next((level for level in self.levels if level.name == name), self.levels[0])

    def level_of(self, member_id: str) -> LevelRule:
        held = _LEVEL_OF_MEMBER.first(member_id)
        return self.rule(held.level if held else None)

    def spend_12m(self, member_id: str, now: datetime | None = None) -> int:
        since = ((now or datetime.now(timezone.utc)) - timedelta(days=ROLLING_DAYS)).isoformat(timespec="milliseconds")
        return self.app.db.peewee.execute_sql(_SPEND_SQL, (member_id, since)).fetchone()[0]

    def earned(self, spend: int) -> LevelRule:
        return [level for level in self.levels if level.min_spend <= spend][-1]

    def progress(self, member_id: str) -> dict:
        """What the cashier tells the member: level, spend, and how far to the next level."""
        level, spend = self.level_of(member_id), self.spend_12m(member_id)
        higher = [l for l in self.levels if l.min_spend > level.min_spend and l.min_spend > spend]
        following = higher[0] if higher else None
        return {"level": level.name, "discount_percent": level.discount_percent,
                "points_multiplier": level.points_multiplier, "spend_12m": spend,
                "next_level": following.name if following else None,
                "to_next_level": following.min_spend - spend if following else None}

    def history(self, member_id: str) -> list[dict]:
        rows = MemberLevelHistory.select().where(MemberLevelHistory.member_id == member_id).order_by(
            peewee.SQL("rowid"))
        return [{"from": r.from_level, "to": r.to_level, "spend_12m": r.spend_12m, "reason": r.reason,
                 "ref": r.ref, "at": r.at} for r in rows]

    # -- upgrades -------------------------------------------------------------

    def upgrade(self, member_id: str, caller, *, reason: str, ref: str | None = None) -> tuple[str, dict | None]:
        """Raise the member to the level their spend has earned; never lowers it. Call inside a transaction.

        Returns the level the member now holds, and the change (None when there was none)."""
        spend = self.spend_12m(member_id)
        held, earned = self.level_of(member_id), self.earned(spend)
        if earned.min_spend <= held.min_spend:
            return held.name, None
        return earned.name, self.move(member_id, held, earned, spend, caller, reason=reason, ref=ref)

    def move(self, member_id: str, held: LevelRule, to: LevelRule, spend: int, caller, *, reason: str,
             ref: str | None) -> dict:
        """Set the member's level, with its history row, member.updated event and audit record (in a transaction)."""
        now = utc_now()
        MemberLevel.insert(member_id=member_id, level=to.name, since=now).on_conflict(
            conflict_target=[MemberLevel.member_id],
            update={MemberLevel.level: to.name, MemberLevel.since: now}).execute()
        MemberLevelHistory.create(id=str(uuid.uuid4()), member_id=member_id, from_level=held.name,
                                  to_level=to.name, spend_12m=spend, reason=reason, ref=ref, at=now)
        change = {"from": held.name, "to": to.name, "spend_12m": spend}
        emit("member.updated", {"id": member_id, "change": "level", "level": to.name, **change,
                                "reason": reason, "ref": ref})
        audit.record("member.level_changed", staff_id=getattr(caller, "staff_id", None),
                     device_id=getattr(caller, "device_id", None), entity="member", entity_id=member_id,
                     data={**change, "reason": reason, "ref": ref})
        return change

    def _on_sale_completed(self, sale, lines, caller) -> dict | None:
        if sale.member_id is None:
            return None
        level, change = self.upgrade(sale.member_id, caller, reason="sale", ref=sale.id)
        return {"member_level": {"level": level, "upgraded": change}}
