"""A store's event is found by its seq (the primary key), not its id: the unique index on (store_id, id) goes.

A store gives each event its id and its seq together, once, and sends
them together every time, so HQ tells a delivered-again event by its seq
and checks the id there (another id: the store reused the seq, a clash).
The index cost each stored event an insert at a random place (ids are
random uuids), the most expensive part of storing a batch once HQ holds a
few hundred thousand events.
"""

_SQL = 'DROP INDEX "store_event_store_id_id"'

SQL = {"sqlite": _SQL, "postgresql": _SQL}
