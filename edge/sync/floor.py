"""The offline floor limit (脱机限额) on stored value funded at other stores.

A store's view of value paid in elsewhere is only as fresh as its last word
from HQ: the member may have spent it at another store since. So while the
store has not heard from HQ for ``sync.offline_after_seconds``, a member's
spends at this store since then may draw at most
``sync.offline_floor_limit`` fen from value funded at other stores; value
paid in at this store is spent freely. Value is drawn oldest first, as HQ's
settlement draws it. The time of the last word from HQ is the sync
service's (``meta`` key ``sync.hq_heard_at``), a wall-clock time: a clock
that jumps only makes the store stricter or more lenient for a while.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta, timezone

import peewee

from edge.errors import Conflict
from edge.members.stored_value_models import StoredValueEntry
from edge.money import yuan
from edge.store_meta import Meta

HEARD_AT_KEY = "sync.hq_heard_at"


def draw(lots: deque, amount: int, store_id: str) -> int:
    """Take ``amount`` from the oldest lots ([store, left]); returns how much came from other stores' lots."""
    elsewhere = 0
    while amount and lots:
        lot = lots[0]
        used = min(amount, lot[1])
        if lot[0] != store_id:
            elsewhere += used
        lot[1] -= used
        amount -= used
        if not lot[1]:
            lots.popleft()
    return elsewhere


class OfflineFloorLimit:
    """The stored-value ledger with the floor limit checked before each spend; everything else passes through."""

    def __init__(self, app, ledger, now=lambda: datetime.now(timezone.utc)):
        self.now = now
        self.app = app
        self.ledger = ledger
        self.store_id = app.config.store.id
        self.pace = app.config.sync

    def __getattr__(self, name):
        return getattr(self.ledger, name)

    def take(self, sale, payment: dict, asked: dict, caller) -> None:
        if sale.member_id is not None:
            self.check(self.app.members.current(sale.member).id, payment["amount"],  # read by the completing sale
                       field=f"payments[{payment['asked']}].amount")
        self.ledger.take(sale, payment, asked, caller)

    def offline_since(self) -> str | None:
        """When the store stopped counting as in touch with HQ ("" when never was); None while it is."""
        heard = Meta.get_value(HEARD_AT_KEY)
        if heard is None:
            return ""
        offline_from = datetime.fromisoformat(heard) + timedelta(seconds=self.pace.offline_after_seconds)
        if self.now() < offline_from:
            return None
        return offline_from.isoformat(timespec="milliseconds")  # as the entries' "at" is written

    def check(self, member_id: str, amount: int, field: str) -> None:
        since = self.offline_since()
        if since is None:
            return
        lots, drawn_offline = deque(), 0
        entries = (StoredValueEntry.select(StoredValueEntry.store_id, StoredValueEntry.amount, StoredValueEntry.at)
                   .where(StoredValueEntry.member_id == member_id).order_by(peewee.SQL("rowid")))
        for entry in entries:
            if entry.amount > 0:
                lots.append([entry.store_id, entry.amount])
                continue
            elsewhere = draw(lots, -entry.amount, self.store_id)
            if entry.store_id == self.store_id and entry.at >= since:
                drawn_offline += elsewhere
        wanted = draw(lots, amount, self.store_id)
        limit = self.pace.offline_floor_limit
        if wanted and drawn_offline + wanted > limit:
            raise Conflict(f"HQ has not been reached lately: of stored value paid in at other stores, at most "
                           f"{yuan(limit)} may be spent here until it is; this payment would draw "
                           f"{yuan(drawn_offline + wanted)}", field=field, code="offline_floor_limit")
