"""Sync rules without a broker: the [hq]/[sync] config, the outbox as published and acked, HQ's broadcasts and
commands applied once at a store, and HQ's ingest (once per event, contiguous acks, relays, overdraw flags,
settlement, daily sales, catalog push, read API).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from datetime import datetime, timedelta, timezone

import paho.mqtt.client as mqtt
import peewee
import pytest

from edge.config import ConfigError, parse_config
from edge.errors import Conflict, DomainError
from edge.hq import reports
from edge.hq.api import create_app
from edge.hq.batch import parse_batch
from edge.hq.ingest import ingest
from edge.hq.models import Broadcast, Flag, StoreEvent, StoreState, open_hq_database
from edge.hq.models import Coupon as HQCoupon
from edge.members.coupons import Coupon, new_coupon_code
from edge.hq.push import push_catalog, push_promotions, send_command
from edge.hq.service import HQService
from edge.members.models import Member
from edge.members.service import Consent
from edge.outbox.events import depth, emit
from edge.promotions.models import Promotion
from edge.store_meta import Meta
from edge.sync.apply import Applier
from edge.sync.commands import Commands
from edge.sync.floor import HEARD_AT_KEY
from edge.sync.outbox import Outbox
from edge.sync.service import SyncService
from tests.api_helpers import PROMOTION_BODY
from tests.conftest import WATER, terminal
from tests.domain2_helpers import nothing_written, open_sale_with, refused, row_counts
from tests.postgres_helpers import hq_dsn, postgres_server  # noqa: F401 (fixtures: HQ on SQLite and PostgreSQL)

CHAIN_CONFIG = {"store": {"id": "B", "chain_id": "c1"}, "hq": {"broker": "mqtt://127.0.0.1:9"}}
MEMBER_ID = "7d3f7c8e-0000-4000-8000-000000000001"


@pytest.fixture
def store(store_with):
    return store_with(CHAIN_CONFIG)


@pytest.fixture
def hq(tmp_path, hq_dsn):
    db = open_hq_database(hq_dsn, tmp_path / "hq")
    yield db
    db.close()


# -- config ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("config", "message"), [
    ({"hq": {"broker": "mqtt://hq:port"}}, "hq.broker: Value error, must be mqtt[s]://host or mqtt[s]://host:port"),
    ({"hq": {"broker": "mqtts://hq", "cert_file": "c.pem"}}, "hq: Value error, cert_file and key_file go together"),
    ({"hq": {"broker": "mqtt://hq", "ca_file": "ca.pem"}}, "hq: Value error, ca_file and cert_file need an mqtts://"),
    ({"sync": {"batch_size": 0}}, "sync.batch_size: Input should be greater than or equal to 1"),
    ({"sync": {"batchsize": 10}}, "sync.batchsize: unknown key"),
])
def test_bad_hq_and_sync_settings_are_refused_naming_the_key(config, message):
    with pytest.raises(ConfigError) as caught:
        parse_config(config)
    assert str(caught.value).startswith(message)


def test_broker_address_gives_host_port_and_tls():
    hq = parse_config({"hq": {"broker": "mqtts://hq.example", "username": "S001", "password": "x"}}).hq
    assert (hq.host, hq.port, hq.tls) == ("hq.example", 8883, True)
    assert parse_config({"hq": {"broker": "mqtt://10.0.0.5:1884"}}).hq.port == 1884


# -- the outbox as the sync service sees it ------------------------------------------------------------


def test_a_batch_is_the_contracts_events_payload_and_acks_only_move_forward(store):
    outbox = Outbox(store, "B")
    last = outbox.last_seq()
    with store.db.transaction():
        emit("stock.movement", {"id": "m1", "qty": 2})
    last_seq, payload = outbox.batch(last, 10)
    message = json.loads(payload)
    assert last_seq == last + 1 and message["store_id"] == "B"
    assert [e["seq"] for e in message["events"]] == [last, last + 1]
    assert set(message["events"][-1]) == {"id", "seq", "type", "at", "data"}
    assert message["events"][-1]["data"] == {"id": "m1", "qty": 2}

    assert outbox.ack(last) == last
    assert outbox.ack(last - 5) == last  # a late, older ack changes nothing
    assert outbox.ack(last + 100) == last + 1  # never past what exists
    assert outbox.figures()["outbox_depth"] == 0
    assert depth() == 0


# -- what HQ sends, applied at the store ------------------------------------------------------------------


def member_events(store_id: str = "A") -> list[dict]:
    at = "2026-11-23T08:00:00.000+00:00"
    record = {"id": MEMBER_ID, "code": "80000000017", "phone": "13912345678", "name": "王芳", "birthday": None,
              "gender": None, "minor": False, "status": "active", "merged_into": None, "home_store": store_id,
              "registered_at": at}
    stored_value = {"ledger": "stored_value", "id": str(uuid.uuid4()), "member_id": MEMBER_ID,
                    "account": "principal", "amount": 30_000, "kind": "topup", "ref": "t1", "store_id": store_id,
                    "device_id": 1, "staff_id": 1, "at": at}
    points = {"ledger": "points", "id": str(uuid.uuid4()), "member_id": MEMBER_ID, "points": 120, "kind": "accrual",
              "ref": "s1", "reason": None, "store_id": store_id, "expires_on": "2027-11-30",
              "detail": {"receipt_no": "x"}, "at": at}
    return [{"id": str(uuid.uuid4()), "type": kind, "at": at, "data": data, "store_id": store_id}
            for kind, data in (("member.registered", record), ("ledger.entry", stored_value),
                               ("ledger.entry", points))]


def test_a_broadcast_applies_members_and_ledger_entries_once(store):
    applier = Applier(store)
    message = {"hq_seq": 1, "events": member_events()}
    assert applier.apply_broadcast(message) == 3
    assert store.stored_value.balance(MEMBER_ID).total == 30_000 and store.points.balance(MEMBER_ID) == 120
    assert store.members.find(phone="13912345678").id == MEMBER_ID
    before = row_counts(store)
    assert applier.apply_broadcast({**message, "hq_seq": 2}) == 0  # the same events again, in a resend
    assert row_counts(store) == before
    assert store.stored_value.balance_from_ledger(MEMBER_ID).total == 30_000 and applier.hq_seq() == 2


def test_a_stores_own_events_coming_back_are_skipped(store):
    applier = Applier(store)
    applier.apply_broadcast({"hq_seq": 1, "events": member_events(store_id="B")})
    assert Member.get_or_none(Member.id == MEMBER_ID) is None


def test_broadcasts_out_of_order_wait_for_the_gap_to_be_filled(store):
    service = SyncService(store)
    first, second = member_events()[:1], member_events()[1:2]
    service._dispatch(service.topics.broadcast, {"hq_seq": 2, "events": second})
    assert service.applier.hq_seq() == 0 and service.resend_asked[0] == 1  # asked HQ to send from 1 again
    for hq_seq, events in ((1, first), (2, second), (1, first), (2, second)):  # the resend, then duplicates
        service._dispatch(service.topics.broadcast, {"hq_seq": hq_seq, "events": events})
    assert service.applier.hq_seq() == 2
    assert store.stored_value.balance_from_ledger(MEMBER_ID).total == 30_000


def test_a_new_hq_epoch_makes_the_store_send_everything_again_and_take_broadcasts_from_1(store):
    service = SyncService(store)
    first, second = member_events()[:1], member_events()[1:2]
    service._dispatch(service.topics.broadcast, {"hq_seq": 1, "epoch": "old", "events": first})
    service._dispatch(service.topics.ack, {"upto_seq": service.outbox.last_seq(), "epoch": "old"})
    assert (service.applier.hq_seq(), service.outbox.figures()["outbox_depth"]) == (1, 0)

    # a new HQ database: its first ack holds nothing of ours, its broadcasts count from 1 again
    service._dispatch(service.topics.ack, {"upto_seq": 0, "epoch": "new"})
    assert service.outbox.figures()["outbox_depth"] == service.outbox.last_seq() > 0
    assert service.outbox.acked_upto() == 0 and service.window.next_seq == 1
    assert service.applier.hq_seq() == 0 and service.resend_asked[0] == 1
    assert service.figures()["hq_epoch"] == "new"
    service._dispatch(service.topics.resent, {"hq_seq": 1, "epoch": "new", "events": first})  # known: skipped
    service._dispatch(service.topics.broadcast, {"hq_seq": 2, "epoch": "new", "events": second})
    assert service.applier.hq_seq() == 2
    assert store.stored_value.balance_from_ledger(MEMBER_ID).total == 30_000

    before = row_counts(store)  # the old database's messages still queued for us change nothing
    service._dispatch(service.topics.broadcast, {"hq_seq": 3, "epoch": "old", "events": member_events()[2:]})
    service._dispatch(service.topics.ack, {"upto_seq": 5, "epoch": "old"})
    assert row_counts(store) == before and service.applier.hq_seq() == 2 and service.outbox.acked_upto() == 0


def test_the_first_epoch_heard_is_taken_without_sending_again(store):
    service = SyncService(store)
    service.outbox.ack(service.outbox.last_seq())
    service._dispatch(service.topics.broadcast, {"hq_seq": 1, "events": member_events()[:1]})  # no epoch yet
    service._dispatch(service.topics.ack, {"upto_seq": 1, "epoch": "first"})
    assert service.outbox.figures()["outbox_depth"] == 0 and service.applier.hq_seq() == 1
    assert service.figures()["hq_epoch"] == "first"


def test_a_product_from_hq_is_upserted_and_audited(store):
    product = {"sku": "HQ-1", "name": "总部新品", "price": 990, "barcodes": [], "active": True}
    Applier(store).apply_broadcast({"hq_seq": 1, "events": [
        {"id": str(uuid.uuid4()), "type": "product.upserted", "at": "x", "store_id": None,
         "data": {"source": "hq", "product": product}}]})
    assert store.catalog.by_sku("HQ-1").price == 990


def test_a_price_from_hq_changes_only_the_price_and_an_unknown_sku_changes_nothing(store):
    water = store.catalog.scan(WATER).product
    before = row_counts(store)
    Applier(store).apply_broadcast({"hq_seq": 1, "events": [
        {"id": str(uuid.uuid4()), "type": "price.changed", "at": "x", "store_id": None,
         "data": {"sku": sku, "price": 250}} for sku in (water.sku, "NO-SUCH-SKU")]})
    changed = store.catalog.as_dict(store.catalog.by_sku(water.sku))
    assert changed == {**store.catalog.as_dict(water), "price": 250}
    assert row_counts(store)["product"] == before["product"]


def test_a_command_is_answered_once_and_a_repeat_gets_the_same_reply(store):
    commands = Commands(store, Outbox(store, "B"))
    reply = commands.run({"id": "c1", "command": "ping"})
    assert reply["ok"] and reply["result"] == {"store_id": "B"}
    before = row_counts(store)
    assert commands.run({"id": "c1", "command": "ping"}) == reply
    assert row_counts(store) == before
    unknown = commands.run({"id": "c2", "command": "reboot"})
    assert not unknown["ok"] and unknown["error"].startswith("command: unknown command 'reboot'")
    bad = commands.run({"id": "c3", "command": "resend_events", "args": {}})
    assert not bad["ok"] and bad["error"].startswith("args:")


def test_resend_events_makes_acked_events_unacked_again(store):
    outbox = Outbox(store, "B")
    outbox.ack(outbox.last_seq())
    reply = Commands(store, outbox).run({"id": "c1", "command": "resend_events", "args": {"from_seq": 3}})
    assert reply["result"] == {"acked_upto": 2} and outbox.figures()["outbox_depth"] == outbox.last_seq() - 2


# -- coupons relayed between stores --------------------------------------------------------------------------

COUPON_DEFINITION = {"id": "def-hq-5", "name": "立减5元", "kind": "amount", "value": 500, "threshold": 0,
                     "category": None, "valid_from": "2020-01-01", "valid_to": "2099-12-31"}


def coupon_event(kind: str, coupon_id: str, code: str, store_id: str = "A", sale_id: str | None = None) -> dict:
    """A coupon event as a store emits it (edge/members/coupons.py)."""
    data = {"id": coupon_id, "code": code, "definition_id": COUPON_DEFINITION["id"], "member_id": MEMBER_ID}
    if kind == "coupon.issued":
        data |= {"status": "issued", "definition": COUPON_DEFINITION}
    else:
        data |= {"sale_id": sale_id, "amount": 500, "store_id": store_id}
    return {"id": str(uuid.uuid4()), "type": kind, "at": "2026-11-23T09:00:00.000+00:00", "store_id": store_id,
            "data": data}


def test_a_coupon_issued_at_another_store_is_usable_here_until_it_is_redeemed_anywhere(store):
    applier = Applier(store)
    kept, used_at_a = ("c-kept", new_coupon_code()), ("c-used", new_coupon_code())
    applier.apply_broadcast({"hq_seq": 1, "events": [*member_events(), coupon_event("coupon.issued", *kept),
                                                     coupon_event("coupon.issued", *used_at_a)]})
    assert sorted(c["code"] for c in store.coupons.usable(MEMBER_ID)) == sorted([kept[1], used_at_a[1]])
    applier.apply_broadcast({"hq_seq": 2, "events": [coupon_event("coupon.redeemed", *used_at_a, sale_id="s-A")]})
    assert [c["code"] for c in store.coupons.usable(MEMBER_ID)] == [kept[1]]

    caller = terminal(store)
    sale = open_sale_with(store, caller, [(WATER, 3)])
    store.sales.set_member(sale.id, caller, store.members.get(MEMBER_ID))
    total = store.sales.get(sale.id).total
    store.sales.complete(sale.id, caller, [{"method": "coupon", "amount": 500, "reference": kept[1]},
                                           {"method": "cash", "amount": total - 500}])
    with pytest.raises(Conflict, match="redeemed"):  # the one used at A is refused here
        paying = open_sale_with(store, caller, [(WATER, 3)])
        store.sales.set_member(paying.id, caller, store.members.get(MEMBER_ID))
        store.sales.complete(paying.id, caller, [{"method": "coupon", "amount": 500, "reference": used_at_a[1]},
                                                 {"method": "cash", "amount": total - 500}])
    # A redeemed the kept one too while apart: ours stands here, HQ flags the pair
    applier.apply_broadcast({"hq_seq": 3, "events": [coupon_event("coupon.redeemed", *kept, sale_id="s-A2")]})
    assert Coupon.get_by_id("c-kept").sale_id == sale.id
    applier.apply_broadcast({"hq_seq": 4, "events": [coupon_event("coupon.returned", *used_at_a, sale_id="s-A")]})
    assert [c["code"] for c in store.coupons.usable(MEMBER_ID)] == [used_at_a[1]]  # given back by A's refund


def test_a_coupon_for_a_member_unknown_here_is_left_off_alone(store):
    applier = Applier(store)
    before = row_counts(store, ignore=("sync_applied", "meta"))
    assert applier.apply_broadcast({"hq_seq": 1, "events": [coupon_event("coupon.issued", "c-x", new_coupon_code())]}) \
        == 1
    assert row_counts(store, ignore=("sync_applied", "meta")) == before and applier.hq_seq() == 1


def test_hq_relays_coupons_and_flags_one_redeemed_at_two_stores(hq):
    coupon = ("c-1", new_coupon_code())
    ingest("A", batch("A", [coupon_event("coupon.issued", *coupon)]))
    ingest("B", batch("B", [coupon_event("coupon.redeemed", *coupon, store_id="B", sale_id="s-B")]))
    ingest("C", batch("C", [coupon_event("coupon.redeemed", *coupon, store_id="C", sale_id="s-C")]))
    relayed = [event["type"] for b in Broadcast.select().order_by(Broadcast.hq_seq) for event in json.loads(b.events)]
    assert relayed == ["coupon.issued", "coupon.redeemed", "coupon.redeemed"]
    assert [(f["kind"], f["detail"]["sales"], f["detail"]["stores"]) for f in reports.flags()] == [
        ("coupon_twice", ["s-B", "s-C"], ["B", "C"])]
    ingest("B", batch("B", [coupon_event("coupon.returned", *coupon, store_id="B", sale_id="s-B")], first_seq=2))
    assert (HQCoupon.get_by_id("c-1").status, HQCoupon.get_by_id("c-1").sale_id) == ("issued", None)


# -- HQ ------------------------------------------------------------------------------------------------------


def batch(store_id: str, events: list[dict], first_seq: int = 1) -> dict:
    return {"store_id": store_id, "events": [{"id": e["id"], "seq": first_seq + n, "type": e["type"], "at": e["at"],
                                              "data": e["data"]} for n, e in enumerate(events)]}


def spend(store_id: str, amount: int) -> dict:
    return {"id": str(uuid.uuid4()), "type": "ledger.entry", "at": "2026-11-23T09:00:00.000+00:00",
            "data": {"ledger": "stored_value", "id": str(uuid.uuid4()), "member_id": MEMBER_ID,
                     "account": "principal", "amount": -amount, "kind": "spend", "ref": "s", "store_id": store_id,
                     "at": "2026-11-23T09:00:00.000+00:00"}}


def test_hq_stores_each_event_once_and_acks_only_without_gaps(hq):
    events = member_events()
    assert ingest("A", batch("A", events[1:], first_seq=2)) == 0  # seq 1 is not there yet
    assert ingest("A", batch("A", events[:1])) == 3
    assert ingest("A", batch("A", events)) == 3  # delivered twice
    assert StoreEvent.select().count() == 3 and StoreState.get_by_id("A").acked_upto == 3
    relayed = [json.loads(b.events) for b in Broadcast.select().order_by(Broadcast.hq_seq)]
    assert [len(events) for events in relayed] == [2, 1] and relayed[0][0]["store_id"] == "A"


def test_hq_knows_an_event_again_by_its_seq_and_id_and_refuses_a_seq_that_is_no_whole_number(hq):
    events = batch("A", member_events())["events"]
    assert ingest("A", {"store_id": "A", "events": [events[0], events[0], events[1]]}) == 2  # one twice in a batch
    assert ingest("A", {"store_id": "A", "events": events}) == 3
    stored = [(e.seq, e.id) for e in StoreEvent.select().order_by(StoreEvent.seq)]
    assert stored == [(e["seq"], e["id"]) for e in events]
    with pytest.raises(peewee.IntegrityError, match="seq 2 is event"):  # the seq HQ holds, another event
        ingest("A", {"store_id": "A", "events": [{**events[1], "id": str(uuid.uuid4())}]})
    with pytest.raises(ValueError, match="whole number, not '4'"):
        ingest("A", {"store_id": "A", "events": [{**events[0], "id": str(uuid.uuid4()), "seq": "4"}]})
    assert StoreEvent.select().count() == 3


@pytest.mark.parametrize("layout", [{"separators": (",", ":")}, {"indent": 1}], ids=["as_stores_send", "spaced"])
def test_hq_stores_each_events_data_as_sent_and_parses_the_batch_as_json_does(hq, layout):
    events = member_events()
    payload = json.dumps(batch("A", events), ensure_ascii=False, **layout)
    message, data_texts = parse_batch(payload.encode())
    assert message == json.loads(payload)
    ingest("A", message, data_texts)
    stored = [json.loads(e.data) for e in StoreEvent.select().order_by(StoreEvent.seq)]
    assert stored == [e["data"] for e in events]
    for malformed in (payload[:-1], payload + "x", payload.replace('"data"', '"data" 1', 1),
                      re.sub(r"}(\s*)]", r"},\1]", payload, count=1), "[]"):  # the last: a trailing comma
        with pytest.raises(ValueError):
            parse_batch(malformed)


def test_hq_refuses_a_batch_naming_another_store_and_stores_nothing(hq):
    with pytest.raises(ValueError, match="store_id 'B'"):
        ingest("A", batch("B", member_events()))
    assert StoreEvent.select().count() == 0


def test_spends_at_two_stores_that_overdraw_are_kept_flagged_and_settled(hq):
    ingest("A", batch("A", member_events()))  # 300.00 paid in at A
    ingest("B", batch("B", [spend("B", 20_000)]))
    ingest("C", batch("C", [spend("C", 15_000)]))  # offline at the same time: 50.00 beyond the balance
    assert reports.balances(MEMBER_ID)["stored_value"] == -5_000
    flags = reports.flags()
    assert [(f["kind"], f["store_id"], f["detail"]["balance"]) for f in flags] == [("overdraw", "C", -5_000)]
    assert reports.settlement() == {"gross": [{"from": "A", "to": "B", "amount": 20_000},
                                              {"from": "A", "to": "C", "amount": 10_000}],
                                    "net": [{"from": "A", "to": "B", "amount": 20_000},
                                            {"from": "A", "to": "C", "amount": 10_000}],
                                    "unfunded": {"C": 5_000}}
    assert Flag.select().count() == 1


def test_daily_sales_per_store_count_sales_and_refunds(hq):
    sale = {"id": str(uuid.uuid4()), "type": "sale.completed", "at": "x",
            "data": {"business_date": "2026-11-23", "total": 1_230}}
    refund = {"id": str(uuid.uuid4()), "type": "refund.completed", "at": "x",
              "data": {"at": "2026-11-23T10:00:00+00:00", "total": 200}}
    ingest("A", batch("A", [sale, refund]))
    assert reports.sales() == [{"store_id": "A", "day": "2026-11-23", "sales": 1, "sales_total": 1_230,
                                "refunds": 1, "refunds_total": 200, "net": 1_030}]


def test_hq_reads_only_a_sales_figures_and_stores_its_data_as_sent(hq):
    sale = {"id": str(uuid.uuid4()), "type": "sale.completed", "at": "x",
            "data": {"business_date": "2026-11-23", "total": 1_230, "lines": [{"sku": "N1", "name": "新品\"1\""}]}}
    refund = {"id": str(uuid.uuid4()), "type": "refund.completed", "at": "x",
              "data": {"at": "2026-11-23T10:00:00+00:00", "total": 200, "lines": []}}
    compact = {"ensure_ascii": False, "separators": (",", ":")}  # as stores send
    message, data_texts = parse_batch(json.dumps(batch("A", [sale, refund]), **compact).encode())
    assert [e["data"] for e in message["events"]] == [{"business_date": "2026-11-23", "total": 1_230},
                                                      {"at": "2026-11-23T10:00:00+00:00", "total": 200}]
    assert data_texts == [json.dumps(e["data"], **compact) for e in (sale, refund)]  # the text as sent
    ingest("A", message, data_texts)
    assert [json.loads(e.data) for e in StoreEvent.select().order_by(StoreEvent.seq)] == [sale["data"], refund["data"]]
    assert reports.sales()[0]["sales_total"] == 1_230 and reports.sales()[0]["refunds_total"] == 200
    for data, error in (({"business_date": "2026-11-23"}, "event seq 1 \\(sale.completed\\): .*`total`"),
                        ({"business_date": "2026-11-23", "total": 1.5}, "Expected `int`, got `float`")):
        with pytest.raises(ValueError, match=error):
            parse_batch(json.dumps(batch("A", [{**sale, "data": data}])))


def test_a_catalog_csv_becomes_broadcasts_and_a_bad_header_queues_nothing(hq):
    report = push_catalog("sku,name,price,barcodes\nN1,新品,100,6900000000014\nN2,,5,\nN3,x,5,6900000000017\n")
    assert report["products"] == 1
    assert [(e["line"], e["field"]) for e in report["errors"]] == [(3, "name"), (4, "barcodes[0]")]
    assert json.loads(Broadcast.get().events)[0]["data"]["product"]["sku"] == "N1"
    with pytest.raises(DomainError, match="missing column"):
        push_catalog("sku,name\nN3,x\n")
    assert Broadcast.select().count() == 1
    prices = push_catalog("sku,price\nN1,120\nN2,1.5\n")
    assert prices == {"products": 1, "errors": [{"line": 3, "field": "price",
                                                 "message": "price must be a whole number of fen, got '1.5'"}]}
    assert json.loads(Broadcast.get_by_id(2).events)[0]["data"] == {"sku": "N1", "price": 120}


def test_the_read_api_answers_the_chains_figures(hq):
    ingest("A", batch("A", member_events()))
    send_command("A", "ping")
    http = create_app().test_client()
    assert http.get("/hq/v1/members").json == {"total": 1, "by_home_store": {"A": 1}}
    found = http.get("/hq/v1/members?phone=13912345678").json["members"][0]
    assert (found["stored_value"], found["points"]) == (30_000, 120)
    assert http.get("/hq/v1/settlement").json["net"] == []
    assert http.get("/hq/v1/stores").json["stores"][0]["acked_upto"] == 3


# -- the offline floor limit ---------------------------------------------------------------------------------


def spend_here(store, amount_in_water: int = 1):
    """A sale of bottles of water paid with MEMBER_ID's stored value at this store."""
    caller = terminal(store, lane=5)
    sale = open_sale_with(store, caller, [(WATER, amount_in_water)])
    store.sales.set_member(sale.id, caller, store.members.get(MEMBER_ID))
    total = store.sales.get(sale.id).total
    return store.sales.complete(sale.id, caller, [{"method": "stored_value", "amount": total}])


