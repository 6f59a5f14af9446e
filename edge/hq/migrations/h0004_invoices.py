"""HQ's register of e-invoice requests: each store's invoice.requested, and the status HQ gave it (sent to the
store as an invoice.status event in a broadcast)."""

_SQL = """
CREATE TABLE "invoice_request" ("id" TEXT NOT NULL PRIMARY KEY, "store_id" TEXT NOT NULL, "sale_id" TEXT NOT NULL,
    "receipt_no" TEXT NOT NULL, "amount" INTEGER NOT NULL, "buyer" TEXT NOT NULL, "title" TEXT NOT NULL,
    "taxpayer_id" TEXT, "email" TEXT NOT NULL, "channel" TEXT NOT NULL, "requested_at" TEXT NOT NULL,
    "status" TEXT NOT NULL, "reason" TEXT, "invoice_no" TEXT, "updated_at" TEXT NOT NULL);
CREATE INDEX "invoice_request_store_status" ON "invoice_request" ("store_id", "status")
"""

SQL = {"sqlite": _SQL, "postgresql": _SQL}
