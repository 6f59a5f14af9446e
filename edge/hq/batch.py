"""A store's batch parsed by msgspec (in C) against the contract's shape, each event's data kept as the text sent.

HQ stores each event's data as it came and reads little of it: the day and
the total of a sale or a refund (by far the most events), all of it for the
member, ledger, coupon and invoice events. Parsing every event's data into
Python objects (json) was half of HQ's CPU; msgspec checks the whole batch
is JSON (RFC 8259: no NaN, no trailing comma, valid UTF-8), types the
envelope and each event's id, seq, type and at, and gives each event's data
as its raw text, from which only the fields HQ reads are decoded.
"""

from __future__ import annotations

import msgspec


class _Event(msgspec.Struct):
    id: str
    seq: int
    type: str
    at: str
    data: msgspec.Raw  # the text as sent, checked to be JSON, not parsed


class _Batch(msgspec.Struct):
    store_id: str
    events: list[_Event]


# what follow() (edge/hq/ingest.py) reads of a sale's and a refund's data: it adds them up per day
class _SaleFigures(msgspec.Struct):
    business_date: str
    total: int  # fen


class _RefundFigures(msgspec.Struct):
    at: str
    total: int  # fen


_BATCH = msgspec.json.Decoder(_Batch)
_FIGURES = {"sale.completed": msgspec.json.Decoder(_SaleFigures),
            "refund.completed": msgspec.json.Decoder(_RefundFigures)}
_DATA = msgspec.json.Decoder()  # any JSON, as json.loads gives it


def parse_batch(payload: bytes | str) -> tuple[dict, list[str]]:
    """The batch as a dict and each event's data as the JSON text it came in; a sale's or a refund's data in
    the dict holds only the fields HQ reads. Anything else than the contract's shape is a ValueError naming
    where (msgspec's errors are ValueErrors)."""
    batch = _BATCH.decode(payload)
    events, data_texts = [], []
    for event in batch.events:
        figures = _FIGURES.get(event.type)
        try:
            data = _DATA.decode(event.data) if figures is None else msgspec.structs.asdict(figures.decode(event.data))
        except msgspec.ValidationError as error:  # the JSON is checked already: a field missing or of a wrong type
            raise ValueError(f"event seq {event.seq} ({event.type}): {error}") from None
        events.append({"id": event.id, "seq": event.seq, "type": event.type, "at": event.at, "data": data})
        data_texts.append(str(event.data, "utf-8"))
    return {"store_id": batch.store_id, "events": events}, data_texts
