"""The WebSocket endpoints: /ws/gateway for the hardware gateway, /ws/lane/<n> for a lane's screens.

The gateway authenticates with the token from the config's [gateway]
section (Authorization: Bearer …); a screen with its paired device token
(?token=…, since browsers cannot set headers on a WebSocket).
"""

from __future__ import annotations

import hmac
import json
import logging

from flask import request
from flask_sock import ConnectionClosed, Sock

from edge.errors import DomainError
from edge.hardware.live import Peer
from edge.hardware.service import DISPLAY
from edge.hardware.token import gateway_token

log = logging.getLogger("storeedge.ws")
POLICY_VIOLATION = 1008
# How often a display's idle offers are compared with the promotions in effect: a validity window (or a daily
# hours window) starting or ending is no event, nor a change another process (sync, from HQ) made.
OFFERS_RECHECK_SECONDS = 30


def gateway_token_ok(store, header: str | None) -> bool:
    expected = gateway_token(store)
    if not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[len("Bearer "):].encode(), expected.encode())


def attach(flask_app, store) -> Sock:
    sock = Sock(flask_app)
    hardware = store.hardware

    @sock.route("/ws/gateway")
    def gateway(ws):
        if not gateway_token_ok(store, request.headers.get("Authorization")):
            ws.close(POLICY_VIOLATION, "gateway token missing or wrong ([gateway] token, or gateway.token in the "
                                       "data folder)")
            return
        peer = Peer(ws)
        hardware.hub.join(peer, gateway=True)
        peer.send({"type": "hello", "store_id": store.config.store.id})
        try:
            while True:
                text = ws.receive()
                if text is None:
                    continue
                answer = from_gateway(hardware, json.loads(text))
                if answer is not None:
                    peer.send(answer)
        except ConnectionClosed:
            pass
        finally:
            hardware.hub.leave(peer)

    @sock.route("/ws/lane/<int:lane>")
    def lane_screen(ws, lane):
        try:
            device = store.staff.device_for_token(request.args.get("token", ""))
        except DomainError as error:
            ws.close(POLICY_VIOLATION, error.message)
            return
        peer = Peer(ws, lane=lane, kind=device.kind, device_id=device.id)
        hardware.hub.join(peer, gateway=False)
        # a screen that (re)connects starts from the lane as it is: its open sale and the promotions to show idle
        snapshot = hardware.lane_snapshot(lane)
        peer.offers = snapshot["promotions"]
        peer.send(snapshot)
        try:
            while True:
                # until the socket closes: what a tablet says, and now and then a display's offers checked
                text = ws.receive(timeout=OFFERS_RECHECK_SECONDS)
                if text is not None:
                    peer.send(from_screen(hardware, peer, text))
                elif peer.kind == DISPLAY:
                    hardware.refresh_offers([peer])
        except ConnectionClosed:
            pass
        finally:
            hardware.hub.leave(peer)

    return sock


def from_screen(hardware, peer: Peer, text: str) -> dict:
    """One message from a lane screen (a tablet's tender step); returns what to answer: held, or refused."""
    try:
        message = json.loads(text)
        if not isinstance(message, dict) or message.get("type") != "tender":
            raise DomainError("type: a lane screen sends only tender", field="type")
        hardware.tender_step(peer, message.get("sale_id"), message.get("total"), message.get("amount"))
    except ValueError:
        return {"type": "screen.refused", "field": None, "message": "not a JSON message"}
    except DomainError as error:
        return {"type": "screen.refused", "field": error.field, "message": error.message}
    return {"type": "tender.held", "sale_id": message["sale_id"], "amount": message.get("amount")}


def from_gateway(hardware, message: dict) -> dict | None:
    """One message from the gateway; returns the answer to send back, if any."""
    kind = message.get("type")
    if kind == "scan":
        lane, code = message.get("lane"), str(message.get("code", ""))
        try:
            event = hardware.scan(lane, code)
        except DomainError as error:
            hardware.hub.to_lane(lane, {"type": "scan.rejected", "lane": lane, "code": code,
                                        "message": error.message})
            return {"type": "scan.result", "ok": False, "lane": lane, "code": code, "message": error.message}
        if event["type"] == "cart.member":
            member = event["sale"]["member"]
            return {"type": "scan.result", "ok": True, "lane": lane, "code": code, "member": member,
                    "sale_id": event["sale"]["id"], "total": event["sale"]["total"]}
        if event["type"] == "cart.payment":  # no line and no price lamp; the code only masked (a bearer token)
            payment = event["payment"]
            return {"type": "scan.result", "ok": True, "lane": lane, "code": event["code"],
                    "payment": {k: payment[k] for k in ("id", "provider", "amount", "state")},
                    "sale_id": event["sale"]["id"], "total": event["sale"]["total"]}
        line = event["line"]
        # every gateway: the one with the lane's display may not be the one that sent the scan (storeedge scan)
        hardware.hub.to_gateways({"type": "display", "lane": lane,
                                  "amount": {"kind": "price", "fen": line["unit_price"]},
                                  "text": [line["name"], f"{line['unit_price'] / 100:.2f}"]})
        return {"type": "scan.result", "ok": True, "lane": lane, "code": code, "line": line,
                "sale_id": event["sale"]["id"], "total": event["sale"]["total"]}
    if kind == "device.state":
        hardware.hub.device_state({k: message.get(k) for k in ("name", "kind", "lane", "state", "detail")})
        return None
    if kind in ("job.done", "job.failed"):
        hardware.hub.to_lane(message.get("lane"), message)
        return None
    log.warning("unknown message from the gateway: %r", kind)
    return None
