"""Scan-to-pay: payment attempts and their refunds, each a durable state machine."""

SQL = """
CREATE TABLE payment_attempt (
    id TEXT PRIMARY KEY,
    out_trade_no TEXT NOT NULL UNIQUE CHECK (length(out_trade_no) <= 32),
    sale_id TEXT NOT NULL REFERENCES sale (id),
    provider TEXT NOT NULL CHECK (provider IN ('wechat', 'alipay', 'unionpay')),
    code_hash TEXT NOT NULL,
    code_masked TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    state TEXT NOT NULL CHECK (state IN ('created', 'paying', 'paid', 'failed', 'reversing', 'reversed')),
    simulated INTEGER NOT NULL,
    transaction_id TEXT,
    reason TEXT,
    used INTEGER NOT NULL DEFAULT 0,
    device_id INTEGER NOT NULL REFERENCES device (id),
    staff_id INTEGER NOT NULL REFERENCES staff (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deadline REAL NOT NULL,
    next_at REAL NOT NULL
);
CREATE INDEX payment_attempt_sale ON payment_attempt (sale_id);
CREATE INDEX payment_attempt_state ON payment_attempt (state);
-- one payment in flight per sale, and a code pays at most once: the database refuses a second
CREATE UNIQUE INDEX payment_attempt_one_in_flight ON payment_attempt (sale_id) WHERE state IN ('created', 'paying');
CREATE UNIQUE INDEX payment_attempt_code_once ON payment_attempt (code_hash) WHERE state NOT IN ('failed');

CREATE TABLE payment_refund (
    id TEXT PRIMARY KEY,
    out_refund_no TEXT NOT NULL UNIQUE CHECK (length(out_refund_no) <= 32),
    attempt_id TEXT NOT NULL REFERENCES payment_attempt (id),
    refund_id TEXT NOT NULL REFERENCES refund (id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    state TEXT NOT NULL CHECK (state IN ('pending', 'refunded', 'failed')),
    provider_refund_id TEXT,
    reason TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    next_at REAL NOT NULL
);
CREATE INDEX payment_refund_state ON payment_refund (state)
"""
