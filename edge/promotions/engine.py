"""The promotions engine: a pure function pricing a cart's promotions (no database, no clock).

Input: the cart's lines, the sale's member (or None), the promotions, and the
store-local moment. Output: the discounts applied, each its own explained
line with its amount (fen) and its split over the cart's lines.

Kinds:
- ``member_price``   a product's member price (会员价), for a sale with a member;
- ``level_discount`` the member level's discount_percent from the config (金卡 95折);
- ``category_percent`` x % off a category or a set of SKUs (饮料 9折);
- ``buy_x_get_y``    buy X of a SKU set or category, get Y free or at a percent off
  (买二送一): of every X+Y eligible units the cheapest Y are the reduced ones;
- ``threshold``      满X减Y on the eligible subtotal, once or for every full X (每满300减50).

Stacking rules:
1. A line with a cashier's manual line discount or a price override takes no
   automatic promotion: the cashier has priced it by hand.
2. Per line at most ONE line-level price (member price, level discount,
   category percent, buy X get Y): the one best for the customer, ties broken
   by the higher priority, then the smaller id. Buy X get Y is judged on its
   whole pool of lines: it takes them when its discount is larger than the
   best single-line prices it would replace on those lines.
3. Threshold promotions then apply, by priority (then id), on what remains of
   their eligible lines, spread over them by largest remainder. A line carrying
   an `exclusive` line-level promotion takes no threshold promotion; an
   `exclusive` threshold promotion takes no line another threshold already
   reduced, and leaves its own lines to no later one.
4. The cashier's whole-sale discount applies after all of this (edge.sales.pricing).
All amounts are integer fen, half-up (edge.money). Lines are worked in line-id
order, so the order they were entered in changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from edge.money import allocate, round_half_up, yuan

KINDS = ("category_percent", "threshold", "buy_x_get_y")
MEMBER_PRICE_ID = "member-price"
LEVEL_DISCOUNT_ID = "member-level"
LINE_LEVEL = ("member_price", "level_discount", "category_percent", "buy_x_get_y")
_CN_DIGITS = "零一二三四五六七八九十"


@dataclass(frozen=True)
class CartLine:
    line_id: str
    sku: str
    category: str | None
    qty: int  # pieces, or grams for weighed goods
    unit_price: int  # fen (per kg when sold by weight)
    gross: int  # fen, after any scale label's price
    sold_by: str = "each"
    member_price: int | None = None  # same unit as unit_price
    manual: bool = False  # a cashier's line discount or price override: no automatic promotion


@dataclass(frozen=True)
class MemberContext:
    level: str
    discount_percent: int  # the level's discount (config members.levels)


@dataclass(frozen=True)
class Promotion:
    id: str
    name: str
    kind: str
    starts_at: datetime  # store-local, naive
    ends_at: datetime
    percent: int = 0  # category_percent: percent off; buy_x_get_y: percent off the "get" units (100 = free)
    threshold: int = 0  # 满X: fen
    amount: int = 0  # 减Y: fen
    repeat: bool = False  # 每满X减Y
    buy_qty: int = 0
    get_qty: int = 0
    categories: tuple[str, ...] = ()
    skus: tuple[str, ...] = ()  # with categories: the scope; both empty = every product
    weekdays: tuple[int, ...] = ()  # ISO 1 = Monday … 7 = Sunday; empty = every day
    hours_from: str | None = None  # "HH:MM" store-local, with hours_to: daily window [from, to)
    hours_to: str | None = None
    member_only: bool = False
    levels: tuple[str, ...] = ()  # only members at these levels; empty = any (or no) member
    priority: int = 0
    exclusive: bool = False
    active: bool = True

    def in_scope(self, line: CartLine) -> bool:
        if not self.categories and not self.skus:
            return True
        return line.sku in self.skus or (line.category is not None and line.category in self.categories)

    def applies(self, member: MemberContext | None, moment: datetime) -> bool:
        if not self.active or not self.starts_at <= moment < self.ends_at:
            return False
        if self.weekdays and moment.isoweekday() not in self.weekdays:
            return False
        if self.hours_from and self.hours_to:
            now = moment.strftime("%H:%M")
            inside = (self.hours_from <= now < self.hours_to if self.hours_from < self.hours_to
                      else now >= self.hours_from or now < self.hours_to)  # a window past midnight
            if not inside:
                return False
        if (self.member_only or self.levels) and member is None:
            return False
        return not self.levels or member.level in self.levels


@dataclass
class Applied:
    """One explained discount line of the cart."""

    promotion_id: str
    kind: str
    label: str
    amount: int
    allocation: dict[str, int] = field(default_factory=dict)  # line id → fen

    def as_dict(self) -> dict:
        return {"id": self.promotion_id, "kind": self.kind, "label": self.label, "amount": self.amount,
                "lines": dict(self.allocation)}


# -- labels a receipt can print -------------------------------------------------------------

def _cn_number(n: int) -> str:
    return _CN_DIGITS[n] if 0 <= n <= 10 else str(n)


def zhe(percent_off: int) -> str:
    """5 % off → 95折, 10 % off → 9折."""
    left = 100 - percent_off
    return f"{left // 10}折" if left % 10 == 0 else f"{left}折"


def _yuan(fen: int) -> str:
    text = yuan(fen)
    return text[:-3] if text.endswith(".00") else text


def label_of(p: Promotion) -> str:
    """The promotion's own name (what the shop advertises), then its terms in Chinese and English; the
    Chinese terms are left out when the name already says them (可乐买二送一, 满100减10)."""
    chinese, english = _terms(p)
    return f"{p.name} {english}" if chinese in p.name else f"{p.name} {chinese} {english}"


def _terms(p: Promotion) -> tuple[str, str]:
    if p.kind == "category_percent":
        return zhe(p.percent), f"{p.percent}% off"
    if p.kind == "threshold":
        each = "每" if p.repeat else ""
        english = "every" if p.repeat else "spend"
        return (f"{each}满{_yuan(p.threshold)}减{_yuan(p.amount)}",
                f"{english} ¥{_yuan(p.threshold)} save ¥{_yuan(p.amount)}")
    if p.percent >= 100:
        return f"买{_cn_number(p.buy_qty)}送{_cn_number(p.get_qty)}", f"buy {p.buy_qty} get {p.get_qty} free"
    return (f"买{_cn_number(p.buy_qty)}第{_cn_number(p.buy_qty + 1)}件{zhe(p.percent)}",
            f"buy {p.buy_qty} get {p.get_qty} {p.percent}% off")


# -- the engine ----------------------------------------------------------------------------

@dataclass
class _Option:
    """A line-level price candidate for one line."""

    amount: int
    priority: int
    key: str  # promotion id: the last tie-break
    source: object  # the Promotion, or a kind name for member price / level discount


def _better(a: _Option, b: _Option | None) -> bool:
    return b is None or (a.amount, a.priority, _neg(a.key)) > (b.amount, b.priority, _neg(b.key))


def _neg(key: str) -> tuple:
    # the smaller id wins a full tie: compare negated code points, a prefix ranking before its extensions
    return tuple(-ord(c) for c in key) + (1,)


def _member_price_off(line: CartLine) -> int:
    if line.member_price is None or line.member_price >= line.unit_price or line.unit_price <= 0:
        return 0
    if line.sold_by == "weight":  # scale-label or weighed line: the member price in the same proportion
        return line.gross - round_half_up(line.gross * line.member_price, line.unit_price)
    return line.gross - line.member_price * line.qty


def _buy_x_get_y(p: Promotion, lines: list[CartLine]) -> dict[str, int]:
    """Of every buy_qty + get_qty eligible units, the cheapest get_qty are reduced; ties by SKU, line id."""
    units = sorted(((l.unit_price, l.sku, l.line_id) for l in lines for _ in range(l.qty)))
    reduced = (len(units) // (p.buy_qty + p.get_qty)) * p.get_qty
    off: dict[str, int] = {}
    for price, _, line_id in units[:reduced]:
        off[line_id] = off.get(line_id, 0) + round_half_up(price * p.percent, 100)
    return {k: v for k, v in off.items() if v > 0}


def price_promotions(lines: list[CartLine], member: MemberContext | None, promotions: list[Promotion],
                     moment: datetime) -> list[Applied]:
    """The discounts the cart earns; each line's share never exceeds its gross."""
    lines = sorted((l for l in lines if not l.manual and l.gross > 0), key=lambda l: l.line_id)
    live = sorted((p for p in promotions if p.applies(member, moment)), key=lambda p: (-p.priority, p.id))
    best: dict[str, _Option] = {}

    def offer(line: CartLine, option: _Option) -> None:
        option.amount = min(option.amount, line.gross)
        if option.amount > 0 and _better(option, best.get(line.line_id)):
            best[line.line_id] = option

    for line in lines:
        if member is not None:
            offer(line, _Option(_member_price_off(line), 0, MEMBER_PRICE_ID, "member_price"))
            if member.discount_percent:
                offer(line, _Option(round_half_up(line.gross * member.discount_percent, 100), 0,
                                    LEVEL_DISCOUNT_ID, "level_discount"))
        for p in live:
            if p.kind == "category_percent" and p.in_scope(line):
                offer(line, _Option(round_half_up(line.gross * p.percent, 100), p.priority, p.id, p))

    # Buy X get Y, judged on its pool: taken when it beats the single-line prices it replaces.
    by_id = {l.line_id: l for l in lines}
    taken: set[str] = set()
    bxgy = [p for p in live if p.kind == "buy_x_get_y"]
    while bxgy:
        choice = None
        for p in bxgy:
            pool = [l for l in lines if l.sold_by == "each" and l.line_id not in taken and p.in_scope(l)]
            shares = {k: min(v, by_id[k].gross) for k, v in _buy_x_get_y(p, pool).items()}
            gain = sum(shares.values()) - sum(best[l.line_id].amount for l in pool if l.line_id in best)
            if gain > 0 and (choice is None or (gain, p.priority, _neg(p.id)) > choice[0]):
                choice = ((gain, p.priority, _neg(p.id)), p, pool, shares)
        if choice is None:
            break
        _, p, pool, shares = choice
        for line in pool:
            taken.add(line.line_id)
            best.pop(line.line_id, None)
            if shares.get(line.line_id):
                best[line.line_id] = _Option(shares[line.line_id], p.priority, p.id, p)
        bxgy.remove(p)

    applied: dict[str, Applied] = {}
    level_label = (f"{member.level} {zhe(member.discount_percent)} member {member.discount_percent}% off"
                   if member is not None else "")
    for line in lines:
        option = best.get(line.line_id)
        if option is None:
            continue
        if isinstance(option.source, Promotion):
            entry = applied.setdefault(option.key, Applied(option.key, option.source.kind, label_of(option.source), 0))
        elif option.source == "member_price":
            entry = applied.setdefault(option.key, Applied(option.key, "member_price", "会员价 member price", 0))
        else:
            entry = applied.setdefault(option.key, Applied(option.key, "level_discount", level_label, 0))
        entry.amount += option.amount
        entry.allocation[line.line_id] = option.amount

    # Thresholds on what remains.
    remaining = {l.line_id: l.gross - (best[l.line_id].amount if l.line_id in best else 0) for l in lines}
    no_threshold = {k for k, o in best.items() if isinstance(o.source, Promotion) and o.source.exclusive}
    reduced_by_threshold: set[str] = set()
    for p in live:
        if p.kind != "threshold":
            continue
        eligible = [l.line_id for l in lines if p.in_scope(l) and l.line_id not in no_threshold
                    and remaining[l.line_id] > 0 and not (p.exclusive and l.line_id in reduced_by_threshold)]
        base = sum(remaining[k] for k in eligible)
        if p.threshold <= 0 or base < p.threshold:
            continue
        off = min((base // p.threshold) * p.amount if p.repeat else p.amount, base)
        shares = allocate(off, [remaining[k] for k in eligible])
        entry = Applied(p.id, "threshold", label_of(p), off)
        for line_id, share in zip(eligible, shares):
            if share:
                entry.allocation[line_id] = share
                remaining[line_id] -= share
                reduced_by_threshold.add(line_id)
            if p.exclusive:
                no_threshold.add(line_id)
        applied[p.id] = entry

    order = {kind: i for i, kind in enumerate(LINE_LEVEL + ("threshold",))}
    return sorted((a for a in applied.values() if a.amount > 0),
                  key=lambda a: (order[a.kind], a.promotion_id))


def per_line(applied: list[Applied]) -> dict[str, int]:
    """Each line's promotion discount, summed over the applied discounts."""
    totals: dict[str, int] = {}
    for entry in applied:
        for line_id, amount in entry.allocation.items():
            totals[line_id] = totals.get(line_id, 0) + amount
    return totals
