"""Coupons (优惠券): definitions, and the coupons issued from them."""

SQL = """
CREATE TABLE coupon_definition (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('amount', 'percent', 'threshold')),
    value INTEGER NOT NULL CHECK (value > 0),
    threshold INTEGER NOT NULL DEFAULT 0 CHECK (threshold >= 0),
    category TEXT,
    valid_from TEXT NOT NULL,
    valid_to TEXT NOT NULL,
    created_by INTEGER,
    created_at TEXT NOT NULL
);

CREATE TABLE coupon (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    definition_id TEXT NOT NULL REFERENCES coupon_definition (id),
    member_id TEXT REFERENCES member (id),
    status TEXT NOT NULL CHECK (status IN ('issued', 'redeemed')),
    store_id TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    sale_id TEXT REFERENCES sale (id),
    redeemed_at TEXT
);
CREATE INDEX coupon_member ON coupon (member_id, status)
"""
