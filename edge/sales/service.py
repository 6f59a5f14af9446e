"""Sale rules: the open cart per terminal, its lines and discounts, completion and void."""

from __future__ import annotations

import uuid

from peewee import SQL

from edge import audit
from edge.db import Prepared, RowInsert, utc_now
from edge.errors import Conflict, DomainError, NotFound
from edge.members.identity import mask_name, mask_phone
from edge.members.models import Member
from edge.outbox.events import emit
from edge.sales.models import Payment, ReceiptCounter, Sale, SaleLine
from edge.sales.pricing import Discount, cash_rounding, included_tax, line_gross, price_lines
from edge.sales.tenders import builtin_tenders
from edge.staff.models import Staff
from edge.staff.service import Caller

_SALE_BY_ID = Prepared(Sale.select().where(Sale.id == Prepared.arg(0)))
_LINES_OF_SALE = Prepared(SaleLine.select().where(SaleLine.sale_id == Prepared.arg(0)).order_by(SaleLine.line_no))
# in the order they were taken (rowid), which the receipt and refunds follow
_PAYMENTS_OF_SALE = Prepared(Payment.select().where(Payment.sale_id == Prepared.arg(0)).order_by(SQL("rowid")))
_MEMBER_BY_ID = Prepared(Member.select().where(Member.id == Prepared.arg(0)))
_OPEN_SALE_ON_DEVICE = Prepared(Sale.select().where((Sale.device_id == Prepared.arg(0)) & (Sale.status == "open")))
_SALE_TOTALS = Prepared(Sale.update(subtotal=Prepared.arg(0), discount_total=Prepared.arg(1), total=Prepared.arg(2))
                        .where(Sale.id == Prepared.arg(3)))
_NEXT_NUMBER = Prepared(
    ReceiptCounter.insert(business_date=Prepared.arg(0), last_no=1)
    .on_conflict(conflict_target=[ReceiptCounter.business_date],
                 update={ReceiptCounter.last_no: ReceiptCounter.last_no + 1})
    .returning(ReceiptCounter.last_no)
)
_MARK_COMPLETED = Prepared(
    Sale.update(status="completed", shift_id=Prepared.arg(0), completed_at=Prepared.arg(1),
                business_date=Prepared.arg(2), receipt_no=Prepared.arg(3), rounding=Prepared.arg(4),
                paid=Prepared.arg(5), change=Prepared.arg(6))
    .where(Sale.id == Prepared.arg(7)))
_TOTAL_FIELDS = {"subtotal", "discount_total", "total"}
_PAYMENT_VIEW = ("id", "method", "amount", "tendered", "change", "reference")
_INSERT_SALE, _INSERT_LINE, _INSERT_PAYMENT = RowInsert(Sale), RowInsert(SaleLine), RowInsert(Payment)


