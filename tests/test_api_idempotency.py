"""Idempotency-Key over HTTP: a retried mutating request returns the first answer and writes nothing more.

Calls whose answer carries a secret (login, the pairing request and claim, logout) are never replayed from
storage: a retry runs again, as the registry documents for ``replayable=False``.
"""

from __future__ import annotations

import pytest

from tests.api_helpers import MUTATIONS, World, client_for, nothing_written, refusal, row_count
from tests.conftest import CASHIER_PIN, WATER, ApiClient


@pytest.fixture
def world(store, flask_app, api) -> World:
    return World.around(store, flask_app, api)


@pytest.mark.parametrize("kind", MUTATIONS)
def test_a_retry_returns_the_first_answer_and_writes_nothing(world, kind):
    client, method, path, body = MUTATIONS[kind](world)
    records = row_count(world.store, "idempotency_record")
    key = {"Idempotency-Key": f"retry-{kind}"}
    first = client.request(method, path, json=body, headers=key)
    assert first.status_code in (200, 201), first.json
    assert "Idempotent-Replayed" not in first.headers
    assert row_count(world.store, "idempotency_record") == records + 1
    with nothing_written(world.store):
        retry = client.request(method, path, json=body, headers=key)
    assert retry.status_code == first.status_code
    assert retry.get_data() == first.get_data()
    assert retry.headers["Idempotent-Replayed"] == "true"


# (kind, a different body for the same endpoint)
CHANGED_BODIES = [
    ("open sale", {"salesperson_id": 1}),
    ("add line", {"barcode": WATER, "qty": 3}),
    ("complete", {"payments": [{"method": "cash", "amount": 2000}]}),
    ("stock adjustment", {"sku": "DRK001", "counted": 8, "reason": "盘点"}),
    ("upsert product", {"sku": "NEW001", "name": "新品", "price": 1290}),
]


@pytest.mark.parametrize("kind, other_body", CHANGED_BODIES)
def test_the_same_key_for_a_different_body_is_refused(world, kind, other_body):
    client, method, path, body = MUTATIONS[kind](world)
    key = {"Idempotency-Key": "one-key"}
    assert client.request(method, path, json=body, headers=key).status_code in (200, 201)
    with nothing_written(world.store):
        error = refusal(client.request(method, path, json=other_body, headers=key), 422,
                        field="Idempotency-Key", code="idempotency_key_reused")
    assert "different request" in error["message"]


def test_a_retry_that_spaces_or_orders_its_json_differently_is_the_same_request(world):
    sale_id, _ = world.sale(WATER)
    key = {"Idempotency-Key": "pay-1", "Content-Type": "application/json"}
    path = f"/sales/{sale_id}/complete"
    first = world.cashier.request("POST", path, data='{"payments":[{"method":"cash","amount":500}]}', headers=key)
    assert first.status_code == 200
    with nothing_written(world.store):
        again = world.cashier.request("POST", path, data='{ "payments": [ { "amount": 500, "method": "cash" } ] }',
                                      headers=key)
    assert again.status_code == 200 and again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"


def test_the_same_key_for_another_endpoint_is_refused(world):
    sale_id, _ = world.sale()
    key = {"Idempotency-Key": "scan-1"}
    assert world.cashier.post(f"/sales/{sale_id}/lines", {"barcode": WATER}, headers=key).status_code == 201
    with nothing_written(world.store):
        refusal(world.cashier.post(f"/sales/{sale_id}/suspend", headers=key), 422, code="idempotency_key_reused")


def test_keys_belong_to_one_device(world):
    other_lane = client_for(world.store, world.flask_app, lane=2, shift_float=0)
    key = {"Idempotency-Key": "sale-1"}
    mine = world.cashier.post("/sales", headers=key)
    theirs = other_lane.post("/sales", headers=key)
    assert mine.status_code == theirs.status_code == 201
    assert mine.json["id"] != theirs.json["id"]
    assert "Idempotent-Replayed" not in theirs.headers


