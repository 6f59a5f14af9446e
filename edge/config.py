"""Configuration: one TOML file, validated strictly at start-up.

Unknown keys and bad values are errors that name the key path, so a
technician's typo fails loudly at start instead of silently doing nothing.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)  # TOML is typed: "8080" is not a port


class StoreSection(Strict):
    id: str = Field("S001", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    chain_id: str = Field("demo", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    name: str = "演示店"
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        # Checked here, not at the first sale: completion needs it for the receipt's business date.
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Asia/Shanghai)") from None
        return value


class HQSection(Strict):
    broker: str
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    # MQTT v5 Receive Maximum: the QoS 1 messages the broker sends this client before it has acked them. HQ acks a
    # message only once done with it (a batch: once committed), so this is what HQ holds while its database is away
    receive_maximum: int = Field(100, ge=1, le=65_535)

    @field_validator("broker")
    @classmethod
    def _broker_scheme(cls, value: str) -> str:
        if not value.startswith(("mqtt://", "mqtts://")):
            raise ValueError("must start with mqtt:// or mqtts://")
        rest = value.split("://", 1)[1].rstrip("/")
        host, _, port = rest.rpartition(":") if ":" in rest else (rest, "", "")
        if not host or "/" in rest or (port and not (port.isdigit() and 1 <= int(port) <= 65535)):
            raise ValueError("must be mqtt[s]://host or mqtt[s]://host:port")
        return value

    @model_validator(mode="after")
    def _credentials_in_pairs(self):
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together (the client certificate and its key)")
        tls_files = (self.ca_file, self.cert_file)
        if self.broker.startswith("mqtt://") and any(tls_files):
            raise ValueError("ca_file and cert_file need an mqtts:// broker (TLS)")
        return self

    @property
    def tls(self) -> bool:
        return self.broker.startswith("mqtts://")

    @property
    def host(self) -> str:
        rest = self.broker.split("://", 1)[1].rstrip("/")
        return rest.rpartition(":")[0] if ":" in rest else rest

    @property
    def port(self) -> int:
        rest = self.broker.split("://", 1)[1].rstrip("/")
        return int(rest.rpartition(":")[2]) if ":" in rest else (8883 if self.tls else 1883)


class SyncSection(Strict):
    """The sync service's pace: events per published batch, patience with HQ's acks, figures to HQ."""

    batch_size: int = Field(500, ge=1, le=5000)
    max_batches_in_flight: int = Field(20, ge=1, le=1000)
    ack_timeout_seconds: int = Field(30, ge=1, le=3600)
    telemetry_seconds: int = Field(60, ge=1, le=86_400)
    session_expiry_seconds: int = Field(7 * 86_400, ge=0, description="the broker keeps the session this long")
    reconnect_max_seconds: int = Field(60, ge=1, le=3600, description="back-off while the broker is away")
    # 脱机限额: with no word from HQ for offline_after_seconds, a member's spends at this store may draw at
    # most offline_floor_limit fen from stored value funded at other stores (it may be spent there meanwhile)
    offline_after_seconds: int = Field(300, ge=1)
    offline_floor_limit: int = Field(20_000, ge=0)


class DeviceSection(Strict):
    name: str
    kind: Literal["scanner", "printer", "drawer", "display"]
    backend: Literal["evdev", "serial", "usb", "network", "file", "virtual"]
    path: str | None = None
    host: str | None = None
    port: int | None = Field(None, ge=1, le=65535)
    vendor_id: int | None = None
    product_id: int | None = None
    baudrate: int | None = Field(None, ge=300, le=921_600)
    lane: int | None = Field(None, ge=1, le=99)
    # scanners: the key or byte ending a code; a longer pause between keys drops a partial code
    suffix: Literal["enter", "tab", "cr", "lf", "crlf"] | None = None
    key_gap_ms: int = Field(50, ge=5, le=2000)
    grab: bool = True
    # printers: paper width, and Chinese through the printer's own font or as raster images
    paper_mm: Literal[58, 80] = 80
    chinese: Literal["gb18030", "raster"] = "gb18030"
    font: str | None = None
    # the shop's logo atop each receipt: an image stored in the printer's NV memory (its number, printed with
    # FS p), or an image file sent as a raster converted once and cached
    logo_nv: int | None = Field(None, ge=1, le=255)
    logo: str | None = None
    # drawers: pulsed through this printer (pin, pulse), or a serial trigger box of its own
    printer: str | None = None
    pin: Literal[2, 5] = 2
    pulse_ms: int = Field(100, ge=2, le=510)
    # displays: the command set; the LED price display's lamp command differs between models
    protocol: Literal["epson", "cd5220", "led8"] | None = None
    lamp_command: Literal["esc_s", "stx_l"] = "esc_s"

    @model_validator(mode="after")
    def _backend_needs(self):
        needs = {"evdev": ("path",), "serial": ("path",), "file": ("path",), "network": ("host",),
                 "usb": ("vendor_id", "product_id"), "virtual": ()}[self.backend]
        missing = [key for key in needs if getattr(self, key) is None]
        if missing:
            raise ValueError(f"{self.name}: backend {self.backend} needs {' and '.join(missing)}")
        allowed = {"scanner": {"evdev", "serial", "virtual"},
                   "printer": {"usb", "network", "file", "serial", "virtual"},
                   "drawer": {"serial", "virtual"}, "display": {"serial", "virtual"}}[self.kind]
        if self.kind == "drawer" and self.printer is not None:
            allowed = {"virtual", "serial", "usb", "network", "file"}  # the printer's connection carries the pulse
        if self.backend not in allowed:
            raise ValueError(f"{self.name}: a {self.kind} cannot use backend {self.backend} "
                             f"(one of {', '.join(sorted(allowed))})")
        if self.kind == "scanner" and self.lane is None:
            raise ValueError(f"{self.name}: a scanner needs lane (the lane whose cart its scans fill)")
        if self.kind == "display" and self.protocol is None and self.backend != "virtual":
            raise ValueError(f"{self.name}: a display needs protocol (epson, cd5220 or led8)")
        return self


class VariableBarcodeSection(Strict):
    """In-store EAN-13 codes from scales: prefix, PLU, embedded value, check digit."""

    prefixes: dict[str, Literal["price", "weight"]] = Field(
        default_factory=lambda: {str(p): "price" for p in range(20, 30)}
    )
    plu_digits: int = Field(5, ge=4, le=6)
    value_digits: int = Field(5, ge=4, le=6)

    @model_validator(mode="after")
    def _fills_ean13(self):
        if self.plu_digits + self.value_digits != 10:
            raise ValueError("plu_digits + value_digits must be 10 (2 prefix + 10 + 1 check digit = EAN-13)")
        return self

    @field_validator("prefixes")
    @classmethod
    def _two_digit_prefixes(cls, value: dict[str, str]) -> dict[str, str]:
        for prefix in value:
            if not (len(prefix) == 2 and prefix.isdigit() and 20 <= int(prefix) <= 29):
                raise ValueError(f"prefix {prefix!r} must be two digits from 20 to 29")
        return value


class CheckoutSection(Strict):
    cash_rounding: Literal["none", "round_jiao", "floor_jiao"] = "none"
    # Discounts up to these limits need no manager; beyond either, approval is required.
    discount_limit_percent: int = Field(10, ge=0, le=100)
    discount_limit_amount: int = Field(2000, ge=0)
    max_line_qty: int = Field(9999, ge=1)
    max_weight_grams: int = Field(100_000, ge=1)
    variable_barcodes: VariableBarcodeSection = Field(default_factory=VariableBarcodeSection)


class BonusTier(Strict):
    min_topup: int = Field(gt=0, description="fen paid in to reach this tier")
    bonus: int = Field(ge=0, description="fen of bonus given")


class StoredValueSection(Strict):
    """储值: bonus tiers (充300送50), the balance cap of a named card, spend order, payment PIN limit."""

    bonus_tiers: list[BonusTier] = Field(default_factory=list)
    balance_cap: int = Field(500_000, gt=0)  # ¥5,000, the limit for named prepaid cards
    spend_order: Literal["proportional", "principal_first", "bonus_first"] = "proportional"
    pin_required_above: int = Field(20_000, ge=0)  # stored value paid per sale above this needs the member's PIN

    @field_validator("bonus_tiers")
    @classmethod
    def _distinct_tiers(cls, tiers: list[BonusTier]) -> list[BonusTier]:
        thresholds = [tier.min_topup for tier in tiers]
        if len(set(thresholds)) != len(thresholds):
            raise ValueError("two tiers have the same min_topup")
        return tiers


class LevelRule(Strict):
    """One member level: the rolling 12-month spend (fen) that reaches it, and its benefits."""

    name: str = Field(min_length=1, max_length=20)
    min_spend: int = Field(ge=0)
    discount_percent: int = Field(0, ge=0, le=100)
    points_multiplier: int = Field(100, ge=0, le=10_000, description="percent: 150 earns 1.5 times")
    birthday_multiplier: int = Field(100, ge=0, le=10_000, description="percent, on the member's birthday")


def _default_levels() -> list[LevelRule]:
    return [LevelRule(name="普通", min_spend=0),
            LevelRule(name="银卡", min_spend=100_000, discount_percent=2, points_multiplier=120, birthday_multiplier=200),
            LevelRule(name="金卡", min_spend=500_000, discount_percent=5, points_multiplier=150, birthday_multiplier=200),
            LevelRule(name="钻石", min_spend=2_000_000, discount_percent=8, points_multiplier=200,
                      birthday_multiplier=300)]


class PointsSection(Strict):
    """积分: how points are earned, spent and when they expire."""

    per_yuan: int = Field(1, ge=0, le=100, description="points per yuan paid (other than with points)")
    category_multipliers: dict[str, int] = Field(default_factory=dict, description="category name: percent")
    excluded_categories: list[str] = Field(default_factory=list)
    double_weekdays: list[int] = Field(default_factory=list, description="ISO weekdays, 1 = Monday")
    double_dates: list[str] = Field(default_factory=list, description="YYYY-MM-DD")
    double_multiplier: int = Field(200, ge=100, le=10_000, description="percent on a double-points day")
    redeem_per_yuan: int = Field(100, ge=1, le=10_000, description="points paying one yuan")
    expiry_months: int = Field(12, ge=1, le=120,
                               description="points expire at the end of this month after the one they were earned in")

    @field_validator("category_multipliers")
    @classmethod
    def _percents(cls, value: dict[str, int]) -> dict[str, int]:
        for name, percent in value.items():
            if not 0 <= percent <= 10_000:
                raise ValueError(f"{name}: multiplier must be a percent from 0 to 10000")
        return value

    @field_validator("double_weekdays")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if any(not 1 <= day <= 7 for day in value):
            raise ValueError("weekdays are 1 (Monday) to 7 (Sunday)")
        return value

    @field_validator("double_dates")
    @classmethod
    def _dates(cls, value: list[str]) -> list[str]:
        for text in value:
            try:
                date.fromisoformat(text)
            except ValueError:
                raise ValueError(f"{text!r} is not a date YYYY-MM-DD") from None
        return value


class LevelReviewSection(Strict):
    """The downgrade review at period end: members whose rolling 12-month spend fell below their level."""

    enabled: bool = True
    period: Literal["month", "quarter", "year"] = "year"
    # A level earned within the last grace_periods periods (the one reviewed counts) is kept this time:
    # 1 keeps a level earned in the period just ended until the next review; 0 reviews every level.
    grace_periods: int = Field(1, ge=0, le=12)


class MembersSection(Strict):
    # What a customer is told before joining (PIPL: purpose, minimal collection, a choice).
    privacy_notice_version: str = Field("2026-11", min_length=1, max_length=32)
    privacy_notice: str = (
        "加入会员即表示您同意本店为会员服务（积分、储值、等级、优惠券）处理您的手机号，"
        "以及您自愿填写的姓名、生日和性别。不加入会员不影响购物。"
        "您可随时要求导出或删除您的个人信息。未满14周岁需监护人同意。"
    )
    # Purposes a member may agree to; "membership" is the one joining needs.
    purposes: dict[str, str] = Field(default_factory=lambda: {
        "membership": "会员服务：积分、储值、等级与优惠券",
        "marketing": "接收促销与活动信息（可选）",
    })
    minor_age: int = Field(14, ge=1, le=18)
    levels: list[LevelRule] = Field(default_factory=_default_levels, min_length=1)
    points: PointsSection = Field(default_factory=PointsSection)
    stored_value: StoredValueSection = Field(default_factory=StoredValueSection)
    level_review: LevelReviewSection = Field(default_factory=LevelReviewSection)

    @model_validator(mode="after")
    def _membership_purpose(self):
        if "membership" not in self.purposes:
            raise ValueError("purposes must include 'membership'")
        return self

    @model_validator(mode="after")
    def _levels_ascend(self):
        if self.levels[0].min_spend != 0:
            raise ValueError("levels: the first level must have min_spend = 0 (every member holds a level)")
        spends = [level.min_spend for level in self.levels]
        if spends != sorted(set(spends)):
            raise ValueError("levels: min_spend must rise strictly from one level to the next")
        if len({level.name for level in self.levels}) != len(self.levels):
            raise ValueError("levels: names must be unique")
        return self


class SecuritySection(Strict):
    pin_max_attempts: int = Field(5, ge=1)
    lockout_seconds: int = Field(300, ge=1)
    session_hours: int = Field(12, ge=1, le=24 * 7)
    pairing_code_minutes: int = Field(10, ge=1, le=60)


class WebSection(Strict):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    threads: int = Field(16, ge=1, le=256)
    # HTTPS on `port` (README, Field service: `storeedge tls` makes the pair); off: plain HTTP, as in development
    tls: bool = False
    cert_file: str | None = None
    key_file: str | None = None

    @model_validator(mode="after")
    def _tls_needs_its_files(self):
        if self.tls and not (self.cert_file and self.key_file):
            raise ValueError("tls = true needs cert_file and key_file (storeedge tls makes them)")
        return self


class WeChatPaySection(Strict):
    """微信支付 merchant: APIv3 code-pay (付款码支付)."""

    mchid: str = Field(min_length=1)
    appid: str = Field(min_length=1)
    serial_no: str = Field(min_length=1, description="serial number of the merchant API certificate")
    private_key_file: str = Field(description="apiclient_key.pem, the merchant API private key")
    platform_key_file: str = Field(description="WeChat Pay public key or platform certificate (PEM)")
    url: str = "https://api.mch.weixin.qq.com"


class AlipaySection(Strict):
    """支付宝 app: alipay.trade.pay (条码支付) with RSA2."""

    app_id: str = Field(min_length=1)
    private_key_file: str = Field(description="the app's RSA2 private key (PEM)")
    alipay_public_key_file: str = Field(description="Alipay's public key (PEM)")
    url: str = "https://openapi.alipay.com/gateway.do"


class UnionPaySection(Strict):
    """银联 merchant: QR code 被扫 consume on the UnionPay gateway (5.1.0)."""

    mer_id: str = Field(min_length=1)
    cert_id: str = Field(min_length=1, description="serial number of the merchant signing certificate")
    private_key_file: str = Field(description="the merchant signing private key (PEM)")
    unionpay_public_key_file: str = Field(description="UnionPay's signing certificate or public key (PEM)")
    url: str = "https://gateway.95516.com/gateway/api"


class PaymentsSection(Strict):
    """扫码收银: providers with credentials are called (directly or through the HQ gateway); the others
    are served by the built-in simulator, which says so on every attempt."""

    gateway_url: str | None = Field(None, description="HQ payment gateway relaying each provider under /{provider}")
    request_timeout_seconds: float = Field(10.0, gt=0, le=120)
    poll_interval_seconds: float = Field(5.0, gt=0, le=60, description="between queries while the customer confirms")
    pay_timeout_seconds: float = Field(30.0, gt=0, le=600, description="unconfirmed after this: reverse (撤销)")
    reverse_retry_seconds: float = Field(10.0, gt=0, le=600, description="between tries of a reversal or refund")
    simulator_slow_seconds: float = Field(12.0, gt=0, le=600,
                                          description="how long the simulator's 'slow' scenario keeps the store waiting")
    wechat: WeChatPaySection | None = None
    alipay: AlipaySection | None = None
    unionpay: UnionPaySection | None = None

    @model_validator(mode="after")
    def _time_to_ask(self):
        if self.pay_timeout_seconds <= self.request_timeout_seconds:
            raise ValueError("pay_timeout_seconds must be longer than request_timeout_seconds, or a slow answer "
                             "would be reversed before it could be asked about")
        return self

    @field_validator("gateway_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (or http:// on a trusted network)")
        return value


class GatewaySection(Strict):
    """The hardware gateway's link to web: a WebSocket on loopback, authenticated by this token."""

    token: str | None = Field(None, min_length=16)
    url: str | None = Field(None, description="web's gateway socket; default ws://127.0.0.1:{web.port}/ws/gateway")
    print_retry_seconds: float = Field(2.0, gt=0, le=300)
    reopen_seconds: float = Field(1.0, gt=0, le=300)
    # the e-invoice request printed as a QR code; {store_id}, {receipt_no} and {total} (fen) are filled in
    invoice_url: str | None = None