def hear_from_hq(store, hours_ago: int) -> None:
    with store.db.transaction():
        Meta.put(HEARD_AT_KEY, (datetime.now(timezone.utc) - timedelta(hours=hours_ago)).isoformat())


@pytest.fixture
def floored(store_with):
    """Store B with a 5.00 floor limit, holding 300.00 paid in at store A (relayed by HQ)."""
    store = store_with({**CHAIN_CONFIG, "sync": {"offline_floor_limit": 500, "offline_after_seconds": 60}})
    Applier(store).apply_broadcast({"hq_seq": 1, "events": member_events()})
    return store


def test_offline_value_paid_in_elsewhere_is_spent_only_up_to_the_floor_limit(floored):
    hear_from_hq(floored, hours_ago=2)
    spend_here(floored, 2)  # 4.00 of the 5.00 limit
    caller = terminal(floored, lane=6)
    sale = open_sale_with(floored, caller, [(WATER, 1)])
    floored.sales.set_member(sale.id, caller, floored.members.get(MEMBER_ID))
    with nothing_written(floored), refused(Conflict, field="payments[0].amount", code="offline_floor_limit"):
        floored.sales.complete(sale.id, caller, [{"method": "stored_value", "amount": 200}])  # 6.00 in all
    assert floored.stored_value.balance(MEMBER_ID).total == 30_000 - 400


