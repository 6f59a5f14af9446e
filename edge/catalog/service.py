"""Catalog rules: product lookup by scan, search (name, SKU, pinyin initials), create or update, CSV import."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

import peewee
from pydantic import ValidationError

from edge import audit
from edge.catalog.barcodes import ScaleLabel, normalize_gtin, parse_scale_label
from edge.catalog.initials import initials
from edge.catalog.models import Barcode, Category, Product, ProductMemberPrice
from edge.catalog.schemas import ProductIn
from edge.db import Prepared, utc_now
from edge.errors import Conflict, DomainError, NotFound, from_validation
from edge.outbox.events import emit

# every member sale reads its lines' categories (points, coupons, promotions); the ids go in as one
# JSON array, so one statement serves any number of lines
_CATEGORY_NAMES = Prepared(
    Product.select(Product.id, Category.name)
    .join(Category, peewee.JOIN.LEFT_OUTER, on=(Product.category_id == Category.id))
    .where(Product.id.in_(peewee.SQL("(SELECT value FROM json_each(?))", [Prepared.arg(0)]))))


@dataclass
class Scan:
    """What a scanned code resolved to."""

    product: Product
    barcode: str
    label: ScaleLabel | None = None


@dataclass
class ImportReport:
    imported: int = 0
    updated: int = 0
    errors: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"imported": self.imported, "updated": self.updated, "errors": self.errors}


_PRODUCT_BY_BARCODE = Prepared(
    Product.select().join(Barcode, on=(Barcode.product_id == Product.id)).where(Barcode.code == Prepared.arg(0))
)

CSV_COLUMNS = ("sku", "name", "category", "unit", "sold_by", "price", "member_price", "tax_rate", "barcodes", "plu",
               "active")
REQUIRED_COLUMNS = ("sku", "name", "price")


class CatalogService:
    def __init__(self, app):
        self.app = app

    # -- reading --------------------------------------------------------------

    def as_dict(self, product: Product) -> dict:
        category = Category.get_or_none(Category.id == product.category_id) if product.category_id else None
        codes = [b.code for b in Barcode.select(Barcode.code).where(Barcode.product_id == product.id)]
        member_price = ProductMemberPrice.get_or_none(ProductMemberPrice.product_id == product.id)
        return {
            "id": product.id, "sku": product.sku, "name": product.name,
            "category": category.name if category else None, "unit": product.unit,
            "sold_by": product.sold_by, "price": product.price,
            "member_price": member_price.member_price if member_price else None, "tax_rate": product.tax_rate,
            "barcodes": codes, "plu": product.plu, "active": product.active,
        }

    def get(self, product_id: int) -> Product:
        product = Product.get_or_none(Product.id == product_id)
        if product is None:
            raise NotFound(f"no product {product_id}", field="product_id")
        return product

    def by_sku(self, sku: str, field: str = "sku") -> Product:
        product = Product.get_or_none(Product.sku == sku)
        if product is None:
            raise NotFound(f"no product with SKU {sku!r}", field=field)
        return product

    @staticmethod
    def category_names(product_ids: set[int]) -> dict[int, str | None]:
        """Each product's category name (None when it has none)."""
        return dict(_CATEGORY_NAMES.execute(json.dumps(sorted(product_ids))).fetchall())

    def scan(self, code: str) -> Scan:
        """Resolve a scanned code: a scale label by PLU, else a product barcode."""
        code = (code or "").strip()
        label = parse_scale_label(code, self.app.config.checkout.variable_barcodes)
        if label is not None:
            product = Product.get_or_none(Product.plu == label.plu)
            if product is None:
                raise NotFound(f"scale label {code}: no product has PLU {label.plu}", field="barcode")
            return Scan(product=product, barcode=code, label=label)
        canonical = normalize_gtin(code)
        product = _PRODUCT_BY_BARCODE.first(canonical)
        if product is None:
            raise NotFound(f"unknown barcode {code}", field="barcode")
        return Scan(product=product, barcode=canonical)

    def search(self, text: str, limit: int = 20) -> list[Product]:
        """Active products whose name holds the text, whose SKU starts with it, or whose name's pinyin
        initials start with it (kkkl → 可口可乐: the stored, indexed initials)."""
        text = text.strip()
        found = (Product.name ** f"%{text}%") | Product.sku.startswith(text)
        if text.isascii() and text.isalnum():
            found |= Product.initials.startswith(text.lower())
        return list(Product.select().where(Product.active & found).order_by(Product.name).limit(limit))

    @staticmethod
    def listing(text: str | None, include_inactive: bool, limit: int, offset: int) -> tuple[list[Product], int]:
        """A page of products by SKU (a search by name, SKU start or barcode if text), and how many match in all."""
        query = Product.select()
        if text and text.strip():
            text = text.strip()
            by_barcode = Barcode.select(Barcode.product_id).where(Barcode.code == text)
            query = query.where((Product.name ** f"%{text}%") | Product.sku.startswith(text)
                                | Product.id.in_(by_barcode))
        if not include_inactive:
            query = query.where(Product.active)
        return list(query.order_by(Product.sku).limit(limit).offset(offset)), query.count()

    # -- writing --------------------------------------------------------------

    def upsert(self, data: ProductIn, *, staff_id: int | None = None, device_id: int | None = None,
               source: str = "api") -> tuple[Product, bool]:
        """Create or update a product by SKU, with its barcodes; returns (product, created)."""
        codes = [normalize_gtin(code, field=f"barcodes[{i}]") for i, code in enumerate(data.barcodes)]
        with self.app.db.transaction():
            product = Product.get_or_none(Product.sku == data.sku)
            created = product is None
            owners = {b.code: b.product_id for b in Barcode.select().where(Barcode.code.in_(codes))} if codes else {}
            for code, owner in owners.items():
                if product is None or owner != product.id:
                    other = Product.get_by_id(owner)
                    raise Conflict(f"barcode {code} already belongs to {other.sku} {other.name}", field="barcodes")
            if data.plu:
                holder = Product.get_or_none((Product.plu == data.plu) & (Product.sku != data.sku))
                if holder is not None:
                    raise Conflict(f"PLU {data.plu} already belongs to {holder.sku} {holder.name}", field="plu")
            values = dict(
                name=data.name, category_id=self._category_id(data.category), unit=data.unit,
                sold_by=data.sold_by, price=data.price, tax_rate=data.tax_rate, plu=data.plu,
                active=data.active, updated_at=utc_now(), initials=initials(data.name),
            )
            if created:
                product = Product.create(sku=data.sku, **values)
                before = None
            else:
                before = {"price": product.price, "active": product.active}
                Product.update(**values).where(Product.id == product.id).execute()
                product = Product.get_by_id(product.id)
            if "member_price" in data.model_fields_set:  # omitted keeps the member price, null clears it
                self._set_member_price(product.id, data.member_price)
            if codes:
                Barcode.insert_many([{"code": c, "product_id": product.id} for c in codes]).on_conflict_ignore().execute()
            snapshot = self.as_dict(product)
            emit("product.upserted", {"source": source, "product": snapshot})
            audit.record("product.created" if created else "product.updated", staff_id=staff_id,
                         device_id=device_id, entity="product", entity_id=product.id,
                         data={"sku": product.sku, "price": product.price, "member_price": data.member_price,
                               "before": before})
        return product, created

    @staticmethod
    def _set_member_price(product_id: int, member_price: int | None) -> None:
        if member_price is None:
            ProductMemberPrice.delete().where(ProductMemberPrice.product_id == product_id).execute()
        else:
            ProductMemberPrice.insert(product_id=product_id, member_price=member_price).on_conflict_replace().execute()

    @staticmethod
    def _category_id(name: str | None) -> int | None:
        if not name or not name.strip():
            return None
        name = name.strip()
        category, _ = Category.get_or_create(code=name, defaults={"name": name})
        return category.id

    # -- CSV import -----------------------------------------------------------

    def import_csv(self, text: str, *, staff_id: int | None = None) -> ImportReport:
        """Import rows; each bad row is reported by line and skipped whole."""
        report = ImportReport()
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        unknown = [c for c in header if c not in CSV_COLUMNS]
        if missing or unknown:
            problems = []
            if missing:
                problems.append(f"missing column(s): {', '.join(missing)}")
            if unknown:
                problems.append(f"unknown column(s): {', '.join(unknown)}")
            raise DomainError("CSV header: " + "; ".join(problems) + f" (columns: {', '.join(CSV_COLUMNS)})",
                              field="header")
        reader.fieldnames = header
        # One transaction for the file, a savepoint per row: a bad row leaves nothing behind.
        with self.app.db.transaction():
            for row in reader:
                line = reader.line_num
                try:
                    data = self.product_from_row(row)
                    with self.app.db.savepoint():
                        _, created = self.upsert(data, staff_id=staff_id, source="csv")
                except DomainError as error:
                    report.errors.append({"line": line, "field": error.field, "message": error.message})
                    continue
                if created:
                    report.imported += 1
                else:
                    report.updated += 1
        return report

    @staticmethod
    def product_from_row(row: dict) -> ProductIn:
        if None in row:
            raise DomainError("more values than columns", field="row")
        values = {k: (v or "").strip() for k, v in row.items() if k}
        data: dict = {k: v for k, v in values.items() if v != ""}
        data["barcodes"] = [c.strip() for c in values.get("barcodes", "").split("|") if c.strip()]
        if "active" in data:
            flag = data["active"].lower()
            if flag not in ("1", "0", "true", "false", "yes", "no"):
                raise DomainError("active must be 1/0, true/false or yes/no", field="active")
            data["active"] = flag in ("1", "true", "yes")
        for column in ("price", "member_price", "tax_rate"):
            if column in data:
                if not data[column].lstrip("-").isdigit():
                    raise DomainError(f"{column} must be a whole number of "
                                      f"{'basis points' if column == 'tax_rate' else 'fen'}, got {data[column]!r}",
                                      field=column)
                data[column] = int(data[column])
        try:
            return ProductIn.model_validate(data)
        except ValidationError as error:
            raise from_validation(error, "row") from None
