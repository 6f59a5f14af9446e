"""Points (积分) and member levels: the append-only points ledger, its cached balance, levels and their history."""

SQL = """
CREATE TABLE points_entry (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES member (id),
    points INTEGER NOT NULL CHECK (points != 0),
    kind TEXT NOT NULL CHECK (kind IN ('accrual', 'redemption', 'expiry', 'refund', 'adjust')),
    ref TEXT,
    reason TEXT,
    store_id TEXT NOT NULL,
    expires_on TEXT,
    detail TEXT,
    at TEXT NOT NULL
);
CREATE INDEX points_entry_member ON points_entry (member_id);
CREATE INDEX points_entry_ref ON points_entry (ref);
CREATE INDEX points_entry_expires ON points_entry (expires_on) WHERE points > 0;

CREATE TABLE points_balance (
    member_id TEXT PRIMARY KEY REFERENCES member (id),
    balance INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE member_level (
    member_id TEXT PRIMARY KEY REFERENCES member (id),
    level TEXT NOT NULL,
    since TEXT NOT NULL
);

CREATE TABLE member_level_history (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES member (id),
    from_level TEXT NOT NULL,
    to_level TEXT NOT NULL,
    spend_12m INTEGER NOT NULL,
    reason TEXT NOT NULL,
    ref TEXT,
    at TEXT NOT NULL
);
CREATE INDEX member_level_history_member ON member_level_history (member_id)
"""
