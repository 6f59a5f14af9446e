"""Hardware endpoints: the configured devices and their last known state, for the screens and the back office."""

from __future__ import annotations

from edge.api.registry import Call, Routes

routes = Routes("hardware")


@routes.get("/hardware/devices", "The shop's hardware from the config, each with its last known state",
            auth="device", kinds=("terminal", "display", "kiosk"))
def devices(call: Call):
    states = {state["name"]: state for state in call.store.hardware.jobs.states()}
    return {"devices": [
        {"name": section.name, "kind": section.kind, "backend": section.backend, "lane": section.lane,
         "state": states.get(section.name, {}).get("state", "unknown"),
         "detail": states.get(section.name, {}).get("detail"),
         "updated_at": states.get(section.name, {}).get("updated_at")}
        for section in call.store.config.devices]}


@routes.post("/coupons/{code}/print", "Print a coupon on this lane's printer, its code as a barcode (audited)",
             status=201)
def print_coupon(call: Call, code: str):
    return call.store.hardware.print_coupon(code, call.caller)


@routes.post("/sales/{sale_id}/reprint", "Print a completed sale's receipt again, marked 重印 (audited)",
             status=201)
def reprint(call: Call, sale_id: str):
    return call.store.hardware.reprint(sale_id, call.caller)


@routes.post("/hardware/printers/{name}/test", "Print a test page on a configured printer (audited)", role="manager",
             status=201)
def test_print(call: Call, name: str):
    return call.store.hardware.test_print(name, call.caller)
