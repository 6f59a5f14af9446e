"""Member tags: groups, manual tags, and automatic tags whose rules are data a manager edits.

A rule reads "bought category C at least N times (tickets) in the last D days → tag". A full rebuild evaluates
every rule for every member (windows move with time, so a rule's answer changes even when a member's data does
not); an incremental refresh evaluates only the members it rebuilds, and a tag for everyone when its rules or the
products they match changed since. Set-based: the answer is computed in a temporary table first and only the
difference is written.
"""

from __future__ import annotations

import hashlib
import json
import uuid

import peewee

from edge import audit
from edge.db import BaseModel, utc_now
from edge.errors import Conflict, DomainError, NotFound
from edge.store_meta import Meta

KINDS = ("auto", "manual")
RULES_KEY = "insight.tag_rules"  # per tag, the rules (and the products they matched) of the last evaluation
ACTIVE_MEMBER = "m.status IN ('active', 'inactive')"  # members who have a profile and tags from rules
# A sale's day as YYYY-MM-DD: the till writes business_date YYYYMMDD (the receipt numbers' day); insight compares it
# with dashed dates and reads it with SQLite's date functions.
SALE_DAY = ("substr(s.business_date, 1, 4) || '-' || substr(s.business_date, 5, 2) || '-' || "
            "substr(s.business_date, 7, 2)")


class Tag(BaseModel):
    id = peewee.TextField(primary_key=True)
    name = peewee.TextField(unique=True)
    tag_group = peewee.TextField(default="")
    kind = peewee.TextField()
    created_at = peewee.TextField()

    class Meta:
        table_name = "insight_tag"


class TagRule(BaseModel):
    id = peewee.TextField(primary_key=True)
    tag_id = peewee.TextField()
    category = peewee.TextField()
    min_times = peewee.IntegerField()
    days = peewee.IntegerField()
    active = peewee.BooleanField(default=True)
    created_at = peewee.TextField()
    updated_at = peewee.TextField()

    class Meta:
        table_name = "insight_tag_rule"


class MemberTag(BaseModel):
    member_id = peewee.TextField()
    tag_id = peewee.TextField()
    source = peewee.TextField()
    at = peewee.TextField()

    class Meta:
        table_name = "insight_member_tag"
        primary_key = peewee.CompositeKey("member_id", "tag_id", "source")


