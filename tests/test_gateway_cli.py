"""The technician's hardware commands as processes: gateway (killed with jobs queued), scan, devices list/test;
and the [[devices]] config checks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import ConfigError, parse_config
from edge.hardware.models import PrintJob
from tests.conftest import WATER, terminal
from tests.escpos_decoder import decode
from tests.gateway_helpers import NetworkPrinter, WebServer, eventually, gateway_config, network_printer, sell

STOREEDGE = Path(sys.executable).with_name("storeedge")


def storeedge(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREEDGE_")}
    return subprocess.run([str(STOREEDGE), *args], capture_output=True, text=True, env=env, timeout=timeout)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(path: Path, config: dict) -> str:
    """The test's config dict as the TOML file a technician would write."""
    lines = ["[gateway]"] + [f"{k} = {toml_value(v)}" for k, v in config["gateway"].items()]
    for device in config["devices"]:
        lines += ["", "[[devices]]"] + [f"{k} = {toml_value(v)}" for k, v in device.items() if v is not None]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture
def tcp_printer():
    printer = NetworkPrinter()
    yield printer
    printer.close()


@pytest.fixture
def shop(store_with, tcp_printer, tmp_path):
    """A demo store copy configured with a TCP printer on lane 1, its config also written as a file."""
    config = gateway_config(network_printer(tcp_printer.port))
    store = store_with(config)
    return store, write_config(tmp_path / "storeedge.toml", config)


def test_a_gateway_killed_with_jobs_queued_prints_each_once_after_restart(shop, tcp_printer):
    store, config_file = shop
    tcp_printer.unplug()
    caller = terminal(store, lane=1)
    sales = [sell(store, caller, [WATER]) for _ in range(3)]
    args = [str(STOREEDGE), "--config", config_file, "--data-dir", str(store.data_dir), "gateway",
            "--url", "ws://127.0.0.1:9/ws/gateway"]
    first = subprocess.Popen(args, stderr=subprocess.DEVNULL)
    try:
        eventually(lambda: store.hardware.jobs.states() and store.hardware.jobs.states()[0]["state"] == "offline",
                   timeout=20)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert {PrintJob.get(PrintJob.ref == s.id).status for s in sales} == {"queued"}
    tcp_printer.plug()
    second = subprocess.Popen(args, stderr=subprocess.DEVNULL)
    try:
        eventually(lambda: all(PrintJob.get(PrintJob.ref == s.id).status == "done" for s in sales), timeout=20)
    finally:
        second.terminate()
        assert second.wait(timeout=10) == 0  # SIGTERM is a clean stop
    assert decode(bytes(tcp_printer.received)).barcodes == [s.receipt_no for s in sales]


def test_scan_command_puts_the_item_in_the_lanes_cart(shop):
    store, config_file = shop
    caller = terminal(store, lane=1)
    server = WebServer(store)
    try:
        url = server.gateway_url
        done = storeedge("--config", config_file, "--data-dir", str(store.data_dir), "scan", WATER, "--lane", "1",
                         "--url", url)
        assert done.returncode == 0, done.stderr
        assert "农夫山泉" in done.stdout
        sale = store.sales.current(caller.device_id)
        assert [line.barcode for line in store.sales.lines(sale)] == [WATER]
        refused = storeedge("--config", config_file, "--data-dir", str(store.data_dir), "scan", WATER, "--lane", "2",
                            "--url", url)
        assert refused.returncode == 2 and "no terminal on lane 2 has an open shift" in refused.stderr
    finally:
        server.close()


def test_scan_command_without_web_says_so(shop):
    store, config_file = shop
    done = storeedge("--config", config_file, "--data-dir", str(store.data_dir), "scan", WATER, "--lane", "1",
                     "--url", "ws://127.0.0.1:9/ws/gateway")
    assert done.returncode == 1 and "web is not reachable at ws://127.0.0.1:9/ws/gateway" in done.stderr


