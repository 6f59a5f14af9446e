"""Store identity, staff and devices, the audit journal, the outbox, idempotency, the catalog."""

SQL = """
CREATE TABLE schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
);

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE staff (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('cashier', 'manager', 'admin')),
    pin_hash TEXT NOT NULL,
    pin_lookup TEXT NOT NULL UNIQUE,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);

CREATE TABLE device (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('terminal', 'kiosk', 'display')),
    lane INTEGER,
    token_hash TEXT UNIQUE,
    active INTEGER NOT NULL DEFAULT 1,
    paired_at TEXT NOT NULL,
    paired_by INTEGER REFERENCES staff (id)
);

CREATE TABLE pairing_request (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'claimed')),
    lane INTEGER,
    device_id INTEGER REFERENCES device (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    decided_by INTEGER REFERENCES staff (id)
);
CREATE INDEX pairing_request_code ON pairing_request (code, state);

CREATE TABLE staff_session (
    token_hash TEXT PRIMARY KEY,
    staff_id INTEGER NOT NULL REFERENCES staff (id),
    device_id INTEGER NOT NULL REFERENCES device (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE pin_throttle (
    scope TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    locked_until TEXT
);

CREATE TABLE audit_record (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    staff_id INTEGER,
    device_id INTEGER,
    entity TEXT,
    entity_id TEXT,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);

CREATE TABLE outbox_event (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    data TEXT NOT NULL,
    acked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_event_unacked ON outbox_event (acked, seq);

CREATE TABLE idempotency_record (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE TABLE category (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    parent_id INTEGER REFERENCES category (id)
);

CREATE TABLE product (
    id INTEGER PRIMARY KEY,
    sku TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    category_id INTEGER REFERENCES category (id),
    unit TEXT NOT NULL,
    sold_by TEXT NOT NULL CHECK (sold_by IN ('each', 'weight')),
    price INTEGER NOT NULL CHECK (price >= 0),
    tax_rate INTEGER NOT NULL CHECK (tax_rate BETWEEN 0 AND 10000),
    plu TEXT UNIQUE,
    active INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL
);
CREATE INDEX product_name ON product (name);

CREATE TABLE barcode (
    code TEXT PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES product (id)
);
CREATE INDEX barcode_product ON barcode (product_id)
"""