def test_in_touch_with_hq_the_floor_does_not_apply(floored):
    hear_from_hq(floored, hours_ago=0)
    spend_here(floored, 10)  # 20.00, far above the floor
    assert floored.stored_value.balance(MEMBER_ID).total == 30_000 - 2_000


def test_offline_value_paid_in_here_is_spent_freely(store_with):
    store = store_with({**CHAIN_CONFIG, "sync": {"offline_floor_limit": 0}})
    caller = terminal(store, lane=6)
    member = store.members.register(caller, phone="13912345678", channel="pos",
                                    consent=Consent(store.config.members.privacy_notice_version, ("membership",)))
    store.stored_value.top_up(caller, member.id, 5_000, "cash")
    sale = open_sale_with(store, caller, [(WATER, 10)])
    store.sales.set_member(sale.id, caller, member)
    store.sales.complete(sale.id, caller, [{"method": "stored_value", "amount": 2_000}])  # never heard from HQ
    assert store.stored_value.balance(member.id).total == 3_000


def offline_hq_service() -> HQService:
    """HQ's service never connected: messages are put in its hands as paho would (QoS 1, its mids in order)."""
    return HQService(parse_config({"hq": {"broker": "mqtt://127.0.0.1:9"}}).hq, "c1", instance="t")


def take_in(service: HQService, topic: str, payload: bytes) -> None:
    """A QoS 1 message through paho's callback, as paho's thread hands it over."""
    message = mqtt.MQTTMessage(mid=service.unacked() + 1, topic=topic.encode())
    message.payload, message.qos = payload, 1
    service.client.on_message(service.client, None, message)


