"""Hardware on the store's side: receipts queued with the sale, scans into a lane's cart, the gateway told."""

from __future__ import annotations

from drivers.printer.document import TextPage
from edge import audit
from edge.db import Prepared
from edge.errors import Conflict, DomainError, NotFound
from edge.hardware.jobs import PrintQueue
from edge.hardware.live import LiveHub
from edge.hardware.receipts import receipt_for
from edge.hardware.reports import coupon_page, shift_report_page
from edge.money import MAX_AMOUNT
from edge.payments.codes import provider_of
from edge.promotions import engine
from edge.sales.models import Payment, Sale
from edge.sales.scanning import read_scan
from edge.staff.models import Device, Staff
from edge.staff.service import Caller

_TERMINALS_ON_LANE = Prepared(Device.select().where(
    (Device.lane == Prepared.arg(0)) & (Device.kind == "terminal") & Device.active).order_by(Device.id))
_STAFF_BY_ID = Prepared(Staff.select().where(Staff.id == Prepared.arg(0)))
_OPEN_SALE_ON_LANE = Prepared(Sale.select().where((Sale.lane == Prepared.arg(0)) & (Sale.status == "open"))
                              .order_by(Sale.opened_at.desc()))
DISPLAY = "display"


def device_for_lane(sections, kind: str, lane: int | None):
    """The lane's own device of a kind, else one serving every lane (no lane set), else None."""
    of_kind = [s for s in sections if s.kind == kind]
    return next((s for s in of_kind if s.lane == lane), None) or next((s for s in of_kind if s.lane is None), None)


