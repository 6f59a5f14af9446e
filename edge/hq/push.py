"""What HQ pushes down: catalog and prices from a CSV (as broadcasts), commands to one store."""

from __future__ import annotations

import csv
import io
import json
import uuid

from edge.catalog.barcodes import normalize_gtin
from edge.catalog.service import REQUIRED_COLUMNS, CatalogService
from edge.db import utc_now
from edge.errors import DomainError
from edge.hq.models import Broadcast, Command, transaction

PRODUCTS_PER_BROADCAST = 200


def push_catalog(text: str) -> dict:
    """Every good row of the CSV (the store's catalog columns) as product.upserted events; bad rows reported."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [column for column in REQUIRED_COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise DomainError(f"CSV header: missing column(s): {', '.join(missing)}", field="header")
    products, errors = [], []
    for row in reader:
        try:
            product = CatalogService.product_from_row(row)
            # checked here as the store will check them, so a bad code is reported at HQ, not in a shop's log
            product.barcodes = [normalize_gtin(code, field=f"barcodes[{n}]") for n, code in enumerate(product.barcodes)]
            products.append(product.model_dump())
        except DomainError as error:
            errors.append({"line": reader.line_num, "field": error.field, "message": error.message})
    now = utc_now()
    events = [{"id": str(uuid.uuid4()), "type": "product.upserted", "at": now, "store_id": None,
               "data": {"source": "hq", "product": product}} for product in products]
    with transaction():
        for start in range(0, len(events), PRODUCTS_PER_BROADCAST):
            Broadcast.create(events=json.dumps(events[start:start + PRODUCTS_PER_BROADCAST], ensure_ascii=False),
                             created_at=now)
    return {"products": len(products), "errors": errors}


def send_command(store_id: str, command: str, args: dict | None = None) -> str:
    command_id = str(uuid.uuid4())
    with transaction():
        Command.create(id=command_id, store_id=store_id, command=command, args=json.dumps(args or {}),
                       created_at=utc_now())
    return command_id
