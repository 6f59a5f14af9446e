"""Helpers shared by the API tests: more clients on one store, refusals, "nothing was written", and one
request that succeeds for each kind of mutating endpoint."""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from dataclasses import dataclass

from tests.conftest import ADMIN_PIN, APPLES_SKU, CASHIER_PIN, COLA, MANAGER_PIN, WATER, ApiClient
from tests.marketing_helpers import FLOW_BODY, WELCOME, kiosk_message, saved_flow


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


MANAGER_APPROVAL = {"pin": MANAGER_PIN}
_PHONES = (str(number) for number in itertools.count(13_900_000_000))


PROMOTION_BODY = {"name": "满100减10", "kind": "threshold", "threshold": 10_000, "amount": 1000,
                  "starts_at": "2020-01-01T00:00", "ends_at": "2099-12-31T00:00"}


def member_body(phone: str, **personal) -> dict:
    return {"phone": phone, "consent": {"notice_version": "2026-11", "agreed": True, "purposes": ["membership"]},
            **personal}


@dataclass
class World:
    """A cashier's lane with an open shift and a manager's device on one store, with set-ups for requests."""

    store: object
    flask_app: object
    cashier: ApiClient
    manager: ApiClient

    @classmethod
    def around(cls, store, flask_app, cashier: ApiClient) -> "World":
        return cls(store, flask_app, cashier, client_for(store, flask_app, lane=9, pin=MANAGER_PIN))

    def shift_id(self) -> str:
        return self.cashier.get("/shifts/current").json["id"]

    def sale(self, *barcodes: str) -> tuple[str, list[str]]:
        """An open sale on the cashier's lane with the given items; returns its id and line ids."""
        sale_id = self.cashier.post("/sales").json["id"]
        for barcode in barcodes:
            assert self.cashier.post(f"/sales/{sale_id}/lines", {"barcode": barcode}).status_code == 201
        return sale_id, [line["id"] for line in self.cashier.get(f"/sales/{sale_id}").json["lines"]]

    def completed_sale(self) -> tuple[str, list[str]]:
        sale_id, lines = self.sale(WATER, COLA)
        paid = self.cashier.post(f"/sales/{sale_id}/complete", {"payments": [{"method": "cash", "amount": 1000}]})
        assert paid.status_code == 200, paid.json
        return sale_id, lines

    def member(self) -> dict:
        """A newly registered member, with a phone number no other test member has."""
        registered = self.cashier.post("/members", member_body(next(_PHONES)))
        assert registered.status_code == 201, registered.json
        return registered.json

    def funded_member(self) -> dict:
        """A new member with ¥100.00 of stored value, topped up in cash on the cashier's lane."""
        member = self.member()
        topped = self.cashier.post(f"/members/{member['id']}/topups", {"amount": 10_000, "method": "cash"})
        assert topped.status_code == 201, topped.json
        return member

    def coupon_definition(self) -> str:
        defined = self.manager.post("/coupons/definitions", {"name": "立减3元", "kind": "amount", "value": 300,
                                                             "valid_from": "2020-01-01", "valid_to": "2099-12-31"})
        assert defined.status_code == 201, defined.json
        return defined.json["id"]

    def promotion(self) -> str:
        """A new 满100减10 promotion, active from 2020 on; returns its id."""
        made = self.manager.post("/promotions", PROMOTION_BODY)
        assert made.status_code == 201, made.json
        return made.json["id"]

    def pairing_code(self) -> str:
        asked = ApiClient(self.flask_app, "").post("/devices/pair", {"name": "新平板", "kind": "terminal"})
        return asked.json["code"]


def failed_payment(w: World) -> str:
    """A scan payment refused by the (simulated) provider: final, so cancelling it changes nothing."""
    from tests.payments_helpers import payment_code

    sale_id, _ = w.sale(WATER)
    started = w.cashier.post(f"/sales/{sale_id}/payments", {"code": payment_code("wechat", "insufficient")})
    assert started.status_code == 201 and started.json["state"] == "failed", started.json
    return started.json["id"]


def suspended_sale(w: World) -> str:
    sale_id, _ = w.sale(WATER)
    assert w.cashier.post(f"/sales/{sale_id}/suspend").status_code == 200
    return sale_id


def gift(w: World) -> str:
    added = w.manager.post("/gifts", {"name": "环保袋", "points": 300, "sku": "DRK001"})
    assert added.status_code == 201, added.json
    return added.json["id"]


