"""Product search by name, SKU and pinyin initials (拼音首字母): the initials are worked out when a product is
written (the API, a CSV import, the migration for products already there) and stored indexed, not per query."""

from __future__ import annotations

import pytest

from edge.app import StoreEdge
from edge.catalog.initials import initials
from edge.catalog.models import Product
from edge.config import parse_config
from edge.db import available_migrations
from tests.api_helpers import client_for
from tests.conftest import MANAGER_PIN
from tests.domain_helpers import row_counts

COLA_NAME = "可口可乐 330ml"


@pytest.mark.parametrize("name, expected", [
    ("可口可乐 330ml", "kkkl330ml"),  # letters and digits kept, the space dropped
    ("银行卡", "yhk"),  # a phrase's common reading: 行 as hang
    ("Dove德芙巧克力", "dovedfqkl"),
    ("（特价）乐事薯片", "tjlssp"),  # punctuation dropped
    ("", ""),
])
def test_initials_of_a_name(name, expected):
    assert initials(name) == expected


@pytest.fixture
def world_manager(store, flask_app):
    """The demo manager on a terminal of their own, through the API."""
    return client_for(store, flask_app, lane=2, pin=MANAGER_PIN)


def names_found(store, text: str) -> list[str]:
    return [p.name for p in store.catalog.search(text)]


@pytest.mark.parametrize("typed", ["kkkl", "KKKL", "kkk"])
def test_the_initials_find_the_product_whatever_the_case(store, typed):
    assert COLA_NAME in names_found(store, typed)


def test_every_demo_product_has_its_initials_stored(store):
    stored = {p.name: p.initials for p in Product.select(Product.name, Product.initials)}
    assert stored and all(value == initials(name) for name, value in stored.items())


def test_search_by_name_and_by_sku_prefix_still_works(store):
    cola = Product.get(Product.name == COLA_NAME)
    assert COLA_NAME in names_found(store, "可乐")
    assert cola.sku in [p.sku for p in store.catalog.search(cola.sku[:-1])]


def test_initials_are_not_matched_inside_the_name(store):
    # "kl" would match 可口可乐's kkkl only in its middle: a prefix search (the index serves prefixes)
    assert COLA_NAME not in names_found(store, "kl")


def skus_found(client, text: str) -> list[str]:
    return [p["sku"] for p in client.get(f"/products?q={text}").json["products"]]


def test_a_renamed_product_is_found_by_its_new_initials_and_an_inactive_one_not_at_all(api, world_manager):
    made = world_manager.post("/products", {"sku": "TEA01", "name": "白象汤好喝", "price": 300})
    assert made.status_code == 201
    assert skus_found(api, "bxth") == ["TEA01"]
    world_manager.post("/products", {"sku": "TEA01", "name": "今麦郎弹面", "price": 300})
    assert skus_found(api, "bxth") == [] and skus_found(api, "jmldm") == ["TEA01"]
    world_manager.post("/products", {"sku": "TEA01", "name": "今麦郎弹面", "price": 300, "active": False})
    assert skus_found(api, "jmldm") == []


def test_a_csv_import_stores_the_initials(store):
    report = store.catalog.import_csv("sku,name,price\nNEW1,旺仔牛奶,450\n")
    assert report.imported == 1
    assert Product.get(Product.sku == "NEW1").initials == "wznn"


def test_a_bad_query_is_refused_and_writes_nothing(store, api):
    before = row_counts(store)
    answer = api.get("/products?q=" + "k" * 65)
    assert answer.status_code == 422 and answer.json["error"]["field"] == "q"
    assert row_counts(store) == before


def test_the_migration_fills_in_the_initials_of_products_written_before_it(tmp_path):
    store = StoreEdge(parse_config({}), tmp_path)
    step = next(m.version for m in available_migrations() if m.name == "product_initials")
    store.db.migrate(target=step - 1)
    with store.db.transaction():
        store.db.peewee.execute_sql(
            "INSERT INTO product (sku, name, unit, sold_by, price, tax_rate, active, updated_at) "
            "VALUES ('OLD1', '农夫山泉 550ml', '瓶', 'each', 200, 1300, 1, '2026-01-05T08:00:00+00:00')")
    try:
        store.db.migrate()
        assert Product.get(Product.sku == "OLD1").initials == "nfsq550ml"
        assert [p.sku for p in store.catalog.search("nfsq")] == ["OLD1"]
        plan = store.db.peewee.execute_sql(
            "EXPLAIN QUERY PLAN SELECT id FROM product WHERE initials LIKE 'nfsq%'").fetchall()
        assert any("product_initials" in row[-1] for row in plan)  # the prefix search uses the index
    finally:
        store.db.close()
