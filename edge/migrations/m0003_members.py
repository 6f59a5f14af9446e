"""Members: profile, consent records, and the member named on a sale."""

SQL = """
CREATE TABLE member (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    phone TEXT UNIQUE,
    name TEXT,
    birthday TEXT,
    gender TEXT CHECK (gender IN ('female', 'male', 'other')),
    minor INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'merged', 'erased')),
    merged_into TEXT REFERENCES member (id),
    home_store TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE member_consent (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES member (id),
    notice_version TEXT NOT NULL,
    purposes TEXT NOT NULL,
    guardian_name TEXT,
    channel TEXT NOT NULL,
    store_id TEXT NOT NULL,
    device_id INTEGER,
    staff_id INTEGER,
    agreed_at TEXT NOT NULL,
    withdrawn_at TEXT
);
CREATE INDEX member_consent_member ON member_consent (member_id);

ALTER TABLE sale ADD COLUMN member_id TEXT REFERENCES member (id);
CREATE INDEX sale_member ON sale (member_id)
"""
