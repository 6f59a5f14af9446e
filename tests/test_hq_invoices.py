"""HQ's answer to e-invoice requests: `storeedge hq invoice-status` records the status at HQ and sends it to the
store that asked, as an invoice.status event in a broadcast (hq_seq).

Without a broker: HQ's register of requests, the status rules and bad input
writing nothing (HQ on SQLite and PostgreSQL). End to end against a real
Mosquitto: a store's request reaches HQ, HQ's statuses reach that store and
are shown there once, another store ignores them, and replayed deliveries
move nothing back.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import uuid
from contextlib import closing, contextmanager

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.errors import Conflict, DomainError, NotFound
from edge.hq.api import create_app
from edge.hq.ingest import ingest
from edge.hq.invoices import set_status
from edge.hq.models import Broadcast, InvoiceRequest
from edge.sync.topics import StoreTopics
from tests.conftest import WATER, terminal
from tests.domain2_helpers import audit_records, sell
from tests.mqtt_helpers import CHAIN, STOREEDGE, activate, wait_until
from tests.postgres_helpers import hq_dsn, postgres_server  # noqa: F401 (fixtures: HQ on SQLite and PostgreSQL)
from tests.test_invoices import ask
from tests.test_sync import batch, hq  # noqa: F401 (hq: the fixture, HQ's database opened in this process)
from tests.test_sync_mqtt import chain  # noqa: F401 (the fixture: a broker, HQ and stores as processes)

INVOICE_NO = "25311000000012345678"


def requested(store_id: str = "A", request_id: str | None = None) -> dict:
    """A store's invoice.requested event, as its outbox sends it."""
    request_id = request_id or str(uuid.uuid4())
    return {"id": str(uuid.uuid4()), "type": "invoice.requested", "at": "2026-11-23T09:00:00+00:00",
            "data": {"id": request_id, "store_id": store_id, "sale_id": "sale-1", "receipt_no": "A-20261123-0001",
                     "business_date": "2026-11-23", "completed_at": "2026-11-23T08:59:00+00:00", "amount": 700,
                     "tax_total": 81, "lines": [], "buyer": "personal", "title": "王小明", "taxpayer_id": None,
                     "email": "wang@example.com", "channel": "kiosk", "requested_at": "2026-11-23T09:00:00+00:00"}}


def sent_statuses() -> list[dict]:
    """The invoice.status events HQ has queued, in hq_seq order."""
    return [event for row in Broadcast.select().order_by(Broadcast.hq_seq) for event in json.loads(row.events)
            if event["type"] == "invoice.status"]


@contextmanager
def nothing_written_at_hq():
    before = [(row.hq_seq, row.events) for row in Broadcast.select()], [
        (row.id, row.status, row.invoice_no, row.reason, row.updated_at) for row in InvoiceRequest.select()]
    yield
    assert ([(row.hq_seq, row.events) for row in Broadcast.select()],
            [(row.id, row.status, row.invoice_no, row.reason, row.updated_at) for row in InvoiceRequest.select()]) \
        == before


def test_a_stores_request_is_registered_at_hq_once(hq):
    event = requested()
    ingest("A", batch("A", [event]))
    ingest("A", batch("A", [event]))  # a duplicated delivery of the same batch
    [row] = InvoiceRequest.select()
    assert (row.id, row.store_id, row.status, row.amount, row.receipt_no) == (
        event["data"]["id"], "A", "requested", 700, "A-20261123-0001")
    assert sent_statuses() == []  # a request is not relayed to the other stores


def test_each_status_is_recorded_and_queued_for_its_store_and_a_retry_sends_nothing(hq):
    request_id = requested()["data"]["id"]
    ingest("B", batch("B", [requested("B", request_id)]))
    processing = set_status(request_id, "processing")
    assert (processing["status"], processing["changed"]) == ("processing", True)
    with nothing_written_at_hq():
        assert set_status(request_id, "processing")["changed"] is False
    issued = set_status(request_id, "issued", invoice_no=INVOICE_NO)
    assert issued["hq_seq"] == processing["hq_seq"] + 1
    events = sent_statuses()
    assert [(e["store_id"], e["data"]["store_id"], e["data"]["status"], e["data"]["invoice_no"]) for e in events] \
        == [(None, "B", "processing", None), (None, "B", "issued", INVOICE_NO)]
    assert len({e["id"] for e in events}) == 2
    row = InvoiceRequest.get_by_id(request_id)
    assert (row.status, row.invoice_no) == ("issued", INVOICE_NO)
    http = create_app().test_client()
    assert [(r["id"], r["status"]) for r in http.get("/hq/v1/invoices?store=B").json["invoices"]] == [
        (request_id, "issued")]
    assert http.get("/hq/v1/invoices?status=processing").json == {"invoices": []}


