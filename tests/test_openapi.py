"""The OpenAPI document at /api/v1/openapi.json: valid OpenAPI 3, complete, and the very schemas that validate.

"The very schemas" is checked both ways on every endpoint with a body: a body the document accepts is
accepted by the API, and a body the document refuses (a wrong type, a missing or an unknown field) is
refused by the API, naming that field.
"""

from __future__ import annotations

import itertools
import re

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from pydantic import ValidationError

from edge.api.openapi import REF
from edge.routes import all_endpoints
from tests.api_helpers import (KIOSK_PIN, MUTATIONS, World, client_for, kiosk_join_body, kiosk_member, new_kiosk,
                               nothing_written, refusal)
from tests.conftest import ADMIN_PIN, CASHIER_PIN, WATER, ApiClient, open_store
from tests.payments_helpers import payment_code

ENDPOINTS = {f"{e.method} {e.path}": e for e in all_endpoints()}
WRONG_FOR_EVERY_TYPE = [[]]  # no field of any request schema takes a list of lists


def pairing(w: World) -> dict:
    return ApiClient(w.flask_app, "").post("/devices/pair", {"name": "平板", "kind": "terminal"}).json


# A request that succeeds, for the endpoints with a body that MUTATIONS does not cover.
OTHER_REQUESTS = {
    "login": lambda w: (client_for(w.store, w.flask_app, lane=5, pin=None), "POST", "/auth/login",
                        {"pin": CASHIER_PIN}),
    "request pairing": lambda w: (ApiClient(w.flask_app, ""), "POST", "/devices/pair",
                                  {"name": "平板", "kind": "kiosk"}),
    "claim pairing": lambda w: (ApiClient(w.flask_app, ""), "POST",
                                "/devices/pair/{id}/claim".format(**(p := pairing(w))), {"secret": p["secret"]}),
    "scan payment": lambda w: (w.cashier, "POST", f"/sales/{w.sale(WATER)[0]}/payments",
                               {"code": payment_code("alipay"), "amount": 200}),
    "run flows": lambda w: (w.manager, "POST", "/marketing/run", {}),
    "refresh insight": lambda w: (w.manager, "POST", "/insight/refresh", {"full": True}),
}
OTHER_REQUESTS.update({
    "join at kiosk": lambda w: (new_kiosk(w), "POST", "/kiosk/members", kiosk_join_body()),
    "kiosk sign in": lambda w: ((k := kiosk_member(w)), "POST", "/kiosk/sessions",
                                {"phone": k.phone, "pin": KIOSK_PIN}),
    "set kiosk pin": lambda w: (kiosk_member(w), "POST", "/kiosk/me/pin",
                                {"pin": "592013", "current_pin": KIOSK_PIN}),
})
REQUESTS = {**MUTATIONS, **OTHER_REQUESTS}

