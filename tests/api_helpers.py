"""Helpers shared by the API tests: more clients on one store, refusals, and "nothing was written"."""

from __future__ import annotations

from contextlib import contextmanager

from tests.conftest import CASHIER_PIN, ApiClient


def client_for(store, flask_app, *, lane: int, pin: str | None = CASHIER_PIN, kind: str = "terminal",
               shift_float: int | None = None) -> ApiClient:
    """A newly paired device of ``kind`` on ``lane``, logged in with ``pin`` (None: not logged in)."""
    _, token = store.staff.add_device(f"{kind}{lane}", kind, lane)
    client = ApiClient(flask_app, token)
    if pin is not None:
        client.login(pin)
    if shift_float is not None:
        answer = client.post("/shifts", {"opening_float": shift_float})
        assert answer.status_code == 201, answer.json
    return client


def table_rows(store) -> dict[str, list[tuple]]:
    """Every row of every table, so a comparison also sees updates, not only inserts."""
    db = store.db.peewee
    tables = [name for (name,) in db.execute_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return {table: db.execute_sql(f'SELECT * FROM "{table}" ORDER BY rowid').fetchall() for table in tables}


@contextmanager
def nothing_written(store):
    """Asserts that the block leaves every table (sales, lines, payments, outbox, audit, …) as it was."""
    before = table_rows(store)
    yield
    after = table_rows(store)
    changed = {table: f"{len(before.get(table, []))} -> {len(after.get(table, []))} rows"
               for table in before.keys() | after.keys() if before.get(table) != after.get(table)}
    assert not changed, f"a refused request wrote to: {changed}"


def row_count(store, table: str) -> int:
    return store.db.peewee.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]


def refusal(response, status: int, *, field: str | None = None, code: str | None = None) -> dict:
    """Checks a JSON error answer (status, code, field) and returns its error object."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.json["error"]
    assert error["message"]
    if field is not None:
        assert error.get("field") == field, error
    if code is not None:
        assert error["code"] == code, error
    return error
