"""Health: what a technician's script or HQ wants to know at a glance."""

from __future__ import annotations

from edge import __version__
from edge.api.registry import Call, Routes
from edge.outbox.events import depth

routes = Routes("health")


@routes.get("/health", "Liveness and key figures", auth="public")
def health(call: Call):
    store = call.store
    return {
        "status": "ok",
        "version": __version__,
        "store_id": store.config.store.id,
        "schema_version": store.db.schema_version(),
        "outbox_depth": depth(),
    }