class DiscoverySection(Strict):
    """mDNS/DNS-SD on the shop's LAN (README, Field service); the default stays on loopback, off."""

    enabled: bool = False
    # addresses or interface names to announce on, or "all" (every non-loopback IPv4 address)
    interfaces: list[str] = Field(default_factory=lambda: ["127.0.0.1"], min_length=1)


class KioskSection(Strict):
    """The self-service kiosk: how long a member's session lasts, and when an untouched screen resets."""

    member_session_minutes: int = Field(10, ge=1, le=60, description="a member session ends this long after sign-in")
    idle_seconds: int = Field(60, ge=10, le=600, description="untouched this long, the kiosk clears its screen")


class InsightSection(Strict):
    """Member profiles (edge.insight): how RFM scores and lifecycle stages are judged."""

    # "quintiles": cut points are the 20/40/60/80 % quantiles of the store's buyers, taken at each full rebuild;
    # "thresholds": the fixed cut points below (score 1..5; more recent / more often / more spent scores higher).
    rfm: Literal["quintiles", "thresholds"] = "quintiles"
    recency_days: list[int] = Field(default_factory=lambda: [30, 60, 120, 240], min_length=4, max_length=4)
    frequency_visits: list[int] = Field(default_factory=lambda: [2, 3, 5, 8], min_length=4, max_length=4)
    monetary_fen: list[int] = Field(default_factory=lambda: [20000, 50000, 100000, 300000], min_length=4,
                                    max_length=4)
    high_score: int = Field(3, ge=2, le=5, description="an R, F or M score at least this counts as high")
    # lifecycle: days since the last visit against the member's own usual interval between visits
    new_days: int = Field(30, ge=1, le=365)
    default_interval_days: int = Field(30, ge=1, le=365)
    min_interval_days: int = Field(7, ge=1, le=365)
    at_risk_after: float = Field(1.5, gt=0)
    sleeping_after: float = Field(3.0, gt=0)
    lost_after: float = Field(6.0, gt=0)
    favourite_count: int = Field(3, ge=1, le=10)
    churn_below: float = Field(0.3, gt=0, lt=1, description="churn list: P(buy in 30 days) below this")

    @model_validator(mode="after")
    def _ordered(self):
        for key in ("recency_days", "frequency_visits", "monetary_fen"):
            values = getattr(self, key)
            if values != sorted(set(values)):
                raise ValueError(f"{key}: cut points must rise strictly")
        if not self.at_risk_after < self.sleeping_after < self.lost_after:
            raise ValueError("at_risk_after < sleeping_after < lost_after is needed")
        return self


