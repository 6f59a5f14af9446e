"""A store's batch parsed as json.loads parses it, keeping each event's data also as the JSON text it came in.

HQ stores that text as it is instead of writing the parsed data back out
(json.dumps of every event cost as much as parsing the batch). The walk over
the envelope and the events is ours, every value in them is parsed by the
standard decoder; a batch the walk does not follow (a key with escapes, say)
is parsed by json.loads and its data written out again, so what is accepted
is exactly JSON and gives exactly json.loads's result.
"""

from __future__ import annotations

import json
import re

_decoder = json.JSONDecoder()
_KEY = re.compile(r'[ \t\n\r]*"([^"\\]*)"[ \t\n\r]*:[ \t\n\r]*')  # a member's plain key and the colon
_AFTER = re.compile(r"[ \t\n\r]*([,}\]])")  # what follows a value


class _Unusual(Exception):
    """Something the walk leaves to json.loads."""


def _object(text: str, i: int, on_value) -> tuple[dict, int]:
    """The object at ``i`` ("{" already checked) and the index after it; ``on_value(key, start, end)``."""
    found = {}
    while True:
        key = _KEY.match(text, i + 1)
        if key is None:
            raise _Unusual
        start = key.end()
        found[key[1]], end = _decoder.raw_decode(text, start)
        on_value(key[1], start, end)
        after = _AFTER.match(text, end)
        if after is None or after[1] == "]":
            raise _Unusual
        i = after.end() - 1
        if after[1] == "}":
            return found, after.end()


def _walk(text: str) -> tuple[dict, list[str]]:
    texts: list[str] = []
    data = [None, None]  # where the event being walked has its data (the last one, as json.loads keeps)

    def event_value(key: str, start: int, end: int) -> None:
        if key == "data":
            data[:] = [start, end]

    if not text.startswith('{"store_id":'):
        raise _Unusual
    store_id, i = _decoder.raw_decode(text, 12)
    if not text.startswith(',"events":[', i):
        raise _Unusual
    i += 11
    events = []
    while text.startswith("{", i):
        data[:] = [None, None]
        event, i = _object(text, i, event_value)
        if data[0] is None:
            raise _Unusual
        events.append(event)
        texts.append(text[data[0]:data[1]])
        if text.startswith(",", i):
            i += 1
    if not text.startswith("]}", i) or i + 2 != len(text) or (events and text[i - 1] == ","):
        raise _Unusual
    return {"store_id": store_id, "events": events}, texts


def parse_batch(payload: bytes | str) -> tuple[dict, list[str]]:
    """The batch as a dict, and the data of each of its events as JSON text, in order."""
    text = payload.decode() if isinstance(payload, bytes) else payload
    try:
        return _walk(text)
    except (_Unusual, ValueError):
        message = json.loads(text)  # the standard parser: its result, or its error
    events = message.get("events") if isinstance(message, dict) else None
    if not isinstance(events, list) or not all(isinstance(event, dict) and "data" in event for event in events):
        raise ValueError('a batch is {"store_id", "events": [{…, "data"}, …]}')
    return message, [json.dumps(event["data"], ensure_ascii=False) for event in events]
