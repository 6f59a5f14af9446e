"""对账: a day's scan payments in the store against the provider's statement, every difference listed.

The store's side is what it recorded: paid attempts (less what was refunded
through the provider), reversals, refunds. The provider's side is its
statement for the day, imported as CSV with the columns
``provider,out_trade_no,transaction_id,kind,amount[,out_refund_no]`` (kind: pay, refund or
reversal; amount in fen, negative for money going back), which is how the
simulator exports its ledger and what an HQ job can make of each provider's
bill. Without a statement only the store's own loose ends are listed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from edge.errors import DomainError
from edge.payments.models import PaymentAttempt, PaymentRefund

COLUMNS = ("provider", "out_trade_no", "transaction_id", "kind", "amount")
KINDS = ("pay", "refund", "reversal")


@dataclass(frozen=True)
class Difference:
    kind: str
    provider: str
    out_trade_no: str
    store_amount: int
    provider_amount: int | None
    detail: str


def read_statement(text: str) -> list[dict]:
    """Rows of a statement CSV; a bad row is an error naming its line and column."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise DomainError(f"the statement lacks the column(s) {', '.join(missing)}", field="statement")
    rows = []
    for line, row in enumerate(reader, start=2):
        if row["kind"] not in KINDS:
            raise DomainError(f"line {line}: kind must be one of {', '.join(KINDS)}", field="statement.kind")
        try:
            amount = int(row["amount"])
        except (TypeError, ValueError):
            raise DomainError(f"line {line}: amount must be whole fen", field="statement.amount") from None
        rows.append({**row, "amount": amount})
    return rows


def statement_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*COLUMNS, "out_refund_no"], extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _local_day(timestamp: str, zone: ZoneInfo) -> date:
    return datetime.fromisoformat(timestamp).astimezone(zone).date()


def reconcile(app, day: date, statement: list[dict] | None) -> dict:
    """The day's figures per provider and every difference found."""
    zone = ZoneInfo(app.config.store.timezone)
    attempts = [a for a in PaymentAttempt.select() if _local_day(a.created_at, zone) == day]
    refunds: dict[str, list[PaymentRefund]] = {}
    for row in PaymentRefund.select().where(PaymentRefund.attempt_id.in_([a.id for a in attempts])):
        refunds.setdefault(row.attempt_id, []).append(row)
    differences: list[Difference] = []
    store_net: dict[str, int] = {}
    for attempt in attempts:
        back = sum(r.amount for r in refunds.get(attempt.id, []) if r.state == "refunded")
        store_net[attempt.out_trade_no] = attempt.amount - back if attempt.state == "paid" else 0
        if attempt.state in ("created", "paying", "reversing"):
            differences.append(Difference("unfinished", attempt.provider, attempt.out_trade_no, 0, None,
                                          f"attempt {attempt.id} is still {attempt.state}"))
        if attempt.state == "paid" and not attempt.used:
            differences.append(Difference("paid_without_sale", attempt.provider, attempt.out_trade_no,
                                          attempt.amount, None, f"sale {attempt.sale_id} did not complete with it"))
        for row in refunds.get(attempt.id, []):
            if row.state != "refunded":
                differences.append(Difference(f"refund_{row.state}", attempt.provider, attempt.out_trade_no,
                                              -row.amount, None, f"refund {row.out_refund_no}: {row.reason or ''}"))
    by_number = {a.out_trade_no: a for a in attempts}
    provider_net: dict[str, int] = {}
    if statement is not None:
        for row in statement:
            provider_net[row["out_trade_no"]] = provider_net.get(row["out_trade_no"], 0) + row["amount"]
        for number in sorted(store_net.keys() | provider_net.keys()):
            ours, theirs = store_net.get(number), provider_net.get(number)
            attempt = by_number.get(number)
            provider = attempt.provider if attempt else next(r["provider"] for r in statement
                                                             if r["out_trade_no"] == number)
            if attempt is None:
                differences.append(Difference("unknown_to_store", provider, number, 0, theirs,
                                              "on the provider's statement, not in the store"))
            elif (theirs or 0) != ours:
                differences.append(Difference("amount_differs", provider, number, ours, theirs or 0,
                                              f"store says {ours} fen, provider {theirs or 0} fen"
                                              f" (attempt {attempt.id}, {attempt.state})"))
    totals = {}
    for attempt in attempts:
        figures = totals.setdefault(attempt.provider, {"paid": 0, "count": 0, "refunded": 0, "reversed": 0})
        if attempt.state == "paid":
            figures["paid"] += attempt.amount
            figures["count"] += 1
        if attempt.state == "reversed":
            figures["reversed"] += 1
        figures["refunded"] += sum(r.amount for r in refunds.get(attempt.id, []) if r.state == "refunded")
    return {"date": day.isoformat(), "statement": statement is not None, "providers": totals,
            "differences": [asdict(d) for d in differences]}
