"""The back office's endpoints over HTTP (Flask client on a real store): product list, stocktake, reorder points,
staff, shifts, test print and settings. Managers only; refusals name the field and write nothing."""

from __future__ import annotations

import json

import pytest

from tests.api_helpers import client_for, nothing_written, refusal, row_count
from tests.conftest import ADMIN_PIN, MANAGER_PIN, WATER
from tests.domain2_helpers import audit_records

PRINTER = {"name": "receipt1", "kind": "printer", "backend": "virtual", "lane": 1}


@pytest.fixture
def manager_api(store, flask_app):
    return client_for(store, flask_app, lane=2, pin=MANAGER_PIN)


def test_the_product_list_pages_searches_and_shows_stock_and_inactive_products(store, manager_api, api):
    manager_api.post("/products", {"sku": "OLD001", "name": "停售饼干", "price": 500, "active": False})
    manager_api.post("/reorder-points", {"sku": "DRK001", "reorder_point": 30})
    page = manager_api.get("/products/list?limit=5").json
    assert len(page["products"]) == 5 and page["total"] > 5
    assert [p["sku"] for p in page["products"]] == sorted(p["sku"] for p in page["products"])
    [water] = manager_api.get("/products/list?q=农夫").json["products"]
    assert water["on_hand"] == store.inventory.on_hand(water["id"]) and water["reorder_point"] == 30
    assert water["barcodes"] == [WATER]
    assert [p["sku"] for p in manager_api.get(f"/products/list?q={WATER}").json["products"]] == ["DRK001"]
    assert [p["active"] for p in manager_api.get("/products/list?q=OLD").json["products"]] == [False]
    assert manager_api.get("/products/list?q=OLD&include_inactive=false").json["products"] == []
    refusal(api.get("/products/list"), 403, code="forbidden")


def test_a_stocktake_over_http_scans_types_reviews_and_posts(store, manager_api, api):
    started = manager_api.post("/stocktakes", {"note": "饮料"})
    assert started.status_code == 201 and started.json["status"] == "counting"
    path = f"/stocktakes/{started.json['id']}"
    assert manager_api.post(f"{path}/counts", {"barcode": WATER}).json["counted"] == 1
    assert manager_api.post(f"{path}/counts", {"barcode": WATER}).json["counted"] == 2
    assert manager_api.post(f"{path}/counts", {"sku": "DRK002", "qty": 9, "mode": "set"}).json["counted"] == 9
    with nothing_written(store):
        refusal(manager_api.post(f"{path}/counts", {"barcode": WATER, "sku": "DRK002"}), 422, field="barcode")
        refusal(manager_api.post(f"{path}/counts", {"barcode": "0000000000000"}), 404, field="barcode")
        refusal(manager_api.post(f"{path}/counts", {"sku": "DRK002", "mode": "guess"}), 422, field="mode")
        refusal(api.post(f"{path}/post"), 403, code="forbidden")
    review = manager_api.get(path).json
    assert {line["sku"]: line["counted"] for line in review["lines"]} == {"DRK001": 2, "DRK002": 9}

    posted = manager_api.post(f"{path}/post")
    assert posted.status_code == 200 and posted.json["status"] == "posted"
    assert manager_api.get("/stock/DRK001").json["on_hand"] == 2
    assert manager_api.get("/stocktakes").json["stocktakes"][0] == {
        **{k: posted.json[k] for k in ("id", "status", "note", "started_at", "finished_at")}}
    with nothing_written(store):
        refusal(manager_api.post(f"{path}/post"), 409, field="stocktake_id", code="stocktake_posted")


