"""The adapter interface every provider implements, and the HTTP transport they share.

Each call answers an ``Answer`` whose ``outcome`` the state machine acts on:

- ``success``: the provider confirms the money moved (paid, reversed, refunded);
- ``paying``: the customer is confirming on the phone (USERPAYING), or a refund is processing;
- ``unknown``: no trustworthy answer (timeout, system error): ask again;
- ``failed``: the provider refuses for good (insufficient balance, invalid code);
- ``not_found``: the provider has no such order (a pay request that never arrived);
- ``closed``: the order is closed or reversed, no money taken;
- ``unreachable``: the request was never delivered (connection refused): nothing can have happened.
"""

from __future__ import annotations

import http.client
import socket
from abc import ABC, abstractmethod
from dataclasses import dataclass
from urllib.parse import urlsplit

OUTCOMES = ("success", "paying", "unknown", "failed", "not_found", "closed", "unreachable")


@dataclass(frozen=True)
class Answer:
    outcome: str
    transaction_id: str | None = None
    message: str = ""
    retry: bool = False  # a reversal the provider asks to repeat (WeChat recall, Alipay retry_flag)


@dataclass(frozen=True)
class StatementRow:
    """One line of a provider's daily statement."""

    out_trade_no: str
    transaction_id: str
    kind: str  # pay | refund
    amount: int
    out_refund_no: str | None = None


class Adapter(ABC):
    """One payment provider's protocol. Every method is safe to repeat with the same numbers."""

    name = ""

    @abstractmethod
    def pay(self, out_trade_no: str, code: str, amount: int, subject: str, store_id: str) -> Answer:
        """付款码支付: charge the code."""

    @abstractmethod
    def query(self, out_trade_no: str) -> Answer:
        """The order's state at the provider."""

    @abstractmethod
    def reverse(self, out_trade_no: str) -> Answer:
        """撤销: close an unpaid order, or give a paid one back; ``success`` once nothing is charged."""

    @abstractmethod
    def refund(self, out_trade_no: str, out_refund_no: str, amount: int, total: int) -> Answer:
        """Give back part or all of a paid order."""

    @abstractmethod
    def query_refund(self, out_trade_no: str, out_refund_no: str) -> Answer:
        """The refund's state at the provider."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict
    body: bytes


class Unreachable(Exception):
    """The request was not delivered: connecting failed."""


class NoReply(Exception):
    """The request may have been delivered but no answer came (timeout, reset)."""


class Transport:
    """HTTP(S) to one base URL, with a timeout; tells 'never sent' from 'sent, no answer'."""

    def __init__(self, base_url: str, timeout: float):
        parts = urlsplit(base_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout

    def path(self, path: str) -> str:
        return self.prefix + path

    def send(self, method: str, path: str, body: bytes | None, headers: dict) -> Reply:
        kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        conn = kind(self.host, self.port, timeout=self.timeout)
        try:
            try:
                conn.connect()
            except OSError as error:
                raise Unreachable(f"cannot connect to {self.host}:{self.port}: {error}") from error
            try:
                conn.request(method, self.path(path), body=body, headers=headers)
                response = conn.getresponse()
                return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
            except (OSError, socket.timeout, http.client.HTTPException) as error:
                raise NoReply(f"no answer from {self.host}:{self.port}: {error!r}") from error
        finally:
            conn.close()


def guarded(call) -> Answer:
    """Run one provider call; a transport failure becomes an outcome instead of an exception."""
    from edge.payments.keys import SignatureError

    try:
        return call()
    except Unreachable as error:
        return Answer("unreachable", message=str(error))
    except NoReply as error:
        return Answer("unknown", message=str(error))
    except SignatureError as error:
        return Answer("unknown", message=str(error))
    except (ValueError, KeyError) as error:  # an answer we cannot read is no answer
        return Answer("unknown", message=f"unreadable answer: {error!r}")
