"""Helpers for the domain tests: an independent GTIN check digit, and "what did this write?"."""

from __future__ import annotations

from edge.catalog.models import Product


def gtin_check_digit(body: str) -> str:
    """The GS1 mod-10 check digit of ``body`` (weights 3,1,3,… from the right), written out here
    so the tests do not take the code under test as their own oracle."""
    total = sum(int(digit) * (3 if position % 2 == 0 else 1) for position, digit in enumerate(reversed(body)))
    return str(-total % 10)


def with_check_digit(body: str) -> str:
    return body + gtin_check_digit(body)


def with_wrong_check_digit(body: str) -> str:
    return body + str((int(gtin_check_digit(body)) + 1) % 10)


def scale_label(prefix: str, plu: str, value: int, value_digits: int = 5) -> str:
    """An in-store EAN-13 as a scale prints it: prefix, PLU, embedded value, check digit."""
    return with_check_digit(f"{prefix}{plu}{value:0{value_digits}d}")


def row_counts(store) -> dict[str, int]:
    """Rows per table of the store database."""
    db = store.db.peewee
    tables = [name for (name,) in db.execute_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {table: db.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] for table in tables}


def rows_written(store, before: dict[str, int]) -> dict[str, int]:
    """Tables whose row count changed since ``before``, with the change."""
    after = row_counts(store)
    return {table: after[table] - before.get(table, 0) for table in after if after[table] != before.get(table, 0)}


def product_by_sku(sku: str) -> Product | None:
    return Product.get_or_none(Product.sku == sku)