def test_a_batch_reusing_stored_seqs_for_other_events_is_flagged_not_stored(hq):
    service = offline_hq_service()
    topic = "storeedge/c1/stores/A/events"
    take_in(service, topic, json.dumps(batch("A", member_events()[:1])).encode())
    # seq 1 again, another event: a restored store
    take_in(service, topic, json.dumps(batch("A", member_events()[1:2])).encode())
    service.step()  # the batches that arrived together: one transaction
    assert StoreEvent.select().count() == 1
    assert [(f["kind"], f["store_id"], f["detail"]["seqs"]) for f in reports.flags()] == [("seq_clash", "A", [1])]
    assert service.unacked() == 0  # the refused batch is done with too: acked, not sent again


def test_batches_arriving_together_are_stored_in_one_go_and_a_malformed_one_is_refused_alone(hq):
    service = offline_hq_service()
    events = member_events()
    for store_id, message in (("A", batch("A", events[:1])), ("A", {"store_id": "A", "events": [{"data": {}}]}),
                              ("B", batch("B", events[1:2])), ("A", batch("A", events[2:], first_seq=2))):
        take_in(service, f"storeedge/c1/stores/{store_id}/events", json.dumps(message).encode())
    while not service.inbox.empty():
        service._take(service.inbox.get())
    service._handle_received()
    assert StoreEvent.select().count() == 0  # waiting for the end of the messages that arrived together
    assert service.unacked() == 4  # none acked before the commit, not even the malformed one (acks go in order)
    service._ingest_waiting()
    assert {s.store_id: s.acked_upto for s in StoreState.select()} == {"A": 2, "B": 1}
    assert StoreEvent.select().count() == 3 and service.waiting == [] and service.unacked() == 0