def test_devices_list_shows_each_device_its_state_and_the_candidates(shop):
    store, config_file = shop
    store.hardware.jobs.set_state("printer", "printer", 1, "paper_out")
    done = storeedge("--config", config_file, "--data-dir", str(store.data_dir), "devices", "list")
    assert done.returncode == 0, done.stderr
    rows = [line.split("\t") for line in done.stdout.splitlines() if "\t" in line]
    assert rows == [["printer", "printer", "network", f"127.0.0.1:{store.config.devices[0].port}", "lane 1",
                     "paper_out"]]
    assert "USB printers (vendor_id:product_id):" in done.stdout and "serial ports:" in done.stdout


def test_devices_test_prints_a_test_page(shop, tcp_printer):
    store, config_file = shop
    done = storeedge("--config", config_file, "--data-dir", str(store.data_dir), "devices", "test", "printer")
    assert done.returncode == 0, done.stderr
    printed = decode(tcp_printer.wait_for(lambda data: b"\x1dV" in data))
    assert printed.lines[0].strip() == "StoreEdge 打印测试" and printed.qr == ["StoreEdge"]


def test_devices_test_of_an_unknown_or_absent_device(shop, tcp_printer):
    store, config_file = shop
    unknown = storeedge("--config", config_file, "--data-dir", str(store.data_dir), "devices", "test", "nope")
    assert unknown.returncode == 2 and "no device named 'nope'" in unknown.stderr
    tcp_printer.unplug()
    absent = storeedge("--config", config_file, "--data-dir", str(store.data_dir), "devices", "test", "printer")
    assert absent.returncode == 1 and "cannot open 127.0.0.1" in absent.stderr


@pytest.mark.parametrize("device, message", [
    ({"name": "s", "kind": "scanner", "backend": "serial"}, "devices.0: Value error, s: backend serial needs path"),
    ({"name": "p", "kind": "printer", "backend": "usb", "vendor_id": 0x0416},
     "backend usb needs product_id"),
    ({"name": "s", "kind": "scanner", "backend": "network", "host": "x"}, "a scanner cannot use backend network"),
    ({"name": "d", "kind": "display", "backend": "serial", "path": "/dev/ttyS0"}, "a display needs protocol"),
    ({"name": "p", "kind": "printer", "backend": "virtual", "paper_mm": 76}, "devices.0.paper_mm"),
    ({"name": "d", "kind": "drawer", "backend": "virtual", "printer": "nowhere"},
     "names printer 'nowhere', which is not configured"),
])
def test_device_config_errors_name_the_device_and_key(device, message):
    with pytest.raises(ConfigError, match=message):
        parse_config({"devices": [device]})


def test_two_devices_with_one_name_are_refused():
    twice = {"name": "p", "kind": "printer", "backend": "virtual"}
    with pytest.raises(ConfigError, match="two devices have the same name"):
        parse_config({"devices": [twice, twice]})


def test_bench_devices_reports_both_figures():
    done = storeedge("bench", "devices", "--scans", "5", "--sales", "2", timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("scan at the pty → cart.line at the lane screen (5 scans): p50")
    assert lines[1].startswith("completed sale → first receipt byte at the TCP printer (2 sales): p50")


def test_devices_jobs_lists_what_is_not_done_and_queues_a_failed_job_again(shop):
    from edge.hardware.models import PrintJob

    store, config_file = shop
    sale = sell(store, terminal(store, lane=1), [WATER])
    job = PrintJob.get(PrintJob.ref == sale.id)
    store.hardware.jobs.fail(job.id, "cannot lay out: test")
    common = ["--config", config_file, "--data-dir", str(store.data_dir), "devices", "jobs"]
    listed = storeedge(*common)
    assert listed.returncode == 0 and listed.stdout.split("\t")[:4] == [job.id, "printer", "receipt", "failed"]
    retried = storeedge(*common, "--retry", job.id)
    assert retried.returncode == 0 and PrintJob.get_by_id(job.id).status == "queued"
    again = storeedge(*common, "--retry", job.id)
    assert again.returncode == 2 and "only a failed job is queued again" in again.stderr