class TagsService:
    def __init__(self, app):
        self.app = app

    # -- definitions -----------------------------------------------------------

    def create(self, caller, *, name: str, group: str = "", kind: str = "manual") -> Tag:
        name, group = name.strip(), group.strip()
        if not name:
            raise DomainError("a tag needs a name", field="name")
        if kind not in KINDS:
            raise DomainError(f"kind must be one of {', '.join(KINDS)}", field="kind")
        with self.app.db.transaction():
            if Tag.get_or_none(Tag.name == name) is not None:
                raise Conflict(f"tag {name!r} exists already", field="name", code="tag_exists")
            tag = Tag.create(id=str(uuid.uuid4()), name=name, tag_group=group, kind=kind, created_at=utc_now())
            self._audit(caller, "insight.tag_created", tag.id, {"name": name, "group": group, "kind": kind})
        return tag

    def get(self, tag_id: str, field: str = "tag_id") -> Tag:
        tag = Tag.get_or_none(Tag.id == tag_id)
        if tag is None:
            raise NotFound(f"no tag {tag_id}", field=field)
        return tag

    def add_rule(self, caller, tag_id: str, *, category: str, min_times: int, days: int) -> TagRule:
        self._check_rule(category=category, min_times=min_times, days=days)
        with self.app.db.transaction():
            tag = self.get(tag_id)
            if tag.kind != "auto":
                raise Conflict("rules belong to automatic tags; this one is manual", field="tag_id",
                               code="tag_manual")
            now = utc_now()
            rule = TagRule.create(id=str(uuid.uuid4()), tag_id=tag.id, category=category.strip(),
                                  min_times=min_times, days=days, active=True, created_at=now, updated_at=now)
            self._audit(caller, "insight.rule_added", rule.id,
                        {"tag": tag.name, "category": rule.category, "min_times": min_times, "days": days})
        return rule

    def change_rule(self, caller, rule_id: str, changes: dict) -> TagRule:
        with self.app.db.transaction():
            rule = TagRule.get_or_none(TagRule.id == rule_id)
            if rule is None:
                raise NotFound(f"no rule {rule_id}", field="rule_id")
            merged = {"category": rule.category, "min_times": rule.min_times, "days": rule.days,
                      **{k: v for k, v in changes.items() if k != "active" and v is not None}}
            self._check_rule(**merged)
            before = self.rule_dict(rule)
            for key, value in changes.items():
                if value is not None:
                    setattr(rule, key, value.strip() if isinstance(value, str) else value)
            rule.updated_at = utc_now()
            rule.save()
            self._audit(caller, "insight.rule_changed", rule.id, {"before": before, "after": self.rule_dict(rule)})
        return rule

    @staticmethod
    def _check_rule(*, category: str, min_times: int, days: int) -> None:
        if not category.strip():
            raise DomainError("name the category (its code or name)", field="category")
        if min_times < 1:
            raise DomainError("min_times must be at least 1", field="min_times")
        if not 1 <= days <= 3660:
            raise DomainError("days must be between 1 and 3660", field="days")

    # -- members' tags ---------------------------------------------------------------

    def tag_member(self, caller, member_id: str, tag_id: str) -> None:
        with self.app.db.transaction():
            self.app.members.find(member_id=member_id)
            tag = self.get(tag_id)
            if tag.kind != "manual":
                raise Conflict("automatic tags come from their rules", field="tag_id", code="tag_automatic")
            MemberTag.insert(member_id=member_id, tag_id=tag.id, source="manual", at=utc_now()).on_conflict_ignore(
            ).execute()
            self._audit(caller, "insight.member_tagged", member_id, {"tag": tag.name}, entity="member")

    def untag_member(self, caller, member_id: str, tag_id: str) -> None:
        with self.app.db.transaction():
            tag = self.get(tag_id)
            removed = MemberTag.delete().where((MemberTag.member_id == member_id) & (MemberTag.tag_id == tag.id)
                                               & (MemberTag.source == "manual")).execute()
            if not removed:
                raise NotFound(f"member {member_id} has no manual tag {tag.name}", field="tag_id")
            self._audit(caller, "insight.member_untagged", member_id, {"tag": tag.name}, entity="member")

    def of_member(self, member_id: str) -> list[dict]:
        rows = (Tag.select(Tag, MemberTag.source).join(MemberTag, on=(MemberTag.tag_id == Tag.id))
                .where(MemberTag.member_id == member_id).order_by(Tag.tag_group, Tag.name))
        return [{"id": t.id, "name": t.name, "group": t.tag_group, "source": t.membertag.source} for t in rows]

    def members_with(self, tag_id: str, member_ids: list[str]) -> set[str]:
        """Which of these members hold the tag (manual or automatic): one query (a marketing flow's condition)."""
        return {row[0] for row in self.app.db.peewee.execute_sql(
            "SELECT DISTINCT member_id FROM insight_member_tag WHERE tag_id = ? "
            "AND member_id IN (SELECT value FROM json_each(?))", (tag_id, json.dumps(member_ids)))}

    def forget_member(self, member_id: str) -> None:
        MemberTag.delete().where(MemberTag.member_id == member_id).execute()

    # -- evaluation of the rules --------------------------------------------------------

    def evaluate(self, as_of, scope: str | None = None) -> int:
        """Recompute automatic tags from their active rules; returns how many member tags it computed.

        ``scope``: a temporary table of the member ids a refresh rebuilds; only they are evaluated, except
        for tags whose rules (or the products those rules match) changed since the last evaluation, which are
        evaluated for every member. None: every tag for every member (the full rebuild). The answer is
        computed aside and only the difference written.
        """
        sql = self.app.db.peewee.execute_sql
        rules = list(TagRule.select().where(TagRule.active == True))  # noqa: E712 - peewee expression
        matched = {rule.id: self._products_matched(rule.category) for rule in rules}
        now_evaluated = self._fingerprints(rules, matched)
        before = json.loads(Meta.get_value(RULES_KEY) or "{}")
        everyone = {tag_id for tag_id in now_evaluated.keys() | before.keys()
                    if scope is None or now_evaluated.get(tag_id) != before.get(tag_id)}
        sql("DROP TABLE IF EXISTS temp.ins_auto_tag")
        sql("CREATE TEMP TABLE ins_auto_tag (member_id TEXT, tag_id TEXT, PRIMARY KEY (member_id, tag_id))")
        for rule in rules:
            sales = ("sale s" if rule.tag_id in everyone
                     else f"temp.{scope} o CROSS JOIN sale s ON s.member_id = o.member_id")
            sql(f"INSERT OR IGNORE INTO temp.ins_auto_tag SELECT g.member_id, ? FROM ("
                f" SELECT s.member_id FROM {sales} JOIN sale_line l ON l.sale_id = s.id "
                " JOIN product p ON p.id = l.product_id "
                f" WHERE s.status = 'completed' AND s.member_id IS NOT NULL AND {SALE_DAY} > date(?, ?) "
                f" AND {SALE_DAY} <= ? AND p.category_id IN (SELECT value FROM json_each(?)) "
                " GROUP BY s.member_id HAVING COUNT(DISTINCT s.id) >= ?"
                f") g JOIN member m ON m.id = g.member_id WHERE {ACTIVE_MEMBER}",
                (rule.tag_id, as_of.isoformat(), f"-{rule.days} days", as_of.isoformat(),
                 json.dumps(matched[rule.id][0]), rule.min_times))
        stale = "source = 'auto' AND NOT EXISTS (SELECT 1 FROM temp.ins_auto_tag a " \
                "WHERE a.member_id = insight_member_tag.member_id AND a.tag_id = insight_member_tag.tag_id)"
        with self.app.db.transaction(durable=False):
            if scope is None:
                sql(f"DELETE FROM insight_member_tag WHERE {stale}")
            else:
                for tag_id in everyone:
                    sql(f"DELETE FROM insight_member_tag WHERE tag_id = ? AND {stale}", (tag_id,))
                sql(f"DELETE FROM insight_member_tag WHERE member_id IN (SELECT member_id FROM temp.{scope}) "
                    f"AND {stale}")
            sql("INSERT OR IGNORE INTO insight_member_tag (member_id, tag_id, source, at) "
                "SELECT member_id, tag_id, 'auto', ? FROM temp.ins_auto_tag", (utc_now(),))
            Meta.put(RULES_KEY, json.dumps(now_evaluated))
        return sql("SELECT COUNT(*) FROM temp.ins_auto_tag").fetchone()[0]

    def _products_matched(self, category: str) -> tuple[list[int], str]:
        """The ids of the categories a rule names (by code or name), and a digest of the products in them."""
        sql = self.app.db.peewee.execute_sql
        categories = [row[0] for row in sql("SELECT id FROM category WHERE code = ? OR name = ? ORDER BY id",
                                            (category, category))]
        products = sql("SELECT group_concat(id) FROM (SELECT id FROM product WHERE category_id IN "
                       "(SELECT value FROM json_each(?)) ORDER BY id)", (json.dumps(categories),)).fetchone()[0]
        return categories, hashlib.sha256((products or "").encode()).hexdigest()

    @staticmethod
    def _fingerprints(rules: list[TagRule], matched: dict) -> dict[str, list]:
        """Per tag, what decides its members: each active rule's products, count and window."""
        by_tag: dict[str, list] = {}
        for rule in rules:
            by_tag.setdefault(rule.tag_id, []).append([matched[rule.id][1], rule.min_times, rule.days])
        return {tag_id: sorted(found) for tag_id, found in by_tag.items()}

    # -- answers ---------------------------------------------------------------------------

    def all(self) -> list[dict]:
        counts = dict(self.app.db.peewee.execute_sql(
            "SELECT tag_id, COUNT(DISTINCT member_id) FROM insight_member_tag GROUP BY tag_id").fetchall())
        rules: dict[str, list] = {}
        for rule in TagRule.select().order_by(TagRule.created_at):
            rules.setdefault(rule.tag_id, []).append(self.rule_dict(rule))
        return [{**self.tag_dict(tag), "members": counts.get(tag.id, 0), "rules": rules.get(tag.id, [])}
                for tag in Tag.select().order_by(Tag.tag_group, Tag.name)]

    @staticmethod
    def tag_dict(tag: Tag) -> dict:
        return {"id": tag.id, "name": tag.name, "group": tag.tag_group, "kind": tag.kind}

    @staticmethod
    def rule_dict(rule: TagRule) -> dict:
        return {"id": rule.id, "tag_id": rule.tag_id, "category": rule.category, "min_times": rule.min_times,
                "days": rule.days, "active": bool(rule.active)}

    @staticmethod
    def _audit(caller, action: str, entity_id: str, data: dict, entity: str = "insight") -> None:
        audit.record(action, staff_id=getattr(caller, "staff_id", None), device_id=getattr(caller, "device_id", None),
                     entity=entity, entity_id=entity_id, data=data)