def test_messages_hq_holds_from_a_connection_that_ended_are_let_go_for_the_broker_to_send_again(hq):
    service = offline_hq_service()
    payload = json.dumps(batch("A", member_events()[:1])).encode()
    take_in(service, "storeedge/c1/stores/A/events", payload)
    take_in(service, "storeedge/c1/stores/A/status", b'{"state": "online"}')
    service._new_link("disconnected", None)  # as paho calls it on its thread
    service.step()
    assert service.unacked() == 0 and not service.received and StoreEvent.select().count() == 0
    take_in(service, "storeedge/c1/stores/A/events", payload)  # the broker's delivery on the next connection
    service.step()
    assert StoreEvent.select().count() == 1 and service.unacked() == 0


def test_hq_takes_in_no_more_than_its_receive_maximum_whatever_the_broker_sends(hq):
    service = HQService(parse_config({"hq": {"broker": "mqtt://127.0.0.1:9", "receive_maximum": 2}}).hq, "c1",
                        instance="t")
    for seq in range(1, 4):
        message = batch("A", member_events()[seq - 1:seq], first_seq=seq)
        paho_thread = threading.Thread(target=take_in, args=(service, "storeedge/c1/stores/A/events",
                                                             json.dumps(message).encode()))
        paho_thread.start()
        paho_thread.join(timeout=None if seq < 3 else 0.5)
    assert paho_thread.is_alive() and service.inbox.qsize() == 2  # the third waits for room
    service.step()  # the first two stored and acked: room for the third
    paho_thread.join(timeout=10)
    service.step()
    assert StoreEvent.select().count() == 3 and service.unacked() == 0


