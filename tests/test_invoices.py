"""E-invoice requests without HTTP: the receipt from its QR code or number, the taxpayer ID checked per
GB 32100-2015 (python-stdnum), one request per receipt unless HQ rejected it, the invoice.requested event, and
HQ's invoice.status events applied once, through the sync service's applier."""

from __future__ import annotations

import string
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.errors import Conflict, DomainError, NotFound
from edge.invoices.models import InvoiceRequest
from edge.invoices.service import taxpayer_id
from edge.sync.apply import Applier
from tests.conftest import COLA, WATER, terminal
from tests.domain2_helpers import audit_records, events, nothing_written, refused, sell

USCC = "91110000802100433B"  # a valid 统一社会信用代码 (its check character per GB 32100-2015)
QR_TEMPLATE = "https://fapiao.example.com/r?store={store_id}&no={receipt_no}&t={total}"
EMAIL = "finance@example.com"


def ask(store, caller, receipt: str, **overrides):
    fields = {"buyer": "company", "title": "上海某某贸易有限公司", "email": EMAIL, "taxpayer_id_text": USCC,
              **overrides}
    return store.invoices.request(caller, receipt=receipt, **fields)


@pytest.fixture
def sale(store, cashier):
    return sell(store, cashier, [(WATER, 2), (COLA, 1)])


def test_a_request_for_a_typed_receipt_number_goes_to_hq_as_a_document(store, cashier, sale):
    request = ask(store, cashier, sale.receipt_no.lower())
    assert (request.receipt_no, request.amount, request.status, request.channel) == (
        sale.receipt_no, sale.total + sale.rounding, "requested", "pos")
    [event] = events("invoice.requested")
    document = event["data"]
    assert document["id"] == request.id and document["store_id"] == store.config.store.id
    assert (document["taxpayer_id"], document["email"], document["amount"]) == (USCC, EMAIL, request.amount)
    assert sorted((line["sku"], line["qty"]) for line in document["lines"]) == [("DRK001", 2), ("DRK002", 1)]
    assert sum(line["tax"] for line in document["lines"]) == document["tax_total"]
    [record] = audit_records("invoice.requested")
    assert record["data"]["email"] == "f***@example.com"


def test_the_receipts_qr_code_names_the_receipt(store_with):
    store = store_with({"gateway": {"invoice_url": QR_TEMPLATE}})
    cashier = terminal(store)
    sale = sell(store, cashier, [(WATER, 1)])
    scanned = QR_TEMPLATE.format(store_id=store.config.store.id, receipt_no=sale.receipt_no, total=sale.total)
    assert ask(store, cashier, scanned).sale_id == sale.id
    for wrong, code in [(QR_TEMPLATE.format(store_id="S999", receipt_no=sale.receipt_no, total=sale.total),
                         "other_store"),
                        (QR_TEMPLATE.format(store_id=store.config.store.id, receipt_no=sale.receipt_no,
                                            total=sale.total + 1), "invalid_receipt"),
                        ("https://evil.example.com/r?no=" + sale.receipt_no, "invalid_receipt")]:
        with nothing_written(store), refused(DomainError, field="receipt", code=code):
            ask(store, cashier, wrong)


@pytest.mark.parametrize("given_id", ["91110000802100433", "91110000802100433C", "9111000080210043IB",
                                         "A1110000802100433B", "", None])
def test_a_wrong_taxpayer_id_is_refused_naming_it_and_writes_nothing(store, cashier, sale, given_id):
    with nothing_written(store), refused(DomainError, field="taxpayer_id"):
        ask(store, cashier, sale.receipt_no, taxpayer_id_text=given_id)


@settings(max_examples=40, deadline=None)
@given(position=st.integers(0, 17), replacement=st.sampled_from(string.digits + "ABCDEFGHJKLMNPQRTUWXY"))
def test_any_single_changed_character_of_a_taxpayer_id_is_caught(position, replacement):
    changed = USCC[:position] + replacement + USCC[position + 1:]
    if changed == USCC:
        return
    with refused(DomainError, field="taxpayer_id", code="invalid_taxpayer_id"):
        taxpayer_id(changed)


