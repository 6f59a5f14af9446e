"""Marketing automation (SOP flows): members' interest without purchase, flows as data, journeys, messages."""

SQL = """
CREATE TABLE member_interest (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES member (id),
    product_id INTEGER NOT NULL,
    sku TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('cart_removed', 'price_check')),
    ref TEXT,
    on_date TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX member_interest_member ON member_interest (member_id, sku);
CREATE INDEX member_interest_date ON member_interest (on_date);

CREATE TABLE marketing_flow (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'active', 'paused')),
    trigger_kind TEXT,
    definition TEXT NOT NULL,
    created_by INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX marketing_flow_active ON marketing_flow (status, trigger_kind);

CREATE TABLE marketing_journey (
    flow_id TEXT NOT NULL REFERENCES marketing_flow (id),
    member_id TEXT NOT NULL REFERENCES member (id),
    status TEXT NOT NULL CHECK (status IN ('waiting', 'done')),
    node_id TEXT,
    due_on TEXT,
    coupon_id TEXT,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (flow_id, member_id)
);
CREATE INDEX marketing_journey_due ON marketing_journey (flow_id, status, due_on);

CREATE TABLE marketing_step (
    id TEXT PRIMARY KEY,
    flow_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT,
    at TEXT NOT NULL,
    UNIQUE (flow_id, member_id, node_id)
);

CREATE TABLE marketing_message (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES member (id),
    channel TEXT NOT NULL CHECK (channel IN ('receipt', 'kiosk')),
    text TEXT NOT NULL,
    flow_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    delivered_at TEXT,
    delivered_ref TEXT
);
CREATE INDEX marketing_message_pending ON marketing_message (member_id, channel, delivered_at)
"""
