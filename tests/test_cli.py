"""The technician's `storeedge` command: import, staff, devices, migrations, audit, and its options.

Exit codes: 0 done; 1 done in part or found broken (a CSV with bad rows, a
broken audit chain, an unusable config); 2 refused with nothing written (a bad
option or a value the business rules refuse). Most cases run the command in
process with click's runner; a few run the installed binary as a script would.
"""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from edge.cli import main
from edge.db import available_migrations
from tests.conftest import CASHIER_PIN, ApiClient, open_store
from tests.server_helpers import STORE_ENV_VARS, count, execute, query, query_file, storeedge

GOOD_ROWS = "A1,矿泉水,100,4006381333931\nF1,面包,250,\n"
CSV_WITH_BAD_ROWS = (
    "sku,name,price,barcodes\n"
    "A1,矿泉水,100,4006381333931\n"
    "B1,价格不对,abc,\n"
    "C1,校验位错,100,4006381333932\n"
    "D1,,100,\n"
    "E1,条码重复,100,4006381333931\n"
    "F1,面包,250,\n"
)


def cli(*args: str):
    """The command in process, without the tester's own $STOREEDGE_CONFIG or $STOREEDGE_DATA_DIR."""
    return CliRunner(env=dict.fromkeys(STORE_ENV_VARS)).invoke(main, list(args), catch_exceptions=False)


def snapshot(data_dir) -> dict:
    """Row counts of every table and the audit head: equal before and after means nothing was written."""
    tables = [name for (name,) in query(data_dir, "SELECT name FROM sqlite_master WHERE type = 'table'")]
    counts = {table: count(data_dir, f'SELECT COUNT(*) FROM "{table}"') for table in tables}
    return {**counts, "audit head": query(data_dir, "SELECT value FROM meta WHERE key = 'audit_head'")}


@pytest.fixture
def empty_dir(tmp_path):
    """A store that has started once (its first start is audited) and has no products."""
    data_dir = tmp_path / "data"
    assert cli("--data-dir", str(data_dir), "db", "migrate").exit_code == 0
    return data_dir


@pytest.fixture(scope="module")
def seeded_once(tmp_path_factory):
    """A demo store seeded by the real command (which closes its database cleanly on exit)."""
    data_dir = tmp_path_factory.mktemp("seeded") / "data"
    storeedge("--data-dir", str(data_dir), "demo", "seed")
    return data_dir


@pytest.fixture
def demo_dir(tmp_path, seeded_once):
    """A copy of the seeded demo store: hashing the demo PINs once is enough."""
    return shutil.copytree(seeded_once, tmp_path / "data")


def write_csv(tmp_path, text: str):
    path = tmp_path / "products.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


# -- catalog import -----------------------------------------------------------


def test_catalog_import_takes_the_good_rows_and_names_each_bad_one_by_line(tmp_path, empty_dir):
    done = storeedge("--data-dir", str(empty_dir), "catalog", "import", write_csv(tmp_path, CSV_WITH_BAD_ROWS),
                     check=False)

    assert done.returncode == 1
    assert done.stdout.strip() == "imported 2, updated 0, rejected 4"
    assert done.stderr.splitlines() == [
        "line 3: price: price must be a whole number of fen, got 'abc'",
        "line 4: barcodes[0]: barcode '4006381333932' has a wrong check digit",
        "line 5: name: Field required",
        "line 6: barcodes: barcode 4006381333931 already belongs to A1 矿泉水",
    ]
    # Never half a row: the rejected SKUs left no product, barcode, event or audit record behind.
    assert query(empty_dir, "SELECT sku FROM product ORDER BY sku") == [("A1",), ("F1",)]
    assert query(empty_dir, "SELECT b.code, p.sku FROM barcode b JOIN product p ON p.id = b.product_id") == [
        ("4006381333931", "A1")]
    assert query(empty_dir, "SELECT json_extract(data, '$.product.sku') FROM outbox_event "
                            "WHERE type = 'product.upserted' ORDER BY seq") == [("A1",), ("F1",)]
    assert count(empty_dir, "SELECT COUNT(*) FROM audit_record WHERE action LIKE 'product.%'") == 2


