"""Helpers for the domain tests: selling, reading the outbox and journal, and checking refusals write nothing."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest

from edge.audit.journal import AuditRecord
from edge.catalog.models import Product
from edge.outbox.events import OutboxEvent
from edge.staff.service import Caller
from tests.conftest import CASHIER_PIN, MANAGER_PIN

MANAGER_APPROVAL = {"pin": MANAGER_PIN}
CASHIER_APPROVAL = {"pin": CASHIER_PIN}

# A refused PIN is counted even though its request writes nothing else.
PIN_FAILURE_TABLES = ("pin_throttle", "audit_record", "meta")


def row_counts(store, ignore: tuple[str, ...] = ()) -> dict[str, int]:
    """Rows in every table of the store's database."""
    tables = [name for (name,) in store.db.peewee.execute_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {t: store.db.peewee.execute_sql(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
            for t in tables if t not in ignore}


@contextmanager
def nothing_written(store, ignore: tuple[str, ...] = ()):
    """The block must leave every table (but those ignored) with the rows it had."""
    before = row_counts(store, ignore)
    yield
    assert row_counts(store, ignore) == before


@contextmanager
def refused(error_class, *, field: str | None = None, code: str | None = None):
    """The block must raise error_class naming this field (and code)."""
    with pytest.raises(error_class) as caught:
        yield caught
    if field is not None:
        assert caught.value.field == field, caught.value.message
    if code is not None:
        assert caught.value.code == code, caught.value.message


def events(event_type: str | None = None) -> list[dict]:
    """Outbox messages in sequence order, optionally of one type."""
    query = OutboxEvent.select().order_by(OutboxEvent.seq)
    if event_type:
        query = query.where(OutboxEvent.type == event_type)
    return [event.as_message() for event in query]


def audit_records(action: str | None = None) -> list[dict]:
    """Audit journal records in sequence order (data decoded), optionally of one action."""
    query = AuditRecord.select().order_by(AuditRecord.seq)
    if action:
        query = query.where(AuditRecord.action == action)
    return [{**record.__data__, "data": json.loads(record.data)} for record in query]


def product(sku: str) -> Product:
    return Product.get(Product.sku == sku)


def open_sale_with(store, caller: Caller, items: list[tuple[str, int]], salesperson_id: int | None = None):
    """An open sale with one scanned line per (barcode, qty)."""
    sale = store.sales.open(caller, salesperson_id=salesperson_id)
    for barcode, qty in items:
        store.sales.add_line(sale.id, caller, barcode=barcode, qty=qty)
    return store.sales.get(sale.id)


def sell(store, caller: Caller, items: list[tuple[str, int]], payments: list[dict] | None = None):
    """A completed sale of the items, paid exactly in cash unless payments are given."""
    sale = open_sale_with(store, caller, items)
    return store.sales.complete(sale.id, caller, payments or [{"method": "cash", "amount": sale.total}])
