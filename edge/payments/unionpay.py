"""UnionPay QR 被扫 (merchant scans the customer's code) on the UnionPay gateway, protocol 5.1.0:
form fields signed SHA256withRSA over the SHA-256 of the sorted fields (signMethod 01).

Our order numbers start with the 14-digit time they were made, which the
gateway's queries, cancellations and refunds ask for as ``txnTime``.
"""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode

from edge.payments import keys
from edge.payments.providers import Adapter, Answer, Transport, guarded

VERSION = "5.1.0"
IN_PROGRESS = ("03", "04", "05")  # the gateway's "result not known yet"


def sign_content(fields: dict) -> bytes:
    text = "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "signature" and fields[k] != "")
    return hashlib.sha256(text.encode()).hexdigest().encode()


class UnionPay(Adapter):
    name = "unionpay"

    def __init__(self, transport: Transport, mer_id: str, cert_id: str, private_key, unionpay_key):
        self.transport = transport
        self.mer_id, self.cert_id = mer_id, cert_id
        self.private_key, self.unionpay_key = private_key, unionpay_key

    def _call(self, path: str, fields: dict) -> dict:
        fields = {"version": VERSION, "encoding": "UTF-8", "signMethod": "01", "bizType": "000000",
                  "channelType": "08", "accessType": "0", "merId": self.mer_id, "certId": self.cert_id,
                  "currencyCode": "156", **fields}
        fields["signature"] = keys.sign(self.private_key, sign_content(fields))
        reply = self.transport.send("POST", path, urlencode(fields).encode(),
                                    {"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"})
        if reply.status != 200:
            return {"respCode": "03", "respMsg": f"HTTP {reply.status}"}
        answer = dict(parse_qsl(reply.body.decode(), keep_blank_values=True))
        keys.verify(self.unionpay_key, sign_content(answer), answer.get("signature", ""))
        return answer

    @staticmethod
    def _txn_time(order_id: str) -> str:
        return order_id[:14]

    def pay(self, out_trade_no, code, amount, subject, store_id):
        def call():
            data = self._call("/backTransReq.do", {"txnType": "01", "txnSubType": "06", "orderId": out_trade_no,
                                                    "txnTime": self._txn_time(out_trade_no), "txnAmt": str(amount),
                                                    "qrNo": code, "termId": store_id[:8]})
            code_ = data.get("respCode")
            if code_ == "00":  # accepted: the result is the query's, asked at once (most QR payments are done)
                answer = self._query(out_trade_no)
                return answer if answer.outcome in ("success", "failed") else Answer(
                    "paying", message="accepted; the result follows by query")
            if code_ in IN_PROGRESS:
                return Answer("unknown", message=data.get("respMsg", ""))
            return Answer("failed", message=f"{code_}: {data.get('respMsg', '')}")
        return guarded(call)

    def _query(self, order_id: str) -> Answer:
        data = self._call("/queryTrans.do", {"txnType": "00", "txnSubType": "00", "orderId": order_id,
                                             "txnTime": self._txn_time(order_id)})
        if data.get("respCode") == "34":
            return Answer("not_found", message=data.get("respMsg", ""))
        if data.get("respCode") != "00":
            return Answer("unknown", message=data.get("respMsg", ""))
        original = data.get("origRespCode")
        if original == "00":
            return Answer("success", data.get("queryId"), data.get("origRespMsg", ""))
        if original in IN_PROGRESS:
            return Answer("paying", message=data.get("origRespMsg", ""))
        if original == "CL":
            return Answer("closed", message="cancelled")
        return Answer("failed", message=f"{original}: {data.get('origRespMsg', '')}")

    def query(self, out_trade_no):
        return guarded(lambda: self._query(out_trade_no))

    def reverse(self, out_trade_no):
        def call():
            data = self._call("/backTransReq.do", {"txnType": "31", "txnSubType": "00", "orderId": out_trade_no,
                                                    "origOrderId": out_trade_no,
                                                    "txnTime": self._txn_time(out_trade_no)})
            if data.get("respCode") in ("00", "34"):
                return Answer("success", message="cancelled")
            return Answer("unknown", message=data.get("respMsg", ""), retry=True)
        return guarded(call)

    def refund(self, out_trade_no, out_refund_no, amount, total):
        def call():
            data = self._call("/backTransReq.do", {"txnType": "04", "txnSubType": "00", "orderId": out_refund_no,
                                                    "origOrderId": out_trade_no, "txnAmt": str(amount),
                                                    "txnTime": self._txn_time(out_refund_no)})
            if data.get("respCode") == "00":
                return Answer("paying", message="accepted; the result follows by query")
            if data.get("respCode") in IN_PROGRESS:
                return Answer("unknown", message=data.get("respMsg", ""))
            return Answer("failed", message=f"{data.get('respCode')}: {data.get('respMsg', '')}")
        return guarded(call)

    def query_refund(self, out_trade_no, out_refund_no):
        return guarded(lambda: self._query(out_refund_no))
