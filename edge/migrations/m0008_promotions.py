"""Promotions: member prices, the promotion table, and each sale's applied promotions."""

SQL = """
-- a table of its own rather than a product column: a database filled at an older schema by today's
-- code (the migration tests do so) keeps working, and most products have none
CREATE TABLE product_member_price (
    product_id INTEGER PRIMARY KEY REFERENCES product (id),
    member_price INTEGER NOT NULL CHECK (member_price >= 0)
);

ALTER TABLE sale_line ADD COLUMN promo_discount INTEGER NOT NULL DEFAULT 0;

CREATE TABLE promotion (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('category_percent', 'threshold', 'buy_x_get_y')),
    percent INTEGER NOT NULL DEFAULT 0,
    threshold INTEGER NOT NULL DEFAULT 0,
    amount INTEGER NOT NULL DEFAULT 0,
    repeat INTEGER NOT NULL DEFAULT 0,
    buy_qty INTEGER NOT NULL DEFAULT 0,
    get_qty INTEGER NOT NULL DEFAULT 0,
    categories TEXT NOT NULL DEFAULT '[]',
    skus TEXT NOT NULL DEFAULT '[]',
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    weekdays TEXT NOT NULL DEFAULT '[]',
    hours_from TEXT,
    hours_to TEXT,
    member_only INTEGER NOT NULL DEFAULT 0,
    levels TEXT NOT NULL DEFAULT '[]',
    priority INTEGER NOT NULL DEFAULT 0,
    exclusive INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1,
    source TEXT NOT NULL DEFAULT 'store',
    created_by INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX promotion_active ON promotion (active, ends_at);

CREATE TABLE sale_promotion (
    sale_id TEXT NOT NULL REFERENCES sale (id),
    seq INTEGER NOT NULL,
    promotion_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    allocation TEXT NOT NULL,
    PRIMARY KEY (sale_id, seq)
)
"""
