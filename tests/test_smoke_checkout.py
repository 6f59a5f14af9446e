"""The checkout path end to end in the domain, without HTTP."""

from tests.conftest import COLA, MANAGER_PIN, WATER


def test_complete_sale_writes_one_whole_fact(store, cashier):
    sale = store.sales.open(cashier)
    store.sales.add_line(sale.id, cashier, barcode=WATER, qty=2)
    store.sales.add_line(sale.id, cashier, barcode=COLA)
    done = store.sales.complete(sale.id, cashier, [{"method": "cash", "amount": 1000}])
    assert (done.status, done.total, done.paid, done.change) == ("completed", 700, 700, 300)
    assert done.receipt_no.startswith("S001-")
    refund = store.refunds.refund(cashier, sale.id, None, "test", "original", {"pin": MANAGER_PIN})
    assert refund.total == 700
