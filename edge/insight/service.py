"""Customer insight (客户画像): member profiles, tags, segments, predictions and the churn-warning list."""

from __future__ import annotations

import json

import peewee

from edge.db import BaseModel, Prepared
from edge.insight.refresh import LAST_KEY, Refresher
from edge.insight.scoring import LIFECYCLES, SEGMENT_NAMES
from edge.insight.segments import SegmentsService
from edge.insight.tags import TagsService
from edge.members.identity import mask_name, mask_phone
from edge.store_meta import Meta


class DirtyMember(BaseModel):
    member_id = peewee.TextField(primary_key=True)
    marks = peewee.IntegerField(default=1)

    class Meta:
        table_name = "insight_dirty"


class Profile(BaseModel):
    member_id = peewee.TextField(primary_key=True)
    level = peewee.TextField(null=True)
    tickets = peewee.IntegerField()
    visits = peewee.IntegerField()
    first_visit = peewee.TextField(null=True)
    last_visit = peewee.TextField(null=True)
    monetary = peewee.IntegerField()
    avg_basket = peewee.IntegerField()
    usual_interval = peewee.FloatField(null=True)
    recency_days = peewee.IntegerField(null=True)
    r_score = peewee.IntegerField(null=True)
    f_score = peewee.IntegerField(null=True)
    m_score = peewee.IntegerField(null=True)
    segment = peewee.TextField(null=True)
    lifecycle = peewee.TextField()
    favourite_categories = peewee.TextField()
    preferred_tender = peewee.TextField(null=True)
    weekday_tickets = peewee.IntegerField()
    weekend_tickets = peewee.IntegerField()
    hours = peewee.TextField()
    top_hour = peewee.IntegerField(null=True)
    p_alive = peewee.FloatField(null=True)
    p_buy_30d = peewee.FloatField(null=True)
    expected_30d = peewee.FloatField(null=True)
    next_purchase = peewee.TextField(null=True)
    as_of = peewee.TextField()
    refreshed_at = peewee.TextField()

    class Meta:
        table_name = "insight_profile"


# on the checkout path (every member sale): one statement, written once
_MARK_DIRTY = Prepared(DirtyMember.insert(member_id=Prepared.arg(0), marks=1).on_conflict(
    conflict_target=[DirtyMember.member_id], update={DirtyMember.marks: DirtyMember.marks + 1}))


class InsightService:
    def __init__(self, app):
        self.app = app
        self.tags = TagsService(app)
        self.segments = SegmentsService(app)
        app.sales.completion_listeners.append(self._on_sale_completed)
        app.refunds.refund_listeners.append(self._on_refund)
        app.members.merge_listeners.append(self._on_merge)
        app.members.erase_listeners.append(self._on_erase)

    # -- keeping track of what changed --------------------------------------------

    def mark(self, member_id: str) -> None:
        _MARK_DIRTY.execute(member_id)

    def _on_sale_completed(self, sale, lines, caller) -> None:
        if sale.member_id:
            self.mark(sale.member_id)

    def _on_refund(self, refund, sale, refund_lines, caller) -> None:
        if sale.member_id:
            self.mark(sale.member_id)

    def _on_merge(self, keep, duplicate, caller) -> None:
        self.mark(keep.id)
        self.mark(duplicate.id)

    def _on_erase(self, member, caller) -> None:
        """A profile is personal data derived from purchases: it goes with the member's personal data (the
        status change queues the member; the next refresh finds nobody to profile and forgets them)."""
        Profile.delete().where(Profile.member_id == member.id).execute()
        self.tags.forget_member(member.id)

    # -- refreshing ----------------------------------------------------------------------

    def refresh(self, *, full: bool = False, refit: bool = True, as_of=None) -> dict:
        """Rebuild the profiles of changed members (or, full, of all members, refitting the model)."""
        return Refresher(self.app).run(full=full, refit=refit, as_of=as_of)

    def status(self) -> dict:
        last = Meta.get_value(LAST_KEY)
        return {"last_refresh": json.loads(last) if last else None,
                "queued": DirtyMember.select().count(), "profiles": Profile.select().count(),
                "model": Refresher(self.app).model(),
                # what the segment builder offers
                "levels": [level.name for level in self.app.config.members.levels],
                "segments": list(SEGMENT_NAMES), "lifecycles": list(LIFECYCLES)}

    # -- answers ----------------------------------------------------------------------------

    def profile(self, member_id: str) -> dict:
        """GET /members/{id}/profile: the member (masked), their profile and their tags."""
        member = self.app.members.find(member_id=member_id)
        row = Profile.get_or_none(Profile.member_id == member.id)
        answer = {"member_id": member.id, "member": self.app.members.as_dict(member),
                  "tags": self.tags.of_member(member.id), "computed": row is not None}
        if row is not None:
            answer.update(self.profile_dict(row))
        return answer

    @staticmethod
    def profile_dict(row: Profile) -> dict:
        return {
            "as_of": row.as_of, "refreshed_at": row.refreshed_at,
            "rfm": {"recency_days": row.recency_days, "frequency": row.visits, "monetary": row.monetary,
                    "r": row.r_score, "f": row.f_score, "m": row.m_score, "segment": row.segment},
            "lifecycle": row.lifecycle, "usual_interval_days": row.usual_interval,
            "tickets": row.tickets, "first_visit": row.first_visit, "last_visit": row.last_visit,
            "average_basket": row.avg_basket, "favourite_categories": json.loads(row.favourite_categories),
            "preferred_tender": row.preferred_tender,
            "time_slots": {"weekday": row.weekday_tickets, "weekend": row.weekend_tickets,
                           "hours": {int(h): n for h, n in json.loads(row.hours).items()}, "top_hour": row.top_hour},
            "prediction": {"p_alive": row.p_alive, "p_buy_30d": row.p_buy_30d,
                           "expected_purchases_30d": row.expected_30d, "next_purchase": row.next_purchase},
        }

    def summaries(self, member_ids: list[str]) -> list[dict]:
        """One line per member for lists (segments, churn): masked contact, level, segment, stage, spend."""
        if not member_ids:
            return []
        rows = self.app.db.peewee.execute_sql(
            "SELECT p.member_id, m.code, m.phone, m.name, p.level, p.segment, p.lifecycle, p.monetary, p.visits, "
            "p.last_visit, p.p_buy_30d, p.next_purchase FROM insight_profile p JOIN member m ON m.id = p.member_id "
            f"WHERE p.member_id IN ({', '.join('?' for _ in member_ids)})", member_ids).fetchall()
        by_id = {row[0]: row for row in rows}
        keys = ("member_id", "code", "phone_masked", "name_masked", "level", "segment", "lifecycle", "monetary",
                "visits", "last_visit", "p_buy_30d", "next_purchase")
        return [dict(zip(keys, (r[0], r[1], mask_phone(r[2]), mask_name(r[3]), *r[4:])))
                for r in (by_id[i] for i in member_ids if i in by_id)]

    def churn(self, limit: int = 100) -> list[dict]:
        """Members worth waking: at risk or sleeping, unlikely to buy in 30 days, most valuable first."""
        ids = [row[0] for row in self.app.db.peewee.execute_sql(
            "SELECT member_id FROM insight_profile WHERE lifecycle IN ('at-risk', 'sleeping') AND visits >= 2 "
            "AND p_buy_30d < ? ORDER BY monetary DESC, member_id LIMIT ?",
            (self.app.config.insight.churn_below, limit))]
        return self.summaries(ids)
