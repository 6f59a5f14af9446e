"""HQ's coupon register: each coupon issued at a store, and where and for which sale it was redeemed, so a
coupon redeemed at two stores while they were apart is flagged."""

_SQL = """
CREATE TABLE "coupon" ("id" TEXT NOT NULL PRIMARY KEY, "code" TEXT NOT NULL, "member_id" TEXT,
    "store_id" TEXT NOT NULL, "status" TEXT NOT NULL, "sale_id" TEXT, "redeemed_store_id" TEXT, "redeemed_at" TEXT);
CREATE INDEX "coupon_code" ON "coupon" ("code")
"""

SQL = {"sqlite": _SQL, "postgresql": _SQL}