class HardwareService:
    def __init__(self, app):
        self.app = app
        self.jobs = PrintQueue(app.db)
        self.hub = LiveHub()
        self.devices = app.config.devices
        app.sales.completion_listeners.append(self._on_sale_completed)
        app.shifts.close_listeners.append(self._on_shift_closed)
        app.shifts.cash_listeners.append(self._on_cash_movement)
        # Other domains (marketing) add lines to a sale's receipt, inside its transaction: (sale) -> list[str].
        # Only a receipt that is printed asks them, so what they hand over is on paper.
        self.receipt_notes: list = []
        app.sales.change_listeners.append(self._on_sale_changed)
        app.promotions.change_listeners.append(self._on_promotions_changed)

    def printer_for_lane(self, lane: int | None) -> str | None:
        section = device_for_lane(self.devices, "printer", lane)
        return section.name if section else None

    # -- a completed sale: its receipt job, then (once committed) the gateway told -----------

    def _on_sale_completed(self, sale, lines, caller) -> None:
        printer = self.printer_for_lane(sale.lane)
        job = None
        if printer is not None:
            notes = [text for note in self.receipt_notes for text in note(sale)]
            document = receipt_for(self.app, sale, lines, sale.payments_taken, notes=notes)
            job = self.jobs.enqueue(printer, "receipt", document, ref=sale.id)
        cash = sum(row["tendered"] for row in sale.payments_taken
                   if self.app.sales.tenders.get(row["method"]).gives_change)
        message = {"type": "sale.completed", "lane": sale.lane, "sale_id": sale.id, "receipt_no": sale.receipt_no,
                   "job_id": job.id if job else None, "printer": printer, "cash": cash > 0,
                   "total": sale.total + sale.rounding, "paid": sale.paid, "change": sale.change}
        self.app.db.after_commit(lambda: self.hub.to_gateways(message))
        return None

    def _on_cash_movement(self, shift, movement, caller) -> None:
        """Cash in, cash out and a no-sale (approved and audited by the shift) open the lane's drawer."""
        message = {"type": "drawer", "lane": shift.lane, "reason": movement.kind}
        self.app.db.after_commit(lambda: self.hub.to_gateways(message))

    def _on_shift_closed(self, shift, report: dict, caller) -> None:
        """The Z report prints on the lane's printer when the shift closes."""
        self.print_page(shift_report_page(self.app, report, self._columns(shift.lane)), shift.lane, "report",
                        ref=shift.id)

    def print_page(self, page, lane: int | None, kind: str, ref: str | None = None):
        """A plain print-out (a report, a coupon) queued on the lane's printer; None when it has none."""
        printer = self.printer_for_lane(lane)
        if printer is None:
            return None
        job = self.jobs.enqueue(printer, kind, page, ref=ref)
        message = {"type": "print", "job_id": job.id, "printer": printer}
        self.app.db.after_commit(lambda: self.hub.to_gateways(message))
        return job

    def _columns(self, lane: int | None) -> int:
        section = device_for_lane(self.devices, "printer", lane)
        return 32 if section is None or section.paper_mm == 58 else 48

    def reprint(self, sale_id: str, caller: Caller) -> dict:
        """A copy of a completed sale's receipt, marked 重印, on the printer of the caller's lane; audited."""
        with self.app.db.transaction():
            sale = self.app.sales.get(sale_id)
            if sale.status != "completed":
                raise Conflict(f"sale {sale_id} is {sale.status}: only a completed sale has a receipt",
                               field="sale_id", code=f"sale_{sale.status}")
            lane = caller.device.lane if caller.device and caller.device.lane is not None else sale.lane
            printer = self.printer_for_lane(lane)
            if printer is None:
                raise Conflict(f"no receipt printer is configured for lane {lane}", field="sale_id",
                               code="no_printer")
            payments = [{"method": p.method, "tendered": p.tendered}
                        for p in Payment.select().where(Payment.sale_id == sale.id).order_by(Payment.at)]
            document = receipt_for(self.app, sale, self.app.sales.lines(sale), payments, reprint=True)
            job = self.jobs.enqueue(printer, "reprint", document, ref=sale.id)
            audit.record("receipt.reprinted", staff_id=caller.staff_id, device_id=caller.device_id, entity="sale",
                         entity_id=sale.id, data={"receipt_no": sale.receipt_no, "job_id": job.id,
                                                  "printer": printer})
            message = {"type": "print", "job_id": job.id, "printer": printer}
            self.app.db.after_commit(lambda: self.hub.to_gateways(message))
        return {"job_id": job.id, "printer": printer, "status": job.status, "receipt_no": sale.receipt_no}

    def print_coupon(self, code: str, caller: Caller) -> dict:
        """A paper coupon on the printer of the caller's lane, with its code as a barcode; audited."""
        with self.app.db.transaction():
            coupons = self.app.coupons
            coupon = coupons.by_code(code)
            shown = coupons.coupon_dict(coupon)
            if shown["status"] != "issued":
                raise Conflict(f"coupon {coupon.code} is {shown['status'].replace('_', ' ')}: not printed",
                               field="code", code=f"coupon_{shown['status']}")
            definition = coupons.definition_dict(coupons.definition(coupon.definition_id))
            lane = caller.device.lane if caller.device else None
            page = coupon_page(shown, definition, self.app.config.store.name, self._columns(lane))
            job = self.print_page(page, lane, "coupon", ref=coupon.id)
            if job is None:
                raise Conflict(f"no receipt printer is configured for lane {lane}", field="code", code="no_printer")
            audit.record("coupon.printed", staff_id=caller.staff_id, device_id=caller.device_id, entity="coupon",
                         entity_id=coupon.id, data={"code": coupon.code, "job_id": job.id, "printer": job.printer})
        return {"job_id": job.id, "printer": job.printer, "status": job.status, "code": coupon.code}

    def test_print(self, printer: str, caller: Caller) -> dict:
        """A test page on one configured printer, from the back office; queued like any job, audited."""
        caller.require("manager", "a test print")
        section = next((s for s in self.devices if s.name == printer and s.kind == "printer"), None)
        if section is None:
            raise NotFound(f"no printer named {printer!r} in the config", field="printer")
        columns = 32 if section.paper_mm == 58 else 48
        page = TextPage(title="StoreEdge 打印测试", body=[
            self.app.config.store.name, f"{section.name}: {section.paper_mm} mm, {columns} 列",
            f"收银台 {section.lane or '全部'}", f"测试人 {caller.staff.name}", "中文 ABC 123 ¥0.00"])
        with self.app.db.transaction():
            job = self.jobs.enqueue(section.name, "test", page)
            audit.record("printer.test_printed", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="print_job", entity_id=job.id, data={"printer": section.name})
            message = {"type": "print", "job_id": job.id, "printer": section.name}
            self.app.db.after_commit(lambda: self.hub.to_gateways(message))
        return {"job_id": job.id, "printer": section.name, "status": job.status}

    # -- the customer display: every change of a lane's sale, and the lane as it is -----------

    def _on_sale_changed(self, sale: Sale) -> None:
        """Tell the lane's customer displays, once committed; built only when one is watching (scans are hot)."""
        if not self.hub.watching(sale.lane, DISPLAY):
            return
        message = {"type": "sale.changed", "lane": sale.lane, "sale": self.app.sales.as_dict(sale)}
        self.app.db.after_commit(lambda: self.hub.to_lane(sale.lane, message, kind=DISPLAY))

    def _on_promotions_changed(self) -> None:
        """A promotion created, changed or ended: the displays' idle offers follow, once committed."""
        self.app.db.after_commit(self.refresh_offers)

    def refresh_offers(self, peers: list | None = None) -> int:
        """Sends `promotions.changed` to each display (of ``peers``, else every one) whose offers are no longer
        the promotions in effect now; how many were told. Also run now and then per display, since a validity
        window starting or ending (or a change made by another process, HQ's) is no event here."""
        peers = self.hub.displays() if peers is None else peers
        if not peers:
            return 0
        offers = self.promotions_now()
        told = 0
        for peer in peers:
            if peer.offers != offers:
                peer.offers = offers
                told += peer.send({"type": "promotions.changed", "promotions": offers})
        return told

    def lane_snapshot(self, lane: int) -> dict:
        """What a lane screen starts from: the lane's open sale (or None) and the promotions in effect now."""
        sale = _OPEN_SALE_ON_LANE.first(lane)
        return {"type": "lane.state", "lane": lane, "sale": self.app.sales.as_dict(sale) if sale else None,
                "promotions": self.promotions_now()}

    def promotions_now(self) -> list[dict]:
        """The promotions any customer gets at this moment, by name and label, for a display with no cart."""
        promotions = self.app.promotions
        now = promotions.now()
        return [{"id": p.id, "name": p.name, "label": engine.label_of(p)}
                for p in promotions.active() if p.applies(None, now)]

    # -- a scan from the gateway, into the lane's open cart ------------------------------------

    def tender_step(self, peer, sale_id: str, total: int, amount: int | None) -> None:
        """A terminal's tender step says what the lane's next scanned payment code pays of its sale (None: what
        is left), as its own payment box does. Kept on its socket only, so a tablet gone pays nothing less."""
        if peer.kind != "terminal":
            raise DomainError("only a terminal has a tender step", field="type")
        if not isinstance(sale_id, str) or not sale_id:
            raise DomainError("sale_id: the sale on the tender step", field="sale_id")
        if not isinstance(total, int) or isinstance(total, bool):
            raise DomainError("total: the sale's total (fen) the tender step shows", field="total")
        if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool)
                                   or not 0 < amount <= MAX_AMOUNT):
            raise DomainError("amount: a positive amount in fen, or null for what is left", field="amount")
        peer.tender = None if amount is None else {"sale_id": sale_id, "total": total, "amount": amount}

    def _tendering(self, lane: int, device_id: int, sale: Sale):
        """The lane's tablet (that terminal's socket) whose tender step holds an amount for this sale as it is:
        a sale changed since (its total moved) pays what is left."""
        return next((peer for peer in self.hub.on_lane(lane, "terminal")
                     if peer.device_id == device_id and peer.tender is not None
                     and peer.tender["sale_id"] == sale.id and peer.tender["total"] == sale.total), None)

    def lane_caller(self, lane: int) -> Caller:
        """The lane's terminal that has an open shift, acting as the cashier who opened it."""
        for device in _TERMINALS_ON_LANE.all(lane):
            shift = self.app.shifts.current(device.id)
            if shift is not None:
                return Caller(device=device, staff=_STAFF_BY_ID.first(shift.opened_by))
        raise Conflict(f"no terminal on lane {lane} has an open shift", field="lane", code="no_open_shift")

    def scan(self, lane: int, code: str) -> dict:
        """A read at the lane's scanner, on the lane's open sale (opening one if there is none), as
        POST /sales/{id}/scan reads it; tells the lane."""
        if not code or len(code) > 64:
            raise DomainError("a scanned code has 1 to 64 characters", field="code")
        caller = self.lane_caller(lane)
        sale = self.app.sales.current(caller.device_id) or self.app.sales.open(caller)
        tablet = self._tendering(lane, caller.device_id, sale) if provider_of(code) is not None else None
        outcome = read_scan(self.app, sale.id, caller, code, amount=tablet.tender["amount"] if tablet else None)
        if tablet is not None:
            tablet.tender = None  # that amount is paid (or being paid); the tender step sends the next one
        event = {"type": f"cart.{'line' if outcome.kind == 'item' else outcome.kind}", "lane": lane, "code": code,
                 "sale": self.app.sales.as_dict(outcome.sale)}
        if outcome.line is not None:
            event["line"] = self.app.sales.line_dict(outcome.line)
        if outcome.payment is not None:
            event["payment"] = self.app.payments.as_dict(outcome.payment)
            event["code"] = outcome.payment.code_masked  # a payment code is a bearer token: never shown whole
        self.hub.to_lane(lane, event)
        return event
