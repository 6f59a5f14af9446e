"""HQ keeps running through a PostgreSQL restart: the real server the tests start is shut down fast (every
connection cut) and started again, once while a store's backlog streams in, once while HQ is idle and the store
goes on selling (HQ finds the database gone with batches and messages in hand).

HQ's process stays up, opens its connection again, and ends up holding each
event once (the same (seq, id) list as the store's outbox, all acked), with
each ledger entry stored and relayed once and applied once at the other store.
"""

from __future__ import annotations

import json

import pytest

from edge.hq.api import create_app
from edge.hq.models import open_hq_database
from tests.mqtt_helpers import activate, hq_events, wait_until
from tests.postgres_helpers import postgres_server  # noqa: F401 (the fixture: the session's PostgreSQL)
from tests.test_sync_mqtt import Chain, balances_at, emit_backlog, register_and_top_up


@pytest.fixture
def pg_chain(tmp_path, demo_template, postgres_server):  # noqa: F811 (postgres_server: the fixture imported)
    """The test chain with HQ on a new database of the session's PostgreSQL."""
    chain = Chain(tmp_path, demo_template, postgres_server.new_database())
    yield chain
    chain.close()


def relayed_ledger_entries(chain) -> list[str]:
    """The ids of the ledger entries HQ has put into its broadcasts, one per relay."""
    return [event["data"]["id"] for (events,) in chain.hq_db.rows("SELECT events FROM broadcast")
            for event in json.loads(events) if event["type"] == "ledger.entry"]


def test_a_postgresql_restart_mid_stream_loses_nothing_and_applies_nothing_twice(pg_chain, postgres_server):  # noqa: F811
    store_a, store_b = pg_chain.add_store("A"), pg_chain.add_store("B")
    members = [register_and_top_up(store_a, 10_000)]
    emit_backlog(store_a, 4000)
    wait_until(lambda: hq_events(pg_chain.hq_db, "A"), what="HQ to start storing")
    postgres_server.restart()
    members.append(register_and_top_up(store_a, 20_000))  # relayed by the connection opened again
    pg_chain.synced(timeout=120)

    postgres_server.shut_down()  # HQ idle, holding a connection the server has cut
    emit_backlog(store_a, 1000)
    members.append(register_and_top_up(store_a, 30_000))
    wait_until(lambda: "database is still away" in pg_chain.hq.log().rsplit("database is back", 1)[-1],
               what="HQ to find its database gone")
    postgres_server.restart()
    pg_chain.synced(timeout=120)
    for member, amount in zip(members, (10_000, 20_000, 30_000)):
        wait_until(lambda: balances_at(store_b, member.id)[0] == amount, what=f"member {member.code} at B")

    assert pg_chain.hq.process.poll() is None, pg_chain.hq.log()[-3000:]  # the same HQ process throughout
    assert "database connection is lost" in pg_chain.hq.log() and "database is back" in pg_chain.hq.log()
    entries = sorted(row[0] for row in pg_chain.hq_db.rows("SELECT id FROM ledger_entry"))
    assert len(entries) == 3 and sorted(relayed_ledger_entries(pg_chain)) == entries
    activate(store_b)
    assert store_b.db.peewee.execute_sql("SELECT COUNT(*) FROM stored_value_entry").fetchone()[0] == 3
    assert "Traceback" not in pg_chain.syncs["A"].log() + pg_chain.syncs["B"].log()


def test_the_read_api_answers_again_after_a_postgresql_restart(tmp_path, postgres_server):  # noqa: F811
    db = open_hq_database(postgres_server.new_database(), tmp_path)
    try:
        http = create_app().test_client()
        assert http.get("/hq/v1/stores").json == {"stores": []}
        postgres_server.restart()
        answer = http.get("/hq/v1/invoices")
        assert (answer.status_code, answer.json) == (200, {"invoices": []})
    finally:
        db.close()
