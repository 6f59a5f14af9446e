"""`storeedge bench pay`: from a payment code scanned to the sale completed, against the provider simulator.

The simulator runs in this process and answers at once (SUCCESS), with real
signatures both ways; the server under gunicorn is configured with test
credentials pointing at it, so each payment takes the live path: the attempt
written durably, the signed pay call, the signed answer checked, the attempt
marked paid and the sale completed. Two ways in are timed, each over HTTP
from several lanes: the tender step (POST /sales/{id}/payments answers once
the sale is complete) and the lane scanner (POST /sales/{id}/scan, then the
screen's long poll until the sale is complete). The floor is the simulator's
own time per pay request (reading, verifying, signing), which no store can beat.
"""

from __future__ import annotations

import itertools
import tempfile
import threading
from pathlib import Path

from edge.app import StoreEdge
from edge.bench.checkout import Lane, demo_barcodes, open_lane, running_server
from edge.bench.stats import ms, percentile
from edge.config import parse_config
from edge.demo.seed import seed
from edge.payments import keys
from edge.payments.simulator import Simulator

PROVIDERS = ("wechat", "alipay", "unionpay")


def _codes():
    """Fresh codes of each provider in turn (the simulator pays a code once)."""
    for n in itertools.count(1):
        provider = PROVIDERS[n % 3]
        yield {"wechat": f"13{n:014d}00", "alipay": f"28{n:014d}00", "unionpay": f"62{n:015d}00"}[provider]


def _config(root: Path, simulator: Simulator, merchant) -> tuple[dict, Path]:
    merchant_file, platform_file = root / "merchant.pem", root / "platform.pem"
    merchant_file.write_bytes(keys.private_pem(merchant))
    platform_file.write_bytes(keys.public_pem(simulator.platform_key))
    sections = {
        "wechat": {"mchid": "1900000109", "appid": "wxbench", "serial_no": "BENCH", "private_key_file": merchant_file,
                   "platform_key_file": platform_file},
        "alipay": {"app_id": "2021000000000000", "private_key_file": merchant_file,
                   "alipay_public_key_file": platform_file},
        "unionpay": {"mer_id": "777290058110048", "cert_id": "BENCH", "private_key_file": merchant_file,
                     "unionpay_public_key_file": platform_file},
    }
    lines = ["[payments]"]
    config = {"payments": {}}
    for provider, section in sections.items():
        section = {**{k: str(v) for k, v in section.items()}, "url": simulator.base_url(provider)}
        config["payments"][provider] = section
        lines.append(f"[payments.{provider}]")
        lines += [f'{k} = "{v}"' for k, v in section.items()]
    path = root / "storeedge.toml"
    path.write_text("\n".join(lines) + "\n")
    return config, path


def _tender_step(lane: Lane, barcodes: list[str], code: str) -> float:
    sale, _ = lane.must("POST", "/sales", {})
    for barcode in barcodes:
        lane.must("POST", f"/sales/{sale['id']}/lines", {"barcode": barcode, "qty": 1})
    attempt, elapsed = lane.must("POST", f"/sales/{sale['id']}/payments", {"code": code})
    if attempt["sale_status"] != "completed":
        raise RuntimeError(f"the sale did not complete: {attempt}")
    return elapsed


def _scanner(lane: Lane, barcodes: list[str], code: str) -> float:
    sale, _ = lane.must("POST", "/sales", {})
    for barcode in barcodes:
        lane.must("POST", f"/sales/{sale['id']}/lines", {"barcode": barcode, "qty": 1})
    scanned, elapsed = lane.must("POST", f"/sales/{sale['id']}/scan", {"code": code})
    attempt = scanned["payment"]
    while attempt["sale_status"] != "completed":
        if attempt["final"] and attempt["state"] != "paid":
            raise RuntimeError(f"the payment did not go through: {attempt}")
        attempt, waited = lane.must("GET", f"/payments/{attempt['id']}?wait_ms=5000")
        elapsed += waited
    return elapsed


def run(sale_count: int, clients: int, echo=print) -> dict:
    merchant, platform = keys.generate_key(), keys.generate_key()
    simulator = Simulator(merchant.public_key(), platform).start()
    codes, lock = _codes(), threading.Lock()
    timings: dict[str, list[float]] = {"tender step": [], "scanner": []}
    try:
        with tempfile.TemporaryDirectory(prefix="storeedge-bench-") as tmp:
            root = Path(tmp)
            config, config_path = _config(root, simulator, merchant)
            store = StoreEdge(parse_config(config), root / "data")
            store.db.migrate()
            seed(store)
            tokens = [store.staff.add_device(f"bench-pay-{n}", "terminal", n)[1] for n in range(1, clients + 1)]
            store.db.close()
            barcodes = demo_barcodes(2)
            with running_server(root / "data", threads=max(8, clients * 2), config_path=config_path) as port:
                def lane_run(token: str, errors: list) -> None:
                    try:
                        lane = open_lane(port, token)
                        for n in range(sale_count // clients):
                            kind, action = (("tender step", _tender_step) if n % 2 == 0 else ("scanner", _scanner))
                            with lock:
                                code = next(codes)
                            timings[kind].append(action(lane, barcodes, code))
                    except Exception as error:  # noqa: BLE001 - reported below, the run is void
                        errors.append(error)

                errors: list = []
                threads = [threading.Thread(target=lane_run, args=(token, errors)) for token in tokens]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                if errors:
                    raise RuntimeError(f"{len(errors)} lane(s) failed: {errors[0]}")
    finally:
        simulator.stop()
    pay_requests = simulator.service_seconds
    echo(f"scan-to-pay: {sale_count} sales from {clients} lanes, each paid by a payment code (WeChat Pay, Alipay, "
         "UnionPay in turn) against the provider simulator answering at once")
    echo(f"{'path':<44}{'count':>7}{'p50':>12}{'p99':>12}")
    rows = [("simulator's own time per request (floor)", pay_requests),
            ("tender step: POST /payments → completed", timings["tender step"]),
            ("scanner: POST /scan + long poll → completed", timings["scanner"])]
    for name, values in rows:
        echo(f"{name:<44}{len(values):>7}{ms(percentile(values, 0.5)):>12}{ms(percentile(values, 0.99)):>12}")
    floor = percentile(pay_requests, 0.5)
    tender = percentile(timings["tender step"], 0.5)
    echo(f"tender step p50 = {tender / floor:.1f}× the simulator's own time (the store's work: the durable "
         "attempt, signing and checking, the paid state, the completed sale)")
    return {"tender_p50": tender, "tender_p99": percentile(timings["tender step"], 0.99),
            "scanner_p99": percentile(timings["scanner"], 0.99), "floor_p50": floor}
