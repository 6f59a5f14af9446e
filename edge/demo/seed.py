"""Load the demo store: products, staff with known PINs (demo only), opening stock, and (for the shown demo)
a few promotions and member prices."""

from __future__ import annotations

from importlib import resources

from edge.catalog.models import Product
from edge.catalog.schemas import ProductIn
from edge.promotions.models import Promotion
from edge.staff.models import Staff
from edge.staff.service import Caller

ALWAYS = {"starts_at": "2020-01-01T00:00", "ends_at": "2099-12-31T00:00"}
DEMO_PROMOTIONS = (
    {"id": "DEMO-DRINKS-WEEKEND", "name": "饮料周末", "kind": "category_percent", "percent": 10,
     "categories": ["饮料"], "weekdays": [6, 7], **ALWAYS},
    {"id": "DEMO-SPEND-100", "name": "满100减10", "kind": "threshold", "threshold": 10_000, "amount": 1000, **ALWAYS},
    {"id": "DEMO-COLA-3FOR2", "name": "可乐买二送一", "kind": "buy_x_get_y", "buy_qty": 2, "get_qty": 1,
     "skus": ["DRK002"], **ALWAYS},
    {"id": "DEMO-BAKERY-EVENING", "name": "烘焙晚市", "kind": "category_percent", "percent": 20,
     "categories": ["烘焙"], "hours_from": "20:00", "hours_to": "22:00", **ALWAYS},
)
DEMO_MEMBER_PRICES = (("DRK006", 590), ("SNK003", 1090))  # 安慕希 ¥6.50 → ¥5.90, 德芙 ¥12.50 → ¥10.90
DEMO_STAFF = (("王店长", "manager", "1234"), ("李收银", "cashier", "0000"), ("陈管理", "admin", "9999"))


def seed(store, promotions: bool = False) -> list[str]:
    """Fill an empty store; a store that already has products is left alone.

    promotions: also the demo promotions and member prices (the command does; the test stores do not, so a
    test's prices do not depend on the weekday).
    """
    if Product.select().exists():
        return ["demo: store already has products, nothing loaded"]
    said = _seed_catalog_staff_stock(store)
    if promotions:
        said += seed_promotions(store)
    return said


def _seed_catalog_staff_stock(store) -> list[str]:
    text = resources.files("edge.demo").joinpath("products.csv").read_text(encoding="utf-8")
    report = store.catalog.import_csv(text)
    said = [f"demo: {report.imported} products"]
    for name, role, pin in DEMO_STAFF:
        if not Staff.select().where(Staff.name == name).exists():
            store.staff.add_staff(name, role, pin)
            said.append(f"demo: staff {name} ({role}) PIN {pin}")
    manager = Staff.get(Staff.name == DEMO_STAFF[0][0])
    opening = [(p, 20_000 if p.sold_by == "weight" else 50) for p in Product.select()]
    store.inventory.receive(opening, supplier="demo opening stock", note=None, staff_id=manager.id, device_id=None)
    said.append("demo: opening stock received")
    return said


def seed_promotions(store) -> list[str]:
    """The demo promotions and member prices, set by the demo manager."""
    if Promotion.select().exists():
        return ["demo: store already has promotions, none added"]
    manager = Caller(staff=Staff.get(Staff.name == DEMO_STAFF[0][0]))
    for values in DEMO_PROMOTIONS:
        store.promotions.create(manager, dict(values))
    for sku, member_price in DEMO_MEMBER_PRICES:
        product = store.catalog.as_dict(store.catalog.by_sku(sku))
        del product["id"]
        store.catalog.upsert(ProductIn.model_validate({**product, "member_price": member_price}),
                             staff_id=manager.staff_id, source="demo")
    return [f"demo: {len(DEMO_PROMOTIONS)} promotions, {len(DEMO_MEMBER_PRICES)} member prices"]
