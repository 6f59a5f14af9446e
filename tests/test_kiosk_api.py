"""The kiosk's API through the Flask client, privacy first: a kiosk token reaches only self-service endpoints; a
member session shows that one member and nobody else (wrong PIN, another member's id or code in a URL, an expired or
ended session, a kiosk without a session, another kiosk); and the e-invoice endpoints for kiosk and till."""

from __future__ import annotations

import re

import pytest

from edge.kiosk.models import KioskSession
from edge.routes import all_endpoints
from tests.api_helpers import World, client_for, member_body, nothing_written, refusal
from tests.conftest import CASHIER_PIN, WATER, ApiClient
from tests.domain2_helpers import PIN_FAILURE_TABLES, nothing_written as rows_unchanged

PIN = "284915"
CONSENT = {"notice_version": "2026-11", "agreed": True, "purposes": ["membership", "marketing"]}
USCC = "91110000802100433B"
# What a kiosk may reach: self-service, the product lookup of a price check, the notice, invoices, device states.
KIOSK_REACHABLE = {
    "GET /products", "GET /products/{product_id:int}", "GET /members/privacy-notice", "GET /hardware/devices",
    "POST /kiosk/members", "POST /kiosk/sessions", "DELETE /kiosk/session", "GET /kiosk/settings", "GET /kiosk/me",
    "PATCH /kiosk/me", "POST /kiosk/me/pin", "POST /kiosk/me/consent/withdraw", "POST /kiosk/me/gift-redemptions",
    "GET /kiosk/me/gift-redemptions/{code}/code.svg", "POST /kiosk/price-checks", "POST /invoice-requests",
    "GET /invoice-requests", "GET /invoice-requests/{request_id}", "GET /kiosk/me/messages",
    "POST /kiosk/me/messages/{message_id}/shown",
}


@pytest.fixture
def world(store, flask_app, api) -> World:
    return World.around(store, flask_app, api)


def kiosk_client(store, flask_app, name: str = "自助机") -> ApiClient:
    _, token = store.staff.add_device(name, "kiosk")
    return ApiClient(flask_app, token)


@pytest.fixture
def kiosk(store, flask_app) -> ApiClient:
    return kiosk_client(store, flask_app)


def counted_only(store):
    """A wrong PIN writes its count and audit record, nothing else."""
    return rows_unchanged(store, ignore=PIN_FAILURE_TABLES)


def join(kiosk: ApiClient, phone: str, **personal) -> dict:
    """Registers at the kiosk; the kiosk client is then signed in as the new member."""
    answer = kiosk.post("/kiosk/members", {"phone": phone, "pin": PIN, "consent": CONSENT, **personal})
    assert answer.status_code == 201, answer.json
    kiosk.session = answer.json["token"]
    return answer.json["member"]


def test_a_kiosk_token_reaches_only_the_self_service_endpoints():
    reachable = {f"{e.method} {e.path}" for e in all_endpoints() if "kiosk" in e.kinds}
    assert reachable == KIOSK_REACHABLE
    assert all(e.auth != "staff" for e in all_endpoints() if "kiosk" in e.kinds)


def test_kiosk_endpoints_refuse_a_terminal_and_a_display(store, flask_app, api):
    display = client_for(store, flask_app, lane=7, kind="display", pin=None)
    for client in (api, display):
        refusal(client.post("/kiosk/sessions", {"phone": "13912345678", "pin": PIN}), 403, code="forbidden")
        refusal(client.get("/kiosk/me"), 403, code="forbidden")


def test_the_kiosk_cannot_see_a_member_through_staff_endpoints(world, kiosk):
    member = world.member()
    for path in (f"/members/{member['id']}", "/members?phone=13900000000", f"/members/{member['id']}/card",
                 f"/members/{member['id']}/code.svg", f"/members/{member['id']}/gift-redemptions"):
        refusal(kiosk.get(path), 403, code="forbidden")


def test_joining_at_the_kiosk_signs_in_and_shows_only_ones_own_card(world, kiosk):
    other = world.member()
    member = join(kiosk, "13912345678", name="王小明")
    assert member["phone_masked"] == "139****5678" and member["name_masked"] == "王**"
    me = kiosk.get("/kiosk/me")
    assert me.status_code == 200 and me.json["member"]["id"] == member["id"]
    assert other["id"] not in me.get_data(as_text=True) and other["code"] not in me.get_data(as_text=True)


def test_bad_joining_is_refused_and_writes_nothing(store, kiosk):
    with nothing_written(store):
        refusal(kiosk.post("/kiosk/members", {"phone": "13912345678", "pin": "123456", "consent": CONSENT}), 422,
                field="pin", code="weak_pin")
        refusal(kiosk.post("/kiosk/members", {"phone": "12345", "pin": PIN, "consent": CONSENT}), 422,
                field="phone")
        refusal(kiosk.post("/kiosk/members", {"phone": "13912345678", "pin": PIN,
                                              "consent": {**CONSENT, "agreed": False}}), 422,
                field="consent.agreed")


