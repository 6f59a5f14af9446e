"""Who a trigger reaches today, and the facts conditions test: set-based SQL over the store's own tables.

Each trigger is one SELECT of member ids (members, sales and their lines,
the points and stored-value ledgers' balances, coupons, level history,
interest). The runner wraps it: active members only, not in the flow (or
free to enter it again), optionally one member (a flow run by an event at
the checkout).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from edge.marketing.graph import INSIGHT_CONDITIONS

# Interest and "bought A" older than this many days past the wait no longer trigger.
LOOKBACK_DAYS = 30

TRIGGER_SQL = {
    # no completed sale (or, never having bought, no registration) since the cut-off
    "inactive_days": """
        SELECT m2.id AS member_id FROM member m2 LEFT JOIN sale s ON s.member_id = m2.id AND s.status = 'completed'
        GROUP BY m2.id
        HAVING COALESCE(MAX(s.business_date), replace(substr(m2.registered_at, 1, 10), '-', '')) <= :cutoff_c""",
    # looked at a product (price check, taken off a cart) and bought none of it since
    "interest": """
        SELECT i.member_id FROM member_interest i
        WHERE i.on_date BETWEEN :since AND :cutoff AND (:sku IS NULL OR i.sku = :sku)
          AND NOT EXISTS (SELECT 1 FROM sale s JOIN sale_line l ON l.sale_id = s.id
                          WHERE s.member_id = i.member_id AND s.status = 'completed' AND l.sku = i.sku
                            AND s.business_date >= replace(i.on_date, '-', ''))""",
    "birthday": """
        SELECT id AS member_id FROM member
        WHERE substr(birthday, 6, 5) IN (SELECT value FROM json_each(:month_days))""",
    # a lot of points ends within the window and the member still holds points
    "points_expiring": """
        SELECT e.member_id FROM points_entry e JOIN points_balance b ON b.member_id = e.member_id
        WHERE e.points > 0 AND e.expires_on BETWEEN :today AND :until AND b.balance > 0""",
    "coupons_expiring": """
        SELECT c.member_id FROM coupon c JOIN coupon_definition d ON d.id = c.definition_id
        WHERE c.status = 'issued' AND c.member_id IS NOT NULL AND d.valid_to BETWEEN :today AND :until""",
    "stored_value_below": "SELECT member_id FROM stored_value_balance WHERE principal + bonus < :amount",
    "first_purchase": """
        SELECT member_id FROM sale WHERE status = 'completed' AND member_id IS NOT NULL
        GROUP BY member_id HAVING MIN(business_date) >= :since_c""",
    # an upgrade: the new level ranks above the old one in the configured order
    "level_up": """
        SELECT h.member_id FROM member_level_history h
        JOIN json_each(:ranks) f ON f.value = h.from_level JOIN json_each(:ranks) t ON t.value = h.to_level
        WHERE t.key > f.key AND h.at >= :since_at AND (:level IS NULL OR h.to_level = :level)""",
    "bought_a_not_b": """
        SELECT s.member_id FROM sale s JOIN sale_line l ON l.sale_id = s.id
        WHERE s.status = 'completed' AND s.member_id IS NOT NULL AND l.sku = :sku_a
          AND s.business_date BETWEEN :since_c AND :cutoff_c
          AND NOT EXISTS (SELECT 1 FROM sale s2 JOIN sale_line l2 ON l2.sale_id = s2.id
                          WHERE s2.member_id = s.member_id AND s2.status = 'completed' AND l2.sku = :sku_b
                            AND s2.business_date >= s.business_date)""",
    "registered": "SELECT id AS member_id FROM member WHERE registered_at >= :since_at",
}

# Out of the flow: a member with a journey still waiting, or (never re-entering: :reentry_before NULL) with any
# journey, or with one that ended after :reentry_before (the day N days ago).
_NOT_IN_FLOW = """NOT EXISTS (SELECT 1 FROM marketing_journey j WHERE j.flow_id = :flow_id AND j.member_id = m.id
                  AND (j.status = 'waiting' OR :reentry_before IS NULL OR j.ended_on > :reentry_before))"""
_ENTRANTS = """
SELECT m.id FROM member m
WHERE m.status = 'active' AND m.id IN ({trigger})
  AND """ + _NOT_IN_FLOW + """