def test_malformed_messages_of_every_kind_are_refused_and_acked(hq):
    service = offline_hq_service()
    for leaf, payload in (("events", b"not json"), ("events", b'{"store_id": "A"}'), ("status", b"[1]"),
                          ("status", b'{"state": {"x": 1}}'), ("replies", b'{"id": 7}'), ("resend", b"{}"),
                          ("telemetry", b"\xff")):
        take_in(service, f"storeedge/c1/stores/A/{leaf}", payload)
    service.step()
    assert service.unacked() == 0 and StoreState.select().count() == 0


def test_a_batch_the_database_refuses_is_refused_alone_never_stopping_hq(hq):
    """A seq beyond the database's integers (SQLite's driver: OverflowError, PostgreSQL: DataError) is refused
    and acked, rather than stopping HQ at it after every restart."""
    service = offline_hq_service()
    huge = batch("A", member_events()[:1], first_seq=2**70)
    take_in(service, "storeedge/c1/stores/A/events", json.dumps(huge).encode())
    take_in(service, "storeedge/c1/stores/B/events", json.dumps(batch("B", member_events()[1:2])).encode())
    service.step()
    assert service.unacked() == 0
    assert StoreEvent.select().where(StoreEvent.store_id == "B").count() == 1


def test_a_broadcast_the_store_cannot_apply_leaves_hq_seq_and_the_sync_running(store):
    service = SyncService(store)
    broken = member_events()[:1]
    broken[0]["data"] = {"id": MEMBER_ID, "home_store": "A"}  # no card code: the member table refuses it
    before = row_counts(store, ignore=("meta",))  # meta: the time HQ was last heard from
    service._on_message(service.topics.broadcast, json.dumps({"hq_seq": 1, "events": broken}).encode())
    assert service.applier.hq_seq() == 0 and row_counts(store, ignore=("meta",)) == before
    service._on_message(service.topics.ack, json.dumps({"upto_seq": 3}).encode())
    assert service.outbox.acked_upto() == 3