def test_the_low_stock_list(manager_api):
    on_hand = manager_api.get("/stock/DRK001").json["on_hand"]
    manager_api.post("/reorder-points", {"sku": "DRK001", "reorder_point": on_hand + 1})
    manager_api.post("/reorder-points", {"sku": "DRK002", "reorder_point": 0})
    assert [p["sku"] for p in manager_api.get("/reorder-points?low_only=true").json["products"]] == ["DRK001"]
    assert len(manager_api.get("/reorder-points").json["products"]) == 2
    cleared = manager_api.post("/reorder-points", {"sku": "DRK001", "reorder_point": None})
    assert cleared.json["reorder_point"] is None and cleared.json["low"] is False


def test_staff_role_and_pin_changes_over_http_never_answer_a_pin(store, flask_app, manager_api):
    added = client_for(store, flask_app, lane=7, pin=ADMIN_PIN).post(
        "/staff", {"name": "赵收银", "role": "cashier", "pin": "86420"})
    staff_id = added.json["id"]
    changed = manager_api.patch(f"/staff/{staff_id}", {"role": "manager"})
    assert changed.status_code == 200 and changed.json == {**added.json, "role": "manager"}
    with nothing_written(store):
        refusal(manager_api.post(f"/staff/{staff_id}/pin", {"pin": "12"}), 422, field="pin")
        refusal(manager_api.patch(f"/staff/{staff_id}", {"role": "boss"}), 422, field="role")
        refusal(manager_api.patch("/staff/999", {"active": False}), 404, field="staff_id")
    reset = manager_api.post(f"/staff/{staff_id}/pin", {"pin": "97531", "approval": {"pin": MANAGER_PIN}})
    assert reset.status_code == 200 and "97531" not in reset.get_data(as_text=True)
    assert "pin" not in json.dumps(manager_api.get("/staff").json["staff"])
    assert client_for(store, flask_app, lane=8, pin="97531").get("/auth/me").json["staff"]["id"] == staff_id


def test_shifts_are_listed_newest_first_and_by_status(manager_api, api):
    current = api.get("/shifts/current").json
    listed = manager_api.get("/shifts?status=open").json["shifts"]
    assert current in listed and all(shift["status"] == "open" for shift in listed)
    assert manager_api.get("/shifts?status=closed").json["shifts"] == []
    refusal(manager_api.get("/shifts?status=lost"), 422, field="status")


def test_a_test_page_is_queued_on_a_configured_printer_and_audited(store_with):
    store = store_with({"devices": [PRINTER]})
    manager = client_for(store, store.web(), lane=2, pin=MANAGER_PIN)
    jobs = row_count(store, "print_job")
    with nothing_written(store):
        refusal(manager.post("/hardware/printers/nope/test"), 404, field="printer")
    key = {"Idempotency-Key": "test-page-1"}
    printed = manager.post("/hardware/printers/receipt1/test", headers=key)
    assert printed.status_code == 201 and printed.json["printer"] == "receipt1"
    assert row_count(store, "print_job") == jobs + 1
    with nothing_written(store):  # a retried press prints no second page (the endpoint is not in MUTATIONS:
        again = manager.post("/hardware/printers/receipt1/test", headers=key)  # its world has no printer)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json == printed.json
    job = store.hardware.jobs.document(store.hardware.jobs.waiting("receipt1")[-1])
    assert job["title"] == "StoreEdge 打印测试"
    assert audit_records("printer.test_printed")[-1]["entity_id"] == printed.json["job_id"]


def test_settings_show_the_running_config_read_only_with_secrets_hidden(store_with):
    store = store_with({"hq": {"broker": "mqtts://hq.example:8883", "username": "s001", "password": "hunter2"}})
    answer = client_for(store, store.web(), lane=2, pin=MANAGER_PIN).get("/settings").json
    config = {row["key"]: row["value"] for row in answer["config"]}
    assert answer["editable"] is False
    assert config["store.id"] == "S001" and config["hq.broker"] == "mqtts://hq.example:8883"
    assert config["hq.password"] == "(set)" and "hunter2" not in json.dumps(answer)
    assert {area["area"] for area in answer["run_time"]} >= {"products", "stock", "staff", "devices"}
