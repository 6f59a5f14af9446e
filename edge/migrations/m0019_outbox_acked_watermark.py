"""The outbox keeps no per-event ``acked`` flag: "acked up to N" in store_meta (``sync.acked_upto``) says it.

Sequence numbers have no gaps, so the unacked events are the ones after that
number; the flag (written in the same transaction as the number) only cost an
UPDATE of every acked row and an index kept up on each emit. The table is
made again without the column (and its index), its events copied as they are.
"""

SQL = """
CREATE TABLE outbox_event_v19 (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    data TEXT NOT NULL
);
INSERT INTO outbox_event_v19 (seq, id, type, at, data) SELECT seq, id, type, at, data FROM outbox_event;
DROP TABLE outbox_event;
ALTER TABLE outbox_event_v19 RENAME TO outbox_event
"""
