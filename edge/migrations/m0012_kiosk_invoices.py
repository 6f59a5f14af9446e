"""The self-service kiosk's member PINs and short-lived member sessions, and e-invoice requests (发票申请)."""

SQL = """
CREATE TABLE kiosk_member_pin (
    member_id TEXT PRIMARY KEY REFERENCES member (id),
    pin_hash TEXT NOT NULL,
    set_at TEXT NOT NULL
);

CREATE TABLE kiosk_session (
    token_hash TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES member (id),
    device_id INTEGER NOT NULL REFERENCES device (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ended_at TEXT
);
CREATE INDEX kiosk_session_member ON kiosk_session (member_id);

CREATE TABLE invoice_request (
    id TEXT PRIMARY KEY,
    sale_id TEXT NOT NULL REFERENCES sale (id),
    receipt_no TEXT NOT NULL,
    amount INTEGER NOT NULL,
    buyer TEXT NOT NULL CHECK (buyer IN ('company', 'personal')),
    title TEXT NOT NULL,
    taxpayer_id TEXT,
    email TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('kiosk', 'pos')),
    device_id INTEGER,
    status TEXT NOT NULL CHECK (status IN ('requested', 'processing', 'issued', 'rejected')),
    reason TEXT,
    invoice_no TEXT,
    requested_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX invoice_request_sale ON invoice_request (sale_id, requested_at);
"""
