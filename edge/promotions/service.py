"""Promotions: the manager's table of them, and pricing every cart change with the engine.

A promotion keeps a stable string id (HQ will push rows by it) and an
`updated_at`. Every change is one transaction with its audit record and the
`promotion.changed` event, and bumps a version number in the store's meta
table; the cart reads that number once per reprice and reloads the active
promotions only when it moved, so a change made by another process is seen at
the next scan.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from edge import audit
from edge.db import Prepared, RowInsert, utc_now
from edge.errors import DomainError, NotFound
from edge.money import MAX_AMOUNT
from edge.outbox.events import emit
from edge.promotions import engine
from edge.promotions.models import Promotion, SalePromotion
from edge.store_meta import Meta

VERSION_KEY = "promotions.version"
MAX_SCOPE = 200  # categories or SKUs one promotion names
_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_HOURS = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
# the fields each kind takes; the others must stay at their defaults
_KIND_FIELDS = {"category_percent": {"percent"}, "threshold": {"threshold", "amount", "repeat"},
                "buy_x_get_y": {"buy_qty", "get_qty", "percent"}}
_KIND_DEFAULTS = {"percent": 0, "threshold": 0, "amount": 0, "repeat": False, "buy_qty": 0, "get_qty": 0}
DEFAULTS = {**_KIND_DEFAULTS, "categories": [], "skus": [], "weekdays": [], "hours_from": None, "hours_to": None,
            "member_only": False, "levels": [], "priority": 0, "exclusive": False, "active": True}
FIELDS = ("name", "kind", "starts_at", "ends_at", *DEFAULTS)
_LISTS = ("categories", "skus", "weekdays", "levels")

_VERSION = Prepared(Meta.select().where(Meta.key == Prepared.arg(0)))
_BUMP_SQL = ("INSERT INTO meta (key, value) VALUES (?, '1') "
             "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1")
_APPLIED_OF_SALE = Prepared(SalePromotion.select().where(SalePromotion.sale_id == Prepared.arg(0))
                            .order_by(SalePromotion.seq))
_INSERT_APPLIED = RowInsert(SalePromotion)
_DELETE_APPLIED_SQL = "DELETE FROM sale_promotion WHERE sale_id = ?"
# each cart product's category and member price, the ids passed as one JSON array
_PRODUCT_FACTS_SQL = ("SELECT p.id, c.name, m.member_price FROM product p "
                      "LEFT JOIN category c ON c.id = p.category_id "
                      "LEFT JOIN product_member_price m ON m.product_id = p.id "
                      "WHERE p.id IN (SELECT value FROM json_each(?))")


class PromotionsService:
    def __init__(self, app):
        self.app = app
        self.zone = ZoneInfo(app.config.store.timezone)
        self.level_names = [level.name for level in app.config.members.levels]
        self._cached: tuple[str | None, list[engine.Promotion]] = ("unread", [])
        # Told (no arguments) inside the transaction of every change, HQ's too: the customer displays follow.
        self.change_listeners: list = []
        app.sales.promotions = self

    def now(self) -> datetime:
        """The store-local moment promotions are judged at (naive, like their windows)."""
        return datetime.now(self.zone).replace(tzinfo=None)

    # -- reading --------------------------------------------------------------

    def get(self, promotion_id: str) -> Promotion:
        found = Promotion.get_or_none(Promotion.id == promotion_id)
        if found is None:
            raise NotFound(f"no promotion {promotion_id}", field="promotion_id")
        return found

    def list(self, include_inactive: bool = False) -> list[Promotion]:
        query = Promotion.select().order_by(Promotion.priority.desc(), Promotion.id)
        return list(query if include_inactive else query.where(Promotion.active))

    @staticmethod
    def as_dict(p: Promotion) -> dict:
        answer = {name: getattr(p, name) for name in ("id", *FIELDS, "source", "created_at", "updated_at")}
        for name in _LISTS:
            answer[name] = json.loads(answer[name])
        answer["label"] = engine.label_of(_spec(p))
        return answer

    def active(self) -> list[engine.Promotion]:
        """The active promotions, reloaded only when the version in the meta table moved."""
        row = _VERSION.first(VERSION_KEY)
        version = row.value if row else None
        cached_version, specs = self._cached
        if version != cached_version:
            specs = [_spec(p) for p in Promotion.select().where(Promotion.active)]
            self._cached = (version, specs)
        return specs

    # -- writing --------------------------------------------------------------

    def create(self, caller, values: dict) -> Promotion:
        promotion_id = values.pop("id", None) or f"P-{uuid.uuid4()}"
        if not _ID.match(promotion_id):
            raise DomainError("id: 1 to 64 letters, digits or . _ : -", field="id")
        unknown = set(values) - set(FIELDS)
        if unknown:
            raise DomainError(f"unknown field {sorted(unknown)[0]}", field=sorted(unknown)[0])
        clean = self._validated({**DEFAULTS, **values})
        with self.app.db.transaction():
            if Promotion.select().where(Promotion.id == promotion_id).exists():
                raise DomainError(f"promotion {promotion_id} already exists", field="id", code="duplicate")
            now = utc_now()
            promotion = Promotion.create(id=promotion_id, created_by=caller.staff_id, created_at=now,
                                         updated_at=now, **clean)
            self._changed(caller, promotion, "created")
        return promotion

    def update(self, caller, promotion_id: str, changes: dict) -> Promotion:
        unknown = set(changes) - set(FIELDS)
        if unknown:
            raise DomainError(f"unknown field {sorted(unknown)[0]}", field=sorted(unknown)[0])
        with self.app.db.transaction():
            promotion = self.get(promotion_id)
            current = self.as_dict(promotion)
            clean = self._validated({**{k: current[k] for k in FIELDS}, **changes})
            for name, value in clean.items():
                setattr(promotion, name, value)
            promotion.updated_at = utc_now()
            promotion.save()
            self._changed(caller, promotion, "updated", before={k: current[k] for k in changes})
        return promotion

    def apply_from_hq(self, snapshot: dict) -> Promotion:
        """A chain-wide promotion HQ sent, created or replaced as HQ has it (source hq). Call inside the
        broadcast's transaction; no outbox event, since HQ has it already. A bad one raises DomainError."""
        promotion_id = snapshot.get("id") or ""
        if not _ID.match(promotion_id):
            raise DomainError("id: 1 to 64 letters, digits or . _ : -", field="id")
        clean = self._validated({**DEFAULTS, **{k: snapshot[k] for k in FIELDS if k in snapshot}})
        now = utc_now()
        Promotion.insert(id=promotion_id, source="hq", created_by=None, created_at=now, updated_at=now,
                         **clean).on_conflict(conflict_target=[Promotion.id],
                                              update={**clean, "source": "hq", "updated_at": now}).execute()
        self.app.db.peewee.execute_sql(_BUMP_SQL, (VERSION_KEY,))
        self._tell_listeners()
        audit.record("promotion.applied", entity="promotion", entity_id=promotion_id,
                     data={"promotion": {"id": promotion_id, **clean}, "source": "hq"})
        return self.get(promotion_id)

    def deactivate(self, caller, promotion_id: str) -> Promotion:
        return self.update(caller, promotion_id, {"active": False})

    def _changed(self, caller, promotion: Promotion, change: str, before: dict | None = None) -> None:
        snapshot = self.as_dict(promotion)
        if change == "updated" and before == {"active": True} and not promotion.active:
            change = "deactivated"
        self.app.db.peewee.execute_sql(_BUMP_SQL, (VERSION_KEY,))
        self._tell_listeners()
        emit("promotion.changed", {"change": change, "promotion": snapshot, "store_id": self.app.config.store.id})
        audit.record(f"promotion.{change}", staff_id=caller.staff_id, device_id=caller.device_id,
                     entity="promotion", entity_id=promotion.id,
                     data={"promotion": snapshot, "before": before})

    def _tell_listeners(self) -> None:
        for listener in self.change_listeners:
            listener()

    def _validated(self, v: dict) -> dict:
        """Check a whole promotion; returns the column values. Errors name the field."""
        def fail(field: str, message: str):
            raise DomainError(f"{field}: {message}", field=field)

        if not isinstance(v["name"], str) or not v["name"].strip() or len(v["name"]) > 60:
            fail("name", "1 to 60 characters, not blank")
        if v["kind"] not in _KIND_FIELDS:
            fail("kind", f"one of {', '.join(_KIND_FIELDS)}")
        for name, default in _KIND_DEFAULTS.items():
            if name not in _KIND_FIELDS[v["kind"]] and v[name] != default:
                fail(name, f"a {v['kind']} promotion does not take {name}")
        for name in ("percent", "threshold", "amount", "buy_qty", "get_qty", "priority"):
            if not isinstance(v[name], int) or isinstance(v[name], bool):
                fail(name, "must be a whole number")
        for name in ("repeat", "member_only", "exclusive", "active"):
            if not isinstance(v[name], bool):
                fail(name, "must be true or false")
        kind = v["kind"]
        if kind == "category_percent" and not 1 <= v["percent"] <= 99:
            fail("percent", "a category discount takes 1 to 99 percent off")
        if kind == "threshold":
            if not 1 <= v["threshold"] <= MAX_AMOUNT:
                fail("threshold", "满X: X must be a positive amount in fen")
            if not 1 <= v["amount"] < v["threshold"]:
                fail("amount", "减Y: Y must be positive and less than the threshold")
        if kind == "buy_x_get_y":
            if v["percent"] == 0:
                v["percent"] = 100  # the "get" units are free unless a percent off is given
            if not 1 <= v["buy_qty"] <= 100:
                fail("buy_qty", "from 1 to 100")
            if not 1 <= v["get_qty"] <= 100:
                fail("get_qty", "from 1 to 100")
            if not 1 <= v["percent"] <= 100:
                fail("percent", "the percent off the free units: 1 to 100 (100 = free)")
        if not -1000 <= v["priority"] <= 1000:
            fail("priority", "from -1000 to 1000")
        for name in _LISTS:
            if not isinstance(v[name], list) or len(v[name]) > MAX_SCOPE:
                fail(name, f"a list of at most {MAX_SCOPE}")
        for name in ("categories", "skus"):
            if any(not isinstance(x, str) or not x.strip() or len(x) > 64 for x in v[name]):
                fail(name, "each one a non-blank name of at most 64 characters")
        if kind != "threshold" and not v["categories"] and not v["skus"]:
            fail("categories", f"a {kind} promotion needs categories or skus")
        if any(not isinstance(d, int) or isinstance(d, bool) or not 1 <= d <= 7 for d in v["weekdays"]):
            fail("weekdays", "ISO weekdays, 1 = Monday to 7 = Sunday")
        unknown_levels = [level for level in v["levels"] if level not in self.level_names]
        if unknown_levels:
            fail("levels", f"no member level {unknown_levels[0]!r} (levels: {', '.join(self.level_names)})")
        starts, ends = _moment(v["starts_at"], "starts_at"), _moment(v["ends_at"], "ends_at")
        if ends <= starts:
            fail("ends_at", "must be after starts_at")
        hours = (v["hours_from"], v["hours_to"])
        if (hours[0] is None) != (hours[1] is None):
            fail("hours_to" if hours[1] is None else "hours_from", "give both hours_from and hours_to, or neither")
        for name, value in zip(("hours_from", "hours_to"), hours):
            if value is not None and (not isinstance(value, str) or not _HOURS.match(value)):
                fail(name, "a store-local time HH:MM")
        if hours[0] is not None and hours[0] == hours[1]:
            fail("hours_to", "must differ from hours_from")
        clean = {k: v[k] for k in FIELDS}
        clean["name"] = v["name"].strip()
        clean["starts_at"], clean["ends_at"] = starts.isoformat(timespec="minutes"), ends.isoformat(timespec="minutes")
        for name in _LISTS:
            clean[name] = json.dumps(sorted(set(v[name])), ensure_ascii=False)
        return clean

    # -- the cart -------------------------------------------------------------

    def price(self, sale, lines, grosses: list[int]) -> tuple[dict[str, int], list[engine.Applied]]:
        """Each line's promotion discount and the explained discounts, for the sale's member and now."""
        specs = self.active()
        member = None
        if sale.member_id is not None:
            level = self.app.levels.level_of(sale.member_id)
            member = engine.MemberContext(level.name, level.discount_percent)
        if not lines or (not specs and member is None):
            return {}, []
        ids = sorted({line.product_id for line in lines})
        facts = {pid: (category, member_price) for pid, category, member_price in
                 self.app.db.peewee.execute_sql(_PRODUCT_FACTS_SQL, (json.dumps(ids),))}
        cart = [engine.CartLine(
            line_id=line.id, sku=line.sku, category=facts.get(line.product_id, (None, None))[0], qty=line.qty,
            unit_price=line.unit_price, gross=gross, sold_by=line.sold_by,
            member_price=facts.get(line.product_id, (None, None))[1],
            manual=line.discount_kind is not None or line.price_override_by is not None,
        ) for line, gross in zip(lines, grosses)]
        applied = engine.price_promotions(cart, member, specs, self.now())
        return engine.per_line(applied), applied

    def record(self, sale, applied: list[engine.Applied]) -> list[dict]:
        """Rewrite the sale's applied promotions when they changed; returns them as the sale JSON shows them."""
        shown = [a.as_dict() for a in applied]
        if shown != self.applied_of(sale.id):
            self.app.db.peewee.execute_sql(_DELETE_APPLIED_SQL, (sale.id,))
            _INSERT_APPLIED.rows({"sale_id": sale.id, "seq": seq, "promotion_id": a["id"], "kind": a["kind"],
                                  "label": a["label"], "amount": a["amount"],
                                  "allocation": json.dumps(a["lines"], sort_keys=True)}
                                 for seq, a in enumerate(shown, 1))
        return shown

    @staticmethod
    def applied_of(sale_id: str) -> list[dict]:
        return [{"id": r.promotion_id, "kind": r.kind, "label": r.label, "amount": r.amount,
                 "lines": json.loads(r.allocation)} for r in _APPLIED_OF_SALE.all(sale_id)]


def _moment(value, field: str) -> datetime:
    """A store-local date-time "YYYY-MM-DDTHH:MM" (a bare date means its midnight)."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 25 else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is not None:
        raise DomainError(f"{field}: a store-local date-time YYYY-MM-DDTHH:MM, without a zone", field=field)
    return moment


def _spec(p: Promotion) -> engine.Promotion:
    return engine.Promotion(
        id=p.id, name=p.name, kind=p.kind, starts_at=datetime.fromisoformat(p.starts_at),
        ends_at=datetime.fromisoformat(p.ends_at), percent=p.percent, threshold=p.threshold, amount=p.amount,
        repeat=p.repeat, buy_qty=p.buy_qty, get_qty=p.get_qty, categories=tuple(json.loads(p.categories)),
        skus=tuple(json.loads(p.skus)), weekdays=tuple(json.loads(p.weekdays)), hours_from=p.hours_from,
        hours_to=p.hours_to, member_only=p.member_only, levels=tuple(json.loads(p.levels)), priority=p.priority,
        exclusive=p.exclusive, active=p.active)
