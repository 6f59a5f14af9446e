"""What HQ pushes down: catalog and prices from a CSV, chain promotions from JSON (as broadcasts), commands to
one store."""

from __future__ import annotations

import csv
import io
import json
import uuid

from edge.catalog.barcodes import normalize_gtin
from edge.catalog.service import REQUIRED_COLUMNS, CatalogService
from edge.db import utc_now
from edge.errors import DomainError
from edge.hq.models import Command, add_broadcast, transaction

PRODUCTS_PER_BROADCAST = 200


PRICE_COLUMNS = ("sku", "price")


def push_catalog(text: str) -> dict:
    """The CSV's good rows for every store; bad rows reported by line.

    With the store catalog's columns (sku, name, price, …) each row is a
    product.upserted; with only sku and price, a price.changed.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [column.strip() for column in reader.fieldnames or []]
    prices_only = sorted(header) == sorted(PRICE_COLUMNS)
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing and not prices_only:
        raise DomainError(f"CSV header: missing column(s): {', '.join(missing)} (or give only sku,price)",
                          field="header")
    reader.fieldnames = header
    changes, errors = [], []
    for row in reader:
        try:
            changes.append(_price(row) if prices_only else {"source": "hq", "product": _product(row)})
        except DomainError as error:
            errors.append({"line": reader.line_num, "field": error.field, "message": error.message})
    now = utc_now()
    kind = "price.changed" if prices_only else "product.upserted"
    events = [{"id": str(uuid.uuid4()), "type": kind, "at": now, "store_id": None, "data": data} for data in changes]
    with transaction():
        for start in range(0, len(events), PRODUCTS_PER_BROADCAST):
            add_broadcast(events[start:start + PRODUCTS_PER_BROADCAST], now)
    return {"products": len(changes), "errors": errors}


def _product(row: dict) -> dict:
    product = CatalogService.product_from_row(row)
    # checked here as the store will check them, so a bad code is reported at HQ, not in a shop's log
    product.barcodes = [normalize_gtin(code, field=f"barcodes[{n}]") for n, code in enumerate(product.barcodes)]
    return product.model_dump()


def _price(row: dict) -> dict:
    sku, price = (row.get("sku") or "").strip(), (row.get("price") or "").strip()
    if not sku:
        raise DomainError("sku is empty", field="sku")
    if not price.isdigit():
        raise DomainError(f"price must be a whole number of fen, got {price!r}", field="price")
    return {"sku": sku, "price": int(price)}


PROMOTION_REQUIRED = ("id", "name", "kind", "starts_at", "ends_at")


def push_promotions(text: str) -> dict:
    """A JSON list of promotions (as POST /promotions takes them, each with its chain-wide id) for every store.

    HQ checks what it can without a store's config (the fields every promotion needs); each store checks the
    rest as its own promotions are checked, and logs one it refuses.
    """
    try:
        items = json.loads(text)
    except ValueError as error:
        raise DomainError(f"not JSON: {error}", field="file") from None
    if not isinstance(items, list):
        raise DomainError("give a JSON list of promotions", field="file")
    good, errors = [], []
    for index, item in enumerate(items):
        missing = [name for name in PROMOTION_REQUIRED if not (isinstance(item, dict) and item.get(name))]
        if missing:
            errors.append({"index": index, "field": missing[0], "message": f"{missing[0]} is missing"})
        else:
            good.append(item)
    now = utc_now()
    events = [{"id": str(uuid.uuid4()), "type": "promotion.changed", "at": now, "store_id": None,
               "data": {"change": "hq", "promotion": item}} for item in good]
    if events:
        with transaction():
            add_broadcast(events, now)
    return {"promotions": len(good), "errors": errors}


def send_command(store_id: str, command: str, args: dict | None = None) -> str:
    command_id = str(uuid.uuid4())
    with transaction():
        Command.create(id=command_id, store_id=store_id, command=command, args=json.dumps(args or {}),
                       created_at=utc_now())
    return command_id