def test_a_refused_request_keeps_no_key(world):
    """Nothing of a refused request is written, its key neither: the corrected request may use it."""
    sale_id, _ = world.sale(WATER)
    key = {"Idempotency-Key": "pay-1"}
    with nothing_written(world.store):
        refusal(world.cashier.post(f"/sales/{sale_id}/complete", {"payments": [{"method": "cash", "amount": 100}]},
                                   headers=key), 422, field="payments", code="payment_short")
    paid = world.cashier.post(f"/sales/{sale_id}/complete", {"payments": [{"method": "cash", "amount": 500}]},
                              headers=key)
    assert paid.status_code == 200 and paid.json["change"] == 300


def test_a_replay_returns_the_first_answer_even_after_the_state_moved_on(world):
    key = {"Idempotency-Key": "open-1"}
    opened = world.cashier.post("/sales", headers=key).json
    world.cashier.post(f"/sales/{opened['id']}/lines", {"barcode": WATER})
    world.cashier.post(f"/sales/{opened['id']}/complete", {"payments": [{"method": "cash", "amount": 200}]})
    with nothing_written(world.store):
        replay = world.cashier.post("/sales", headers=key)
    assert replay.json == opened and replay.json["status"] == "open"


@pytest.mark.parametrize("key", ["", "k" * 129])
def test_a_malformed_key_is_refused(world, key):
    with nothing_written(world.store):
        refusal(world.cashier.post("/sales", headers={"Idempotency-Key": key}), 422,
                field="Idempotency-Key", code="bad_idempotency_key")


def test_login_is_never_replayed(world, flask_app, store):
    client = client_for(store, flask_app, lane=5, pin=None)
    key = {"Idempotency-Key": "login-1"}
    records = row_count(store, "idempotency_record")
    first = client.post("/auth/login", {"pin": CASHIER_PIN}, headers=key)
    second = client.post("/auth/login", {"pin": CASHIER_PIN}, headers=key)
    assert first.status_code == second.status_code == 200
    assert first.json["token"] != second.json["token"]
    assert "Idempotent-Replayed" not in second.headers
    assert row_count(store, "idempotency_record") == records
    for token in (first.json["token"], second.json["token"]):
        client.session = token
        assert client.get("/auth/me").status_code == 200


def test_logout_is_never_replayed(world, store):
    key = {"Idempotency-Key": "logout-1"}
    records = row_count(store, "idempotency_record")
    assert world.cashier.post("/auth/logout", headers=key).json == {"ok": True}
    # The session is gone, so the retry is refused rather than answered from storage.
    refusal(world.cashier.post("/auth/logout", headers=key), 401, code="unauthorized")
    assert row_count(store, "idempotency_record") == records


def test_pairing_request_and_claim_are_never_replayed(world, flask_app, store):
    """Their answers carry secrets: a stored answer would hand the secret to whoever repeats the key."""
    records = row_count(store, "idempotency_record")
    key = {"Idempotency-Key": "pair-1"}
    body = {"name": "平板", "kind": "terminal"}
    tablet, intruder = ApiClient(flask_app, ""), ApiClient(flask_app, "")
    asked = tablet.post("/devices/pair", body, headers=key).json
    other = intruder.post("/devices/pair", body, headers=key).json
    assert other["id"] != asked["id"] and other["secret"] != asked["secret"]

    world.manager.post("/devices/pair/approve", {"code": asked["code"], "lane": 2})
    claim = f"/devices/pair/{asked['id']}/claim"
    first = tablet.post(claim, {"secret": asked["secret"]}, headers=key)
    second = tablet.post(claim, {"secret": asked["secret"]}, headers=key)
    assert first.json["state"] == "claimed" and first.json["token"]
    assert second.json == {"id": asked["id"], "state": "claimed"}
    assert row_count(store, "idempotency_record") == records
