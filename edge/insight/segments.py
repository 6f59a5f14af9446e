"""The segment builder: criteria over the indexed profile table and tags, counted live, saved by name."""

from __future__ import annotations

import json
import uuid

import peewee

from edge import audit
from edge.db import BaseModel, utc_now
from edge.errors import Conflict, DomainError, NotFound
from edge.insight.scoring import LIFECYCLES, SEGMENT_NAMES

LIST_KEYS = ("tags_all", "tags_any", "tags_none", "segments", "lifecycles", "levels")
RANGE_KEYS = ("min_monetary", "max_monetary", "min_p_buy", "max_p_buy")


class Segment(BaseModel):
    id = peewee.TextField(primary_key=True)
    name = peewee.TextField(unique=True)
    criteria = peewee.TextField()
    created_by = peewee.IntegerField(null=True)
    created_at = peewee.TextField()
    updated_at = peewee.TextField()

    class Meta:
        table_name = "insight_segment"


def where(criteria: dict) -> tuple[str, list]:
    """SQL condition on insight_profile ``p`` and its parameters; criteria are checked first (check())."""
    clauses, params = ["1"], []

    def among(column: str, values: list) -> None:
        clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
        params.extend(values)

    tag_member = "SELECT 1 FROM insight_member_tag t WHERE t.member_id = p.member_id AND t.tag_id = ?"
    for tag in criteria.get("tags_all") or []:
        clauses.append(f"EXISTS ({tag_member})")
        params.append(tag)
    if criteria.get("tags_any"):
        tags = criteria["tags_any"]
        clauses.append("EXISTS (SELECT 1 FROM insight_member_tag t WHERE t.member_id = p.member_id AND t.tag_id IN "
                       f"({', '.join('?' for _ in tags)}))")
        params.extend(tags)
    for tag in criteria.get("tags_none") or []:
        clauses.append(f"NOT EXISTS ({tag_member})")
        params.append(tag)
    for key, column in (("segments", "p.segment"), ("lifecycles", "p.lifecycle"), ("levels", "p.level")):
        if criteria.get(key):
            among(column, criteria[key])
    for key, column, op in (("min_monetary", "p.monetary", ">="), ("max_monetary", "p.monetary", "<="),
                            ("min_p_buy", "p.p_buy_30d", ">="), ("max_p_buy", "p.p_buy_30d", "<=")):
        if criteria.get(key) is not None:
            clauses.append(f"{column} {op} ?")
            params.append(criteria[key])
    return " AND ".join(clauses), params


class SegmentsService:
    def __init__(self, app):
        self.app = app

    def check(self, criteria: dict, field: str = "criteria") -> dict:
        """Refuse unknown keys and values, naming the field; returns the criteria with empty parts dropped."""
        unknown = set(criteria) - set(LIST_KEYS) - set(RANGE_KEYS)
        if unknown:
            raise DomainError(f"unknown criteria {sorted(unknown)}", field=f"{field}.{sorted(unknown)[0]}")
        known = {"segments": SEGMENT_NAMES, "lifecycles": LIFECYCLES,
                 "levels": tuple(level.name for level in self.app.config.members.levels)}
        from edge.insight.tags import Tag
        for key in ("tags_all", "tags_any", "tags_none"):
            for index, tag in enumerate(criteria.get(key) or []):
                if Tag.get_or_none(Tag.id == tag) is None:
                    raise DomainError(f"no tag {tag}", field=f"{field}.{key}[{index}]")
        for key, allowed in known.items():
            for index, value in enumerate(criteria.get(key) or []):
                if value not in allowed:
                    raise DomainError(f"{value!r} is not one of {', '.join(allowed)}", field=f"{field}.{key}[{index}]")
        for low, high in (("min_monetary", "max_monetary"), ("min_p_buy", "max_p_buy")):
            if None not in (criteria.get(low), criteria.get(high)) and criteria[low] > criteria[high]:
                raise DomainError(f"{low} is above {high}", field=f"{field}.{low}")
        return {k: v for k, v in criteria.items() if v not in (None, [])}

    def count(self, criteria: dict) -> int:
        condition, params = where(self.check(criteria))
        return self.app.db.peewee.execute_sql(
            f"SELECT COUNT(*) FROM insight_profile p WHERE {condition}", params).fetchone()[0]

    def members(self, criteria: dict, limit: int = 50, offset: int = 0) -> list[dict]:
        condition, params = where(self.check(criteria))
        ids = [row[0] for row in self.app.db.peewee.execute_sql(
            f"SELECT p.member_id FROM insight_profile p WHERE {condition} ORDER BY p.monetary DESC, p.member_id "
            "LIMIT ? OFFSET ?", [*params, limit, offset])]
        return self.app.insight.summaries(ids)

    def members_among(self, segment_id: str, member_ids: list[str]) -> set[str]:
        """Which of these members a saved segment holds now (its criteria over the profiles): one query."""
        condition, params = where(json.loads(self.get(segment_id).criteria))
        return {row[0] for row in self.app.db.peewee.execute_sql(
            f"SELECT p.member_id FROM insight_profile p WHERE {condition} "
            "AND p.member_id IN (SELECT value FROM json_each(?))", [*params, json.dumps(member_ids)])}

    def _checked(self, name: str, criteria: dict) -> tuple[str, dict]:
        """The name and criteria as save() and update() store them, or a refusal naming the field."""
        name = name.strip()
        if not name:
            raise DomainError("a segment needs a name", field="name")
        return name, self.check(criteria)

    @staticmethod
    def _refuse_taken(name: str, besides: str | None = None) -> None:
        taken = Segment.select().where(Segment.name == name)
        if besides is not None:
            taken = taken.where(Segment.id != besides)
        if taken.exists():
            raise Conflict(f"segment {name!r} exists already", field="name", code="segment_exists")

    def save(self, caller, *, name: str, criteria: dict) -> Segment:
        name, criteria = self._checked(name, criteria)
        with self.app.db.transaction():
            self._refuse_taken(name)
            now = utc_now()
            segment = Segment.create(id=str(uuid.uuid4()), name=name, criteria=json.dumps(criteria, ensure_ascii=False),
                                     created_by=caller.staff_id, created_at=now, updated_at=now)
            audit.record("insight.segment_saved", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="insight", entity_id=segment.id, data={"name": name, "criteria": criteria})
        return segment

    def update(self, caller, segment_id: str, *, name: str, criteria: dict) -> Segment:
        """Rename and re-criterion a saved segment; flows using it select by the new criteria from their next run."""
        segment = self.get(segment_id)
        name, criteria = self._checked(name, criteria)
        with self.app.db.transaction():
            self._refuse_taken(name, besides=segment.id)
            before = {"name": segment.name, "criteria": json.loads(segment.criteria)}
            segment.name, segment.criteria = name, json.dumps(criteria, ensure_ascii=False)
            segment.updated_at = utc_now()
            segment.save()
            audit.record("insight.segment_updated", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="insight", entity_id=segment.id,
                         data={"before": before, "name": name, "criteria": criteria})
        return segment

    def get(self, segment_id: str) -> Segment:
        segment = Segment.get_or_none(Segment.id == segment_id)
        if segment is None:
            raise NotFound(f"no segment {segment_id}", field="segment_id")
        return segment

    def all(self) -> list[dict]:
        return [self.segment_dict(s) for s in Segment.select().order_by(Segment.name)]

    def segment_dict(self, segment: Segment) -> dict:
        criteria = json.loads(segment.criteria)
        return {"id": segment.id, "name": segment.name, "criteria": criteria, "count": self.count(criteria)}