@pytest.mark.parametrize("field, overrides", [
    ("email", {"email": "not-an-address"}), ("email", {"email": "a@b"}), ("title", {"title": "   "}),
    ("taxpayer_id", {"buyer": "personal"}), ("buyer", {"buyer": "government"})])
def test_other_bad_fields_are_refused_and_write_nothing(store, cashier, sale, field, overrides):
    with nothing_written(store), refused(DomainError, field=field):
        ask(store, cashier, sale.receipt_no, **overrides)


def test_a_personal_invoice_needs_no_taxpayer_id(store, cashier, sale):
    request = ask(store, cashier, sale.receipt_no, buyer="personal", title="王小明", taxpayer_id_text=None)
    assert (request.buyer, request.taxpayer_id) == ("personal", None)


def test_an_unknown_or_unfinished_receipt_is_refused(store, cashier):
    with nothing_written(store), refused(NotFound, field="receipt"):
        ask(store, cashier, "S001-20200101-0001")
    with nothing_written(store), refused(DomainError, field="receipt", code="invalid_receipt"):
        ask(store, cashier, "S001 2020/01/01")


def status_event(store, request_id: str, status: str, **more) -> dict:
    return {"id": str(uuid.uuid4()), "type": "invoice.status", "at": "2026-11-23T08:00:00+00:00", "store_id": None,
            "data": {"request_id": request_id, "store_id": store.config.store.id, "status": status, **more}}


def test_one_request_per_receipt_until_hq_rejects_it(store, cashier, sale):
    first = ask(store, cashier, sale.receipt_no)
    with nothing_written(store), refused(Conflict, field="receipt", code="invoice_already_requested"):
        ask(store, cashier, sale.receipt_no, email="other@example.com")
    Applier(store).apply_broadcast({"hq_seq": 1, "events": [
        status_event(store, first.id, "rejected", reason="抬头与税号不符")]})
    second = ask(store, cashier, sale.receipt_no, title="上海某某贸易有限公司（更正）")
    receipt_no, requests = store.invoices.of_receipt(sale.receipt_no)
    assert [(r.id, r.status) for r in requests] == [(second.id, "requested"), (first.id, "rejected")]
    assert requests[1].reason == "抬头与税号不符"


def test_hq_status_updates_apply_once_and_a_final_status_stays(store, cashier, sale):
    request = ask(store, cashier, sale.receipt_no)
    applier = Applier(store)
    issued = status_event(store, request.id, "issued", invoice_no="25311000000012345678")
    assert applier.apply_broadcast({"hq_seq": 1, "events": [status_event(store, request.id, "processing"),
                                                            issued]}) == 2
    late = status_event(store, request.id, "processing")
    applier.apply_broadcast({"hq_seq": 2, "events": [issued, late]})  # a resend, and a late 'processing'
    shown = store.invoices.as_dict(InvoiceRequest.get_by_id(request.id))
    assert (shown["status"], shown["invoice_no"]) == ("issued", "25311000000012345678")
    assert [r["data"]["status"] for r in audit_records("invoice.status")] == ["processing", "issued"]
    assert events("invoice.status") == []  # HQ's word is not sent back up


def test_another_stores_or_an_unknown_invoice_status_changes_nothing(store, cashier, sale):
    request = ask(store, cashier, sale.receipt_no)
    other_store = status_event(store, request.id, "issued")
    other_store["data"]["store_id"] = "S999"
    unknown = status_event(store, str(uuid.uuid4()), "issued")
    Applier(store).apply_broadcast({"hq_seq": 1, "events": [other_store, unknown]})
    assert InvoiceRequest.get_by_id(request.id).status == "requested"
    assert audit_records("invoice.status") == []