# Which request shows each endpoint with a body; a new endpoint without one here fails the test by name.
EXAMPLE_OF = {
    "POST /devices/pair": "request pairing", "POST /devices/pair/{request_id}/claim": "claim pairing",
    "POST /devices/pair/approve": "approve pairing", "POST /devices/pair/reject": "reject pairing",
    "POST /auth/login": "login", "POST /staff": "add staff",
    "POST /products": "upsert product", "POST /products/import": "import products",
    "POST /stock/receipts": "stock receipt", "POST /stock/adjustments": "stock adjustment",
    "POST /shifts": "open shift", "POST /shifts/{shift_id}/cash": "cash in",
    "POST /shifts/{shift_id}/close": "close shift",
    "POST /sales": "open sale", "PATCH /sales/{sale_id}": "name salesperson",
    "POST /sales/{sale_id}/lines": "add line", "PATCH /sales/{sale_id}/lines/{line_id}": "change line",
    "POST /sales/{sale_id}/discount": "sale discount", "POST /sales/{sale_id}/complete": "complete",
    "POST /sales/{sale_id}/void": "void", "POST /refunds": "refund",
    "POST /members": "register member", "POST /sales/{sale_id}/member": "name sale member",
    "POST /sales/{sale_id}/scan": "scan", "PATCH /members/{member_id}": "edit member",
    "POST /members/{member_id}/merge": "merge members", "DELETE /members/{member_id}": "erase member",
    "POST /members/{member_id}/stored-value/payout": "pay back stored value",
    "POST /members/{member_id}/topups": "top up",
    "POST /coupons/definitions": "define coupon", "POST /coupons/definitions/{definition_id}/issue": "issue coupons", "POST /members/{member_id}/payment-pin": "set payment pin",
    "POST /members/{member_id}/points/adjust": "adjust points",
    "POST /gifts": "add gift", "PATCH /gifts/{gift_id}": "change gift",
    "POST /members/{member_id}/gift-redemptions": "redeem gift",
    "POST /gift-redemptions/{code}/cancel": "cancel gift redemption",
    "POST /promotions": "create promotion", "PATCH /promotions/{promotion_id}": "change promotion",
    "POST /sales/{sale_id}/payments": "scan payment",
    "POST /kiosk/members": "join at kiosk", "POST /kiosk/sessions": "kiosk sign in",
    "PATCH /kiosk/me": "edit own details", "POST /kiosk/me/pin": "set kiosk pin",
    "POST /kiosk/me/consent/withdraw": "withdraw consent", "POST /kiosk/me/gift-redemptions": "redeem gift at kiosk",
    "POST /kiosk/price-checks": "price check", "POST /invoice-requests": "request invoice",
    "POST /marketing/flows": "create flow", "PATCH /marketing/flows/{flow_id}": "change flow",
    "POST /marketing/flows/validate": "validate flow", "POST /marketing/run": "run flows",
    "POST /reports/targets": "set sales target",
    "POST /stocktakes": "start stocktake", "POST /stocktakes/{stocktake_id}/counts": "count stock",
    "POST /reorder-points": "set reorder point", "PATCH /staff/{staff_id:int}": "change staff",
    "POST /staff/{staff_id:int}/pin": "reset staff pin",
    "POST /insight/refresh": "refresh insight", "POST /insight/tags": "create tag",
    "POST /insight/tags/{tag_id}/rules": "add tag rule", "PATCH /insight/rules/{rule_id}": "change tag rule",
    "POST /members/{member_id}/tags": "tag member", "POST /insight/segments/preview": "preview segment",
    "POST /insight/segments": "save segment", "PUT /insight/segments/{segment_id}": "change segment",
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    store = open_store(tmp_path_factory.mktemp("shop"))
    flask_app = store.web()
    yield store, flask_app
    store.db.close()


@pytest.fixture(scope="module")
def document(shop):
    answer = shop[1].test_client().get("/api/v1/openapi.json")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    return answer.json


lanes = itertools.count(10)


@pytest.fixture
def world(shop) -> World:
    """A fresh lane on the shared store, so each example starts from its own clean cashier's state."""
    store, flask_app = shop
    return World.around(store, flask_app, client_for(store, flask_app, lane=next(lanes), shift_float=10_000))


def body_schema(document, endpoint) -> dict:
    """The operation's request schema, self-contained (its $refs resolve inside it)."""
    operation = document["paths"][endpoint.openapi_path][endpoint.method.lower()]
    return {**operation["requestBody"]["content"]["application/json"]["schema"], "components": document["components"]}


def component(document, model) -> dict:
    return document["components"]["schemas"][model.__name__]


def doc_errors(schema: dict, body) -> list[str]:
    return [error.message for error in OAS31Validator(schema).iter_errors(body)]


def endpoint_of(flask_app, method: str, path: str):
    rule, _ = flask_app.url_map.bind("localhost").match("/api/v1" + path.split("?")[0], method=method)
    return ENDPOINTS[rule]


def test_the_document_is_valid_openapi_3(document):
    validate(document)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] and document["info"]["version"]


