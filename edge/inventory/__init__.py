"""Stock: an append-only movement ledger and the on-hand figure it sums to."""