class SalesService:
    def __init__(self, app):
        self.app = app
        self.rules = app.config.checkout
        self.tenders = builtin_tenders()
        # Other domains (members: points, levels) act on a completing sale inside its transaction;
        # each returns what it adds to the sale.completed event, or None.
        self.completion_listeners: list = []
        # ... and take note of a line taken off an open cart (marketing: interest without purchase), inside
        # the cart edit's transaction: (sale, line, caller) -> None.
        self.line_removal_listeners: list = []
        # Whoever shows a cart live (the customer display) hears of every change to a sale, inside its
        # transaction: callables (sale) with the sale's priced lines and promotions at hand.
        self.change_listeners: list = []
        # The promotions service (edge.promotions) prices each cart change when it is wired in.
        self.promotions = None

    # -- reading --------------------------------------------------------------

    def get(self, sale_id: str) -> Sale:
        sale = _SALE_BY_ID.first(sale_id)
        if sale is None:
            raise NotFound(f"no sale {sale_id}", field="sale_id")
        return sale

    def by_receipt(self, receipt_no: str) -> Sale:
        sale = Sale.get_or_none(Sale.receipt_no == receipt_no)
        if sale is None:
            raise NotFound(f"no sale with receipt number {receipt_no}", field="receipt_no")
        return sale

    def lines(self, sale: Sale) -> list[SaleLine]:
        return _LINES_OF_SALE.all(sale.id)

    def as_dict(self, sale: Sale, lines: list[SaleLine] | None = None) -> dict:
        completed_view = getattr(sale, "completed_view", None)
        if completed_view is not None and lines is None:
            return dict(completed_view)  # the completion's own snapshot: nothing changed since its commit
        if lines is None:
            lines = getattr(sale, "priced_lines", None) or self.lines(sale)
        shown = [self.line_dict(line) for line in lines]
        answer = {
            "id": sale.id, "status": sale.status, "device_id": sale.device_id, "lane": sale.lane,
            "shift_id": sale.shift_id, "cashier_id": sale.cashier_id, "salesperson_id": sale.salesperson_id,
            "opened_at": sale.opened_at, "member": self._member_summary(sale.member_id, getattr(sale, "member", None)),
            "lines": shown,
            "discount": ({"kind": sale.discount_kind, "value": sale.discount_value}
                         if sale.discount_kind else None),
            "promotions": self._promotions_of(sale),
            "subtotal": sale.subtotal, "discount_total": sale.discount_total, "total": sale.total,
            "tax_total": sum(line["tax"] for line in shown),
        }
        if sale.status == "completed":
            taken = getattr(sale, "payments_taken", None)  # at completion: the rows just written, in order
            answer.update(
                receipt_no=sale.receipt_no, completed_at=sale.completed_at, business_date=sale.business_date,
                rounding=sale.rounding, paid=sale.paid, change=sale.change,
                payments=[{name: p[name] for name in _PAYMENT_VIEW} for p in taken] if taken is not None else [
                    {name: getattr(p, name) for name in _PAYMENT_VIEW} for p in _PAYMENTS_OF_SALE.all(sale.id)],
            )
        if sale.status == "voided":
            answer.update(void_reason=sale.void_reason, voided_by=sale.voided_by)
        return answer

    def _promotions_of(self, sale: Sale) -> list[dict]:
        applied = getattr(sale, "applied_promotions", None)
        if applied is None:
            applied = self.promotions.applied_of(sale.id) if self.promotions else []
        return applied

    @staticmethod
    def _member_summary(member_id: str | None, member: Member | None = None) -> dict | None:
        if member_id is None:
            return None
        member = member or _MEMBER_BY_ID.first(member_id)
        return {"id": member.id, "code": member.code, "phone_masked": mask_phone(member.phone),
                "name_masked": mask_name(member.name)}

    @staticmethod
    def line_dict(line: SaleLine) -> dict:
        return {
            "id": line.id, "line_no": line.line_no, "product_id": line.product_id, "sku": line.sku,
            "name": line.name, "barcode": line.barcode, "sold_by": line.sold_by, "qty": line.qty,
            "list_price": line.list_price, "unit_price": line.unit_price, "label_price": line.label_price,
            "price_overridden": line.price_override_by is not None,
            "discount": ({"kind": line.discount_kind, "value": line.discount_value}
                         if line.discount_kind else None),
            "gross": line.gross, "promo_discount": line.promo_discount, "line_discount": line.line_discount,
            "sale_discount": line.sale_discount,
            "total": line.total, "tax_rate": line.tax_rate, "tax": included_tax(line.total, line.tax_rate),
            "salesperson_id": line.salesperson_id,
        }

    def current(self, device_id: int) -> Sale | None:
        return _OPEN_SALE_ON_DEVICE.first(device_id)

    def suspended(self) -> list[Sale]:
        return list(Sale.select().where(Sale.status == "suspended").order_by(Sale.opened_at))

    # -- the open sale --------------------------------------------------------

    def open(self, caller: Caller, salesperson_id: int | None = None) -> Sale:
        with self.app.db.transaction(durable=False):
            self.app.shifts.require_current(caller.device_id)
            existing = self.current(caller.device_id)
            if existing is not None:
                raise Conflict(f"this terminal already has open sale {existing.id}; complete, suspend or "
                               "void it first", field="sale_id", code="sale_open")
            self._check_salesperson(salesperson_id)
            sale = Sale(
                id=str(uuid.uuid4()), device_id=caller.device_id, lane=caller.device.lane,
                cashier_id=caller.staff_id, salesperson_id=salesperson_id, status="open", opened_at=utc_now(),
            )
            _INSERT_SALE.rows([sale])
        return sale

    @staticmethod
    def _check_salesperson(salesperson_id: int | None) -> None:
        if salesperson_id is not None and not Staff.select().where(
                (Staff.id == salesperson_id) & Staff.active).exists():
            raise DomainError(f"no active staff member {salesperson_id} to name as salesperson",
                              field="salesperson_id")

    def _open_sale(self, sale_id: str, caller: Caller) -> Sale:
        sale = self.get(sale_id)
        if sale.status != "open":
            raise Conflict(f"sale {sale_id} is {sale.status}, not open", field="sale_id", code=f"sale_{sale.status}")
        if sale.device_id != caller.device_id:
            raise Conflict("this sale is open on another terminal", field="sale_id", code="other_terminal")
        return sale

    def set_member(self, sale_id: str, caller: Caller, member: Member | None) -> Sale:
        """Name the customer's membership on the open sale (or take it off); None means no member."""
        with self.app.db.transaction(durable=False):
            sale = self._open_sale(sale_id, caller)
            if member is not None and member.status != "active":
                raise Conflict(f"member {member.code} is {member.status}", field="member_id",
                               code=f"member_{member.status}")
            sale.member_id = member.id if member else None
            sale.save()
            self._reprice(sale, self.lines(sale))  # member prices and the level discount follow the member
        return sale

    def set_salesperson(self, sale_id: str, caller: Caller, salesperson_id: int | None) -> Sale:
        with self.app.db.transaction(durable=False):
            sale = self._open_sale(sale_id, caller)
            self._check_salesperson(salesperson_id)
            sale.salesperson_id = salesperson_id
            sale.save()
        return sale

    def add_line(self, sale_id: str, caller: Caller, *, barcode: str | None = None, sku: str | None = None,
                 qty: int | None = None, salesperson_id: int | None = None) -> SaleLine:
        """Scan or key in an item; the same plain item again adds to its line.

        salesperson_id: the 导购 who sold this item, when not the sale's (several counters on one ticket).
        """
        if (barcode is None) == (sku is None):
            raise DomainError("give exactly one of barcode or sku", field="barcode")
        with self.app.db.transaction(durable=False):
            sale = self._open_sale(sale_id, caller)
            if barcode is not None:
                scan = self.app.catalog.scan(barcode)
                product, code, label = scan.product, scan.barcode, scan.label
            else:
                product, code, label = self.app.catalog.by_sku(sku), None, None
            if not product.active:
                raise Conflict(f"{product.name} ({product.sku}) is not for sale", field="barcode" if barcode else "sku")
            qty, label_price = self._quantity(product, qty, label)
            if salesperson_id is not None:
                self._check_salesperson(salesperson_id)
            lines = self.lines(sale)
            same = next((l for l in lines if l.product_id == product.id and l.label_price is None
                         and label_price is None and l.price_override_by is None and l.discount_kind is None
                         and l.salesperson_id == salesperson_id and product.sold_by == "each"), None)
            if same is not None:
                self._check_qty(product.sold_by, same.qty + qty)
                same.qty += qty
                line = same
            else:
                line = SaleLine(
                    id=str(uuid.uuid4()), sale_id=sale.id, line_no=max((l.line_no for l in lines), default=0) + 1,
                    product_id=product.id, sku=product.sku, name=product.name, barcode=code,
                    sold_by=product.sold_by, qty=qty, label_price=label_price, list_price=product.price,
                    unit_price=product.price, tax_rate=product.tax_rate, gross=0, total=0,
                    salesperson_id=salesperson_id,
                )
                line.unsaved = True  # inserted by _reprice with its prices, in one statement
                lines.append(line)
            self._reprice(sale, lines)
        line.sale = sale
        return line

    def _quantity(self, product, qty: int | None, label) -> tuple[int, int | None]:
        if label is not None:
            if qty not in (None, 1):
                raise DomainError("a scale label carries its own quantity; scan it again for another",
                                  field="qty")
            if product.sold_by != "weight":
                raise Conflict(f"{product.name} is sold by the piece but the label is from a scale",
                               field="barcode")
            if label.kind == "weight":
                return label.value, None
            grams = (label.value * 1000 // product.price) if product.price else 0
            return max(grams, 1), label.value
        if qty is None:
            if product.sold_by == "weight":
                raise DomainError(f"{product.name} is sold by weight: give qty in grams", field="qty")
            qty = 1
        self._check_qty(product.sold_by, qty)
        return qty, None

    def _check_qty(self, sold_by: str, qty: int) -> None:
        limit = self.rules.max_weight_grams if sold_by == "weight" else self.rules.max_line_qty
        if qty <= 0:
            raise DomainError("qty must be positive", field="qty")
        if qty > limit:
            unit = "grams" if sold_by == "weight" else "items"
            raise DomainError(f"qty {qty} is more than the {limit} {unit} a line may hold", field="qty")

    def _line(self, sale: Sale, line_id: str) -> SaleLine:
        line = SaleLine.get_or_none((SaleLine.id == line_id) & (SaleLine.sale_id == sale.id))
        if line is None:
            raise NotFound(f"sale {sale.id} has no line {line_id}", field="line_id")
        return line

    def update_line(self, sale_id: str, line_id: str, caller: Caller, *, qty: int | None = None,
                    unit_price: int | None = None, discount: Discount | None = None, clear_discount: bool = False,
                    approval: dict | None = None) -> SaleLine:
        with self.app.db.transaction(durable=False):
            sale = self._open_sale(sale_id, caller)
            line = self._line(sale, line_id)
            if qty is not None:
                if line.label_price is not None:
                    raise Conflict("the quantity of a scale label cannot change", field="qty")
                self._check_qty(line.sold_by, qty)
                line.qty = qty
            if unit_price is not None and unit_price != line.unit_price:
                approver = self.app.staff.approve(approval, "a price override", caller)
                audit.record("sale.price_override", staff_id=caller.staff_id, device_id=caller.device_id,
                             entity="sale_line", entity_id=line.id,
                             data={"sale_id": sale.id, "sku": line.sku, "from": line.unit_price,
                                   "to": unit_price, "approved_by": approver.id})
                line.unit_price = unit_price
                line.price_override_by = approver.id
                if line.label_price is not None:
                    line.label_price = None
                    line.qty = 1
                    line.sold_by = "each"
            if clear_discount:
                line.discount_kind = line.discount_value = line.discount_approved_by = None
            elif discount is not None:
                line_gross_now = line_gross(line.sold_by, line.unit_price, line.qty, line.label_price)
                approver = self._approve_discount(discount, line_gross_now, approval, caller)
                line.discount_kind, line.discount_value = discount.kind, discount.value
                line.discount_approved_by = approver.id if approver else None
                if approver:
                    audit.record("sale.discount_approved", staff_id=caller.staff_id, device_id=caller.device_id,
                                 entity="sale_line", entity_id=line.id,
                                 data={"sale_id": sale.id, "kind": discount.kind, "value": discount.value,
                                       "approved_by": approver.id})
            lines = [line if l.id == line.id else l for l in self.lines(sale)]
            self._reprice(sale, lines)
        line.sale = sale
        return line

    def remove_line(self, sale_id: str, line_id: str, caller: Caller) -> Sale:
        with self.app.db.transaction(durable=False):
            sale = self._open_sale(sale_id, caller)
            line = self._line(sale, line_id)
            line.delete_instance()
            self._reprice(sale, self.lines(sale), promotions_stale=line.promo_discount > 0)
            for listener in self.line_removal_listeners:
                listener(sale, line, caller)
        return sale

    def set_discount(self, sale_id: str, caller: Caller, discount: Discount | None,
                     approval: dict | None = None) -> Sale:
        with self.app.db.transaction(durable=False):
            sale = self._open_sale(sale_id, caller)
            approver = None
            if discount is not None:
                lines = self.lines(sale)
                base = sum(l.gross - l.promo_discount - l.line_discount for l in lines)
                approver = self._approve_discount(discount, base, approval, caller)
                if approver:
                    audit.record("sale.discount_approved", staff_id=caller.staff_id, device_id=caller.device_id,
                                 entity="sale", entity_id=sale.id,
                                 data={"kind": discount.kind, "value": discount.value, "approved_by": approver.id})
            sale.discount_kind = discount.kind if discount else None
            sale.discount_value = discount.value if discount else None
            sale.discount_approved_by = approver.id if approver else None
            self._reprice(sale, self.lines(sale))
        return sale

    def _approve_discount(self, discount: Discount, base: int, approval: dict | None, caller: Caller):
        """Discounts within the configured limits need no manager; larger ones do."""
        if discount.kind == "percent" and not 1 <= discount.value <= 100:
            raise DomainError("a percent discount must be from 1 to 100", field="discount.value")
        if discount.kind == "amount" and discount.value <= 0:
            raise DomainError("a discount amount must be positive", field="discount.value")
        off = discount.off(base)
        # A percent discount is judged by its percent: its fen are rounded half-up, so comparing
        # them with the base would call 10 % of 12.35 (1.24) more than 10 %.
        percent_within = (discount.value <= self.rules.discount_limit_percent if discount.kind == "percent"
                          else off * 100 <= base * self.rules.discount_limit_percent)
        within = off <= self.rules.discount_limit_amount and percent_within
        if within:
            return None
        return self.app.staff.approve(approval, "a discount above the limit", caller)

    def _reprice(self, sale: Sale, lines: list[SaleLine], promotions_stale: bool = False) -> None:
        """Recompute every line and the sale's totals; writes only what changed.

        promotions_stale: a removed line carried a promotion, so the sale's stored ones must be rewritten.
        """
        grosses = [line_gross(l.sold_by, l.unit_price, l.qty, l.label_price) for l in lines]
        discounts = [Discount(l.discount_kind, l.discount_value) if l.discount_kind else None for l in lines]
        sale_discount = Discount(sale.discount_kind, sale.discount_value) if sale.discount_kind else None
        had_promotions = promotions_stale or any(l.promo_discount for l in lines)
        promo_of, applied = self.promotions.price(sale, lines, grosses) if self.promotions else ({}, [])
        priced = price_lines(grosses, discounts, sale_discount, [promo_of.get(l.id, 0) for l in lines])
        for line, p in zip(lines, priced):
            values = (p.gross, p.promo_discount, p.line_discount, p.sale_discount, p.total)
            if getattr(line, "unsaved", False):
                line.gross, line.promo_discount, line.line_discount, line.sale_discount, line.total = values
                _INSERT_LINE.rows([line])
                line.unsaved = False
            elif (values != (line.gross, line.promo_discount, line.line_discount, line.sale_discount, line.total)
                  or line.is_dirty()):
                line.gross, line.promo_discount, line.line_discount, line.sale_discount, line.total = values
                line.save()
        if self.promotions and (applied or had_promotions):
            sale.applied_promotions = self.promotions.record(sale, applied)
        else:
            sale.applied_promotions = []
        sale.subtotal = sum(p.gross for p in priced)
        sale.discount_total = sum(p.promo_discount + p.line_discount + p.sale_discount for p in priced)
        sale.total = sum(p.total for p in priced)
        if sale._dirty <= _TOTAL_FIELDS:
            # the common case (a scan): the totals alone, by a statement written once
            _SALE_TOTALS.execute(sale.subtotal, sale.discount_total, sale.total, sale.id)
            sale._dirty.clear()
        else:
            sale.save()
        sale.priced_lines = lines  # the answer to the request shows them without reading them again
        self._changed(sale)

    def _changed(self, sale: Sale) -> None:
        for listener in self.change_listeners:
            listener(sale)

    # -- suspend and resume (挂单) ---------------------------------------------

    def suspend(self, sale_id: str, caller: Caller) -> Sale:
        with self.app.db.transaction(durable=False):
            sale = self._open_sale(sale_id, caller)
            if not self.lines(sale):
                raise Conflict("an empty sale cannot be suspended", field="sale_id", code="sale_empty")
            sale.status = "suspended"
            sale.save()
            audit.record("sale.suspended", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="sale", entity_id=sale.id, data={"total": sale.total})
            self._changed(sale)
        return sale

    def resume(self, sale_id: str, caller: Caller) -> Sale:
        """Bring a suspended sale back on this terminal (any lane: the customer may move)."""
        with self.app.db.transaction(durable=False):
            sale = self.get(sale_id)
            if sale.status != "suspended":
                raise Conflict(f"sale {sale_id} is {sale.status}, not suspended", field="sale_id")
            self.app.shifts.require_current(caller.device_id)
            current = self.current(caller.device_id)
            if current is not None:
                if self.lines(current):
                    raise Conflict(f"this terminal has open sale {current.id}; suspend or finish it first",
                                   field="sale_id", code="sale_open")
                current.delete_instance()
            sale.status = "open"
            sale.device_id = caller.device_id
            sale.lane = caller.device.lane
            sale.save()
            audit.record("sale.resumed", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="sale", entity_id=sale.id)
            self._changed(sale)
        return sale

    # -- void -----------------------------------------------------------------

    def void(self, sale_id: str, caller: Caller, reason: str, approval: dict | None) -> Sale:
        with self.app.db.transaction():
            sale = self.get(sale_id)
            if sale.status not in ("open", "suspended"):
                raise Conflict(f"sale {sale_id} is {sale.status}; only an unpaid sale can be voided "
                               "(refund a completed one)", field="sale_id", code=f"sale_{sale.status}")
            lines = self.lines(sale)
            approver = self.app.staff.approve(approval, "voiding a sale", caller) if lines else None
            sale.status = "voided"
            sale.voided_by = approver.id if approver else caller.staff_id
            sale.void_reason = reason
            sale.shift_id = sale.shift_id or getattr(self.app.shifts.current(caller.device_id), "id", None)
            sale.save()
            data = {"sale_id": sale.id, "reason": reason, "total": sale.total, "lines": len(lines),
                    "approved_by": approver.id if approver else None}
            emit("sale.voided", data)
            audit.record("sale.voided", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="sale", entity_id=sale.id, data=data)
            self._changed(sale)
        return sale

    # -- completion -------------------------------------------------------------

    def complete(self, sale_id: str, caller: Caller, payments: list[dict]) -> Sale:
        """Take payment and commit the sale, its stock movements, event and audit as one fact."""
        with self.app.db.transaction():
            sale = self._open_sale(sale_id, caller)
            shift = self.app.shifts.require_current(caller.device_id)
            lines = self.lines(sale)
            if not lines:
                raise Conflict("an empty sale cannot be completed", field="sale_id", code="sale_empty")
            rows, rounding, change = self._settle(sale, payments)
            now = utc_now()
            sale.status = "completed"
            sale.shift_id = shift.id
            sale.completed_at = now
            sale.business_date = self.business_date()
            sale.receipt_no = self.next_number(sale.business_date, "")
            sale.rounding = rounding
            sale.paid = sum(r["amount"] for r in rows)
            sale.change = change
            _MARK_COMPLETED.execute(sale.shift_id, now, sale.business_date, sale.receipt_no, rounding, sale.paid,
                                    change, sale.id)
            sale._dirty.clear()
            for row in rows:
                row.update(id=str(uuid.uuid4()), sale_id=sale.id, at=now)
            _INSERT_PAYMENT.rows(rows)
            # tenders and listeners read these instead of the database
            sale.payments_taken, sale.priced_lines = rows, lines
            sale.member = _MEMBER_BY_ID.first(sale.member_id) if sale.member_id else None
            for row in rows:
                self.tenders.get(row["method"]).take(sale, row, payments[row["asked"]], caller)
            self.app.inventory.record([(line.product_id, -line.qty) for line in lines], "sale", ref=sale.id,
                                      staff_id=caller.staff_id)
            view = self.as_dict(sale)
            snapshot = dict(view)
            for listener in self.completion_listeners:
                snapshot.update(listener(sale, lines, caller) or {})
            emit("sale.completed", {**snapshot, "store_id": self.app.config.store.id})
            audit.record("sale.completed", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="sale", entity_id=sale.id,
                         data={"receipt_no": sale.receipt_no, "total": sale.total, "paid": sale.paid,
                               "change": change, "payments": [[r["method"], r["amount"]] for r in rows]})
            self._changed(sale)
        sale.completed_view = view  # committed: the answer to the request is this snapshot, not a second read
        return sale

    def _settle(self, sale: Sale, payments: list[dict]) -> tuple[list[dict], int, int]:
        """Check the tenders against the total; returns payment rows, cash rounding and change."""
        if not payments:
            raise DomainError("at least one payment is needed", field="payments")
        tenders = []
        for index, payment in enumerate(payments):
            tender = self.tenders.get(payment["method"], field=f"payments[{index}].method")
            if payment["amount"] <= 0:
                raise DomainError("amount must be positive", field=f"payments[{index}].amount")
            tender.check(payment["amount"], payment.get("reference"), index, sale.member_id)
            tenders.append(tender)
        non_cash = sum(p["amount"] for p, t in zip(payments, tenders) if not t.gives_change)
        cash = sum(p["amount"] for p, t in zip(payments, tenders) if t.gives_change)
        if non_cash > sale.total:
            raise DomainError(f"card and other non-cash payments ({non_cash} fen) exceed the total "
                              f"({sale.total} fen)", field="payments")
        rounding = cash_rounding(sale.total - non_cash, self.rules.cash_rounding) if cash else 0
        due = sale.total + rounding
        if non_cash + cash < due:
            raise DomainError(f"payments ({non_cash + cash} fen) are short of the total ({due} fen) by "
                              f"{due - non_cash - cash} fen", field="payments", code="payment_short")
        change = non_cash + cash - due
        rows = []
        change_left = change
        for asked, (payment, tender) in reversed(list(enumerate(zip(payments, tenders)))):
            given = payment["amount"]
            back = min(change_left, given) if tender.gives_change else 0
            change_left -= back
            rows.append({"method": tender.name, "amount": given - back, "tendered": given, "change": back,
                         "reference": payment.get("reference"), "asked": asked})
        rows.reverse()
        # Cash handed back whole (a card already covered the total) keeps its row, so the sale's
        # change is the sum of its payments' change.
        return rows, rounding, change

    def business_date(self) -> str:
        return self.app.today().strftime("%Y%m%d")

    def next_number(self, business_date: str, prefix: str) -> str:
        """Receipt (or refund) number, per store per day: S001-20261123-0042.

        Counted per date key, so a clock set back to a day already used continues that day's count.
        """
        [number] = _NEXT_NUMBER.execute(prefix + business_date).fetchone()
        return f"{prefix}{self.app.config.store.id}-{business_date}-{number:04d}"
