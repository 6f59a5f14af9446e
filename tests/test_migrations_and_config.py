"""Schema migrations keep a first-schema store's data; the models match the schema; config errors name the key."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import edge
from edge.app import StoreEdge
from edge.audit import journal
from edge.cli import main as cli
from edge.config import ConfigError, load_config, parse_config
from edge.db import DB_FILENAME, BaseModel, available_migrations
from edge.staff.models import Staff
from tests.conftest import MANAGER_PIN, open_store, terminal
from tests.domain2_helpers import sell

STOREEDGE = Path(sys.executable).with_name("storeedge")
# Rows as the first schema holds them, written in its own SQL: today's catalog code knows later tables.
FIRST_PRODUCTS_SQL = (
    "INSERT INTO category (id, code, name) VALUES (1, '饮料', '饮料'), (2, '水果', '水果')",
    "INSERT INTO product (id, sku, name, category_id, unit, sold_by, price, tax_rate, plu, active, updated_at) "
    "VALUES (1, 'DRK001', '农夫山泉 550ml', 1, '瓶', 'each', 200, 1300, NULL, 1, '2026-01-05T08:00:00+00:00'), "
    "(2, 'FRT001', '红富士苹果', 2, 'kg', 'weight', 1280, 900, '01020', 1, '2026-01-05T08:00:00+00:00')",
    "INSERT INTO barcode (code, product_id) VALUES ('6904321000012', 1)",
)


def table_rows(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table, straight from the file."""
    with sqlite3.connect(path) as raw:
        tables = [t for (t,) in raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {t: sorted(raw.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}


def kept(before: list[tuple], after: list[tuple]) -> bool:
    """The rows are all there with their values; a later step may only add columns (at the end, as ALTER TABLE
    ADD COLUMN puts them)."""
    width = len(before[0]) if before else 0
    return sorted((row[:width] for row in after), key=repr) == before


def store_at_first_schema(data_dir: Path) -> StoreEdge:
    """A store whose database was made by migration 1 alone, with staff, devices, products and a journal."""
    store = StoreEdge(parse_config({}), data_dir)
    assert store.db.migrate(target=1) == [1]
    fill_first_schema(store)
    return store


def fill_first_schema(store: StoreEdge) -> None:
    store.record_config_change()
    store.staff.add_staff("王店长", "manager", MANAGER_PIN)
    store.staff.add_staff("李收银", "cashier", "0000")
    store.staff.add_device("lane1", "terminal", 1)
    with store.db.transaction():
        for statement in FIRST_PRODUCTS_SQL:
            store.db.peewee.execute_sql(statement)


def storeedge(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREEDGE_")}
    return subprocess.run([str(STOREEDGE), *args], capture_output=True, text=True, env=env, timeout=60)


# -- migrations -------------------------------------------------------------------------


def test_first_schema_has_only_the_first_tables(tmp_path):
    store = store_at_first_schema(tmp_path)
    try:
        assert store.db.schema_version() == 1
        tables = set(table_rows(tmp_path / DB_FILENAME))
        assert {"staff", "device", "product", "audit_record", "outbox_event"} <= tables
        assert not {"sale", "shift", "stock_movement"} & tables
    finally:
        store.db.close()


def test_upgrade_from_the_first_schema_keeps_its_data(tmp_path):
    store = store_at_first_schema(tmp_path)
    path = tmp_path / DB_FILENAME
    at_v1 = table_rows(path)
    try:
        latest = available_migrations()[-1].version
        assert store.db.migrate() == list(range(2, latest + 1))
        assert store.db.schema_version() == latest
        upgraded = table_rows(path)
        for table, rows in at_v1.items():
            if table != "schema_migrations":
                assert kept(rows, upgraded[table]), table
        # A copy of the v1 database was taken before the upgrade.
        backup = tmp_path / "storeedge.before-v2.db"
        assert table_rows(backup) == at_v1
        assert store.db.migrate() == []

        # The upgraded store sells with the staff, device and products made at v1.
        assert journal.verify().ok
        manager = Staff.get(Staff.name == "王店长")
        store.inventory.receive([(store.catalog.by_sku("DRK001"), 10)], supplier=None, note=None,
                                staff_id=manager.id, device_id=None)
        caller = terminal(store, lane=2, pin=MANAGER_PIN)
        done = sell(store, caller, [("6904321000012", 3)])
        assert (done.total, store.inventory.on_hand(store.catalog.by_sku("DRK001").id)) == (600, 7)
        assert journal.verify().ok
    finally:
        store.db.close()


def test_cli_migrates_to_version_one_then_to_the_latest(tmp_path):
    first = storeedge("db", "migrate", "--to", "1", "--data-dir", str(tmp_path))
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == ["applied [1]", "schema version 1"]

    store = StoreEdge(parse_config({}), tmp_path)
    fill_first_schema(store)
    store.db.close()
    at_v1 = table_rows(tmp_path / DB_FILENAME)

    latest = available_migrations()[-1].version
    upgrade = storeedge("db", "migrate", "--data-dir", str(tmp_path))
    assert upgrade.returncode == 0, upgrade.stderr
    assert upgrade.stdout.splitlines() == [f"applied {list(range(2, latest + 1))}", f"schema version {latest}"]
    upgraded = table_rows(tmp_path / DB_FILENAME)
    assert all(kept(rows, upgraded[t]) for t, rows in at_v1.items() if t != "schema_migrations")
    assert storeedge("db", "migrate", "--data-dir", str(tmp_path)).stdout.startswith("already up to date")


def all_models() -> list[type[BaseModel]]:
    for module in pkgutil.walk_packages(edge.__path__, "edge."):
        importlib.import_module(module.name)
    found, todo = [], [BaseModel]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return found


def test_models_match_the_migrated_schema(store):
    models = all_models()
    columns = {}
    for (table,) in store.db.peewee.execute_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"):
        columns[table] = {row[1]: row for row in store.db.peewee.execute_sql(f'PRAGMA table_info("{table}")')}
    assert {m._meta.table_name for m in models} == set(columns) - {"schema_migrations"}
    for model in models:
        table = columns[model._meta.table_name]
        fields = {f.column_name: f for f in model._meta.sorted_fields}
        assert set(fields) == set(table), model.__name__
        for name, field in fields.items():
            _, _, _, notnull, _, pk = table[name]
            # A NOT NULL column the model may leave empty fails at insert; the reverse lets bad rows in.
            if not pk:
                assert bool(notnull) == (not field.null), f"{model.__name__}.{name}"


# -- config ---------------------------------------------------------------------------------


BAD_CONFIGS = [
    ({"stores": {"id": "S1"}}, "stores: unknown key"),
    ({"store": {"idd": "S1"}}, "store.idd: unknown key"),
    ({"web": {"port": "eighty"}}, "web.port: Input should be a valid integer"),
    ({"web": {"port": "8080"}}, "web.port: Input should be a valid integer"),  # TOML is typed: no coercion
    ({"security": {"lockout_seconds": True}}, "security.lockout_seconds: Input should be a valid integer"),
    ({"members": {"purposes": {"marketing": "offers"}}}, "members: Value error, purposes must include 'membership'"),
    ({"store": {"name": 5}}, "store.name: Input should be a valid string"),
    ({"web": {"port": 70000}}, "web.port: Input should be less than or equal to 65535"),
    ({"checkout": {"cash_rounding": "up"}},
     "checkout.cash_rounding: Input should be 'none', 'round_jiao' or 'floor_jiao'"),
    ({"security": {"pin_max_attempts": 0}}, "security.pin_max_attempts: Input should be greater than or equal to 1"),
    ({"store": {"id": "S 1"}}, "store.id: String should match pattern"),
    ({"hq": {"broker": "http://hq"}}, "hq.broker: Value error, must start with mqtt:// or mqtts://"),
    ({"hq": {}}, "hq.broker: Field required"),
    ({"devices": [{"name": "s", "kind": "fax", "backend": "serial"}]}, "devices.0.kind: Input should be"),
    ({"checkout": {"variable_barcodes": {"plu_digits": 4}}},
     "checkout.variable_barcodes: Value error, plu_digits + value_digits must be 10"),
    ({"checkout": {"variable_barcodes": {"prefixes": {"19": "price"}}}},
     "checkout.variable_barcodes.prefixes: Value error, prefix '19' must be two digits from 20 to 29"),
    ({"store": {"timezone": "Mars/Olympus_Mons"}}, "store.timezone: Value error, unknown time zone"),
]


@pytest.mark.parametrize("data, message", BAD_CONFIGS)
def test_parse_config_names_the_bad_key(data, message):
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert str(caught.value).startswith(message)


def test_every_bad_key_is_named_at_once():
    with pytest.raises(ConfigError) as caught:
        parse_config({"web": {"port": "x", "hosts": "y"}, "checkout": {"cash_rounding": 1}})
    problems = str(caught.value).split("; ")
    assert [p.split(":")[0] for p in problems] == ["checkout.cash_rounding", "web.port", "web.hosts"]


def test_a_good_config_file_is_read(tmp_path):
    path = tmp_path / "storeedge.toml"
    path.write_text('[store]\nid = "S777"\nname = "人民路店"\n[checkout]\ncash_rounding = "round_jiao"\n',
                    encoding="utf-8")
    config = load_config(path)
    assert (config.store.id, config.store.name, config.checkout.cash_rounding) == ("S777", "人民路店", "round_jiao")


TOML_ERRORS = [
    ('[checkout]\ncash_rounding = "up"\n', "checkout.cash_rounding: Input should be"),
    ('[store]\nidd = "S1"\n', "store.idd: unknown key"),
    ('[web]\nport = "eighty"\n', "web.port: Input should be a valid integer"),
    ('[store]\nname = 5\n', "store.name: Input should be a valid string"),
    ('[store]\ntimezone = "Asia/Shanghia"\n', "store.timezone: Value error, unknown time zone"),
    ('[[devices]]\nname = "s"\nkind = "scanner"\nbackend = "serial"\nlane = 0\n',
     "devices.0.lane: Input should be greater than or equal to 1"),
    ('[store\nid = "S1"\n', "not valid TOML"),
]


@pytest.mark.parametrize("how", ["--config before", "--config after", "STOREEDGE_CONFIG"])
@pytest.mark.parametrize("text, message", TOML_ERRORS)
def test_cli_stops_on_a_bad_config_file_naming_the_key(tmp_path, how, text, message):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    data_dir = tmp_path / "data"
    command = ["db", "migrate", "--data-dir", str(data_dir)]
    args, env = {
        "--config before": (["--config", str(config), *command], {}),
        "--config after": ([*command, "--config", str(config)], {}),
        "STOREEDGE_CONFIG": (command, {"STOREEDGE_CONFIG": str(config)}),
    }[how]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 1
    assert f"config: {config}: {message}" in result.output
    assert not data_dir.exists()  # stopped before touching the store


def test_cli_names_a_missing_config_file(tmp_path):
    missing = tmp_path / "nowhere.toml"
    result = CliRunner().invoke(cli, ["--config", str(missing), "db", "migrate", "--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 1
    assert f"{missing}: no such config file" in result.output


def test_store_opened_with_a_config_uses_it(tmp_path):
    store = open_store(tmp_path, {"store": {"id": "S900"}, "checkout": {"max_line_qty": 5}})
    try:
        assert store.config.store.id == "S900"
        assert store.sales.rules.max_line_qty == 5
    finally:
        store.db.close()
