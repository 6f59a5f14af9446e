"""Store reports (报表): sales, traffic, staff ranking and targets, products bought together, stock, stored value."""
