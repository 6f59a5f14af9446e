"""Durable print jobs through the gateway to a TCP printer: queued with the sale, printed once when the printer
is ready, kept through paper out, cover open, an unplugged printer, a printer gone mid-job and a restart."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from drivers.gateway.service import Gateway
from drivers.text import width
from edge.hardware.models import DeviceState, PrintJob
from tests.conftest import COLA, WATER, terminal
from tests.escpos_decoder import decode
from tests.gateway_helpers import NetworkPrinter, eventually, gateway_config, network_printer, sell

NO_WEB = "ws://127.0.0.1:9/ws/gateway"  # the link retries in the background; printing does not wait for it


@pytest.fixture
def tcp_printer():
    printer = NetworkPrinter()
    yield printer
    printer.close()


@pytest.fixture
def shop(store_with, tcp_printer):
    store = store_with(gateway_config(network_printer(tcp_printer.port)))
    return store, terminal(store, lane=1)


def job_of(sale) -> PrintJob:
    return PrintJob.get(PrintJob.ref == sale.id)


def state_of(name: str) -> str | None:
    row = DeviceState.get_or_none(DeviceState.name == name)
    return row.state if row else None


def receipts_printed(tcp_printer) -> list[str]:
    """The receipt numbers printed whole (their barcode is the last thing before the cut)."""
    return decode(bytes(tcp_printer.received)).barcodes


def test_a_completed_sale_queues_its_receipt_in_the_same_transaction(shop):
    store, caller = shop
    sale = sell(store, caller, [WATER, COLA])
    job = job_of(sale)
    assert (job.status, job.printer, job.kind) == ("queued", "printer", "receipt")
    document = store.hardware.jobs.document(job)
    assert (document["receipt_no"], document["cashier"], document["lane"]) == (sale.receipt_no, "李收银", 1)
    # the shop's wall clock: completed_at is UTC, the demo store is in Asia/Shanghai (UTC+8, no DST)
    completed = datetime.fromisoformat(sale.completed_at)
    assert document["at"] == (completed + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")


def test_gateway_prints_the_receipt_once(shop, tcp_printer):
    store, caller = shop
    sale = sell(store, caller, [WATER, COLA])
    with Gateway(store, url=NO_WEB):
        eventually(lambda: job_of(sale).status == "done")
    printed = decode(bytes(tcp_printer.received))
    assert printed.barcodes == [sale.receipt_no] and printed.cuts == 1
    assert any(line.startswith("农夫山泉") for line in printed.lines)
    assert job_of(sale).attempts == 1 and state_of("printer") == "connected"


@pytest.mark.parametrize("problem", ["paper_out", "cover_open"])
def test_a_printer_that_cannot_print_keeps_the_job_queued_then_prints_it_once(shop, tcp_printer, problem):
    store, caller = shop
    tcp_printer.state[problem] = True
    sale = sell(store, caller, [WATER])
    with Gateway(store, url=NO_WEB):
        eventually(lambda: state_of("printer") == problem)
        assert job_of(sale).status == "queued" and receipts_printed(tcp_printer) == []
        tcp_printer.state[problem] = False
        eventually(lambda: job_of(sale).status == "done")
    assert receipts_printed(tcp_printer) == [sale.receipt_no]
    assert state_of("printer") == "connected"


def test_an_unplugged_printer_goes_offline_and_prints_everything_in_order_when_back(shop, tcp_printer):
    store, caller = shop
    tcp_printer.unplug()
    sales = [sell(store, caller, [WATER]) for _ in range(3)]
    with Gateway(store, url=NO_WEB):
        eventually(lambda: state_of("printer") == "offline")
        assert {job_of(sale).status for sale in sales} == {"queued"}
        tcp_printer.plug()
        eventually(lambda: all(job_of(sale).status == "done" for sale in sales))
    assert receipts_printed(tcp_printer) == [sale.receipt_no for sale in sales]


def test_a_printer_gone_mid_job_prints_the_whole_receipt_again_when_back(store_with):
    tcp_printer = NetworkPrinter(drop_after=100)
    try:
        store = store_with(gateway_config(network_printer(tcp_printer.port)))
        sale = sell(store, terminal(store, lane=1), [WATER, COLA])
        with Gateway(store, url=NO_WEB):
            eventually(lambda: state_of("printer") == "offline")
            assert job_of(sale).status == "queued" and job_of(sale).last_error
            torn_off = len(tcp_printer.received)
            tcp_printer.plug()
            eventually(lambda: job_of(sale).status == "done")
        again = decode(bytes(tcp_printer.received[torn_off:]))
        assert again.barcodes == [sale.receipt_no] and again.cuts == 1
        assert job_of(sale).attempts == 2
    finally:
        tcp_printer.close()


def test_a_restarted_gateway_loses_no_job(shop, tcp_printer):
    store, caller = shop
    tcp_printer.unplug()
    first = sell(store, caller, [WATER])
    with Gateway(store, url=NO_WEB):
        eventually(lambda: state_of("printer") == "offline")
    second = sell(store, caller, [COLA])  # while no gateway runs at all
    tcp_printer.plug()
    with Gateway(store, url=NO_WEB):
        eventually(lambda: job_of(second).status == "done")
    assert receipts_printed(tcp_printer) == [first.receipt_no, second.receipt_no]


def test_a_job_left_printing_by_a_killed_gateway_is_queued_again_at_start(shop, tcp_printer):
    store, caller = shop
    sale = sell(store, caller, [WATER])
    PrintJob.update(status="printing", attempts=1).where(PrintJob.id == job_of(sale).id).execute()
    with Gateway(store, url=NO_WEB):
        eventually(lambda: job_of(sale).status == "done")
    assert receipts_printed(tcp_printer) == [sale.receipt_no] and job_of(sale).attempts == 2


def test_a_job_that_cannot_be_laid_out_fails_and_the_next_one_prints(shop, tcp_printer):
    store, caller = shop
    broken, good = sell(store, caller, [WATER]), sell(store, caller, [COLA])
    PrintJob.update(document='{"kind": "receipt"}').where(PrintJob.id == job_of(broken).id).execute()
    with Gateway(store, url=NO_WEB):
        eventually(lambda: job_of(good).status == "done")
    assert job_of(broken).status == "failed" and "cannot lay out" in job_of(broken).last_error
    assert receipts_printed(tcp_printer) == [good.receipt_no]


def test_no_printer_for_the_lane_queues_nothing(store_with):
    store = store_with(gateway_config(network_printer(9100, lane=2)))
    sale = sell(store, terminal(store, lane=1), [WATER])
    assert PrintJob.select().where(PrintJob.ref == sale.id).count() == 0


def test_a_sale_that_fails_queues_no_receipt(shop):
    store, caller = shop
    sale = store.sales.open(caller)
    store.sales.add_line(sale.id, caller, barcode=WATER)
    with pytest.raises(Exception, match="short"):
        store.sales.complete(sale.id, caller, [{"method": "cash", "amount": 1}])
    assert PrintJob.select().count() == 0


def test_a_reprint_is_marked_as_a_copy_audited_and_printed(shop, tcp_printer):
    from edge.audit.journal import AuditRecord

    store, caller = shop
    sale = sell(store, caller, [WATER])
    answer = store.hardware.reprint(sale.id, caller)
    reprint = PrintJob.get_by_id(answer["job_id"])
    assert (reprint.kind, reprint.ref, answer["receipt_no"]) == ("reprint", sale.id, sale.receipt_no)
    audited = AuditRecord.select().where(AuditRecord.action == "receipt.reprinted").get()
    assert (audited.entity_id, audited.staff_id) == (sale.id, caller.staff_id)
    with Gateway(store, url=NO_WEB):
        eventually(lambda: PrintJob.get_by_id(reprint.id).status == "done")
    printed = decode(bytes(tcp_printer.received))
    assert printed.barcodes == [sale.receipt_no, sale.receipt_no]
    assert [line.strip() for line in printed.lines].count("*** 重印 ***") == 1


def test_a_sale_still_open_has_no_receipt_to_reprint(shop):
    store, caller = shop
    sale = store.sales.open(caller)
    jobs = PrintJob.select().count()
    with pytest.raises(Exception, match="only a completed sale has a receipt"):
        store.hardware.reprint(sale.id, caller)
    assert PrintJob.select().count() == jobs


def test_the_api_lists_the_devices_with_their_state(shop):
    from tests.api_helpers import client_for

    store, _ = shop
    store.hardware.jobs.set_state("printer", "printer", 1, "cover_open", "lid up")
    client = client_for(store, store.web(), lane=2)
    answer = client.get("/hardware/devices")
    assert answer.status_code == 200
    assert answer.json["devices"] == [{"name": "printer", "kind": "printer", "backend": "network", "lane": 1,
                                       "state": "cover_open", "detail": "lid up",
                                       "updated_at": answer.json["devices"][0]["updated_at"]}]


def test_a_member_sale_receipt_carries_the_members_points_and_balance(shop):
    from edge.members.service import Consent

    store, caller = shop
    member = store.members.register(caller, phone="13900139000", channel="pos",
                                    consent=Consent(notice_version="2026-11", purposes=("membership",)))
    sale = store.sales.open(caller)
    store.sales.add_line(sale.id, caller, barcode=COLA)
    store.sales.set_member(sale.id, caller, member)
    done = store.sales.complete(sale.id, caller, [{"method": "cash", "amount": 500}])
    document = store.hardware.jobs.document(job_of(done))
    assert document["member"] == {"code": member.code, "level": None, "points_earned": None,
                                  "points_balance": store.points.balance(member.id), "stored_value_balance": 0}
    assert store.points.balance(member.id) > 0  # earned by this very sale: the receipt is taken after the points
    assert (document["change"], [p["label"] for p in document["payments"]]) == (200, ["现金"])


def test_closing_a_shift_prints_its_z_report(shop, tcp_printer):
    store, caller = shop
    sell(store, caller, [WATER], cash=1000)
    shift = store.shifts.current(caller.device_id)
    store.shifts.close(shift.id, caller, counted_cash=10_200)
    report_job = PrintJob.get((PrintJob.kind == "report") & (PrintJob.ref == shift.id))
    with Gateway(store, url=NO_WEB):
        eventually(lambda: PrintJob.get_by_id(report_job.id).status == "done")
    printed = decode(bytes(tcp_printer.received))
    assert printed.cuts == 2  # the receipt, then the report
    report = printed.lines[printed.lines.index(next(l for l in printed.lines if "Z 报表" in l)):]
    assert "销售笔数" + " " * 39 + "1" in report and any(l.startswith("实收") and l.endswith("2.00") for l in report)
    assert any(l.startswith("差额") and l.endswith("0.00") for l in report)


def test_the_virtual_printer_writes_each_receipt_as_text_and_a_png(store_with):
    from PIL import Image

    store = store_with(gateway_config({"name": "printer", "kind": "printer", "backend": "virtual", "paper_mm": 58}))
    sale = sell(store, terminal(store, lane=1), [WATER, COLA])
    with Gateway(store, url=NO_WEB):
        eventually(lambda: job_of(sale).status == "done")
    [text_file] = (store.data_dir / "receipts").glob("*.txt")
    text = text_file.read_text(encoding="utf-8")
    assert sale.receipt_no in text and "农夫山泉" in text and max(map(width, text.splitlines())) <= 32
    image = Image.open(text_file.with_suffix(".png"))
    assert image.width == 384 and image.height > 24 * len(text.splitlines())


def test_reprint_over_the_api_is_idempotent_and_refused_without_a_printer(shop, store_with):
    from tests.api_helpers import client_for, nothing_written, refusal

    store, caller = shop
    sale = sell(store, caller, [WATER])
    client = client_for(store, store.web(), lane=1)
    key = {"Idempotency-Key": "reprint-1"}
    first = client.post(f"/sales/{sale.id}/reprint", headers=key)
    assert first.status_code == 201 and first.json["receipt_no"] == sale.receipt_no
    with nothing_written(store):
        again = client.post(f"/sales/{sale.id}/reprint", headers=key)
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"

    bare = store_with({})  # no printer at all
    bare_sale = sell(bare, terminal(bare, lane=1), [WATER])
    bare_client = client_for(bare, bare.web(), lane=1)
    with nothing_written(bare):
        refusal(bare_client.post(f"/sales/{bare_sale.id}/reprint"), 409, field="sale_id", code="no_printer")
