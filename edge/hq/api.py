"""HQ's small read API: chain-wide figures as JSON (GET only)."""

from __future__ import annotations

from flask import Flask, jsonify, request

from edge.hq import invoices, reports
from edge.hq.models import hq_database


def create_app() -> Flask:
    app = Flask("storeedge-hq")

    # a connection per request, as peewee advises for a web app: a database restarted (or failed over) between
    # two requests costs nothing, where one connection kept for the process would fail every request after it
    @app.before_request
    def _connect():
        hq_database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(_error):
        if not hq_database.is_closed():
            hq_database.close()

    @app.get("/hq/v1/sales")
    def sales():
        return jsonify({"days": reports.sales(request.args.get("from"), request.args.get("to"))})

    @app.get("/hq/v1/members")
    def members():
        return jsonify(reports.members(phone=request.args.get("phone"), code=request.args.get("code")))

    @app.get("/hq/v1/settlement")
    def settlement():
        return jsonify(reports.settlement())

    @app.get("/hq/v1/flags")
    def flags():
        return jsonify({"flags": reports.flags(open_only=request.args.get("all") is None)})

    @app.get("/hq/v1/stores")
    def stores():
        return jsonify({"stores": reports.stores()})

    @app.get("/hq/v1/invoices")
    def invoice_requests():
        return jsonify({"invoices": invoices.requests(request.args.get("store"), request.args.get("status"))})

    return app
