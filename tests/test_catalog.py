"""Catalog rules without HTTP: products and barcodes, GTIN check digits, scale labels, categories,
search and the CSV import (bad rows reported by line, never half a row)."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from pydantic import ValidationError

from edge.audit.journal import AuditRecord
from edge.catalog.models import Barcode, Category, Product
from edge.catalog.schemas import ProductIn
from edge.config import ConfigError, parse_config
from edge.errors import Conflict, DomainError, NotFound, from_validation
from edge.outbox.events import OutboxEvent
from tests.conftest import APPLES_SKU, COLA, WATER, open_store, terminal
from tests.domain_helpers import (
    product_by_sku,
    row_counts,
    rows_written,
    scale_label,
    with_check_digit,
    with_wrong_check_digit,
)

EAN13 = with_check_digit("400638133393")
EAN8 = with_check_digit("9638507")
UPC_A = with_check_digit("03600029145")
APPLES_PLU, APPLES_PRICE = "01020", 1280  # fen per kg


def tea(**changes) -> ProductIn:
    fields = dict(sku="TEA001", name="龙井茶 250g", category="茶叶", unit="盒", price=6800, barcodes=[EAN13])
    return ProductIn(**{**fields, **changes})


def validation_error(**fields) -> DomainError:
    """The error the API and the CSV import give for a product that fails its schema."""
    with pytest.raises(ValidationError) as caught:
        ProductIn.model_validate({"sku": "TEA001", "name": "龙井茶", "price": 6800, **fields})
    return from_validation(caught.value)


# -- products and barcodes ----------------------------------------------------------------------


def test_upsert_creates_a_product_with_several_barcodes_each_finding_it(empty_store):
    product, created = empty_store.catalog.upsert(tea(barcodes=[EAN13, EAN8, UPC_A]))

    assert created
    stored = {b.code for b in Barcode.select().where(Barcode.product_id == product.id)}
    assert stored == {EAN13, EAN8, "0" + UPC_A}  # UPC-A is kept in its EAN-13 form
    for code in (EAN13, EAN8, UPC_A, "0" + UPC_A):
        assert empty_store.catalog.scan(code).product.id == product.id
    event = OutboxEvent.get(OutboxEvent.type == "product.upserted")
    assert set(json.loads(event.data)["product"]["barcodes"]) == stored
    assert AuditRecord.get(AuditRecord.action == "product.created").entity_id == str(product.id)


def test_upsert_of_a_known_sku_updates_it_and_keeps_its_barcodes(empty_store):
    first, _ = empty_store.catalog.upsert(tea())
    again, created = empty_store.catalog.upsert(tea(price=7200, name="龙井茶 新茶", barcodes=[EAN8]))

    assert not created and again.id == first.id
    assert (again.price, again.name) == (7200, "龙井茶 新茶")
    assert {b.code for b in Barcode.select().where(Barcode.product_id == first.id)} == {EAN13, EAN8}
    update = AuditRecord.get(AuditRecord.action == "product.updated")
    assert json.loads(update.data)["before"] == {"price": 6800, "active": True}


@pytest.mark.parametrize("fields, field, words", [
    ({"sku": "tea 001"}, "sku", "pattern"),
    ({"name": "   "}, "name", "blank"),
    ({"price": -1}, "price", "greater than or equal to 0"),
    ({"price": 10**10 + 1}, "price", "less than or equal to"),
    ({"price": "68.00"}, "price", "integer"),
    ({"tax_rate": 10_001}, "tax_rate", "less than or equal to"),
    ({"sold_by": "volume"}, "sold_by", "'each' or 'weight'"),
    ({"plu": "12"}, "plu", "pattern"),
    ({"colour": "green"}, "colour", "unknown field"),
])
def test_product_schema_errors_name_the_field(fields, field, words):
    error = validation_error(**fields)
    assert error.field == field
    assert words in error.message


@pytest.mark.parametrize("code", [EAN13, EAN8, UPC_A], ids=["EAN-13", "EAN-8", "UPC-A"])
def test_valid_check_digits_are_accepted(empty_store, code):
    product, _ = empty_store.catalog.upsert(tea(barcodes=[code]))
    assert empty_store.catalog.scan(code).product.id == product.id


@pytest.mark.parametrize("code", [
    with_wrong_check_digit("400638133393"), with_wrong_check_digit("9638507"), with_wrong_check_digit("03600029145"),
], ids=["EAN-13", "EAN-8", "UPC-A"])
def test_a_wrong_check_digit_is_refused_naming_the_barcode_and_nothing_is_written(empty_store, code):
    before = row_counts(empty_store)
    with pytest.raises(DomainError) as caught:
        empty_store.catalog.upsert(tea(barcodes=[EAN8, code]))
    assert caught.value.field == "barcodes[1]"
    assert caught.value.message == f"barcode {code!r} has a wrong check digit"
    assert rows_written(empty_store, before) == {}


@pytest.mark.parametrize("code, reason", [
    ("12345", "must be 8, 12 or 13 digits"),
    ("690432100001X", "must be 8, 12 or 13 digits"),
    ("69043210000129", "must be 8, 12 or 13 digits"),
])
def test_a_barcode_of_the_wrong_shape_is_refused(empty_store, code, reason):
    with pytest.raises(DomainError, match=reason) as caught:
        empty_store.catalog.upsert(tea(barcodes=[code]))
    assert caught.value.field == "barcodes[0]"
    assert Product.select().count() == 0


def test_a_barcode_belongs_to_one_product_only(store):
    before = row_counts(store)
    with pytest.raises(Conflict, match="already belongs to DRK002") as caught:
        store.catalog.upsert(tea(barcodes=[EAN13, COLA]))
    assert caught.value.field == "barcodes"
    assert rows_written(store, before) == {}


def test_a_plu_belongs_to_one_product_only(store):
    with pytest.raises(Conflict, match=f"PLU {APPLES_PLU} already belongs to {APPLES_SKU}") as caught:
        store.catalog.upsert(tea(sold_by="weight", plu=APPLES_PLU, barcodes=[]))
    assert caught.value.field == "plu"
    assert product_by_sku("TEA001") is None


def test_scanning_an_unknown_barcode_says_so(store):
    unknown = with_check_digit("690432199999")
    with pytest.raises(NotFound, match=f"unknown barcode {unknown}") as caught:
        store.catalog.scan(unknown)
    assert caught.value.field == "barcode"


def test_scanning_a_mistyped_barcode_blames_the_check_digit(store):
    with pytest.raises(DomainError, match="wrong check digit") as caught:
        store.catalog.scan(WATER[:-1] + str((int(WATER[-1]) + 1) % 10))
    assert caught.value.field == "barcode"


# -- in-store variable-measure labels (prefixes 20-29) ------------------------------------------


@pytest.mark.parametrize("prefix", [str(p) for p in range(20, 30)])
def test_default_scale_label_carries_plu_and_price(store, prefix):
    label = scale_label(prefix, APPLES_PLU, 1234)

    scan = store.catalog.scan(label)

    assert scan.product.sku == APPLES_SKU
    assert (scan.label.plu, scan.label.kind, scan.label.value) == (APPLES_PLU, "price", 1234)


def test_a_price_label_sells_at_its_printed_price(store, cashier):
    sale = store.sales.open(cashier)
    line = store.sales.add_line(sale.id, cashier, barcode=scale_label("20", APPLES_PLU, 1234))
    # The printed price is the line's price; grams are derived from it for stock.
    assert (line.label_price, line.gross, line.total, line.qty) == (1234, 1234, 1234, 1234 * 1000 // APPLES_PRICE)


def test_a_scale_label_with_a_wrong_check_digit_is_refused(store):
    good = scale_label("21", APPLES_PLU, 1234)
    with pytest.raises(DomainError, match="scale label .* wrong check digit"):
        store.catalog.scan(good[:-1] + str((int(good[-1]) + 1) % 10))


def test_a_scale_label_for_an_unknown_plu_says_which(store):
    with pytest.raises(NotFound, match="no product has PLU 09999") as caught:
        store.catalog.scan(scale_label("22", "09999", 500))
    assert caught.value.field == "barcode"


CUSTOM_LAYOUT = {"checkout": {"variable_barcodes": {
    "prefixes": {"21": "weight", "28": "price"}, "plu_digits": 4, "value_digits": 6}}}


@pytest.fixture
def custom_layout_store(tmp_path):
    store = open_store(tmp_path, CUSTOM_LAYOUT)
    store.catalog.upsert(ProductIn(sku="MEAT01", name="五花肉", unit="kg", sold_by="weight", price=3000, plu="4321"))
    yield store
    store.db.close()


def test_configured_layout_reads_a_weight_label(custom_layout_store):
    store = custom_layout_store
    caller = terminal(store)
    sale = store.sales.open(caller)

    line = store.sales.add_line(sale.id, caller, barcode=scale_label("21", "4321", 755, value_digits=6))

    assert (line.qty, line.label_price) == (755, None)
    assert line.gross == 2265  # 30.00 per kg × 0.755 kg = 22.65


def test_configured_layout_reads_a_price_label(custom_layout_store):
    scan = custom_layout_store.catalog.scan(scale_label("28", "4321", 1999, value_digits=6))
    assert (scan.product.sku, scan.label.kind, scan.label.value) == ("MEAT01", "price", 1999)


def test_a_prefix_left_out_of_the_layout_is_an_ordinary_barcode(custom_layout_store):
    code = scale_label("20", "4321", 1999, value_digits=6)
    with pytest.raises(NotFound, match=f"unknown barcode {code}"):
        custom_layout_store.catalog.scan(code)


@pytest.mark.parametrize("layout, key", [
    ({"plu_digits": 5, "value_digits": 6}, "checkout.variable_barcodes"),
    ({"prefixes": {"19": "price"}}, "checkout.variable_barcodes.prefixes"),
    ({"prefixes": {"20": "volume"}}, "checkout.variable_barcodes.prefixes.20"),
])
def test_a_bad_label_layout_is_refused_naming_the_key(layout, key):
    with pytest.raises(ConfigError, match=rf"{key}\b"):
        parse_config({"checkout": {"variable_barcodes": layout}})


# -- categories and search ----------------------------------------------------------------------


def test_products_share_a_category_created_once(empty_store):
    empty_store.catalog.upsert(tea())
    empty_store.catalog.upsert(tea(sku="TEA002", name="碧螺春", barcodes=[EAN8]))
    empty_store.catalog.upsert(tea(sku="TEA003", name="散装茶", category="  ", barcodes=[]))

    assert [c.name for c in Category.select()] == ["茶叶"]
    assert empty_store.catalog.as_dict(product_by_sku("TEA002"))["category"] == "茶叶"
    assert empty_store.catalog.as_dict(product_by_sku("TEA003"))["category"] is None


def test_search_finds_by_name_part_or_sku_prefix(store):
    assert [p.sku for p in store.catalog.search("可乐")] == ["DRK002"]
    assert {p.sku for p in store.catalog.search("DRK")} == {"DRK001", "DRK002", "DRK003", "DRK004", "DRK005",
                                                               "DRK006"}
    assert len(store.catalog.search("DRK", limit=2)) == 2


def test_search_leaves_out_inactive_products(store):
    cola = product_by_sku("DRK002")
    store.catalog.upsert(ProductIn(sku="DRK002", name=cola.name, price=cola.price, active=False))
    assert store.catalog.search("可乐") == []


# -- CSV import ---------------------------------------------------------------------------------

HEADER = "sku,name,category,unit,sold_by,price,tax_rate,barcodes,plu,active\n"


def test_import_reports_each_bad_row_by_line_and_imports_the_good_ones(empty_store):
    text = HEADER + "\n".join([
        f"TEA001,龙井茶,茶叶,盒,each,6800,1300,{EAN13},,1",                             # line 2: good
        "TEA002,碧螺春,坏类别A,盒,each,12.50,1300,,,1",                                # line 3: price not in fen
        f"TEA003,普洱,坏类别B,饼,each,9900,1300,{EAN8}|{with_wrong_check_digit('03600029145')},,1",  # 4: check digit
        f"TEA004,白茶,坏类别C,盒,each,5000,1300,{EAN13},,1",                             # line 5: EAN13 is TEA001's
        "TEA005,,坏类别D,盒,each,5000,1300,,,1",                                        # line 6: no name
        "TEA006,红茶,坏类别E,盒,each,5000,1300,,,maybe",                               # line 7: bad flag
        "TEA007,绿茶,坏类别F,盒,each,5000,1300,,,1,extra",                             # line 8: too many values
        f"TEA008,花茶,茶叶,盒,each,3000,900,{UPC_A},,1",                                # line 9: good
    ]) + "\n"

    report = empty_store.catalog.import_csv(text)

    assert (report.imported, report.updated) == (2, 0)
    assert [(e["line"], e["field"]) for e in report.errors] == [
        (3, "price"), (4, "barcodes[1]"), (5, "barcodes"), (6, "name"), (7, "active"), (8, "row")]
    assert "12.50" in report.errors[0]["message"]
    assert "wrong check digit" in report.errors[1]["message"]
    assert "TEA001" in report.errors[2]["message"]
    assert sorted(p.sku for p in Product.select()) == ["TEA001", "TEA008"]
    # Never half a row: no barcode nor category of a refused row was written.
    assert {b.code for b in Barcode.select()} == {EAN13, "0" + UPC_A}
    assert [c.name for c in Category.select()] == ["茶叶"]
    assert OutboxEvent.select().where(OutboxEvent.type == "product.upserted").count() == 2


def test_a_header_without_required_columns_is_refused_whole(empty_store):
    before = row_counts(empty_store)
    with pytest.raises(DomainError, match="missing column.*price.*unknown column.*cost") as caught:
        empty_store.catalog.import_csv("sku,name,cost\nTEA001,龙井茶,6800\n")
    assert caught.value.field == "header"
    assert rows_written(empty_store, before) == {}


def test_reimport_updates_existing_products(empty_store):
    empty_store.catalog.import_csv(HEADER + f"TEA001,龙井茶,茶叶,盒,each,6800,1300,{EAN13},,1\n"
                                            "TEA002,碧螺春,茶叶,盒,each,9800,1300,,,1\n")

    report = empty_store.catalog.import_csv(HEADER + f"TEA001,龙井茶 新茶,茶叶,盒,each,7200,1300,{EAN8},,1\n"
                                                     "TEA002,碧螺春,茶叶,盒,each,9800,1300,,,0\n")

    assert (report.imported, report.updated, report.errors) == (0, 2, [])
    tea1, tea2 = product_by_sku("TEA001"), product_by_sku("TEA002")
    assert (tea1.name, tea1.price, tea2.active) == ("龙井茶 新茶", 7200, False)
    assert {b.code for b in Barcode.select().where(Barcode.product_id == tea1.id)} == {EAN13, EAN8}
    assert Product.select().count() == 2
    assert AuditRecord.select().where(AuditRecord.action == "product.updated").count() == 2


def test_demo_catalog_imports_cleanly(empty_store):
    text = resources.files("edge.demo").joinpath("products.csv").read_text(encoding="utf-8")
    rows = len(text.strip().splitlines()) - 1

    report = empty_store.catalog.import_csv(text)

    assert (report.imported, report.updated, report.errors) == (rows, 0, [])
    apples = product_by_sku(APPLES_SKU)
    assert (apples.sold_by, apples.price, apples.plu) == ("weight", APPLES_PRICE, APPLES_PLU)
