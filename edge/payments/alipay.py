"""Alipay 当面付 条码支付 (alipay.trade.pay, scene bar_code) with RSA2: requests signed with the app's key,
answers checked against Alipay's public key."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urlencode

from edge.payments import keys
from edge.payments.providers import Adapter, Answer, Transport, guarded


def yuan_text(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def sign_content(params: dict) -> bytes:
    """Alipay's signed text: every parameter but sign, sorted, non-empty, as key=value joined by &."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] not in ("", None)).encode()


def response_node(text: str, node: str) -> tuple[dict, str]:
    """The answer's node and its exact text, which is what Alipay signs."""
    start = text.index(f'"{node}"')
    start = text.index(":", start) + 1
    while text[start] in " \n\r\t":
        start += 1
    value, end = json.JSONDecoder().raw_decode(text, start)
    return value, text[start:end]


class Alipay(Adapter):
    name = "alipay"

    def __init__(self, transport: Transport, app_id: str, private_key, alipay_key):
        self.transport = transport
        self.app_id = app_id
        self.private_key, self.alipay_key = private_key, alipay_key

    def _call(self, method: str, biz: dict) -> dict:
        params = {"app_id": self.app_id, "method": method, "format": "JSON", "charset": "utf-8",
                  "sign_type": "RSA2", "timestamp": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
                  "version": "1.0", "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":"))}
        params["sign"] = keys.sign(self.private_key, sign_content(params))
        reply = self.transport.send("POST", "", urlencode(params).encode(),
                                    {"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"})
        text = reply.body.decode()
        if reply.status != 200:
            return {"code": "20000", "msg": f"HTTP {reply.status}"}
        node, signed = response_node(text, method.replace(".", "_") + "_response")
        keys.verify(self.alipay_key, signed.encode(), json.loads(text).get("sign", ""))
        return node

    @staticmethod
    def _common(data: dict) -> Answer | None:
        """The answer for codes other than 10000 (success), or None to read the business fields."""
        code, sub = data.get("code"), data.get("sub_code", "")
        message = data.get("sub_msg") or data.get("msg", "")
        if code == "10000":
            return None
        if code == "10003":
            return Answer("paying", message="waiting for the customer to confirm")
        if code == "20000" or sub in ("ACQ.SYSTEM_ERROR", "aop.ACQ.SYSTEM_ERROR"):
            return Answer("unknown", message=message)
        if sub == "ACQ.TRADE_NOT_EXIST":
            return Answer("not_found", message=message)
        return Answer("failed", message=f"{sub}: {message}" if sub else message)

    def pay(self, out_trade_no, code, amount, subject, store_id):
        def call():
            data = self._call("alipay.trade.pay", {"out_trade_no": out_trade_no, "scene": "bar_code",
                                                   "auth_code": code, "subject": subject,
                                                   "total_amount": yuan_text(amount), "store_id": store_id})
            return self._common(data) or Answer("success", data.get("trade_no"), "paid")
        return guarded(call)

    def query(self, out_trade_no):
        def call():
            data = self._call("alipay.trade.query", {"out_trade_no": out_trade_no})
            status = data.get("trade_status")
            found = {"WAIT_BUYER_PAY": "paying", "TRADE_SUCCESS": "success", "TRADE_FINISHED": "success",
                     "TRADE_CLOSED": "closed"}.get(status, "unknown")
            return self._common(data) or Answer(found, data.get("trade_no"), status or "")
        return guarded(call)

    def reverse(self, out_trade_no):
        def call():
            data = self._call("alipay.trade.cancel", {"out_trade_no": out_trade_no})
            answer = self._common(data)
            if answer is not None and answer.outcome == "not_found":
                return Answer("success", message="nothing to reverse")
            if answer is not None:
                return Answer("unknown", message=answer.message, retry=True)
            if data.get("retry_flag") == "Y":
                return Answer("unknown", message="Alipay asks to repeat the cancel", retry=True)
            return Answer("success", message=f"reversed ({data.get('action', 'close')})")
        return guarded(call)

    def refund(self, out_trade_no, out_refund_no, amount, total):
        def call():
            data = self._call("alipay.trade.refund", {"out_trade_no": out_trade_no, "out_request_no": out_refund_no,
                                                      "refund_amount": yuan_text(amount)})
            answer = self._common(data)
            if answer is not None:
                return answer
            return Answer("success" if data.get("fund_change") == "Y" else "paying", data.get("trade_no"), "refund")
        return guarded(call)

    def query_refund(self, out_trade_no, out_refund_no):
        def call():
            data = self._call("alipay.trade.fastpay.refund.query",
                              {"out_trade_no": out_trade_no, "out_request_no": out_refund_no})
            answer = self._common(data)
            if answer is not None:
                return answer
            status = data.get("refund_status")
            if not status:  # Alipay answers an empty refund for a request it never received
                return Answer("not_found", message="no such refund")
            return Answer("success" if status == "REFUND_SUCCESS" else "paying", data.get("trade_no"), status)
        return guarded(call)