@pytest.mark.parametrize("status, options, error, field", [
    ("done", {}, DomainError, "status"),
    ("issued", {}, DomainError, "invoice_no"),
    ("processing", {"invoice_no": INVOICE_NO}, DomainError, "invoice_no"),
    ("rejected", {"reason": "  "}, DomainError, "reason"),
])
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(hq, status, options, error, field):
    request_id = requested()["data"]["id"]
    ingest("A", batch("A", [requested("A", request_id)]))
    with nothing_written_at_hq(), pytest.raises(error) as refused:
        set_status(request_id, status, **options)
    assert refused.value.field == field


def test_an_unknown_request_and_a_final_status_are_refused_and_write_nothing(hq):
    request_id = requested()["data"]["id"]
    ingest("A", batch("A", [requested("A", request_id)]))
    with nothing_written_at_hq(), pytest.raises(NotFound) as unknown:
        set_status(str(uuid.uuid4()), "processing")
    assert unknown.value.field == "request_id"
    set_status(request_id, "rejected", reason="抬头与税号不符")
    for status, options in (("processing", {}), ("issued", {"invoice_no": INVOICE_NO}),
                            ("rejected", {"reason": "另一个原因"})):
        with nothing_written_at_hq(), pytest.raises(Conflict) as final:
            set_status(request_id, status, **options)
        assert final.value.code == "invoice_final"


# -- end to end, against a real Mosquitto ------------------------------------------------------------------------


def hq_cli(chain, *args) -> subprocess.CompletedProcess:
    return subprocess.run([*STOREEDGE, "hq", *args, *chain.hq_db.options], capture_output=True, text=True,
                          timeout=60)


def shown_at(store, request_id: str) -> dict:
    """The request as the store's screens show it (GET /invoice-requests/{id})."""
    activate(store)
    return store.invoices.as_dict(store.invoices.get(request_id))


def statuses_applied(store) -> list[str]:
    """The invoice.status records of the store's audit journal: one per status that changed the request."""
    activate(store)
    return [record["data"]["status"] for record in audit_records("invoice.status")]


def replay(broker_port: int, topic: str, payloads: list[str]) -> None:
    """A stray client publishing the payloads again, as a broker redelivering them would."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="invoice-replayer", protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", broker_port)
    client.loop_start()
    try:
        for payload in payloads:
            client.publish(topic, payload, qos=1).wait_for_publish(timeout=10)
    finally:
        client.disconnect()
        client.loop_stop()


def test_a_stores_request_reaches_hq_and_hqs_statuses_are_shown_there_once(chain):
    store_a, store_b = chain.add_store("A"), chain.add_store("B")
    activate(store_a)
    cashier = terminal(store_a)
    request = ask(store_a, cashier, sell(store_a, cashier, [(WATER, 2)]).receipt_no)
    wait_until(lambda: chain.hq_db.rows("SELECT status FROM invoice_request WHERE id = ?", (request.id,))
               == [("requested",)], what="the request at HQ")

    for args in (("processing",), ("issued", "--invoice-no", INVOICE_NO)):
        done = hq_cli(chain, "invoice-status", request.id, *args)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["status"] == args[0]
    wait_until(lambda: shown_at(store_a, request.id)["status"] == "issued", what="the issued invoice at store A")
    assert shown_at(store_a, request.id)["invoice_no"] == INVOICE_NO
    assert statuses_applied(store_a) == ["processing", "issued"]

    late = hq_cli(chain, "invoice-status", request.id, "processing")
    assert late.returncode == 1 and "status: " in late.stderr and "issued already" in late.stderr

    # every broadcast again, backwards, twice, on both of store A's topics: none moves the request back
    broadcasts = chain.hq_db.rows("SELECT hq_seq, events FROM broadcast ORDER BY hq_seq")
    payloads = [f'{{"hq_seq":{hq_seq},"events":{events}}}' for hq_seq, events in reversed(broadcasts)]
    topics = StoreTopics(CHAIN, "A")
    replay(chain.broker.port, topics.broadcast, payloads * 2)
    replay(chain.broker.port, topics.resent, payloads)
    # a later status of another request still flows, so store A has handled the replay before it
    second = ask(store_a, cashier, sell(store_a, cashier, [(WATER, 1)]).receipt_no)
    wait_until(lambda: chain.hq_db.rows("SELECT id FROM invoice_request WHERE id = ?", (second.id,)),
               what="the second request at HQ")
    assert hq_cli(chain, "invoice-status", second.id, "rejected", "--reason", "抬头与税号不符").returncode == 0
    wait_until(lambda: shown_at(store_a, second.id)["status"] == "rejected", what="the rejection at store A")

    assert (shown_at(store_a, request.id)["status"], shown_at(store_a, request.id)["invoice_no"]) == (
        "issued", INVOICE_NO)
    assert statuses_applied(store_a) == ["processing", "issued", "rejected"]
    assert statuses_applied(store_b) == []  # store B saw the broadcasts and applied nothing of them
    with closing(sqlite3.connect(store_b.db.path)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM invoice_request").fetchone()[0] == 0
    assert "Traceback" not in chain.syncs["A"].log() + chain.syncs["B"].log() + chain.hq.log()
