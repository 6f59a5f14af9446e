"""Report endpoints: manager only, JSON and CSV for Excel (BOM, yuan), bad queries named, targets over HTTP."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.api_helpers import World, client_for, nothing_written, refusal
from tests.conftest import COLA, MANAGER_PIN, WATER

REPORTS = ["/reports/sales?by=hour", "/reports/sales?by=day", "/reports/sales?by=week",
           "/reports/sales?by=category", "/reports/sales?by=product", "/reports/traffic",
           "/reports/staff?role=cashier", "/reports/staff?role=salesperson", "/reports/basket",
           "/reports/stock", "/reports/settlement", "/reports/targets"]


@pytest.fixture
def world(store, flask_app, api):
    w = World.around(store, flask_app, api)
    w.completed_sale()  # water and cola, 5.00 in cash
    return w


def parsed_csv(response) -> list[list[str]]:
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff"), "Excel needs the byte-order mark to read UTF-8"
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.mark.parametrize("path", REPORTS)
def test_every_report_answers_json_and_csv(world, path):
    answer = world.manager.get(path)
    assert answer.status_code == 200, answer.json
    report = answer.json
    assert all(set(row) >= set(report["columns"]) for row in report["rows"])
    as_csv = world.manager.get(path + ("&" if "?" in path else "?") + "format=csv")
    assert as_csv.status_code == 200 and as_csv.mimetype == "text/csv"
    assert "attachment" in as_csv.headers["Content-Disposition"]
    header, *lines = parsed_csv(as_csv)
    assert len(header) == len(report["columns"]) and len(lines) == len(report["rows"])


def test_sales_by_day_counts_the_sale_and_csv_shows_yuan(world):
    days = world.manager.get("/reports/sales?by=day").json["rows"]
    assert len(days) == 30 and days[-1]["day"] == world.store.today().isoformat()
    today = days[-1]
    assert (today["tickets"], today["sales"], today["net"], today["items"]) == (1, 500, 500, 2)
    header, *lines = parsed_csv(world.manager.get("/reports/sales?by=day", headers={"Accept": "text/csv"}))
    shown = dict(zip(header, lines[-1]))
    assert (shown["tickets"], shown["sales (元)"], shown["net (元)"], shown["refunded (元)"]) == ("1", "5.00", "5.00", "0.00")


def test_products_report_names_them_in_chinese_in_csv(world):
    header, *lines = parsed_csv(world.manager.get("/reports/sales?by=product&format=csv"))
    names = {dict(zip(header, line))["name"] for line in lines}
    assert names == {"农夫山泉 550ml", "可口可乐 330ml"}


def test_a_refund_shows_in_the_reports(world):
    sale_id, _ = world.completed_sale()
    refunded = world.cashier.post("/refunds", {"sale_id": sale_id, "reason": "坏了", "to": "original",
                                               "approval": {"pin": MANAGER_PIN}})
    assert refunded.status_code == 201, refunded.json
    today = world.manager.get("/reports/sales?by=day").json["rows"][-1]
    assert (today["tickets"], today["sales"], today["refunds"], today["refunded"], today["net"]) == (2, 1000, 1, 500, 500)


def test_reports_need_a_manager(world):
    refusal(world.cashier.get("/reports/sales"), 403)


@pytest.mark.parametrize("query, field", [("by=month", "by"), ("from=2026-11-02&to=2026-11-01", "from"),
                                          ("from=23.11.2026", "from"), ("min_support=0.0001", "min_support"),
                                          ("format=xls", "format")])
def test_a_bad_query_names_its_field(world, query, field):
    path = "/reports/basket" if "support" in query else "/reports/sales"
    refusal(world.manager.get(f"{path}?{query}"), 422, field=field)


def test_a_target_set_over_http_shows_progress(world, store):
    # staff 1 is the demo's manager, who rings up a sale on lane 7
    body = {"staff_id": 1, "role": "cashier", "from": store.today().isoformat(), "to": store.today().isoformat(),
            "amount": 2000}
    made = world.manager.post("/reports/targets", body, headers={"Idempotency-Key": "target-1"})
    assert made.status_code == 201, made.json
    assert world.manager.post("/reports/targets", body, headers={"Idempotency-Key": "target-1"}).json == made.json
    lane7 = client_for(store, world.flask_app, lane=7, pin=MANAGER_PIN, shift_float=0)
    sale_id = lane7.post("/sales").json["id"]
    lane7.post(f"/sales/{sale_id}/lines", {"barcode": COLA})
    lane7.post(f"/sales/{sale_id}/lines", {"barcode": WATER})
    assert lane7.post(f"/sales/{sale_id}/complete", {"payments": [{"method": "cash", "amount": 500}]}).status_code == 200
    [target] = world.manager.get("/reports/targets").json["rows"]
    assert (target["amount"], target["net"], target["progress"]) == (2000, 500, 0.25)


@pytest.mark.parametrize("change, field", [({"amount": 0}, "amount"), ({"role": "boss"}, "role"),
                                           ({"from": "2026-11"}, "from"), ({"staff_id": 999}, "staff_id")])
def test_a_bad_target_is_refused_and_writes_nothing(world, store, change, field):
    body = {"staff_id": 1, "role": "salesperson", "from": "2026-11-01", "to": "2026-11-30", "amount": 1000, **change}
    with nothing_written(store):
        error = refusal(world.manager.post("/reports/targets", body), 404 if field == "staff_id" else 422)
    assert field in (error.get("field") or "")


def test_a_line_names_its_own_salesperson_and_the_ranking_credits_them(world, store):
    sale_id, _ = world.sale(WATER)
    added = world.cashier.post(f"/sales/{sale_id}/lines", {"barcode": COLA, "salesperson_id": 1})
    assert added.status_code == 201, added.json
    assert [line["salesperson_id"] for line in added.json["lines"]] == [None, 1]
    paid = world.cashier.post(f"/sales/{sale_id}/complete", {"payments": [{"method": "cash", "amount": 500}]})
    assert paid.status_code == 200, paid.json
    [event] = [json.loads(data) for (data,) in store.db.peewee.execute_sql(
        "SELECT data FROM outbox_event WHERE type = 'sale.completed' ORDER BY seq DESC LIMIT 1")]
    assert [line["salesperson_id"] for line in event["lines"]] == [None, 1]
    [ranked] = world.manager.get("/reports/staff?role=salesperson").json["rows"]
    assert (ranked["staff_id"], ranked["tickets"], ranked["sales"], ranked["items_per_ticket"]) == (1, 1, 300, 1.0)


def test_an_unknown_salesperson_on_a_line_is_refused_and_writes_nothing(world, store):
    sale_id, _ = world.sale(WATER)
    with nothing_written(store):
        refusal(world.cashier.post(f"/sales/{sale_id}/lines", {"barcode": COLA, "salesperson_id": 999}), 422,
                field="salesperson_id")
