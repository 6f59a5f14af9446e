"""HQ's first tables: the stores' events and state, broadcasts, members, ledgers, daily sales, flags, commands.

The SQLite text is what HQ created before its schema was versioned, so such
a database is taken as at version 1. On PostgreSQL sequence numbers and
money totals are 64-bit, and hq_seq is given by HQ (the next after the
largest, under a lock) rather than by a sequence, which would leave gaps
the stores would wait for.
"""

SQL = {
    "sqlite": """
CREATE TABLE "store_state" ("store_id" TEXT NOT NULL PRIMARY KEY, "acked_upto" INTEGER NOT NULL, "state" TEXT,
    "version" TEXT, "status_at" TEXT, "telemetry" TEXT, "telemetry_at" TEXT);
CREATE TABLE "store_event" ("store_id" TEXT NOT NULL, "seq" INTEGER NOT NULL, "id" TEXT NOT NULL,
    "type" TEXT NOT NULL, "at" TEXT NOT NULL, "data" TEXT NOT NULL, "received_at" TEXT NOT NULL,
    PRIMARY KEY ("store_id", "seq"));
CREATE UNIQUE INDEX "store_event_store_id_id" ON "store_event" ("store_id", "id");
CREATE TABLE "broadcast" ("hq_seq" INTEGER NOT NULL PRIMARY KEY, "events" TEXT NOT NULL, "created_at" TEXT NOT NULL,
    "published" INTEGER NOT NULL);
CREATE INDEX "broadcast_published" ON "broadcast" ("published");
CREATE TABLE "member" ("id" TEXT NOT NULL PRIMARY KEY, "code" TEXT NOT NULL, "phone" TEXT, "name" TEXT,
    "status" TEXT NOT NULL, "home_store" TEXT NOT NULL, "level" TEXT, "registered_at" TEXT NOT NULL,
    "updated_at" TEXT NOT NULL);
CREATE INDEX "member_code" ON "member" ("code");
CREATE INDEX "member_phone" ON "member" ("phone");
CREATE TABLE "ledger_entry" ("n" INTEGER NOT NULL PRIMARY KEY, "id" TEXT NOT NULL, "ledger" TEXT NOT NULL,
    "member_id" TEXT NOT NULL, "store_id" TEXT NOT NULL, "account" TEXT, "amount" INTEGER NOT NULL,
    "kind" TEXT NOT NULL, "ref" TEXT, "at" TEXT NOT NULL);
CREATE UNIQUE INDEX "ledger_entry_id" ON "ledger_entry" ("id");
CREATE INDEX "ledger_entry_member_id" ON "ledger_entry" ("member_id");
CREATE TABLE "sales_day" ("store_id" TEXT NOT NULL, "day" TEXT NOT NULL, "sales" INTEGER NOT NULL,
    "sales_total" INTEGER NOT NULL, "refunds" INTEGER NOT NULL, "refunds_total" INTEGER NOT NULL,
    PRIMARY KEY ("store_id", "day"));
CREATE TABLE "flag" ("id" INTEGER NOT NULL PRIMARY KEY, "kind" TEXT NOT NULL, "member_id" TEXT, "store_id" TEXT,
    "detail" TEXT NOT NULL, "at" TEXT NOT NULL, "resolved_at" TEXT);
CREATE TABLE "command" ("id" TEXT NOT NULL PRIMARY KEY, "store_id" TEXT NOT NULL, "command" TEXT NOT NULL,
    "args" TEXT NOT NULL, "created_at" TEXT NOT NULL, "published" INTEGER NOT NULL, "reply" TEXT, "replied_at" TEXT);
CREATE INDEX "command_published" ON "command" ("published")
""",
    "postgresql": """
CREATE TABLE "store_state" ("store_id" TEXT NOT NULL PRIMARY KEY, "acked_upto" BIGINT NOT NULL, "state" TEXT,
    "version" TEXT, "status_at" TEXT, "telemetry" TEXT, "telemetry_at" TEXT);
CREATE TABLE "store_event" ("store_id" TEXT NOT NULL, "seq" BIGINT NOT NULL, "id" TEXT NOT NULL,
    "type" TEXT NOT NULL, "at" TEXT NOT NULL, "data" TEXT NOT NULL, "received_at" TEXT NOT NULL,
    PRIMARY KEY ("store_id", "seq"));
CREATE UNIQUE INDEX "store_event_store_id_id" ON "store_event" ("store_id", "id");
CREATE TABLE "broadcast" ("hq_seq" BIGINT NOT NULL PRIMARY KEY, "events" TEXT NOT NULL, "created_at" TEXT NOT NULL,
    "published" BOOLEAN NOT NULL);
CREATE INDEX "broadcast_published" ON "broadcast" ("published");
CREATE TABLE "member" ("id" TEXT NOT NULL PRIMARY KEY, "code" TEXT NOT NULL, "phone" TEXT, "name" TEXT,
    "status" TEXT NOT NULL, "home_store" TEXT NOT NULL, "level" TEXT, "registered_at" TEXT NOT NULL,
    "updated_at" TEXT NOT NULL);
CREATE INDEX "member_code" ON "member" ("code");
CREATE INDEX "member_phone" ON "member" ("phone");
CREATE TABLE "ledger_entry" ("n" BIGSERIAL NOT NULL PRIMARY KEY, "id" TEXT NOT NULL, "ledger" TEXT NOT NULL,
    "member_id" TEXT NOT NULL, "store_id" TEXT NOT NULL, "account" TEXT, "amount" INTEGER NOT NULL,
    "kind" TEXT NOT NULL, "ref" TEXT, "at" TEXT NOT NULL);
CREATE UNIQUE INDEX "ledger_entry_id" ON "ledger_entry" ("id");
CREATE INDEX "ledger_entry_member_id" ON "ledger_entry" ("member_id");
CREATE TABLE "sales_day" ("store_id" TEXT NOT NULL, "day" TEXT NOT NULL, "sales" INTEGER NOT NULL,
    "sales_total" BIGINT NOT NULL, "refunds" INTEGER NOT NULL, "refunds_total" BIGINT NOT NULL,
    PRIMARY KEY ("store_id", "day"));
CREATE TABLE "flag" ("id" SERIAL NOT NULL PRIMARY KEY, "kind" TEXT NOT NULL, "member_id" TEXT, "store_id" TEXT,
    "detail" TEXT NOT NULL, "at" TEXT NOT NULL, "resolved_at" TEXT);
CREATE TABLE "command" ("id" TEXT NOT NULL PRIMARY KEY, "store_id" TEXT NOT NULL, "command" TEXT NOT NULL,
    "args" TEXT NOT NULL, "created_at" TEXT NOT NULL, "published" BOOLEAN NOT NULL, "reply" TEXT, "replied_at" TEXT);
CREATE INDEX "command_published" ON "command" ("published")
""",
}
