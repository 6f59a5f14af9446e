"""The level review's record of periods reviewed, and gifts for points (积分兑换) with their redemptions."""

SQL = """
CREATE TABLE level_review (
    period TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('month', 'quarter', 'year')),
    reviewed_on TEXT NOT NULL,
    members INTEGER NOT NULL,
    lowered INTEGER NOT NULL,
    kept INTEGER NOT NULL,
    at TEXT NOT NULL
);

CREATE TABLE gift (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    points INTEGER NOT NULL CHECK (points > 0),
    product_id INTEGER REFERENCES product (id),
    active INTEGER NOT NULL DEFAULT 1,
    stock_limit INTEGER CHECK (stock_limit IS NULL OR stock_limit >= 0),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE gift_redemption (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    gift_id TEXT NOT NULL REFERENCES gift (id),
    member_id TEXT NOT NULL REFERENCES member (id),
    qty INTEGER NOT NULL CHECK (qty > 0),
    points INTEGER NOT NULL CHECK (points > 0),
    status TEXT NOT NULL CHECK (status IN ('pending', 'collected', 'cancelled')),
    store_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by INTEGER REFERENCES staff (id),
    closed_at TEXT,
    closed_by INTEGER REFERENCES staff (id),
    cancel_reason TEXT
);
CREATE INDEX gift_redemption_gift ON gift_redemption (gift_id, status);
CREATE INDEX gift_redemption_member ON gift_redemption (member_id)
"""
