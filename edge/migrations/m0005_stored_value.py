"""Stored value (储值): the member ledger of principal and bonus, its balance cache, top-ups, payment PINs."""

SQL = """
CREATE TABLE stored_value_entry (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES member (id),
    account TEXT NOT NULL CHECK (account IN ('principal', 'bonus')),
    amount INTEGER NOT NULL CHECK (amount != 0),
    kind TEXT NOT NULL CHECK (kind IN ('topup', 'spend', 'refund', 'adjust', 'payout')),
    ref TEXT,
    store_id TEXT NOT NULL,
    device_id INTEGER,
    staff_id INTEGER,
    at TEXT NOT NULL
);
CREATE INDEX stored_value_entry_member ON stored_value_entry (member_id);
CREATE INDEX stored_value_entry_ref ON stored_value_entry (ref);

CREATE TABLE stored_value_balance (
    member_id TEXT PRIMARY KEY REFERENCES member (id),
    principal INTEGER NOT NULL,
    bonus INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE stored_value_topup (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES member (id),
    shift_id TEXT NOT NULL REFERENCES shift (id),
    device_id INTEGER NOT NULL REFERENCES device (id),
    staff_id INTEGER NOT NULL REFERENCES staff (id),
    method TEXT NOT NULL CHECK (method IN ('cash', 'card', 'external')),
    amount INTEGER NOT NULL CHECK (amount > 0),
    bonus INTEGER NOT NULL CHECK (bonus >= 0),
    reference TEXT,
    at TEXT NOT NULL
);
CREATE INDEX stored_value_topup_shift ON stored_value_topup (shift_id);

CREATE TABLE stored_value_payout (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES member (id),
    shift_id TEXT NOT NULL REFERENCES shift (id),
    device_id INTEGER NOT NULL REFERENCES device (id),
    staff_id INTEGER NOT NULL REFERENCES staff (id),
    approved_by INTEGER NOT NULL REFERENCES staff (id),
    principal INTEGER NOT NULL CHECK (principal >= 0),
    bonus_forfeited INTEGER NOT NULL CHECK (bonus_forfeited >= 0),
    reason TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX stored_value_payout_shift ON stored_value_payout (shift_id);

CREATE TABLE member_payment_pin (
    member_id TEXT PRIMARY KEY REFERENCES member (id),
    pin_hash TEXT NOT NULL,
    set_at TEXT NOT NULL
)
"""