def test_catalog_import_of_good_rows_exits_0_and_a_second_import_updates(tmp_path, empty_dir):
    csv_file = write_csv(tmp_path, "sku,name,price,barcodes\n" + GOOD_ROWS)

    first = cli("--data-dir", str(empty_dir), "catalog", "import", csv_file)
    again = cli("--data-dir", str(empty_dir), "catalog", "import", csv_file)

    assert (first.exit_code, first.stdout) == (0, "imported 2, updated 0, rejected 0\n")
    assert (again.exit_code, again.stdout) == (0, "imported 0, updated 2, rejected 0\n")
    assert count(empty_dir, "SELECT COUNT(*) FROM product") == 2


def test_catalog_import_with_a_bad_header_is_refused_whole(tmp_path, empty_dir):
    before = snapshot(empty_dir)

    done = cli("--data-dir", str(empty_dir), "catalog", "import",
               write_csv(tmp_path, "sku,nme,price,barcodes\n" + GOOD_ROWS))

    assert done.exit_code == 2
    assert "header: CSV header: missing column(s): name; unknown column(s): nme" in done.stderr
    assert snapshot(empty_dir) == before


def test_catalog_import_of_a_csv_that_is_not_utf8_is_refused_whole(tmp_path, empty_dir):
    gbk_file = tmp_path / "excel.csv"
    gbk_file.write_bytes(("sku,name,price,barcodes\n" + GOOD_ROWS).encode("gbk"))  # Excel's default for Chinese
    before = snapshot(empty_dir)

    done = cli("--data-dir", str(empty_dir), "catalog", "import", str(gbk_file))

    assert done.exit_code == 2
    assert f"{gbk_file}: not UTF-8 text" in done.stderr
    assert snapshot(empty_dir) == before


# -- staff and devices --------------------------------------------------------


def test_staff_add_stores_the_pin_hashed_and_audits_it(demo_dir):
    done = cli("--data-dir", str(demo_dir), "staff", "add", "--name", "赵导购", "--role", "manager", "--pin", "246810")

    assert done.exit_code == 0
    [(staff_id, role, pin_hash)] = query(demo_dir, "SELECT id, role, pin_hash FROM staff WHERE name = '赵导购'")
    assert done.stdout == f"staff {staff_id}: 赵导购 (manager)\n"
    assert role == "manager" and pin_hash.startswith("$argon2id$") and "246810" not in pin_hash
    assert query(demo_dir, "SELECT action, entity_id FROM audit_record ORDER BY seq DESC LIMIT 1") == [
        ("staff.added", str(staff_id))]


REFUSED = {
    "unknown role": (["staff", "add", "--name", "X", "--role", "boss", "--pin", "4321"],
                     "Invalid value for '--role': 'boss' is not one of 'cashier', 'manager', 'admin'"),
    "short PIN": (["staff", "add", "--name", "X", "--role", "cashier", "--pin", "12"], "pin: PIN must be 4 to 8 digits"),
    "PIN with letters": (["staff", "add", "--name", "X", "--role", "cashier", "--pin", "12ab"],
                         "pin: PIN must be 4 to 8 digits"),
    "PIN taken": (["staff", "add", "--name", "X", "--role", "cashier", "--pin", CASHIER_PIN],
                  "pin: this PIN is already used by another staff member"),
    "blank name": (["staff", "add", "--name", "  ", "--role", "cashier", "--pin", "4321"],
                   "name: name must not be empty"),
    "missing PIN": (["staff", "add", "--name", "X", "--role", "cashier"], "Missing option '--pin'"),
    "unknown device kind": (["devices", "add", "--name", "s1", "--kind", "scanner"],
                            "Invalid value for '--kind': 'scanner' is not one of 'terminal', 'kiosk', 'display'"),
    "lane out of range": (["devices", "add", "--name", "t0", "--kind", "terminal", "--lane", "0"],
                          "lane: lane must be from 1 to 99"),
    "blank device name": (["devices", "add", "--name", " ", "--kind", "terminal"], "name: name must not be empty"),
}


@pytest.mark.parametrize("args, message", REFUSED.values(), ids=REFUSED.keys())
def test_refused_staff_and_devices_exit_2_naming_the_field_and_write_nothing(demo_dir, args, message):
    before = snapshot(demo_dir)

    done = cli("--data-dir", str(demo_dir), *args)

    assert done.exit_code == 2
    assert message in done.stderr
    assert done.stdout == ""
    assert snapshot(demo_dir) == before


