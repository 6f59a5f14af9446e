"""The outbox as the sync service reads it: batches to publish, HQ's acks, the figures for telemetry.

Sequence numbers have no gaps (emit() assigns them under the write lock), so
"acked up to N" is one number, kept in store_meta, and the unacked events are
the ones after it: an ack writes that number and nothing in the events' rows.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from edge.db import Prepared
from edge.outbox.events import ACKED_UPTO_KEY, OutboxEvent, acked_upto
from edge.store_meta import Meta

# each event's JSON made by SQLite: data is stored as JSON text already and is spliced in, not parsed and
# written again; in C this is a third of the time the same formatting took in Python
_BATCH = ("""SELECT seq, '{"id":' || json_quote(id) || ',"seq":' || seq || ',"type":' || json_quote(type) """
          """|| ',"at":' || json_quote(at) || ',"data":' || data || '}' """
          "FROM outbox_event WHERE seq >= ? ORDER BY seq LIMIT ?")
_LAST_SEQ = "SELECT COALESCE(MAX(seq), 0) FROM outbox_event"
_AT_OF = Prepared(OutboxEvent.select(OutboxEvent.at).where(OutboxEvent.seq == Prepared.arg(0)))


class Outbox:
    def __init__(self, app, store_id: str):
        self.app = app
        self.store_id = store_id
        self._prefix = '{"store_id":' + json.dumps(store_id) + ',"events":['

    def _sql(self, sql: str, params=()):
        return self.app.db.peewee.execute_sql(sql, params)

    def acked_upto(self) -> int:
        return acked_upto()

    def last_seq(self) -> int:
        return self._sql(_LAST_SEQ).fetchone()[0]

    def batch(self, from_seq: int, limit: int) -> tuple[int, bytes] | None:
        """The next events from ``from_seq`` as one events-topic payload, and the last seq in it."""
        rows = self._sql(_BATCH, (from_seq, limit)).fetchall()
        if not rows:
            return None
        return rows[-1][0], (self._prefix + ",".join([event for _, event in rows]) + "]}").encode()

    def ack(self, upto_seq: int) -> int:
        """HQ has stored every event up to ``upto_seq``; returns the new acked-up-to (never lower)."""
        with self.app.db.transaction(durable=False):  # losing an ack only means sending again
            before = self.acked_upto()
            upto = min(upto_seq, self.last_seq())
            if upto <= before:
                return before
            Meta.put(ACKED_UPTO_KEY, str(upto))
        return upto

    def resend_from(self, seq: int) -> int:
        """Treat events from ``seq`` as unacked again (HQ lost them, say from a restored backup)."""
        with self.app.db.transaction():
            upto = max(0, min(seq - 1, self.acked_upto()))
            Meta.put(ACKED_UPTO_KEY, str(upto))
        return upto

    def figures(self) -> dict:
        acked = self.acked_upto()
        depth = self.last_seq() - acked
        oldest = _AT_OF.first(acked + 1) if depth else None
        age = None
        if oldest is not None:
            try:  # the box's clock may be wrong: informative only
                age = max(0.0, (datetime.now(timezone.utc) - datetime.fromisoformat(oldest.at)).total_seconds())
            except ValueError:
                age = None
        return {"outbox_depth": depth, "acked_upto": acked, "oldest_unacked_at": oldest.at if oldest else None,
                "oldest_unacked_age_seconds": round(age, 1) if age is not None else None}