def test_telemetry_shows_each_configured_device_with_the_state_the_gateway_last_reported(store_with):
    devices = [{"name": "printer", "kind": "printer", "backend": "network", "host": "127.0.0.1", "port": 9100,
                "lane": 1},
               {"name": "display", "kind": "display", "backend": "virtual", "lane": 1}]
    store = store_with({**CHAIN_CONFIG, "devices": devices})
    store.hardware.jobs.set_state("printer", "printer", 1, "paper_out", "DLE EOT: paper end")
    shown = {d["name"]: (d["state"], d["detail"]) for d in SyncService(store).figures()["devices"]}
    assert shown == {"printer": ("paper_out", "DLE EOT: paper end"), "display": ("unknown", None)}


def test_chain_promotions_pushed_by_hq_price_the_stores_carts_once_and_a_bad_one_is_refused_alone(hq, store):
    chain_offer = {**PROMOTION_BODY, "id": "HQ-2026-12", "threshold": 300, "amount": 100}
    report = push_promotions(json.dumps([chain_offer, {"name": "no id", "kind": "threshold"}]))
    assert report == {"promotions": 1, "errors": [{"index": 1, "field": "id", "message": "id is missing"}]}
    [broadcast] = Broadcast.select()
    events = json.loads(broadcast.events)
    bad = {**events[0], "id": str(uuid.uuid4()), "data": {"change": "hq", "promotion": {
        **chain_offer, "id": "HQ-BAD", "kind": "threshold", "amount": -5}}}
    applier = Applier(store)
    assert applier.apply_broadcast({"hq_seq": 1, "events": [bad, *events]}) == 2
    applied = store.promotions.get("HQ-2026-12")
    assert (applied.source, applied.amount) == ("hq", 100)
    assert Promotion.get_or_none(Promotion.id == "HQ-BAD") is None
    before = row_counts(store)
    assert applier.apply_broadcast({"hq_seq": 2, "events": events}) == 0  # the same event again changes nothing
    assert row_counts(store) == before
    sale = open_sale_with(store, terminal(store), [(WATER, 2)])  # 2 × ¥2.00 reaches 满¥3减¥1
    assert [(p["id"], p["amount"]) for p in store.sales.as_dict(store.sales.get(sale.id))["promotions"]] == [
        ("HQ-2026-12", 100)]


def test_a_remote_member_with_a_local_members_card_code_is_refused_alone_and_later_broadcasts_flow(store):
    local = store.members.register(terminal(store), phone="13700001111", channel="pos",
                                   consent=Consent(notice_version="2026-11", purposes=("membership",)))
    [registered] = [e for e in member_events() if e["type"] == "member.registered"]
    clash = {**registered, "data": {**registered["data"], "code": local.code}}
    applier = Applier(store)
    applier.apply_broadcast({"hq_seq": 1, "events": [clash]})
    assert applier.hq_seq() == 1 and Member.get_or_none(Member.id == MEMBER_ID) is None
    assert store.members.find(code=local.code).id == local.id
    assert applier.apply_broadcast({"hq_seq": 2, "events": member_events()}) == 3  # the next one applies whole
    assert applier.hq_seq() == 2 and store.stored_value.balance(MEMBER_ID).total == 30_000