def test_devices_add_print_token_prints_only_a_token_that_logs_in(demo_dir):
    done = storeedge("--data-dir", str(demo_dir), "devices", "add", "--name", "lane3", "--kind", "terminal",
                     "--lane", "3", "--print-token")

    token = done.stdout.strip()
    assert done.stdout == token + "\n" and len(token) >= 32
    [(kind, lane, token_hash)] = query(demo_dir, "SELECT kind, lane, token_hash FROM device WHERE name = 'lane3'")
    assert (kind, lane) == ("terminal", 3) and token not in token_hash
    store = open_store(demo_dir, demo=False)
    try:
        client = ApiClient(store.web(), token)
        assert client.login(CASHIER_PIN)["staff"]["role"] == "cashier"
        assert client.get("/auth/me").json["device"]["lane"] == 3
    finally:
        store.db.close()


def test_devices_add_without_print_token_describes_the_device(demo_dir):
    done = cli("--data-dir", str(demo_dir), "devices", "add", "--name", "kiosk1", "--kind", "kiosk")

    [(device_id,)] = query(demo_dir, "SELECT id FROM device WHERE name = 'kiosk1'")
    assert done.exit_code == 0
    assert done.stdout == f"device {device_id}: kiosk1 (kiosk, no lane); run with --print-token to get its token\n"


# -- migrations and audit -----------------------------------------------------


def test_db_migrate_to_a_version_then_to_the_newest_keeping_a_copy(tmp_path):
    data_dir = tmp_path / "data"
    migrate = ("db", "migrate", "--data-dir", str(data_dir))

    first = cli(*migrate, "--to", "1")
    assert (first.exit_code, first.stdout) == (0, "applied [1]\nschema version 1\n")
    assert query(data_dir, "SELECT name FROM sqlite_master WHERE name = 'sale'") == []

    newest = len(available_migrations())
    second = cli(*migrate)
    assert (second.exit_code, second.stdout) == (
        0, f"applied {list(range(2, newest + 1))}\nschema version {newest}\n")
    assert count(data_dir, "SELECT MAX(version) FROM schema_migrations") == newest
    assert count(data_dir, "SELECT COUNT(*) FROM sale") == 0
    copy = data_dir / "storeedge.before-v2.db"
    assert query_file(copy, "SELECT MAX(version) FROM schema_migrations") == [(1,)]

    third = cli(*migrate)
    assert (third.exit_code, third.stdout) == (0, f"already up to date\nschema version {newest}\n")


TAMPERING = {
    "edited record": ("UPDATE audit_record SET data = '{}' WHERE seq = 2", "seq 2: content does not match its hash"),
    "deleted record": ("DELETE FROM audit_record WHERE seq = 3", "seq 4: expected seq 3"),
    "record cut off the end": ("DELETE FROM audit_record WHERE seq = (SELECT MAX(seq) FROM audit_record)",
                               "(records cut off the end, or the head was edited)"),
}


def test_audit_verify_passes_on_an_untouched_store(demo_dir):
    done = cli("audit", "verify", "--data-dir", str(demo_dir))

    assert done.exit_code == 0
    assert done.stdout == f"audit journal ok: {count(demo_dir, 'SELECT COUNT(*) FROM audit_record')} records\n"


@pytest.mark.parametrize("tamper, problem", TAMPERING.values(), ids=TAMPERING.keys())
def test_audit_verify_names_a_tampered_record_and_exits_1(demo_dir, tamper, problem):
    execute(demo_dir, tamper)

    done = cli("audit", "verify", "--data-dir", str(demo_dir))

    assert done.exit_code == 1
    assert problem in done.stderr
    assert done.stdout.startswith("audit journal BROKEN")


# -- --config and --data-dir on every command ---------------------------------

COMMANDS = {
    "db migrate": ["db", "migrate"],
    "catalog import": ["catalog", "import", "{csv}"],
    "staff add": ["staff", "add", "--name", "赵六", "--role", "cashier", "--pin", "4321"],
    "devices add": ["devices", "add", "--name", "lane9", "--kind", "terminal", "--lane", "9"],
    "audit verify": ["audit", "verify"],
    "demo seed": ["demo", "seed"],
    "serve": ["serve", "--demo", "--host", "127.0.0.1"],
    "web": ["web", "--host", "127.0.0.1"],
}
# Those that open the store record the config they ran with (serve and web are run in test_server).
RECORDING_COMMANDS = {name: COMMANDS[name] for name in ("catalog import", "staff add", "devices add",
                                                        "db migrate", "demo seed")}


