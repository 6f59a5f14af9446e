"""Product endpoints."""

from __future__ import annotations

from pydantic import Field

from edge.api.registry import Call, Routes, Schema
from edge.catalog.schemas import ProductIn, ProductQuery
from edge.errors import DomainError

routes = Routes("catalog")


class ImportIn(Schema):
    csv: str = Field(min_length=1, max_length=900_000, description="CSV text with a header row")


@routes.get("/products", "Find products by barcode, SKU or name", query=ProductQuery, kinds=("terminal", "kiosk"),
            auth="device")
def find_products(call: Call):
    query, catalog = call.query, call.store.catalog
    if query.barcode:
        scan = catalog.scan(query.barcode)
        found = [scan.product]
    elif query.sku:
        found = [catalog.by_sku(query.sku)]
    elif query.q:
        found = catalog.search(query.q, query.limit)
    else:
        raise DomainError("give barcode, sku or q", field="q")
    return {"products": [catalog.as_dict(p) for p in found]}


class ProductListQuery(Schema):
    q: str | None = Field(None, max_length=64, description="name contains, or SKU starts with")
    include_inactive: bool = True
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0)

    model_config = {**Schema.model_config, "strict": False}


@routes.get("/products/list", "The back office's product list: all products (or a search), with stock",
            query=ProductListQuery, role="manager")
def list_products(call: Call):
    query, catalog = call.query, call.store.catalog
    products, total = catalog.listing(query.q, query.include_inactive, query.limit, query.offset)
    stocktakes = call.store.stocktakes
    return {"total": total, "products": [
        {**catalog.as_dict(p), "on_hand": call.store.inventory.on_hand(p.id),
         "reorder_point": stocktakes.reorder_point(p.id)} for p in products]}


@routes.get("/products/{product_id:int}", "One product", auth="device", kinds=("terminal", "kiosk"))
def get_product(call: Call, product_id: int):
    return call.store.catalog.as_dict(call.store.catalog.get(product_id))


@routes.post("/products", "Create or update a product by SKU", body=ProductIn, role="manager", status=201)
def upsert_product(call: Call):
    product, _ = call.store.catalog.upsert(call.body, staff_id=call.caller.staff_id,
                                           device_id=call.caller.device_id)
    return call.store.catalog.as_dict(product)


@routes.post("/products/import", "Import products from CSV; bad rows are reported by line", body=ImportIn,
             role="manager")
def import_products(call: Call):
    return call.store.catalog.import_csv(call.body.csv, staff_id=call.caller.staff_id).as_dict()
