"""Sync with HQ: what HQ sent and this store applied (by id), and the replies to HQ's commands.

The sync service's counters (the last HQ broadcast applied, the outbox acked
up to) live in store_meta under sync.*.
"""

SQL = """
CREATE TABLE sync_applied (
    id TEXT PRIMARY KEY,
    hq_seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    applied_at TEXT NOT NULL
);

CREATE TABLE sync_command (
    id TEXT PRIMARY KEY,
    command TEXT NOT NULL,
    reply TEXT NOT NULL,
    at TEXT NOT NULL
)
"""
