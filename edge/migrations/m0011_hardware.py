"""The hardware gateway: durable print jobs and the last known state of each device."""

SQL = """
CREATE TABLE print_job (
    id TEXT PRIMARY KEY,
    printer TEXT NOT NULL,
    kind TEXT NOT NULL,
    document TEXT NOT NULL,
    ref TEXT,
    status TEXT NOT NULL CHECK (status IN ('queued', 'printing', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    done_at TEXT
);
CREATE INDEX print_job_waiting ON print_job (printer, status, created_at);
CREATE INDEX print_job_ref ON print_job (ref);

CREATE TABLE device_state (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    lane INTEGER,
    state TEXT NOT NULL CHECK (state IN ('connected', 'offline', 'paper_out', 'cover_open', 'error')),
    detail TEXT,
    updated_at TEXT NOT NULL
)
"""
