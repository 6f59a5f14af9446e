"""HQ's epoch: a random id given to each HQ database when it is made (or first upgraded to this step).

Broadcasts and acks carry it, so a store can tell a new HQ database (whose
hq_seq starts again at 1 and which holds none of its events) from the one
it was talking to, and send everything again.
"""

import uuid

SQL = {
    "sqlite": 'CREATE TABLE "hq_meta" ("key" TEXT NOT NULL PRIMARY KEY, "value" TEXT NOT NULL)',
    "postgresql": 'CREATE TABLE "hq_meta" ("key" TEXT NOT NULL PRIMARY KEY, "value" TEXT NOT NULL)',
}


def run(db) -> None:
    db.execute_sql('INSERT INTO "hq_meta" ("key", "value") VALUES (%s, %s)' % (db.param, db.param),
                   ("epoch", str(uuid.uuid4())))
