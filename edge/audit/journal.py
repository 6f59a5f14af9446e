"""Append-only audit journal.

Each record carries the hash of the previous one and a gap-free sequence, so
an edited, inserted or deleted record breaks the chain. The head (last seq and
hash) is also kept in ``meta`` so that cutting records off the end shows too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import peewee

from edge.db import BaseModel, Prepared, RowInsert, utc_now
from edge.store_meta import Meta

GENESIS = "0" * 64
HEAD_KEY = "audit_head"


class AuditRecord(BaseModel):
    seq = peewee.IntegerField(primary_key=True)
    at = peewee.TextField()
    action = peewee.TextField()
    staff_id = peewee.IntegerField(null=True)
    device_id = peewee.IntegerField(null=True)
    entity = peewee.TextField(null=True)
    entity_id = peewee.TextField(null=True)
    data = peewee.TextField()
    prev_hash = peewee.TextField()
    hash = peewee.TextField(unique=True)


_LAST_RECORD = Prepared(AuditRecord.select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1))
_INSERT_RECORD = RowInsert(AuditRecord)


def _digest(seq, at, action, staff_id, device_id, entity, entity_id, data, prev_hash) -> str:
    canonical = json.dumps(
        [seq, at, action, staff_id, device_id, entity, entity_id, data, prev_hash],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record(
    action: str,
    *,
    staff_id: int | None = None,
    device_id: int | None = None,
    entity: str | None = None,
    entity_id: str | int | None = None,
    data: dict | None = None,
) -> AuditRecord:
    """Append one record; call inside the business fact's transaction."""
    last = _LAST_RECORD.first()
    seq = (last.seq + 1) if last else 1
    prev_hash = last.hash if last else GENESIS
    at = utc_now()
    entity_id = None if entity_id is None else str(entity_id)
    payload = json.dumps(data or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    digest = _digest(seq, at, action, staff_id, device_id, entity, entity_id, payload, prev_hash)
    row = AuditRecord(
        seq=seq, at=at, action=action, staff_id=staff_id, device_id=device_id,
        entity=entity, entity_id=entity_id, data=payload, prev_hash=prev_hash, hash=digest,
    )
    _INSERT_RECORD.rows([row])
    Meta.put(HEAD_KEY, f"{seq}:{digest}")
    return row


@dataclass
class VerifyResult:
    records: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify() -> VerifyResult:
    """Walk the whole chain and report every break, naming the sequence number."""
    problems: list[str] = []
    expected_seq = 1
    prev_hash = GENESIS
    count = 0
    query = AuditRecord.select().order_by(AuditRecord.seq).tuples().iterator()
    for seq, at, action, staff_id, device_id, entity, entity_id, data, stored_prev, stored_hash in query:
        count += 1
        if seq != expected_seq:
            problems.append(f"seq {seq}: expected seq {expected_seq} (records missing or inserted)")
        if stored_prev != prev_hash:
            problems.append(f"seq {seq}: does not link to the previous record's hash")
        digest = _digest(seq, at, action, staff_id, device_id, entity, entity_id, data, stored_prev)
        if digest != stored_hash:
            problems.append(f"seq {seq}: content does not match its hash (record edited)")
        expected_seq = seq + 1
        prev_hash = stored_hash
    head = Meta.get_value(HEAD_KEY)
    if head is None:
        if count:
            problems.append("journal head is missing from meta")
    else:
        head_seq, head_hash = head.split(":", 1)
        if int(head_seq) != expected_seq - 1 or head_hash != prev_hash:
            problems.append(
                f"journal ends at seq {expected_seq - 1} but its head says seq {head_seq} "
                "(records cut off the end, or the head was edited)"
            )
    return VerifyResult(records=count, problems=problems)