ORDER BY m.id
"""
# One member (an event at the checkout): SQLite pushes the member into the trigger's query, which then reads
# that member's rows by index instead of every member's.
_ONE_ENTRANT = """
SELECT DISTINCT t.member_id FROM ({trigger}) t JOIN member m ON m.id = t.member_id
WHERE t.member_id = :member_id AND m.status = 'active'
  AND """ + _NOT_IN_FLOW

FACTS_SQL = """
SELECT m.id, m.code, m.phone, COALESCE(ml.level, :lowest),
       (SELECT COALESCE(SUM(s.total), 0) FROM sale s WHERE s.member_id = m.id AND s.status = 'completed')
     - (SELECT COALESCE(SUM(r.total), 0) FROM refund r JOIN sale s ON s.id = r.sale_id WHERE s.member_id = m.id),
       COALESCE(pb.balance, 0), COALESCE(sv.principal + sv.bonus, 0),
       (SELECT COUNT(*) FROM sale s WHERE s.member_id = m.id AND s.status = 'completed')
FROM member m
LEFT JOIN member_level ml ON ml.member_id = m.id
LEFT JOIN points_balance pb ON pb.member_id = m.id
LEFT JOIN stored_value_balance sv ON sv.member_id = m.id
WHERE m.id IN (SELECT value FROM json_each(:ids))
"""
FACT_NAMES = ("level", "total_spend", "points", "stored_value", "visits")


def trigger_params(kind: str, params: dict, today: date, level_names: list[str], zone: str) -> dict:
    """The named parameters of a trigger's SQL for this day (``zone``: the store's time zone)."""
    days = params.get("days", 0)
    cutoff = today - timedelta(days=days)
    values = {"today": today.isoformat(), "until": (today + timedelta(days=days)).isoformat(),
              "cutoff": cutoff.isoformat(), "since": cutoff.isoformat()}
    if kind in ("interest", "bought_a_not_b"):
        values["since"] = (cutoff - timedelta(days=LOOKBACK_DAYS)).isoformat()
    if kind == "birthday":
        values["month_days"] = json.dumps([(today + timedelta(days=n)).strftime("%m-%d") for n in range(days + 1)])
    if kind == "level_up":
        values["ranks"] = json.dumps(level_names)
    # timestamps are UTC: the store's day starts at its local midnight, 16:00 UTC the day before in Shanghai
    local_midnight = datetime.combine(date.fromisoformat(values["since"]), time(), ZoneInfo(zone))
    values["since_at"] = local_midnight.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    # a sale's business date is written YYYYMMDD (it names the receipt numbers' day)
    values["since_c"], values["cutoff_c"] = values["since"].replace("-", ""), values["cutoff"].replace("-", "")
    # sqlite3 reads only the names a statement uses
    return {**values, **{name: params.get(name) for name in ("sku", "sku_a", "sku_b", "amount", "level")}}


def entrants(db, flow_id: str, kind: str, params: dict, today: date, level_names: list[str], zone: str,
             member_id: str | None = None, reentry_days: int | None = None) -> list[str]:
    """Active members the trigger reaches today who are not in this flow: never entered it, or (``reentry_days``)
    their last journey in it ended that many days ago or more."""
    sql = (_ENTRANTS if member_id is None else _ONE_ENTRANT).format(trigger=TRIGGER_SQL[kind])
    before = None if reentry_days is None else (today - timedelta(days=reentry_days)).isoformat()
    values = {**trigger_params(kind, params, today, level_names, zone), "flow_id": flow_id, "member_id": member_id,
              "reentry_before": before}
    return [row[0] for row in db.execute_sql(sql, values)]


def facts(db, member_ids: list[str], lowest_level: str) -> dict[str, dict]:
    """Per member: code, phone, and what conditions test (level, total spend, points, stored value, visits)."""
    found = {}
    for row in db.execute_sql(FACTS_SQL, {"ids": json.dumps(member_ids), "lowest": lowest_level}):
        found[row[0]] = {"code": row[1], "phone": row[2], **dict(zip(FACT_NAMES, row[3:]))}
    return found


def passes(kind: str, params: dict, member: dict) -> bool:
    """Whether a member's facts meet a condition node (tags and segments: those the runner found the member in)."""
    if kind == "level":
        return member["level"] in params["levels"]
    if kind in INSIGHT_CONDITIONS:
        key, found = INSIGHT_CONDITIONS[kind]
        return params[key] in member[found]
    value = member[kind]
    low, high = params.get("min"), params.get("max")
    return (low is None or value >= low) and (high is None or value <= high)