def gift_redemption(w: World) -> str:
    """A pending gift redemption of a member given points for it; returns its pickup code."""
    redeemed = w.cashier.post(f"/members/{member_with_points(w, 300)}/gift-redemptions",
                              {"gift_id": gift(w), "qty": 1})
    assert redeemed.status_code == 201, redeemed.json
    return redeemed.json["code"]


def member_with_points(w: World, points: int) -> str:
    member_id = w.member()["id"]
    given = w.manager.post(f"/members/{member_id}/points/adjust", {"points": points, "reason": "活动"})
    assert given.status_code == 201, given.json
    return member_id


KIOSK_PIN = "284915"
KIOSK_CONSENT = {"notice_version": "2026-11", "agreed": True, "purposes": ["membership", "marketing"]}
USCC = "91110000802100433B"  # a valid 统一社会信用代码


def new_kiosk(w: World) -> ApiClient:
    _, token = w.store.staff.add_device("自助机", "kiosk")
    return ApiClient(w.flask_app, token)


def kiosk_join_body() -> dict:
    return {"phone": next(_PHONES), "pin": KIOSK_PIN, "consent": KIOSK_CONSENT}


def kiosk_member(w: World, points: int = 0) -> ApiClient:
    """A new kiosk, signed in as a member who just joined there (given ``points`` by the manager)."""
    kiosk, body = new_kiosk(w), kiosk_join_body()
    joined = kiosk.post("/kiosk/members", body)
    assert joined.status_code == 201, joined.json
    kiosk.session, kiosk.member, kiosk.phone = joined.json["token"], joined.json["member"], body["phone"]
    if points:
        given = w.manager.post(f"/members/{kiosk.member['id']}/points/adjust", {"points": points, "reason": "活动"})
        assert given.status_code == 201, given.json
    return kiosk


def kiosk_member_with_message(w: World) -> ApiClient:
    """A member signed in at a new kiosk with one kiosk message waiting (from a welcome flow, paused again after);
    the message's id is ``message_id``."""
    flow_id = saved_flow(w, {"name": "入会欢迎", **WELCOME}, active=True)
    kiosk = kiosk_member(w)
    assert w.manager.post(f"/marketing/flows/{flow_id}/pause").status_code == 200
    kiosk.message_id = kiosk.get("/kiosk/me/messages").json["messages"][0]["id"]
    return kiosk


def invoice_body(w: World) -> dict:
    sale_id, _ = w.completed_sale()
    return {"receipt": w.cashier.get(f"/sales/{sale_id}").json["receipt_no"], "title": "上海某某贸易有限公司",
            "taxpayer_id": USCC, "email": "finance@example.com"}


def counting_stocktake(w: World, *counted: str) -> str:
    """The store's counting stocktake (started if none is), with one more of each barcode counted."""
    running = [s for s in w.manager.get("/stocktakes").json["stocktakes"] if s["status"] == "counting"]
    stocktake_id = running[0]["id"] if running else w.manager.post("/stocktakes", {}).json["id"]
    for barcode in counted:
        assert w.manager.post(f"/stocktakes/{stocktake_id}/counts", {"barcode": barcode}).status_code == 200
    return stocktake_id


def no_stocktake_counting(w: World) -> None:
    for stocktake in w.manager.get("/stocktakes").json["stocktakes"]:
        if stocktake["status"] == "counting":
            assert w.manager.post(f"/stocktakes/{stocktake['id']}/cancel").status_code == 200


_STAFF_PINS = (str(pin) for pin in itertools.count(730_001))


def new_cashier(w: World) -> int:
    return w.store.staff.add_staff("新收银", "cashier", next(_STAFF_PINS)).id
def insight_tag(w: World, kind: str = "manual") -> str:
    """A new tag of this kind, named uniquely; returns its id."""
    made = w.manager.post("/insight/tags", {"name": f"标签{next(_PHONES)}", "group": "测试", "kind": kind})
    assert made.status_code == 201, made.json
    return made.json["id"]


def insight_rule(w: World) -> str:
    added = w.manager.post(f"/insight/tags/{insight_tag(w, 'auto')}/rules",
                           {"category": "母婴", "min_times": 3, "days": 60})
    assert added.status_code == 201, added.json
    return added.json["id"]