def command_line(tmp_path, command: list[str], options: list[str], placement: str) -> list[str]:
    command = [arg.replace("{csv}", write_csv(tmp_path, "sku,name,price,barcodes\n" + GOOD_ROWS))
               for arg in command]
    return [*options, *command] if placement == "before" else [*command, *options]


@pytest.mark.parametrize("placement", ["before", "after"])
@pytest.mark.parametrize("command", RECORDING_COMMANDS.values(), ids=RECORDING_COMMANDS.keys())
def test_every_command_uses_the_config_and_data_dir_given(tmp_path, command, placement):
    config = tmp_path / "store.toml"
    config.write_text('[store]\nid = "S042"\n\n[checkout]\ncash_rounding = "round_jiao"\n', encoding="utf-8")
    data_dir = tmp_path / "elsewhere"

    done = cli(*command_line(tmp_path, command, ["--config", str(config), "--data-dir", str(data_dir)], placement))

    assert done.exit_code == 0, done.output
    [(recorded,)] = query(data_dir, "SELECT value FROM meta WHERE key = 'config'")
    assert json.loads(recorded)["store.id"] == "S042"
    assert json.loads(recorded)["checkout.cash_rounding"] == "round_jiao"


@pytest.mark.parametrize("placement", ["before", "after"])
@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_every_command_stops_on_a_bad_config_naming_the_key(tmp_path, command, placement):
    config = tmp_path / "store.toml"
    config.write_text('[checkout]\ncash_rounding = "up"\n', encoding="utf-8")
    data_dir = tmp_path / "data"

    done = cli(*command_line(tmp_path, command, ["--config", str(config), "--data-dir", str(data_dir)], placement))

    assert done.exit_code == 1
    assert f"config: {config}: checkout.cash_rounding: Input should be 'none', 'round_jiao' or 'floor_jiao'" \
        in done.stderr
    assert not data_dir.exists()


BAD_CONFIGS = {
    "unknown key": ('[store]\nidd = "S1"\n', "store.idd: unknown key"),
    "unknown section": ('[stroe]\nid = "S1"\n', "stroe: unknown key"),
    "bad value": ('[store]\nid = "S 1"\n', "store.id: String should match pattern"),
    "wrong type": ('[web]\nport = "eighty"\n', "web.port: Input should be a valid integer"),
    "out of range": ("[security]\npin_max_attempts = 0\n", "security.pin_max_attempts: Input should be greater"),
    "bad device": ('[[devices]]\nname = "s"\nkind = "scanner"\nbackend = "bluetooth"\n', "devices.0.backend"),
    "not TOML": ("[store\nid = 1\n", "not valid TOML"),
}


@pytest.mark.parametrize("text, problem", BAD_CONFIGS.values(), ids=BAD_CONFIGS.keys())
def test_a_bad_config_file_fails_naming_the_key(tmp_path, text, problem):
    config = tmp_path / "store.toml"
    config.write_text(text, encoding="utf-8")
    data_dir = tmp_path / "data"

    done = cli("--config", str(config), "--data-dir", str(data_dir), "staff", "add", "--name", "X",
               "--role", "cashier", "--pin", "4321")

    assert done.exit_code == 1
    assert problem in done.stderr
    assert not data_dir.exists()


def test_the_real_command_names_a_missing_config_file(tmp_path):
    done = storeedge("--config", str(tmp_path / "nowhere.toml"), "--data-dir", str(tmp_path / "data"),
                     "audit", "verify", check=False)

    assert done.returncode == 1
    assert done.stderr == f"Error: config: {tmp_path / 'nowhere.toml'}: no such config file\n"
    assert not (tmp_path / "data").exists()


def test_audit_verify_of_a_mistyped_data_dir_fails_and_creates_nothing(tmp_path):
    done = cli("--data-dir", str(tmp_path / "dta"), "audit", "verify")
    assert done.exit_code == 1
    assert "no store database" in done.stderr
    assert not (tmp_path / "dta").exists()
