"""A local HTTP simulator of the three providers' documented protocols, with a ledger of what it charged.

No provider is reachable from a shop's test bench, so tests, the demo and
the benchmark run each adapter against this server on 127.0.0.1: requests
are checked against the merchant's public key and every answer is signed
with the simulated platform's key, as the real services do.

What a code does is its scenario: set one with ``script(code, scenario)``,
or let the code's last two digits choose (so a demo cashier can try each):

| ends | scenario | what happens |
|---|---|---|
| 91 | userpaying | USERPAYING, then SUCCESS at the second query or a second after the scan |
| 92 | system_error | the pay call answers a system error, yet the order was paid: a query finds it |
| 93 | never | the customer never confirms: the store's timeout reverses it |
| 94 | insufficient | refused: insufficient balance |
| 95 | slow | the pay answer takes longer than the store waits; the order was paid |
| other | success | paid at once |
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

from edge.payments import alipay, keys, unionpay, wechat

SCENARIOS = ("success", "userpaying", "system_error", "never", "insufficient", "slow")
BY_LAST_DIGITS = {"91": "userpaying", "92": "system_error", "93": "never", "94": "insufficient", "95": "slow"}
QUERIES_BEFORE_CONFIRMING = 2


@dataclass
class Order:
    provider: str
    out_trade_no: str
    amount: int
    code: str
    scenario: str
    state: str  # USERPAYING, SUCCESS, FAILED, CLOSED (reversed before paying), REVERSED (paid, given back)
    transaction_id: str
    at: str
    queries: int = 0
    started: float = field(default_factory=time.monotonic)
    refunds: dict[str, int] = field(default_factory=dict)

    @property
    def net(self) -> int:
        """What the customer is out of pocket for this order now."""
        return self.amount - sum(self.refunds.values()) if self.state == "SUCCESS" else 0


class Ledger:
    """The simulated provider's books: orders by our out_trade_no, their refunds, and reversal trouble."""

    def __init__(self):
        self.lock = threading.Lock()
        self.orders: dict[str, Order] = {}
        self.scripts: dict[str, str] = {}
        self.failing_reversals = 0  # the next n reversals answer "try again"
        self.confirm_seconds = 1.0  # a userpaying customer confirms this long after the scan (or at the 2nd query)
        self.requests = 0

    def scenario_of(self, code: str) -> str:
        return self.scripts.get(code) or BY_LAST_DIGITS.get(code[-2:], "success")

    def pay(self, provider: str, out_trade_no: str, code: str, amount: int) -> tuple[str, Order]:
        """'success', 'paying', 'error' (but paid), 'insufficient', 'slow' (paid), or 'used' (code spent)."""
        with self.lock:
            order = self.orders.get(out_trade_no)
            if order is not None:  # the same order again: its state, never a second charge
                outcome = {"SUCCESS": "success", "USERPAYING": "paying", "FAILED": "insufficient"}.get(order.state,
                                                                                                   "closed")
                return outcome, order
            if any(o.code == code for o in self.orders.values()):
                return "used", None
            scenario = self.scenario_of(code)
            state = {"userpaying": "USERPAYING", "never": "USERPAYING", "insufficient": "FAILED"}.get(scenario,
                                                                                                        "SUCCESS")
            order = Order(provider, out_trade_no, amount, code, scenario, state,
                          transaction_id=f"{provider[:2].upper()}{secrets.token_hex(12)}",
                          at=datetime.now().isoformat(timespec="seconds"))
            self.orders[out_trade_no] = order
            outcome = {"USERPAYING": "paying", "FAILED": "insufficient"}.get(state, "success")
            if scenario in ("system_error", "slow"):
                outcome = "error" if scenario == "system_error" else "slow"
            return outcome, order

    def query(self, out_trade_no: str) -> Order | None:
        with self.lock:
            order = self.orders.get(out_trade_no)
            if order is not None and order.state == "USERPAYING" and order.scenario == "userpaying":
                order.queries += 1
                confirmed = time.monotonic() - order.started >= self.confirm_seconds
                if order.queries >= QUERIES_BEFORE_CONFIRMING or confirmed:
                    order.state = "SUCCESS"
            return order

    def reverse(self, out_trade_no: str) -> bool:
        """True once nothing is charged; False when the simulated provider asks to try again."""
        with self.lock:
            if self.failing_reversals > 0:
                self.failing_reversals -= 1
                return False
            order = self.orders.get(out_trade_no)
            if order is None:  # reversed before its pay arrived: the late pay is refused, as the providers do
                self.orders[out_trade_no] = Order("", out_trade_no, 0, "", "success", "CLOSED", "", at="")
            else:
                order.state = {"SUCCESS": "REVERSED", "USERPAYING": "CLOSED"}.get(order.state, order.state)
            return True

    def refund(self, out_trade_no: str, out_refund_no: str, amount: int) -> str:
        """'success' (also for a repeat of the same refund), 'not_found' or 'exceeds'."""
        with self.lock:
            order = self.orders.get(out_trade_no)
            if order is None or order.state != "SUCCESS":
                return "not_found"
            if out_refund_no in order.refunds:
                return "success"
            if sum(order.refunds.values()) + amount > order.amount:
                return "exceeds"
            order.refunds[out_refund_no] = amount
            return "success"

    def find_refund(self, out_refund_no: str) -> tuple[Order, int] | None:
        with self.lock:
            for order in self.orders.values():
                if out_refund_no in order.refunds:
                    return order, order.refunds[out_refund_no]
            return None

    def net(self, out_trade_no: str) -> int:
        with self.lock:
            order = self.orders.get(out_trade_no)
            return order.net if order else 0

    def statement(self) -> list[dict]:
        """Every money movement, as a provider's daily statement lists them."""
        with self.lock:
            rows = []
            for order in self.orders.values():
                if not order.provider:
                    continue
                if order.state in ("SUCCESS", "REVERSED"):
                    rows.append({"provider": order.provider, "out_trade_no": order.out_trade_no,
                                 "transaction_id": order.transaction_id, "kind": "pay", "amount": order.amount})
                if order.state == "REVERSED":
                    rows.append({"provider": order.provider, "out_trade_no": order.out_trade_no,
                                 "transaction_id": order.transaction_id, "kind": "reversal",
                                 "amount": -order.amount})
                for number, amount in order.refunds.items():
                    rows.append({"provider": order.provider, "out_trade_no": order.out_trade_no,
                                 "transaction_id": order.transaction_id, "kind": "refund", "amount": -amount,
                                 "out_refund_no": number})
            return rows


