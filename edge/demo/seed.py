"""Load the demo store: products, staff with known PINs (demo only), opening stock."""

from __future__ import annotations

from importlib import resources

from edge.catalog.models import Product
from edge.staff.models import Staff

DEMO_STAFF = (("王店长", "manager", "1234"), ("李收银", "cashier", "0000"), ("陈管理", "admin", "9999"))


def seed(store) -> list[str]:
    """Fill an empty store; a store that already has products is left alone."""
    if Product.select().exists():
        return ["demo: store already has products, nothing loaded"]
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
