"""Settings as the back office sees them: the running config, read-only, and what can change while the shop runs.

The config is a TOML file a technician edits (then restarts the service; the change is audited at start), so
the back office shows it without offering to edit it. What a manager changes at run time lives in the
database and has its own page: products and prices, reorder points, staff and PINs, devices.
"""

from __future__ import annotations

from edge import __version__
from edge.api.registry import Call, Routes
from edge.app import SECRET_KEYS, flatten

routes = Routes("settings")

# What a manager may change while the shop runs, and the endpoints that do it.
RUN_TIME = (
    {"area": "products", "what": "products, prices, member prices, active", "endpoint": "POST /products"},
    {"area": "stock", "what": "reorder points, receipts, adjustments, stocktakes", "endpoint": "POST /reorder-points"},
    {"area": "staff", "what": "staff, roles, PINs", "endpoint": "PATCH /staff/{staff_id}"},
    {"area": "devices", "what": "pairing approvals, unpairing", "endpoint": "POST /devices/pair/approve"},
    {"area": "screen", "what": "language of this screen (中文 / English), kept on the device", "endpoint": None},
)


@routes.get("/settings", "The running config (read-only, secrets hidden) and what the back office can change",
            role="manager")
def show_settings(call: Call):
    store = call.store
    config = flatten(store.config.model_dump(mode="json"))
    for secret in SECRET_KEYS:
        if config.get(secret) is not None:
            config[secret] = "(set)"
    return {"version": __version__, "schema_version": store.db.schema_version(), "editable": False,
            "config": [{"key": key, "value": value} for key, value in sorted(config.items())],
            "run_time": list(RUN_TIME)}
