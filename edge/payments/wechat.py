"""WeChat Pay APIv3 付款码支付 (codepay): requests signed with the merchant's key, answers checked
against the platform's public key (WECHATPAY2-SHA256-RSA2048)."""

from __future__ import annotations

import json
import secrets
import time

from edge.payments import keys
from edge.payments.providers import Adapter, Answer, Transport, guarded

SCHEMA = "WECHATPAY2-SHA256-RSA2048"


def signature_message(*parts: str) -> bytes:
    """WeChat's signed text: each part followed by a newline."""
    return "".join(f"{part}\n" for part in parts).encode()


def authorization(mchid: str, serial_no: str, key, method: str, path: str, body: str,
                  timestamp: str | None = None, nonce: str | None = None) -> str:
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or secrets.token_hex(16)
    signature = keys.sign(key, signature_message(method, path, timestamp, nonce, body))
    return (f'{SCHEMA} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
            f'timestamp="{timestamp}",serial_no="{serial_no}"')


def parse_authorization(header: str) -> dict:
    schema, _, fields = header.partition(" ")
    if schema != SCHEMA:
        raise ValueError(f"not a {SCHEMA} authorization")
    return {name: value.strip('"') for name, _, value in (item.partition("=") for item in fields.split(","))}


class WeChatPay(Adapter):
    name = "wechat"

    def __init__(self, transport: Transport, mchid: str, appid: str, serial_no: str, private_key, platform_key):
        self.transport = transport
        self.mchid, self.appid, self.serial_no = mchid, appid, serial_no
        self.private_key, self.platform_key = private_key, platform_key

    def _call(self, method: str, path: str, payload: dict | None = None) -> tuple[int, dict]:
        body = "" if payload is None else json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        headers = {"Authorization": authorization(self.mchid, self.serial_no, self.private_key, method,
                                                  self.transport.path(path), body),
                   "Accept": "application/json", "Content-Type": "application/json"}
        reply = self.transport.send(method, path, body.encode() if payload is not None else None, headers)
        text = reply.body.decode()
        if reply.status >= 500 and "wechatpay-signature" not in reply.headers:
            return reply.status, {"code": "SYSTEM_ERROR", "message": text[:200]}
        keys.verify(self.platform_key,
                    signature_message(reply.headers.get("wechatpay-timestamp", ""),
                                      reply.headers.get("wechatpay-nonce", ""), text),
                    reply.headers.get("wechatpay-signature", ""))
        return reply.status, json.loads(text) if text else {}

    @staticmethod
    def _trade(status: int, data: dict) -> Answer:
        code, message = data.get("code", ""), data.get("message", "")
        if status == 200:
            state = data.get("trade_state")
            found = {"SUCCESS": "success", "USERPAYING": "paying", "NOTPAY": "paying", "CLOSED": "closed",
                     "REVOKED": "closed", "PAYERROR": "failed", "REFUND": "success"}.get(state, "unknown")
            return Answer(found, data.get("transaction_id"), data.get("trade_state_desc") or state or "")
        if status == 202 or code == "USERPAYING":
            return Answer("paying", message="waiting for the customer to confirm")
        if status == 404 or code == "ORDER_NOT_EXIST":
            return Answer("not_found", message=message or code)
        if status >= 500 or code in ("SYSTEM_ERROR", "BANK_ERROR", "FREQUENCY_LIMITED"):
            return Answer("unknown", message=message or code)
        return Answer("failed", message=f"{code}: {message}" if message else code)

    def pay(self, out_trade_no, code, amount, subject, store_id):
        payload = {"appid": self.appid, "mchid": self.mchid, "description": subject, "out_trade_no": out_trade_no,
                   "payer": {"auth_code": code}, "amount": {"total": amount, "currency": "CNY"},
                   "scene_info": {"store_info": {"out_id": store_id}}}
        return guarded(lambda: self._trade(*self._call("POST", "/v3/pay/transactions/codepay", payload)))

    def query(self, out_trade_no):
        path = f"/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={self.mchid}"
        return guarded(lambda: self._trade(*self._call("GET", path)))

    def reverse(self, out_trade_no):
        def call():
            status, data = self._call("POST", f"/v3/pay/transactions/out-trade-no/{out_trade_no}/reverse",
                                      {"appid": self.appid, "mchid": self.mchid})
            if status in (200, 204) or data.get("code") == "ORDER_NOT_EXIST":
                return Answer("success", message="reversed")
            return Answer("unknown", message=data.get("message", data.get("code", "")), retry=True)
        return guarded(call)

    @staticmethod
    def _refund(status: int, data: dict) -> Answer:
        if status == 200:
            found = {"SUCCESS": "success", "PROCESSING": "paying", "CLOSED": "failed",
                     "ABNORMAL": "failed"}.get(data.get("status"), "unknown")
            return Answer(found, data.get("refund_id"), data.get("status", ""))
        if status == 404 or data.get("code") == "RESOURCE_NOT_EXISTS":
            return Answer("not_found", message=data.get("message", ""))
        if status >= 500:
            return Answer("unknown", message=data.get("message", ""))
        return Answer("failed", message=f"{data.get('code')}: {data.get('message', '')}")

    def refund(self, out_trade_no, out_refund_no, amount, total):
        payload = {"out_trade_no": out_trade_no, "out_refund_no": out_refund_no,
                   "amount": {"refund": amount, "total": total, "currency": "CNY"}}
        return guarded(lambda: self._refund(*self._call("POST", "/v3/refund/domestic/refunds", payload)))

    def query_refund(self, out_trade_no, out_refund_no):
        return guarded(lambda: self._refund(*self._call("GET", f"/v3/refund/domestic/refunds/{out_refund_no}")))