def test_sign_in_with_pin_or_code_and_a_wrong_pin_gives_nothing(store, flask_app, kiosk):
    member = join(kiosk, "13912345678")
    other_kiosk = kiosk_client(store, flask_app, "自助机2")
    by_code = other_kiosk.post("/kiosk/sessions", {"phone": "13912345678", "code": member["code"]})
    assert by_code.status_code == 201 and by_code.json["member"]["id"] == member["id"]
    with counted_only(store):
        error = refusal(other_kiosk.post("/kiosk/sessions", {"phone": "13912345678", "pin": "284916"}), 401,
                        field="pin", code="sign_in_failed")
    assert "token" not in error
    refusal(other_kiosk.post("/kiosk/sessions", {"phone": "13912345678"}), 422, code="invalid")


def test_a_kiosk_without_a_member_session_sees_no_member(world, kiosk):
    world.member()
    refusal(kiosk.get("/kiosk/me"), 401, code="member_session_required")
    kiosk.session = "made-up-token"
    refusal(kiosk.get("/kiosk/me"), 401, code="member_session_invalid")


def test_another_kiosk_cannot_use_the_session(store, flask_app, kiosk):
    join(kiosk, "13912345678")
    thief = kiosk_client(store, flask_app, "别的自助机")
    thief.session = kiosk.session
    refusal(thief.get("/kiosk/me"), 401, code="member_session_invalid")


def test_an_expired_or_ended_session_shows_nothing(store, kiosk):
    join(kiosk, "13912345678")
    token = kiosk.session
    KioskSession.update(expires_at="2020-01-01T00:00:00+00:00").execute()
    refusal(kiosk.get("/kiosk/me"), 401, code="member_session_expired")
    again = kiosk.post("/kiosk/sessions", {"phone": "13912345678", "pin": PIN})
    kiosk.session = again.json["token"]
    assert kiosk.delete("/kiosk/session").json == {"signed_out": True}
    for stale in (token, again.json["token"]):
        kiosk.session = stale
        refusal(kiosk.get("/kiosk/me"), 401)


def test_another_members_pickup_code_is_not_found(world, kiosk):
    owner = join(kiosk, "13912345678")
    world.manager.post(f"/members/{owner['id']}/points/adjust", {"points": 300, "reason": "活动"})
    gift = world.manager.post("/gifts", {"name": "环保袋", "points": 300}).json
    redeemed = kiosk.post("/kiosk/me/gift-redemptions", {"gift_id": gift["id"], "qty": 1})
    assert redeemed.status_code == 201 and redeemed.json["balance"] == 0 and redeemed.json["slip"] is None
    image = kiosk.get(f"/kiosk/me/gift-redemptions/{redeemed.json['code']}/code.svg")
    assert image.status_code == 200 and image.mimetype == "image/svg+xml"
    join(kiosk, "13800138000")  # someone else signs in at the same kiosk
    refusal(kiosk.get(f"/kiosk/me/gift-redemptions/{redeemed.json['code']}/code.svg"), 404, field="code")
    collected = world.cashier.post(f"/gift-redemptions/{redeemed.json['code']}/collect")
    assert collected.status_code == 200 and collected.json["status"] == "collected"


def test_own_details_change_and_the_phone_stays(store, kiosk):
    join(kiosk, "13912345678")
    changed = kiosk.patch("/kiosk/me", {"name": "王小明", "gender": "male"})
    assert changed.status_code == 200 and changed.json == {"updated": ["gender", "name"]}
    assert kiosk.get("/kiosk/me").json["details"]["name"] == "王小明"
    with nothing_written(store):
        refusal(kiosk.patch("/kiosk/me", {"phone": "13800138000"}), 422, field="phone")


def test_withdrawing_membership_erases_and_signs_out(store, kiosk):
    member = join(kiosk, "13912345678", name="王小明")
    answer = kiosk.post("/kiosk/me/consent/withdraw", {"purposes": ["membership"]})
    assert answer.status_code == 200 and answer.json["member_status"] == "erased"
    refusal(kiosk.get("/kiosk/me"), 401)
    assert store.members.get(member["id"]).phone is None


def test_a_price_check_works_signed_in_or_not(kiosk, store):
    heard = []
    store.kiosk.price_check_listeners.append(lambda member_id, product_id: heard.append(member_id))
    anonymous = kiosk.post("/kiosk/price-checks", {"barcode": WATER})
    assert anonymous.status_code == 200 and anonymous.json["product"]["price"] == 200 and heard == []
    member = join(kiosk, "13912345678")
    assert kiosk.post("/kiosk/price-checks", {"barcode": WATER}).status_code == 200
    assert heard == [member["id"]]


