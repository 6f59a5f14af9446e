"""Scan payments as durable state machines: start, drive, cancel, resume after a crash, and refund.

An attempt is written to SQLite before the provider hears of it, and every
change of state is its own committed transaction with an audit record:

    created ──pay──► paying (USERPAYING, or no answer yet) ──query──► paid
       │               │                                         │
       │               └── past pay_timeout, or cancelled ──► reversing ──► reversed
       └── refused, or the provider unreachable (nothing sent) ──► failed

A state change is a compare-and-set (UPDATE … WHERE state = expected), so
two threads or processes driving one attempt cannot both move it, and every
provider call is safe to repeat (the provider knows the order by our
out_trade_no). A created attempt found after a restart is never paid again:
its pay call may or may not have reached the provider, so it is queried and
then either followed as paying or reversed. The sale completes by itself,
in its own transaction, once its paid attempts cover the total.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from contextlib import nullcontext

from edge import audit
from edge.config import ConfigError
from edge.db import Prepared, RowInsert, utc_now
from edge.errors import Conflict, DomainError, NotFound
from edge.logs import fields
from edge.outbox.events import emit
from edge.payments import keys
from edge.payments.alipay import Alipay
from edge.payments.codes import LABELS, PROVIDERS, check_payment_code, code_fingerprint, mask_code
from edge.payments.models import FINAL, IN_FLIGHT, UNFINISHED, PaymentAttempt, PaymentRefund, new_out_trade_no
from edge.payments.providers import Adapter, Answer, Transport
from edge.payments.refunds import ProviderRefunds
from edge.payments.unionpay import UnionPay
from edge.payments.wechat import WeChatPay
from edge.sales.models import Sale
from edge.sales.tenders import Tender
from edge.staff.models import Device, Staff
from edge.staff.service import Caller

log = logging.getLogger("storeedge.payments")

MESSAGES = {
    "created": "sending to the provider",
    "paying": "waiting for the customer to confirm (等待顾客确认)",
    "paid": "paid",
    "failed": "not paid",
    "reversing": "reversing (撤销): giving the money back",
    "reversed": "reversed: nothing charged",
}
_MOVE = "UPDATE payment_attempt SET state = ?, reason = COALESCE(?, reason), " \
        "transaction_id = COALESCE(?, transaction_id), next_at = ?, updated_at = ? WHERE id = ? AND state = ?"
# the statements of every scan payment, written once (DESIGN: hot paths use Prepared)
_ATTEMPT_BY_ID = Prepared(PaymentAttempt.select().where(PaymentAttempt.id == Prepared.arg(0)))
_ATTEMPTS_OF_SALE = Prepared(PaymentAttempt.select().where(PaymentAttempt.sale_id == Prepared.arg(0))
                             .order_by(PaymentAttempt.created_at))
_ATTEMPT_BY_CODE = Prepared(PaymentAttempt.select().where((PaymentAttempt.code_hash == Prepared.arg(0))
                                                          & (PaymentAttempt.state != "failed")))
_SALE_BY_ID = Prepared(Sale.select().where(Sale.id == Prepared.arg(0)))
_DEVICE_BY_ID = Prepared(Device.select().where(Device.id == Prepared.arg(0)))
_STAFF_BY_ID = Prepared(Staff.select().where(Staff.id == Prepared.arg(0)))
_INSERT_ATTEMPT = RowInsert(PaymentAttempt)
_USE = "UPDATE payment_attempt SET used = 1 WHERE id = ? AND used = 0"
_TOUCH = "UPDATE payment_attempt SET updated_at = ? WHERE id = ?"
_builtin_keys: dict[str, object] = {}
_builtin_lock = threading.Lock()


def builtin_keys() -> tuple[object, object]:
    """The built-in simulator's merchant and platform keys, made once per process."""
    with _builtin_lock:
        if not _builtin_keys:
            _builtin_keys.update(merchant=keys.generate_key(), platform=keys.generate_key())
        return _builtin_keys["merchant"], _builtin_keys["platform"]


