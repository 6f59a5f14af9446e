"""Marketing flows a member may enter again: a flow's re-entry policy, and one journey per entry.

A journey (one entry of one member into one flow) is numbered per flow and member (``entry`` 1, 2, ...); its
steps carry the number, so "no member gets the same step twice" holds within each journey. ``ended_on`` is the
store's day a journey finished: a flow with ``reentry_days`` N lets a member in again N days after it. Existing
journeys and steps become entry 1; a finished one ends on the (UTC) day it was last updated. Old columns keep
their order, new ones come last.
"""

SQL = """
ALTER TABLE marketing_flow ADD COLUMN reentry_days INTEGER CHECK (reentry_days IS NULL OR reentry_days >= 1);

CREATE TABLE marketing_journey_v18 (
    flow_id TEXT NOT NULL REFERENCES marketing_flow (id),
    member_id TEXT NOT NULL REFERENCES member (id),
    status TEXT NOT NULL CHECK (status IN ('waiting', 'done')),
    node_id TEXT,
    due_on TEXT,
    coupon_id TEXT,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    entry INTEGER NOT NULL DEFAULT 1 CHECK (entry >= 1),
    ended_on TEXT,
    PRIMARY KEY (flow_id, member_id, entry)
);
INSERT INTO marketing_journey_v18 (flow_id, member_id, status, node_id, due_on, coupon_id, started_at, updated_at,
                                   entry, ended_on)
    SELECT flow_id, member_id, status, node_id, due_on, coupon_id, started_at, updated_at, 1,
           CASE WHEN status = 'done' THEN substr(updated_at, 1, 10) END
    FROM marketing_journey;
DROP TABLE marketing_journey;
ALTER TABLE marketing_journey_v18 RENAME TO marketing_journey;
CREATE INDEX marketing_journey_due ON marketing_journey (flow_id, status, due_on);
CREATE UNIQUE INDEX marketing_journey_one_waiting ON marketing_journey (flow_id, member_id) WHERE status = 'waiting';

CREATE TABLE marketing_step_v18 (
    id TEXT PRIMARY KEY,
    flow_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT,
    at TEXT NOT NULL,
    entry INTEGER NOT NULL DEFAULT 1,
    UNIQUE (flow_id, member_id, entry, node_id)
);
INSERT INTO marketing_step_v18 (id, flow_id, member_id, node_id, outcome, detail, at, entry)
    SELECT id, flow_id, member_id, node_id, outcome, detail, at, 1 FROM marketing_step;
DROP TABLE marketing_step;
ALTER TABLE marketing_step_v18 RENAME TO marketing_step
"""