def completed_receipt(world: World) -> str:
    sale_id, _ = world.completed_sale()
    return world.cashier.get(f"/sales/{sale_id}").json["receipt_no"]


def test_an_invoice_request_from_the_kiosk_and_its_status_at_the_till(world, kiosk):
    receipt_no = completed_receipt(world)
    body = {"receipt": receipt_no, "title": "上海某某贸易有限公司", "taxpayer_id": USCC, "email": "finance@example.com"}
    with nothing_written(world.store):
        refusal(kiosk.post("/invoice-requests", {**body, "taxpayer_id": USCC[:-1] + "C"}), 422,
                field="taxpayer_id", code="invalid_taxpayer_id")
    asked = kiosk.post("/invoice-requests", body)
    assert asked.status_code == 201 and asked.json["status"] == "requested" and asked.json["channel"] == "kiosk"
    assert asked.json["email_masked"] == "f***@example.com" and "finance@" not in asked.get_data(as_text=True)
    # receipt numbers can be guessed: a kiosk shows who asked masked, the till in full
    assert (asked.json["title"], asked.json["taxpayer_id"]) == ("上*********", "9111**********433B")
    refusal(kiosk.post("/invoice-requests", body), 409, field="receipt", code="invoice_already_requested")
    shown = world.cashier.get(f"/invoice-requests?receipt={receipt_no}")
    assert shown.status_code == 200 and [r["id"] for r in shown.json["requests"]] == [asked.json["id"]]
    assert (shown.json["requests"][0]["title"], shown.json["requests"][0]["taxpayer_id"]) == (body["title"], USCC)
    assert world.cashier.get(f"/invoice-requests/{asked.json['id']}").json["status"] == "requested"


def test_staff_login_stays_a_terminal_call(kiosk):
    refusal(kiosk.post("/auth/login", {"pin": CASHIER_PIN}), 403, code="forbidden")


def test_a_member_registered_at_the_till_signs_in_with_the_card(world, kiosk):
    member = world.cashier.post("/members", member_body("13700137000")).json
    signed = kiosk.post("/kiosk/sessions", {"phone": "13700137000", "code": member["code"]})
    assert signed.status_code == 201
    kiosk.session = signed.json["token"]
    assert kiosk.get("/kiosk/me").json["pin_set"] is False
    assert kiosk.post("/kiosk/me/pin", {"pin": PIN}).json == {"pin_set": True}
    assert kiosk.get("/kiosk/me").json["pin_set"] is True


# Every call about "me", with a body that would do something for a signed-in member.
ME_CALLS = [("GET", "/kiosk/me", None), ("PATCH", "/kiosk/me", {"name": "王小明"}),
            ("POST", "/kiosk/me/pin", {"pin": "592013", "current_pin": PIN}),
            ("POST", "/kiosk/me/consent/withdraw", {"purposes": ["membership"]}),
            ("POST", "/kiosk/me/gift-redemptions", {"gift_id": "any", "qty": 1}),
            ("GET", "/kiosk/me/gift-redemptions/G12345674/code.svg", None), ("GET", "/kiosk/me/messages", None),
            ("POST", "/kiosk/me/messages/any/shown", None)]


def test_every_call_about_me_is_in_the_session_checks():
    checked = {re.sub(r"G\d+", "{code}", path).replace("/any/", "/{message_id}/") for _, path, _ in ME_CALLS}
    assert checked == {e.path for e in all_endpoints() if re.match(r"/kiosk/me(/|$)", e.path)}


def no_session(kiosk, store, flask_app):
    kiosk.session = None


def expired(kiosk, store, flask_app):
    KioskSession.update(expires_at="2020-01-01T00:00:00+00:00").execute()


def ended(kiosk, store, flask_app):
    assert kiosk.delete("/kiosk/session").status_code == 200


def on_another_kiosk(kiosk, store, flask_app):
    kiosk.device_token = kiosk_client(store, flask_app, "别的自助机").device_token


@pytest.mark.parametrize("lose_session", [no_session, expired, ended, on_another_kiosk])
@pytest.mark.parametrize("method, path, body", ME_CALLS)
def test_without_a_valid_member_session_no_call_about_me_answers_or_writes(store, flask_app, kiosk, lose_session,
                                                                          method, path, body):
    join(kiosk, "13912345678", name="王小明")
    lose_session(kiosk, store, flask_app)
    with nothing_written(store):
        error = refusal(kiosk.request(method, path, json=body), 401)
    assert error["code"].startswith("member_session_")