def tagged_member(w: World) -> tuple[str, str]:
    member_id, tag_id = w.member()["id"], insight_tag(w)
    assert w.manager.post(f"/members/{member_id}/tags", {"tag_id": tag_id}).status_code == 201
    return member_id, tag_id


def saved_segment(w: World) -> str:
    """A saved segment, named uniquely; returns its id."""
    saved = w.manager.post("/insight/segments", {"name": f"客群{next(_PHONES)}", "criteria": {"lifecycles": ["new"]}})
    assert saved.status_code == 201, saved.json
    return saved.json["id"]


# Each mutating endpoint kind: a set-up giving (client, method, path, body) of one request that succeeds.
MUTATIONS = {
    "open shift": lambda w: (client_for(w.store, w.flask_app, lane=3), "POST", "/shifts", {"opening_float": 5000}),
    "cash in": lambda w: (w.cashier, "POST", f"/shifts/{w.shift_id()}/cash",
                          {"kind": "in", "amount": 5000, "reason": "零钱"}),
    "no-sale drawer": lambda w: (w.cashier, "POST", f"/shifts/{w.shift_id()}/cash",
                                 {"kind": "no_sale", "reason": "换零钱", "approval": MANAGER_APPROVAL}),
    "close shift": lambda w: (w.cashier, "POST", f"/shifts/{w.shift_id()}/close", {"counted_cash": 10_000}),
    "open sale": lambda w: (w.cashier, "POST", "/sales", {}),
    "name salesperson": lambda w: (w.cashier, "PATCH", f"/sales/{w.sale()[0]}", {"salesperson_id": 1}),
    "add line": lambda w: (w.cashier, "POST", f"/sales/{w.sale()[0]}/lines", {"barcode": WATER, "qty": 2}),
    "change line": lambda w: (w.cashier, "PATCH", "/sales/{0}/lines/{1[0]}".format(*w.sale(WATER)), {"qty": 3}),
    "remove line": lambda w: (w.cashier, "DELETE", "/sales/{0}/lines/{1[0]}".format(*w.sale(WATER, COLA)), None),
    "sale discount": lambda w: (w.cashier, "POST", f"/sales/{w.sale(WATER)[0]}/discount",
                                {"discount": {"kind": "percent", "value": 5}}),
    "suspend": lambda w: (w.cashier, "POST", f"/sales/{w.sale(WATER)[0]}/suspend", None),
    "resume": lambda w: (w.cashier, "POST", f"/sales/{suspended_sale(w)}/resume", None),
    "complete": lambda w: (w.cashier, "POST", f"/sales/{w.sale(WATER, COLA)[0]}/complete",
                           {"payments": [{"method": "cash", "amount": 1000}]}),
    "void": lambda w: (w.cashier, "POST", f"/sales/{w.sale(WATER)[0]}/void",
                       {"reason": "顾客离开", "approval": MANAGER_APPROVAL}),
    "refund": lambda w: (w.cashier, "POST", "/refunds", {
        "sale_id": (done := w.completed_sale())[0], "lines": [{"line_id": done[1][0], "qty": 1}],
        "reason": "破损", "approval": MANAGER_APPROVAL}),
    "upsert product": lambda w: (w.manager, "POST", "/products", {"sku": "NEW001", "name": "新品", "price": 990}),
    "import products": lambda w: (w.manager, "POST", "/products/import",
                                  {"csv": "sku,name,price\nNEW002,新品,100\nDRK001,农夫山泉 550ml,210\n"}),
    "stock receipt": lambda w: (w.manager, "POST", "/stock/receipts",
                                {"lines": [{"sku": "DRK001", "qty": 24}, {"sku": APPLES_SKU, "qty": 5000}]}),
    "stock adjustment": lambda w: (w.manager, "POST", "/stock/adjustments",
                                   {"sku": "DRK001", "counted": 7, "reason": "盘点"}),
    "approve pairing": lambda w: (w.manager, "POST", "/devices/pair/approve", {"code": w.pairing_code(), "lane": 4}),
    "reject pairing": lambda w: (w.manager, "POST", "/devices/pair/reject", {"code": w.pairing_code()}),
    "unpair device": lambda w: (w.manager, "DELETE",
                                f"/devices/{w.store.staff.add_device('旧平板', 'terminal', 6)[0].id}", None),
    "register member": lambda w: (w.cashier, "POST", "/members", member_body(next(_PHONES), name="王小明")),
    "name sale member": lambda w: (w.cashier, "POST", f"/sales/{w.sale()[0]}/member", {"code": w.member()["code"]}),
    "clear sale member": lambda w: (w.cashier, "DELETE", f"/sales/{w.sale()[0]}/member", None),
    "scan": lambda w: (w.cashier, "POST", f"/sales/{w.sale()[0]}/scan", {"code": WATER}),
    "cancel payment": lambda w: (w.cashier, "POST", f"/payments/{failed_payment(w)}/cancel", None),
    "edit member": lambda w: (w.manager, "PATCH", f"/members/{w.member()['id']}", {"name": "李小红"}),
    "deactivate member": lambda w: (w.manager, "POST", f"/members/{w.member()['id']}/deactivate", None),
    "reactivate member": lambda w: (w.manager, "POST", f"/members/{w.member()['id']}/reactivate", None),
    "merge members": lambda w: (w.manager, "POST", f"/members/{w.member()['id']}/merge",
                                {"duplicate_id": w.member()["id"]}),
    "erase member": lambda w: (w.manager, "DELETE", f"/members/{w.member()['id']}", {"reason": "本人要求"}),
    "top up": lambda w: (w.cashier, "POST", f"/members/{w.member()['id']}/topups",
                         {"amount": 30_000, "method": "card", "reference": "POS-7731"}),
    "pay back stored value": lambda w: (w.cashier, "POST", f"/members/{w.funded_member()['id']}/stored-value/payout",
                                        {"reason": "退卡", "approval": MANAGER_APPROVAL}),
    "define coupon": lambda w: (w.manager, "POST", "/coupons/definitions",
                                {"name": "满10减2", "kind": "threshold", "value": 200, "threshold": 1000,
                                 "valid_from": "2020-01-01", "valid_to": "2099-12-31"}),
    "issue coupons": lambda w: (w.manager, "POST", f"/coupons/definitions/{w.coupon_definition()}/issue",
                                {"count": 2}),
    "set payment pin": lambda w: (w.cashier, "POST", f"/members/{w.member()['id']}/payment-pin", {"pin": "284915"}),
    "adjust points": lambda w: (w.manager, "POST", f"/members/{w.member()['id']}/points/adjust",
                                {"points": 500, "reason": "客诉补偿"}),
    "add gift": lambda w: (w.manager, "POST", "/gifts", {"name": "保温杯", "points": 2000, "sku": "DRK001",
                                                         "active": True, "stock_limit": 20}),
    "change gift": lambda w: (w.manager, "PATCH", f"/gifts/{gift(w)}", {"points": 400, "stock_limit": 5}),
    "redeem gift": lambda w: (w.cashier, "POST", f"/members/{member_with_points(w, 600)}/gift-redemptions",
                              {"gift_id": gift(w), "qty": 2}),
    "collect gift": lambda w: (w.cashier, "POST", f"/gift-redemptions/{gift_redemption(w)}/collect", None),
    "cancel gift redemption": lambda w: (w.manager, "POST", f"/gift-redemptions/{gift_redemption(w)}/cancel",
                                         {"reason": "顾客不要了"}),
    "create promotion": lambda w: (w.manager, "POST", "/promotions", {**PROMOTION_BODY, "repeat": True}),
    "change promotion": lambda w: (w.manager, "PATCH", f"/promotions/{w.promotion()}", {"amount": 1500}),
    "deactivate promotion": lambda w: (w.manager, "DELETE", f"/promotions/{w.promotion()}", None),
    "end kiosk session": lambda w: (kiosk_member(w), "DELETE", "/kiosk/session", None),
    "edit own details": lambda w: (kiosk_member(w), "PATCH", "/kiosk/me", {"name": "王小明", "gender": "male"}),
    "withdraw consent": lambda w: (kiosk_member(w), "POST", "/kiosk/me/consent/withdraw", {"purposes": ["marketing"]}),
    "redeem gift at kiosk": lambda w: (kiosk_member(w, points=300), "POST", "/kiosk/me/gift-redemptions",
                                       {"gift_id": gift(w), "qty": 1}),
    "price check": lambda w: (kiosk_member(w), "POST", "/kiosk/price-checks", {"barcode": WATER}),
    "request invoice": lambda w: (w.cashier, "POST", "/invoice-requests", invoice_body(w)),
    "start stocktake": lambda w: (no_stocktake_counting(w), w.manager, "POST", "/stocktakes", {"note": "饮料货架"})[1:],
    "count stock": lambda w: (w.manager, "POST", f"/stocktakes/{counting_stocktake(w)}/counts",
                              {"barcode": WATER, "qty": 12, "mode": "set"}),
    "post stocktake": lambda w: (w.manager, "POST", f"/stocktakes/{counting_stocktake(w, WATER)}/post", None),
    "uncount stock": lambda w: (w.manager, "DELETE", f"/stocktakes/{counting_stocktake(w, WATER)}/counts/DRK001", None),
    "cancel stocktake": lambda w: (w.manager, "POST", f"/stocktakes/{counting_stocktake(w)}/cancel", None),
    "set reorder point": lambda w: (w.manager, "POST", "/reorder-points", {"sku": "DRK001", "reorder_point": 12}),
    "change staff": lambda w: (w.manager, "PATCH", f"/staff/{new_cashier(w)}", {"role": "manager"}),
    "reset staff pin": lambda w: (w.manager, "POST", f"/staff/{new_cashier(w)}/pin",
                                  {"pin": next(_STAFF_PINS), "approval": MANAGER_APPROVAL}),
    "add staff": lambda w: (client_for(w.store, w.flask_app, lane=8, pin=ADMIN_PIN), "POST", "/staff",
                            {"name": "张收银", "role": "cashier", "pin": "5678"}),
    "create flow": lambda w: (w.manager, "POST", "/marketing/flows", FLOW_BODY),
    "change flow": lambda w: (w.manager, "PATCH", f"/marketing/flows/{saved_flow(w)}", {**FLOW_BODY, "name": "改名"}),
    "delete flow": lambda w: (w.manager, "DELETE", f"/marketing/flows/{saved_flow(w)}", None),
    "validate flow": lambda w: (w.manager, "POST", "/marketing/flows/validate",
                                {"nodes": FLOW_BODY["nodes"], "edges": FLOW_BODY["edges"]}),
    "activate flow": lambda w: (w.manager, "POST", f"/marketing/flows/{saved_flow(w)}/activate", None),
    "pause flow": lambda w: (w.manager, "POST", f"/marketing/flows/{saved_flow(w, active=True)}/pause", None),
    "kiosk message shown": lambda w: (w.cashier, "POST", f"/marketing/messages/{kiosk_message(w)}/shown", None),
    "kiosk message shown to its member": lambda w: ((k := kiosk_member_with_message(w)), "POST",
                                                    f"/kiosk/me/messages/{k.message_id}/shown", None),
    "set sales target": lambda w: (w.manager, "POST", "/reports/targets",
                                   {"staff_id": 1, "role": "salesperson", "from": "2026-11-01", "to": "2026-11-30",
                                    "amount": 500_000}),
    "create tag": lambda w: (w.manager, "POST", "/insight/tags", {"name": "爱喝咖啡", "group": "偏好",
                                                                  "kind": "manual"}),
    "add tag rule": lambda w: (w.manager, "POST", f"/insight/tags/{insight_tag(w, 'auto')}/rules",
                               {"category": "母婴", "min_times": 3, "days": 60}),
    "change tag rule": lambda w: (w.manager, "PATCH", f"/insight/rules/{insight_rule(w)}",
                                  {"min_times": 2, "active": False}),
    "tag member": lambda w: (w.manager, "POST", f"/members/{w.member()['id']}/tags", {"tag_id": insight_tag(w)}),
    "untag member": lambda w: (w.manager, "DELETE", "/members/{0}/tags/{1}".format(*tagged_member(w)), None),
    "preview segment": lambda w: (w.manager, "POST", "/insight/segments/preview",
                                  {"criteria": {"lifecycles": ["new"], "min_monetary": 0}, "limit": 5}),
    "save segment": lambda w: (w.manager, "POST", "/insight/segments",
                               {"name": "新会员", "criteria": {"lifecycles": ["new"], "levels": ["普通"]}}),
    "change segment": lambda w: (w.manager, "PUT", f"/insight/segments/{saved_segment(w)}",
                                 {"name": "活跃会员", "criteria": {"lifecycles": ["active"], "min_monetary": 100}}),
}