class Config(Strict):
    store: StoreSection = Field(default_factory=StoreSection)
    hq: HQSection | None = None
    sync: SyncSection = Field(default_factory=SyncSection)
    devices: list[DeviceSection] = Field(default_factory=list)
    gateway: GatewaySection = Field(default_factory=GatewaySection)
    checkout: CheckoutSection = Field(default_factory=CheckoutSection)
    security: SecuritySection = Field(default_factory=SecuritySection)
    members: MembersSection = Field(default_factory=MembersSection)
    web: WebSection = Field(default_factory=WebSection)
    payments: PaymentsSection = Field(default_factory=PaymentsSection)
    discovery: DiscoverySection = Field(default_factory=DiscoverySection)
    kiosk: KioskSection = Field(default_factory=KioskSection)
    insight: InsightSection = Field(default_factory=InsightSection)

    @model_validator(mode="after")
    def _devices_named_once(self):
        names = [device.name for device in self.devices]
        if len(set(names)) != len(names):
            raise ValueError("devices: two devices have the same name")
        printers = {device.name for device in self.devices if device.kind == "printer"}
        for device in self.devices:
            if device.printer is not None and device.printer not in printers:
                raise ValueError(f"devices: {device.name} names printer {device.printer!r}, which is not configured")
        return self


class ConfigError(Exception):
    """A config file that cannot be used; the message names each bad key."""


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        path = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        lines.append(f"{path}: {message}")
    return "; ".join(lines)


def parse_config(data: dict) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_describe(error)) from None


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Read the TOML file given (or $STOREEDGE_CONFIG); embedded defaults when neither."""
    path = path or os.environ.get("STOREEDGE_CONFIG")
    if not path:
        return Config()
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such config file") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{file}: not valid TOML: {error}") from None
    try:
        return parse_config(data)
    except ConfigError as error:
        raise ConfigError(f"{file}: {error}") from None