class PaymentService(ProviderRefunds):
    def __init__(self, app):
        self.app = app
        self.rules = app.config.payments
        self.credentials = {provider: self._load_credentials(provider) for provider in PROVIDERS}
        self.background = False  # the web process drives attempts from threads of their own
        self._adapters: dict[str, Adapter] = {}
        self._simulator = None
        self._lock = threading.Lock()
        self._changed = threading.Condition()
        self._driving: set[str] = set()
        self._codes: dict[str, str] = {}  # attempts created here and not yet sent: their codes, in memory only
        self._unflushed: set[str] = set()  # created in a non-durable transaction: flush before sending
        for provider in PROVIDERS:
            app.sales.tenders.register(Tender(provider, LABELS[provider], needs_reference=True, ledger=self))
        app.sales.completion_listeners.append(self.check_completion)

    # -- providers --------------------------------------------------------------

    def _load_credentials(self, provider: str) -> tuple | None:
        section = getattr(self.rules, provider)
        if section is None:
            return None
        loaded = []
        for name, load in (("private_key_file", keys.load_private),
                           ({"wechat": "platform_key_file", "alipay": "alipay_public_key_file",
                             "unionpay": "unionpay_public_key_file"}[provider], keys.load_public)):
            try:
                loaded.append(load(getattr(section, name)))
            except (OSError, ValueError, TypeError) as error:
                raise ConfigError(f"payments.{provider}.{name}: cannot read a PEM key from "
                                  f"{getattr(section, name)!r}: {error}") from None
        return section, *loaded

    def simulated(self, provider: str) -> bool:
        return self.credentials[provider] is None

    def describe(self) -> str:
        """One line for the start-up log: who serves each provider."""
        parts = []
        for provider in PROVIDERS:
            if self.simulated(provider):
                parts.append(f"{provider}: built-in SIMULATOR (no credentials; no money moves)")
            else:
                parts.append(f"{provider}: {'HQ gateway' if self.rules.gateway_url else 'direct'}")
        return "scan-to-pay — " + "; ".join(parts)

    def simulator(self):
        """The built-in simulator, started on first use, for providers without credentials."""
        from edge.payments.simulator import Simulator

        with self._lock:
            if self._simulator is None:
                merchant, platform = builtin_keys()
                self._simulator = Simulator(merchant.public_key(), platform,
                                            slow_seconds=self.rules.simulator_slow_seconds).start()
            return self._simulator

    def adapter(self, provider: str) -> Adapter:
        with self._lock:
            found = self._adapters.get(provider)
        if found is None:
            found = self._build(provider)
            with self._lock:
                self._adapters[provider] = found
        return found

    def _build(self, provider: str) -> Adapter:
        timeout = self.rules.request_timeout_seconds
        if self.simulated(provider):
            merchant, platform = builtin_keys()
            transport = Transport(self.simulator().base_url(provider), timeout)
            return {"wechat": lambda: WeChatPay(transport, "SIMULATOR", "wxSIMULATOR", "SIMULATOR", merchant,
                                                platform.public_key()),
                    "alipay": lambda: Alipay(transport, "SIMULATOR", merchant, platform.public_key()),
                    "unionpay": lambda: UnionPay(transport, "SIMULATOR", "SIMULATOR", merchant,
                                                 platform.public_key())}[provider]()
        section, private, public = self.credentials[provider]
        url = f"{self.rules.gateway_url.rstrip('/')}/{provider}" if self.rules.gateway_url else section.url
        transport = Transport(url, timeout)
        if provider == "wechat":
            return WeChatPay(transport, section.mchid, section.appid, section.serial_no, private, public)
        if provider == "alipay":
            return Alipay(transport, section.app_id, private, public)
        return UnionPay(transport, section.mer_id, section.cert_id, private, public)

    # -- reading ----------------------------------------------------------------

    @staticmethod
    def get(attempt_id: str) -> PaymentAttempt:
        attempt = _ATTEMPT_BY_ID.first(attempt_id)
        if attempt is None:
            raise NotFound(f"no payment {attempt_id}", field="payment_id")
        return attempt

    @staticmethod
    def of_sale(sale_id: str) -> list[PaymentAttempt]:
        return _ATTEMPTS_OF_SALE.all(sale_id)

    def as_dict(self, attempt: PaymentAttempt) -> dict:
        sale = _SALE_BY_ID.first(attempt.sale_id)
        message = MESSAGES[attempt.state]
        if attempt.reason and attempt.state in ("failed", "reversing", "reversed", "paying"):
            message = f"{message}: {attempt.reason}"
        return {
            "id": attempt.id, "sale_id": attempt.sale_id, "provider": attempt.provider,
            "provider_label": LABELS[attempt.provider], "state": attempt.state, "message": message,
            "amount": attempt.amount, "code": attempt.code_masked, "out_trade_no": attempt.out_trade_no,
            "transaction_id": attempt.transaction_id, "reason": attempt.reason,
            "simulated": attempt.simulated,
            "simulator_notice": ("模拟支付 SIMULATOR: no money moves; configure [payments."
                                 f"{attempt.provider}] to go live") if attempt.simulated else None,
            "final": attempt.state in FINAL, "sale_status": sale.status if sale else None,
            "created_at": attempt.created_at, "updated_at": attempt.updated_at,
        }

    def wait(self, attempt_id: str, seconds: float) -> PaymentAttempt:
        """The attempt once it has left its present state, or after ``seconds`` (the screen's long poll)."""
        first = self.get(attempt_id)
        if first.state in FINAL or seconds <= 0:
            return first
        with self._changed:
            self._changed.wait_for(lambda: self.get(attempt_id).state != first.state, timeout=seconds)
        return self.get(attempt_id)

    # -- starting -----------------------------------------------------------------

    def start(self, sale_id: str, caller: Caller, code: str, amount: int | None = None,
              send: bool = True) -> PaymentAttempt:
        """Write a created attempt for a scanned code; with ``send``, it goes to the provider once committed."""
        provider = check_payment_code(code)
        if amount is not None and amount <= 0:
            raise DomainError("amount must be positive", field="amount")
        now = utc_now()
        fingerprint = code_fingerprint(code)
        # Alone, the attempt commits durably at once; inside a cart edit's (non-durable) request it is
        # flushed by a durable commit before the provider hears of it.
        alone = not self.app.db.peewee.in_transaction()
        with self.app.db.transaction(durable=alone):
            sale = self.app.sales.get(sale_id)
            if sale.device_id != caller.device_id:
                raise Conflict("this sale is open on another terminal", field="sale_id", code="other_terminal")
            earlier = _ATTEMPT_BY_CODE.first(fingerprint)
            if earlier is not None and earlier.sale_id == sale.id and amount in (None, earlier.amount):
                return earlier  # the same scan sent again (a retried request): the same attempt, no new charge
            if earlier is not None:
                raise Conflict("this payment code was scanned already; ask the customer to refresh it",
                               field="code", code="code_used")
            if sale.status != "open":
                raise Conflict(f"sale {sale_id} is {sale.status}, not open", field="sale_id",
                               code=f"sale_{sale.status}")
            attempts = self.of_sale(sale.id)
            if any(a.state in IN_FLIGHT for a in attempts):
                raise Conflict("a scan payment of this sale is still waiting for its answer; follow or cancel it",
                               field="sale_id", code="payment_in_flight")
            due = sale.total - sum(a.amount for a in attempts if a.state == "paid" and not a.used)
            if due <= 0:
                raise Conflict("nothing is left to pay on this sale" if sale.total else
                               "the sale is empty: scan the items first", field="sale_id", code="nothing_due")
            amount = due if amount is None else amount
            if amount > due:
                raise DomainError(f"amount {amount} fen is more than the {due} fen left to pay", field="amount",
                                  code="amount_exceeds_due")
            clock = time.time()
            attempt = PaymentAttempt(
                id=str(uuid.uuid4()), out_trade_no=new_out_trade_no(), sale_id=sale.id, provider=provider,
                code_hash=fingerprint, code_masked=mask_code(code), amount=amount, state="created",
                simulated=self.simulated(provider), device_id=caller.device_id, staff_id=caller.staff_id,
                created_at=now, updated_at=now, deadline=clock + self.rules.pay_timeout_seconds, next_at=clock)
            _INSERT_ATTEMPT.rows([attempt])
            audit.record("payment.created", staff_id=caller.staff_id, device_id=caller.device_id,
                         entity="payment_attempt", entity_id=attempt.id,
                         data={"sale_id": sale.id, "provider": provider, "amount": amount,
                               "out_trade_no": attempt.out_trade_no, "simulated": attempt.simulated})
            self._codes[attempt.id] = code
            if not alone:
                self._unflushed.add(attempt.id)
            if send:
                self.app.db.after_commit(lambda: self.kick(attempt.id))
        return attempt

    def kick(self, attempt_id: str) -> None:
        """Have a background thread drive the attempt (the web process); elsewhere the caller drives."""
        if self.background:
            threading.Thread(target=self.drive, args=(attempt_id,), name=f"pay-{attempt_id[:8]}",
                             daemon=True).start()

    # -- driving ------------------------------------------------------------------

    def drive(self, attempt_id: str, hand_over: bool = False) -> PaymentAttempt:
        """Take the attempt as far as it goes; with ``hand_over``, a background thread goes on once it must wait."""
        with self._lock:
            if attempt_id in self._driving:
                return self.get(attempt_id)
            self._driving.add(attempt_id)
        return self._loop(attempt_id, hand_over)

    def _loop(self, attempt_id: str, hand_over: bool) -> PaymentAttempt:
        handed = False
        try:
            while True:
                attempt = self.step(attempt_id)
                if attempt.state in FINAL:
                    if attempt.state == "paid":
                        self.complete_if_covered(attempt.sale_id)
                    return self.get(attempt_id)
                if hand_over and self.background:
                    handed = True
                    threading.Thread(target=self._loop, args=(attempt_id, False), daemon=True).start()
                    return attempt
                time.sleep(max(0.0, attempt.next_at - time.time()))
        finally:
            if not handed:
                with self._lock:
                    self._driving.discard(attempt_id)

    def step(self, attempt_id: str) -> PaymentAttempt:
        """One action on the attempt if one is due: pay, query, or reverse; returns it as it now stands."""
        attempt = self.get(attempt_id)
        if attempt.state in FINAL or time.time() < attempt.next_at:
            return attempt
        adapter = self.adapter(attempt.provider)
        if attempt.state == "created":
            code = self._codes.pop(attempt.id, None)
            if code is None:  # found after a restart: the pay call's fate is unknown, so ask
                self._after_query(attempt, adapter.query(attempt.out_trade_no), recovered=True)
            else:
                if attempt.id in self._unflushed:
                    self._flush(attempt)
                self._after_pay(attempt, adapter.pay(attempt.out_trade_no, code, attempt.amount,
                                                     self._subject(), self.app.config.store.id))
        elif attempt.state == "paying":
            answer = adapter.query(attempt.out_trade_no)
            if time.time() >= attempt.deadline and answer.outcome not in ("success", "failed", "closed"):
                # asked one last time: the customer may have confirmed while nobody was asking (a restart)
                self._move(attempt, "reversing", reason=f"not confirmed within {self.rules.pay_timeout_seconds:g} s")
            else:
                self._after_query(attempt, answer)
        elif attempt.state == "reversing":
            answer = adapter.reverse(attempt.out_trade_no)
            if answer.outcome == "success":
                self._move(attempt, "reversed")
            else:
                self._retry_later(attempt, self.rules.reverse_retry_seconds, answer.message)
        return self.get(attempt_id)

    def _subject(self) -> str:
        return f"{self.app.config.store.name} 购物"

    def _flush(self, attempt: PaymentAttempt) -> None:
        """A durable commit before the provider hears of the attempt (written with NORMAL sync, it may not be
        on disk yet; a FULL commit puts everything before it there too)."""
        with self.app.db.transaction(durable=True):
            self.app.db.peewee.execute_sql(_TOUCH, (utc_now(), attempt.id))
        self._unflushed.discard(attempt.id)

    def _after_pay(self, attempt: PaymentAttempt, answer: Answer) -> None:
        if answer.outcome == "success":
            self._paid(attempt, answer)
        elif answer.outcome in ("paying", "unknown"):
            self._move(attempt, "paying", reason=None if answer.outcome == "paying" else
                       f"no clear answer ({answer.message}); asking again",
                       next_at=time.time() + self.rules.poll_interval_seconds)
        elif answer.outcome == "unreachable":
            self._move(attempt, "failed", reason=f"provider unreachable, nothing was charged: {answer.message}")
        else:
            self._move(attempt, "failed", reason=answer.message or answer.outcome)

    def _after_query(self, attempt: PaymentAttempt, answer: Answer, recovered: bool = False) -> None:
        if answer.outcome == "success":
            self._paid(attempt, answer)
        elif answer.outcome == "failed":
            self._move(attempt, "failed", reason=answer.message)
        elif answer.outcome == "closed":
            self._move(attempt, "reversed", reason=answer.message or "closed by the provider")
        elif recovered and answer.outcome != "paying":
            self._move(attempt, "reversing", reason="restarted before the provider's answer")
        elif attempt.state == "created":
            self._move(attempt, "paying", next_at=time.time() + self.rules.poll_interval_seconds)
        else:
            self._retry_later(attempt, self.rules.poll_interval_seconds, None)

    def _paid(self, attempt: PaymentAttempt, answer: Answer) -> None:
        sale = _SALE_BY_ID.first(attempt.sale_id)
        if sale is None or sale.status != "open":
            # the sale was closed meanwhile: the customer's money goes back
            self._move(attempt, "reversing", transaction_id=answer.transaction_id,
                       reason=f"paid after the sale was {sale.status if sale else 'gone'}")
        else:  # the sale completes in the same commit when this payment covers it
            self._move(attempt, "paid", transaction_id=answer.transaction_id,
                       then=lambda: self.complete_if_covered(attempt.sale_id))

    def _retry_later(self, attempt: PaymentAttempt, seconds: float, message: str | None) -> None:
        PaymentAttempt.update(next_at=time.time() + seconds, updated_at=utc_now()).where(
            (PaymentAttempt.id == attempt.id) & (PaymentAttempt.state == attempt.state)).execute()
        if message:
            log.info("payment %s (%s): %s; trying again in %.1f s", attempt.id, attempt.state, message, seconds,
                     extra=fields(sale_id=attempt.sale_id, payment_id=attempt.id))

    def _move(self, attempt: PaymentAttempt, to: str, *, reason: str | None = None,
              transaction_id: str | None = None, next_at: float | None = None, then=None) -> bool:
        """Persist one transition, with its audit record (and event when final); False if it moved meanwhile."""
        with self.app.db.transaction(durable=True):
            moved = self.app.db.peewee.execute_sql(
                _MOVE, (to, reason, transaction_id, next_at or time.time(), utc_now(), attempt.id, attempt.state))
            if moved.rowcount != 1:
                return False
            current = self.get(attempt.id)
            data = {"sale_id": current.sale_id, "provider": current.provider, "amount": current.amount,
                    "from": attempt.state, "to": to, "out_trade_no": current.out_trade_no,
                    "transaction_id": current.transaction_id, "reason": current.reason,
                    "simulated": current.simulated}
            audit.record(f"payment.{to}", staff_id=current.staff_id, device_id=current.device_id,
                         entity="payment_attempt", entity_id=current.id, data=data)
            if to in FINAL:
                emit("payment.settled", {"id": current.id, "state": to, **data,
                                         "store_id": self.app.config.store.id})
            if then is not None:
                then()
        self.app.db.after_commit(self._notify)
        return True

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def cancel(self, attempt_id: str, caller: Caller) -> PaymentAttempt:
        """The cashier gives up on an attempt still in flight: it is reversed, whatever the customer did."""
        attempt = self.get(attempt_id)
        if attempt.state in ("reversing", "reversed", "failed"):
            return attempt
        if attempt.state == "paid":
            raise Conflict("this payment is confirmed; refund the sale instead", field="payment_id",
                           code="payment_paid")
        if not self._move(attempt, "reversing", reason=f"cancelled by staff {caller.staff_id}"):
            return self.cancel(attempt_id, caller)  # it moved meanwhile: judge its new state
        self._codes.pop(attempt_id, None)
        self.app.db.after_commit(lambda: self.kick(attempt_id))
        return self.get(attempt_id)

    # -- the sale -----------------------------------------------------------------

    def complete_if_covered(self, sale_id: str) -> bool:
        """Complete the sale with its paid scan payments once they cover its total."""
        sale = _SALE_BY_ID.first(sale_id)
        if sale is None or sale.status != "open":
            return False
        attempts = self.of_sale(sale_id)
        paid = [a for a in attempts if a.state == "paid" and not a.used]
        if any(a.state in IN_FLIGHT for a in attempts) or not paid or sum(a.amount for a in paid) < sale.total:
            return False
        caller = Caller(device=_DEVICE_BY_ID.first(sale.device_id), staff=_STAFF_BY_ID.first(paid[-1].staff_id))
        try:
            with self.app.db.savepoint() if self.app.db.peewee.in_transaction() else nullcontext():
                self.app.sales.complete(sale_id, caller, [
                    {"method": a.provider, "amount": a.amount, "reference": a.id} for a in paid])
        except DomainError as error:  # the payments stay paid; the cashier completes by hand
            log.warning("sale %s is paid by scan but could not complete: %s", sale_id, error.message,
                        extra=fields(sale_id=sale_id))
            return False
        self._notify()
        return True

    def take(self, sale, payment: dict, asked: dict, caller) -> None:
        """The tender's ledger: a scan payment row stands for exactly one paid attempt of this sale."""
        field = f"payments[{payment['asked']}].reference"
        attempt = _ATTEMPT_BY_ID.first(payment["reference"])
        if attempt is None or attempt.sale_id != sale.id or attempt.provider != payment["method"]:
            raise DomainError(f"no {payment['method']} scan payment {payment['reference']} on this sale", field=field)
        if attempt.state != "paid":
            raise Conflict(f"scan payment {attempt.id} is {attempt.state}, not paid", field=field,
                           code="payment_not_paid")
        if attempt.amount != payment["amount"]:
            raise DomainError(f"scan payment {attempt.id} paid {attempt.amount} fen, not {payment['amount']}",
                              field=f"payments[{payment['asked']}].amount")
        if self.app.db.peewee.execute_sql(_USE, (attempt.id,)).rowcount != 1:
            raise Conflict(f"scan payment {attempt.id} already pays a sale", field=field, code="payment_used")

    def check_completion(self, sale, lines, caller) -> None:
        """No sale completes while a scan payment is in flight or a paid one is left out."""
        for attempt in self.of_sale(sale.id):
            if attempt.state in IN_FLIGHT:
                raise Conflict(f"scan payment {attempt.id} is still {attempt.state}; wait for it or cancel it",
                               field="payments", code="payment_in_flight")
            if attempt.state == "paid" and not attempt.used:
                raise Conflict(f"scan payment {attempt.id} ({attempt.amount} fen) is paid: include it as "
                               f"{{method: {attempt.provider}, reference: {attempt.id}}}", field="payments",
                               code="paid_payment_left_out")

    # -- after a restart ------------------------------------------------------------

    def resume_all(self) -> dict:
        """Drive every unfinished attempt and refund to its end; complete sales their payments cover."""
        attempts = [a.id for a in PaymentAttempt.select(PaymentAttempt.id).where(PaymentAttempt.state.in_(UNFINISHED))]
        refunds = [r.id for r in PaymentRefund.select(PaymentRefund.id).where(PaymentRefund.state == "pending")]
        paid_sales = {a.sale_id for a in PaymentAttempt.select(PaymentAttempt.sale_id).where(
            (PaymentAttempt.state == "paid") & ~PaymentAttempt.used)}
        for sale_id in paid_sales:
            self.complete_if_covered(sale_id)
        if self.background:
            for attempt_id in attempts:
                self.kick(attempt_id)
            for refund_id in refunds:
                self.kick_refund(refund_id)
        else:
            for attempt_id in attempts:
                self.drive(attempt_id)
            for refund_id in refunds:
                self.drive_refund(refund_id)
        return {"attempts": len(attempts), "refunds": len(refunds), "paid_sales": len(paid_sales)}

    def start_background(self) -> None:
        """In the web process: attempts are driven by threads, and what a crash left unfinished resumes."""
        if self.background:
            return
        self.background = True
        threading.Thread(target=self.resume_all, name="payments-resume", daemon=True).start()
