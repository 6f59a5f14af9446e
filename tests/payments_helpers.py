"""Shared by the scan-to-pay tests: test keys, the provider simulator on 127.0.0.1, configs pointing at it,
and payment codes of each provider and scenario."""

from __future__ import annotations

import itertools
from pathlib import Path

from edge.payments import keys
from edge.payments.simulator import Simulator

SUFFIX = {"success": "00", "userpaying": "91", "system_error": "92", "never": "93", "insufficient": "94",
          "slow": "95"}
# Fast rules, so every path of the state machine runs in a few hundred milliseconds.
FAST = {"poll_interval_seconds": 0.01, "pay_timeout_seconds": 0.5, "reverse_retry_seconds": 0.01,
        "request_timeout_seconds": 0.2}
_serial = itertools.count(1)


def payment_code(provider: str = "wechat", scenario: str = "success") -> str:
    """A code of the provider's documented shape, never used before, whose last digits choose the scenario."""
    number, suffix = next(_serial), SUFFIX[scenario]
    return {"wechat": f"13{number:014d}{suffix}", "alipay": f"28{number:014d}{suffix}",
            "unionpay": f"62{number:015d}{suffix}"}[provider]


class ProviderKeys:
    """The merchant's and the simulated platform's key pairs, written as PEM files for the config."""

    def __init__(self, folder: Path):
        self.merchant, self.platform = keys.generate_key(), keys.generate_key()
        folder.mkdir(parents=True, exist_ok=True)
        self.merchant_file = folder / "merchant_key.pem"
        self.platform_file = folder / "platform_public.pem"
        self.merchant_file.write_bytes(keys.private_pem(self.merchant))
        self.platform_file.write_bytes(keys.public_pem(self.platform))


def start_simulator(test_keys: ProviderKeys, slow_seconds: float = 0.6) -> Simulator:
    return Simulator(test_keys.merchant.public_key(), test_keys.platform, slow_seconds=slow_seconds).start()


def provider_sections(test_keys: ProviderKeys, url_of) -> dict:
    """[payments.wechat|alipay|unionpay] with the test keys, each provider at ``url_of(provider)``."""
    merchant, platform = str(test_keys.merchant_file), str(test_keys.platform_file)
    return {
        "wechat": {"mchid": "1900000109", "appid": "wx8888888888888888", "serial_no": "5157F09EFDC096DE",
                   "private_key_file": merchant, "platform_key_file": platform, "url": url_of("wechat")},
        "alipay": {"app_id": "2021000000000000", "private_key_file": merchant, "alipay_public_key_file": platform,
                   "url": url_of("alipay")},
        "unionpay": {"mer_id": "777290058110048", "cert_id": "69629715588", "private_key_file": merchant,
                     "unionpay_public_key_file": platform, "url": url_of("unionpay")},
    }


def payments_config(test_keys: ProviderKeys, simulator: Simulator, **rules) -> dict:
    """A store config whose three providers are the simulator, reached as real providers are."""
    return {"payments": {**FAST, **rules, **provider_sections(test_keys, simulator.base_url)}}


def to_toml(config: dict) -> str:
    """The [payments] config as a technician writes it (flat values and provider tables only)."""
    payments = config["payments"]
    lines = ["[payments]"]
    lines += [f"{k} = {v!r}" for k, v in payments.items() if not isinstance(v, dict)]
    for provider, section in payments.items():
        if isinstance(section, dict):
            lines.append(f"[payments.{provider}]")
            lines += [f'{k} = "{v}"' for k, v in section.items()]
    return "\n".join(lines) + "\n"