def test_every_registered_endpoint_is_documented(document):
    operation_ids = []
    for endpoint in all_endpoints():
        operation = document["paths"][endpoint.openapi_path][endpoint.method.lower()]
        operation_ids.append(operation["operationId"])
        params = {(p["in"], p["name"]): p for p in operation["parameters"]}
        assert {name for kind, name in params if kind == "path"} == set(endpoint.path_params)
        if endpoint.query is not None:
            # a parameter is documented by its alias where it has one (?from= is `from_` in Python)
            assert {name for kind, name in params if kind == "query"} == {
                field.alias or name for name, field in endpoint.query.model_fields.items()}
        expects_key = endpoint.mutating and endpoint.replayable
        assert (("header", "Idempotency-Key") in params) == expects_key, endpoint.path
        if endpoint.body is not None:
            assert operation["requestBody"]["content"]["application/json"]["schema"] == {
                "$ref": REF.format(model=endpoint.body.__name__)}
        else:
            assert "requestBody" not in operation
        assert str(endpoint.status) in operation["responses"]
        assert operation["responses"]["4XX"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
        expected_security = {"public": [], "device": [{"device": []}],
                             "staff": [{"device": [], "session": []}]}[endpoint.auth]
        assert operation["security"] == expected_security
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"


def test_the_document_holds_exactly_the_served_routes(document, shop):
    served = {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
              for rule in shop[1].url_map.iter_rules() if rule.rule.startswith("/api/v1/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
    assert documented == served - {("/api/v1/openapi.json", "get")}


@pytest.mark.parametrize("model", sorted({m for e in all_endpoints() for m in (e.body, e.query) if m},
                                         key=lambda m: m.__name__), ids=lambda m: m.__name__)
def test_the_documented_schemas_are_the_validating_models(document, model):
    generated = model.model_json_schema(ref_template=REF)
    nested = generated.pop("$defs", {})
    assert component(document, model) == generated
    for name, schema in nested.items():
        assert document["components"]["schemas"][name] == schema


def test_the_error_schema_describes_the_errors(document, shop):
    answer = shop[1].test_client().get("/api/v1/sales/nope", headers={"X-Device-Token": "nope"})
    schema = {"$ref": REF.format(model="Error"), "components": document["components"]}
    assert answer.status_code == 401 and doc_errors(schema, answer.json) == []


@pytest.mark.parametrize("name", [name for name, e in ENDPOINTS.items() if e.body is not None])
def test_bodies_are_judged_alike_by_the_document_and_the_api(document, world, name):
    endpoint = ENDPOINTS[name]
    client, method, path, body = REQUESTS[EXAMPLE_OF[name]](world)
    assert endpoint_of(world.flask_app, method, path) is endpoint
    schema = body_schema(document, endpoint)
    properties = component(document, endpoint.body)["properties"]
    required = component(document, endpoint.body).get("required", [])

    # Each variant the document refuses, the API refuses too, naming the field, and writes nothing.
    variants = [(f"{field} of a wrong type", {**body, field: WRONG_FOR_EVERY_TYPE}, field) for field in properties]
    variants += [(f"{field} missing", {k: v for k, v in body.items() if k != field}, field) for field in required]
    variants.append(("an unknown field", {**body, "unexpected": 1}, "unexpected"))
    for what, variant, field in variants:
        assert doc_errors(schema, variant), f"the document accepts {what}"
        with nothing_written(world.store):
            error = refusal(client.request(method, path, json=variant), 422, code="invalid")
        assert error["field"].startswith(field), (what, error)

    assert doc_errors(schema, body) == []
    answer = client.request(method, path, json=body)
    assert answer.status_code == endpoint.status, answer.json


@pytest.mark.parametrize("path", ["/products?q=水&limit=5", "/products?barcode=6904321000012",
                                  "/sales?status=suspended"])
def test_query_parameters_valid_per_the_document_are_accepted(document, shop, path):
    store, flask_app = shop
    client = client_for(store, flask_app, lane=next(lanes), pin=ADMIN_PIN)
    endpoint = endpoint_of(flask_app, "GET", path)
    params = {p["name"]: p for p in document["paths"][endpoint.openapi_path]["get"]["parameters"] if p["in"] == "query"}
    for pair in path.split("?")[1].split("&"):
        name, value = pair.split("=")
        value = int(value) if params[name]["schema"].get("type") == "integer" else value
        assert doc_errors({**params[name]["schema"], "components": document["components"]}, value) == []
    assert client.get(path).status_code == 200


# Rules across fields: exactly one of barcode or sku, exactly one of sale_id or receipt_no.
CROSS_FIELD = [
    ("POST /sales/{sale_id}/lines", {"qty": 1}, False),
    ("POST /sales/{sale_id}/lines", {"barcode": "6904321000012", "sku": "DRK001"}, False),
    ("POST /sales/{sale_id}/lines", {"barcode": None, "sku": "DRK001"}, True),
    ("POST /refunds", {"reason": "破损"}, False),
    ("POST /refunds", {"sale_id": "a", "receipt_no": "S001-20260101-0001", "reason": "破损"}, False),
    ("POST /refunds", {"sale_id": None, "receipt_no": "S001-20260101-0001", "reason": "破损"}, True),
]


@pytest.mark.parametrize("name, body, valid", CROSS_FIELD)
def test_rules_across_fields_are_in_the_document(document, name, body, valid):
    endpoint = ENDPOINTS[name]
    assert (doc_errors(body_schema(document, endpoint), body) == []) == valid
    if valid:
        endpoint.body.model_validate(body)
    else:
        with pytest.raises(ValidationError, match="give exactly one of"):
            endpoint.body.model_validate(body)