class Simulator:
    """The simulated providers on 127.0.0.1: start, use ``url``/``base_urls``, stop."""

    def __init__(self, merchant_public_key, platform_private_key, slow_seconds: float = 1.0):
        self.merchant_key = merchant_public_key
        self.platform_key = platform_private_key
        self.slow_seconds = slow_seconds
        self.ledger = Ledger()
        self.service_seconds: list[float] = []  # the simulator's own time per request: the benchmark's floor
        self._server: ThreadingHTTPServer | None = None

    def start(self, port: int = 0) -> "Simulator":
        simulator = self

        class Handler(_Handler):
            sim = simulator

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="payment-simulator", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def base_url(self, provider: str) -> str:
        return {"wechat": f"{self.url}/wechat", "alipay": f"{self.url}/alipay/gateway.do",
                "unionpay": f"{self.url}/unionpay"}[provider]

    def script(self, code: str, scenario: str) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"scenario must be one of {SCENARIOS}")
        self.ledger.scripts[code] = scenario

    # -- the three protocols ----------------------------------------------------

    def wechat(self, method: str, path: str, headers: dict, body: str) -> tuple[int, dict, str, bool]:
        try:
            auth = wechat.parse_authorization(headers.get("authorization", ""))
            keys.verify(self.merchant_key, wechat.signature_message(method, path, auth["timestamp"],
                                                                    auth["nonce_str"], body), auth["signature"])
        except (ValueError, KeyError, keys.SignatureError):
            return self._wechat_reply(401, {"code": "SIGN_ERROR", "message": "签名错误"})
        route = urlsplit(path).path.removeprefix("/wechat")
        data = json.loads(body) if body else {}
        if route == "/v3/pay/transactions/codepay":
            outcome, order = self.ledger.pay("wechat", data["out_trade_no"], data["payer"]["auth_code"],
                                             data["amount"]["total"])
            return self._wechat_reply(*{
                "success": (200, {"trade_state": "SUCCESS", "transaction_id": order and order.transaction_id,
                                  "out_trade_no": data["out_trade_no"]}),
                "paying": (202, {"code": "USERPAYING", "message": "需要用户输入支付密码"}),
                "error": (500, {"code": "SYSTEM_ERROR", "message": "系统超时"}),
                "slow": (200, {"trade_state": "SUCCESS", "transaction_id": order and order.transaction_id}),
                "insufficient": (403, {"code": "NOT_ENOUGH", "message": "用户余额不足"}),
                "used": (400, {"code": "AUTH_CODE_INVALID", "message": "付款码已使用"}),
                "closed": (400, {"code": "ORDER_CLOSED", "message": "订单已关闭"}),
            }[outcome], slow=outcome == "slow")
        if route.startswith("/v3/pay/transactions/out-trade-no/"):
            number = route.split("/")[5]
            if route.endswith("/reverse"):
                if self.ledger.reverse(number):
                    return self._wechat_reply(200, {"out_trade_no": number})
                return self._wechat_reply(500, {"code": "SYSTEM_ERROR", "message": "请重试撤销"})
            order = self.ledger.query(number)
            if order is None:
                return self._wechat_reply(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
            state = {"SUCCESS": "SUCCESS", "USERPAYING": "USERPAYING", "FAILED": "PAYERROR", "CLOSED": "CLOSED",
                     "REVERSED": "REVOKED"}[order.state]
            return self._wechat_reply(200, {"trade_state": state, "transaction_id": order.transaction_id,
                                            "out_trade_no": number})
        if route == "/v3/refund/domestic/refunds":
            outcome = self.ledger.refund(data["out_trade_no"], data["out_refund_no"], data["amount"]["refund"])
            if outcome == "success":
                return self._wechat_reply(200, {"refund_id": "R" + data["out_refund_no"], "status": "SUCCESS"})
            return self._wechat_reply(400, {"code": "INVALID_REQUEST", "message": outcome})
        if route.startswith("/v3/refund/domestic/refunds/"):
            found = self.ledger.find_refund(route.rsplit("/", 1)[1])
            if found is None:
                return self._wechat_reply(404, {"code": "RESOURCE_NOT_EXISTS", "message": "退款单不存在"})
            return self._wechat_reply(200, {"refund_id": "R" + route.rsplit("/", 1)[1], "status": "SUCCESS"})
        return self._wechat_reply(404, {"code": "NOT_FOUND", "message": route})

    def _wechat_reply(self, status: int, data: dict, slow: bool = False) -> tuple[int, dict, str, bool]:
        body = json.dumps(data, ensure_ascii=False)
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        headers = {"Wechatpay-Timestamp": timestamp, "Wechatpay-Nonce": nonce, "Wechatpay-Serial": "SIMULATOR",
                   "Wechatpay-Signature": keys.sign(self.platform_key,
                                                    wechat.signature_message(timestamp, nonce, body)),
                   "Content-Type": "application/json"}
        return status, headers, body, slow

    def alipay(self, body: str) -> tuple[int, dict, str, bool]:
        params = dict(parse_qsl(body, keep_blank_values=True))
        method = params.get("method", "")
        try:
            keys.verify(self.merchant_key, alipay.sign_content(params), params.get("sign", ""))
        except keys.SignatureError:
            return self._alipay_reply(method, {"code": "40002", "msg": "Invalid Arguments",
                                               "sub_code": "isv.invalid-signature", "sub_msg": "验签出错"})
        biz = json.loads(params["biz_content"])
        number = biz.get("out_trade_no")
        slow = False
        if method == "alipay.trade.pay":
            fen = round(float(biz["total_amount"]) * 100)
            outcome, order = self.ledger.pay("alipay", number, biz["auth_code"], fen)
            slow = outcome == "slow"
            node = {
                "success": {"code": "10000", "msg": "Success", "trade_no": order and order.transaction_id},
                "slow": {"code": "10000", "msg": "Success", "trade_no": order and order.transaction_id},
                "paying": {"code": "10003", "msg": "等待用户付款"},
                "error": {"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "aop.unknow-error"},
                "insufficient": {"code": "40004", "msg": "Business Failed",
                                 "sub_code": "ACQ.BUYER_BALANCE_NOT_ENOUGH", "sub_msg": "买家余额不足"},
                "used": {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.PAYMENT_AUTH_CODE_INVALID",
                         "sub_msg": "支付失败，获取顾客账户信息失败"},
                "closed": {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_HAS_CLOSE",
                           "sub_msg": "交易已经关闭"},
            }[outcome]
        elif method == "alipay.trade.query":
            order = self.ledger.query(number)
            if order is None:
                node = {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST",
                        "sub_msg": "交易不存在"}
            else:
                node = {"code": "10000", "msg": "Success", "trade_no": order.transaction_id,
                        "trade_status": {"SUCCESS": "TRADE_SUCCESS", "USERPAYING": "WAIT_BUYER_PAY"}.get(
                            order.state, "TRADE_CLOSED")}
        elif method == "alipay.trade.cancel":
            node = ({"code": "10000", "msg": "Success", "retry_flag": "N", "action": "close"}
                    if self.ledger.reverse(number) else {"code": "10000", "msg": "Success", "retry_flag": "Y"})
        elif method == "alipay.trade.refund":
            outcome = self.ledger.refund(number, biz["out_request_no"], round(float(biz["refund_amount"]) * 100))
            node = ({"code": "10000", "msg": "Success", "fund_change": "Y"} if outcome == "success" else
                    {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
                     "sub_msg": outcome})
        elif method == "alipay.trade.fastpay.refund.query":
            found = self.ledger.find_refund(biz["out_request_no"])
            node = {"code": "10000", "msg": "Success", "refund_status": "REFUND_SUCCESS" if found else ""}
        else:
            node = {"code": "40004", "msg": "Business Failed", "sub_code": "isv.invalid-method"}
        return self._alipay_reply(method, node, slow)

    def _alipay_reply(self, method: str, node: dict, slow: bool = False) -> tuple[int, dict, str, bool]:
        node_text = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
        signature = keys.sign(self.platform_key, node_text.encode())
        body = f'{{"{method.replace(".", "_")}_response":{node_text},"sign":"{signature}"}}'
        return 200, {"Content-Type": "application/json;charset=utf-8"}, body, slow

    def unionpay(self, path: str, body: str) -> tuple[int, dict, str, bool]:
        fields = dict(parse_qsl(body, keep_blank_values=True))
        try:
            keys.verify(self.merchant_key, unionpay.sign_content(fields), fields.get("signature", ""))
        except keys.SignatureError:
            return self._unionpay_reply({"respCode": "11", "respMsg": "验证签名失败"})
        txn, order_id = fields.get("txnType"), fields.get("orderId", "")
        slow = False
        if path.endswith("/backTransReq.do") and txn == "01":
            outcome, _ = self.ledger.pay("unionpay", order_id, fields["qrNo"], int(fields["txnAmt"]))
            slow = outcome == "slow"
            answer = {"success": ("00", "成功"), "paying": ("00", "成功"), "slow": ("00", "成功"),
                      "error": ("03", "交易通讯超时"), "insufficient": ("51", "余额不足"),
                      "used": ("14", "无效付款码"), "closed": ("12", "交易已关闭")}[outcome]
            reply = {"respCode": answer[0], "respMsg": answer[1]}
        elif path.endswith("/backTransReq.do") and txn == "31":
            reply = ({"respCode": "00", "respMsg": "成功"} if self.ledger.reverse(fields["origOrderId"])
                     else {"respCode": "03", "respMsg": "请稍后重试"})
        elif path.endswith("/backTransReq.do") and txn == "04":
            outcome = self.ledger.refund(fields["origOrderId"], order_id, int(fields["txnAmt"]))
            reply = {"respCode": "00" if outcome == "success" else "12", "respMsg": outcome}
        elif path.endswith("/queryTrans.do"):
            order = self.ledger.query(order_id)
            refund = None if order else self.ledger.find_refund(order_id)
            if order is None and refund is None:
                reply = {"respCode": "34", "respMsg": "查无此交易"}
            elif refund is not None:
                reply = {"respCode": "00", "origRespCode": "00", "origRespMsg": "成功", "queryId": "Q" + order_id}
            else:
                original = {"SUCCESS": "00", "USERPAYING": "05", "FAILED": "51", "CLOSED": "CL",
                            "REVERSED": "CL"}[order.state]
                reply = {"respCode": "00", "origRespCode": original, "origRespMsg": order.state,
                         "queryId": order.transaction_id}
        else:
            reply = {"respCode": "12", "respMsg": "无此交易类型"}
        return self._unionpay_reply({**reply, "orderId": order_id, "merId": fields.get("merId", "")}, slow)

    def _unionpay_reply(self, fields: dict, slow: bool = False) -> tuple[int, dict, str, bool]:
        fields = {"version": unionpay.VERSION, "signMethod": "01", **fields}
        fields["signature"] = keys.sign(self.platform_key, unionpay.sign_content(fields))
        return 200, {"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"}, urlencode(fields), slow


class _Handler(BaseHTTPRequestHandler):
    sim: Simulator
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # the test output stays readable
        pass

    def _serve(self, method: str) -> None:
        started = time.perf_counter()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        headers = {k.lower(): v for k, v in self.headers.items()}
        sim = self.sim
        sim.ledger.requests += 1
        if self.path.startswith("/wechat/"):
            status, reply_headers, text, slow = sim.wechat(method, self.path, headers, body)
        elif self.path.startswith("/alipay"):  # the gateway.do address, or an HQ gateway's /alipay
            status, reply_headers, text, slow = sim.alipay(body)
        elif self.path.startswith("/unionpay/"):
            status, reply_headers, text, slow = sim.unionpay(self.path, body)
        elif self.path == "/_sim/ledger":
            status, reply_headers, slow = 200, {"Content-Type": "application/json"}, False
            text = json.dumps({"statement": sim.ledger.statement()})
        else:
            status, reply_headers, text, slow = 404, {}, "", False
        sim.service_seconds.append(time.perf_counter() - started)
        if slow:
            time.sleep(sim.slow_seconds)
        data = text.encode()
        try:
            self.send_response(status)
            for name, value in reply_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the store stopped waiting (its timeout): as with a real provider, the order stands

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")
