"""Device drivers against real OS parts: evdev InputEvent streams, pseudo-terminals, a TCP printer, device files."""

from __future__ import annotations

import os
import select
import threading

import pytest
from evdev import InputEvent, ecodes

from drivers.display.led import LedDisplay
from drivers.display.vfd import Cd5220Display, EpsonDisplay
from drivers.drawer import PrinterDrawer, SerialDrawer
from drivers.errors import DeviceGone
from drivers.printer import escpos_backend
from drivers.printer import status as dle_eot
from drivers.printer.layout import drawer_pulse
from drivers.scanner.keymap import KeyDecoder
from drivers.scanner.serial_scanner import LineDecoder, SerialScanner
from drivers.transport import SerialTransport
from tests.escpos_decoder import decode
from tests.gateway_helpers import NetworkPrinter, Pty, eventually, key_events


def decode_all(decoder: KeyDecoder, events) -> list[str]:
    return [code for code in map(decoder.feed, events) if code is not None]


# -- HID keyboard-wedge scanners ---------------------------------------------------


@pytest.mark.parametrize("code", ["6904321000012", "SKU-ab_12", "HTTP://Q.CN/A!b"])
def test_hid_scan_decodes_keys_with_shift(code):
    events, _ = key_events(code)
    assert decode_all(KeyDecoder("enter"), events) == [code]


def test_hid_tab_suffix_ends_a_code_and_enter_does_not():
    events, _ = key_events("123", suffix=ecodes.KEY_TAB)
    assert decode_all(KeyDecoder("tab"), events) == ["123"]
    events, _ = key_events("123")
    assert decode_all(KeyDecoder("tab"), events) == []


def test_hid_stray_partial_input_is_thrown_away_after_the_key_gap():
    stray, after_stray = key_events("99", suffix=None)
    scan, _ = key_events("6904321000029", start=after_stray + 0.5)
    assert decode_all(KeyDecoder("enter", key_gap=0.05), stray + scan) == ["6904321000029"]


def test_hid_a_late_suffix_finishes_nothing():
    events, at = key_events("12345", suffix=None)
    late_enter = [InputEvent(int(at + 1), 0, ecodes.EV_KEY, ecodes.KEY_ENTER, 1)]
    assert decode_all(KeyDecoder("enter", key_gap=0.05), events + late_enter) == []


def test_hid_two_scans_back_to_back():
    first, at = key_events("111")
    second, _ = key_events("222", start=at + 0.01)
    assert decode_all(KeyDecoder(), first + second) == ["111", "222"]


def test_hid_unknown_suffix_is_refused():
    with pytest.raises(ValueError, match="suffix"):
        KeyDecoder("space")


# -- serial scanners -----------------------------------------------------------


@pytest.mark.parametrize("suffix, wire", [("cr", b"\r"), ("lf", b"\n"), ("crlf", b"\r\n")])
def test_serial_scanner_reads_codes_from_a_pty(tmp_path, suffix, wire):
    pty = Pty(tmp_path / "scanner")
    try:
        with SerialScanner("lane1-scanner", pty.path, baudrate=115200, suffix=suffix) as scanner:
            pty.send(b"6904321000012" + wire + b"6904321000029" + wire)
            codes = []
            eventually(lambda: codes.extend(scanner.read(0.1)) or len(codes) >= 2)
            assert codes == ["6904321000012", "6904321000029"]
    finally:
        pty.close()


def test_serial_line_decoder_drops_a_stale_partial_code():
    now = [0.0]
    decoder = LineDecoder("cr", key_gap=0.2, clock=lambda: now[0])
    assert decoder.feed(b"69043") == []
    now[0] = 5.0
    assert decoder.feed(b"6904321000012\r") == ["6904321000012"]


def test_serial_scanner_unplugged_then_replugged(tmp_path):
    pty = Pty(tmp_path / "scanner")
    scanner = SerialScanner("s", pty.path)
    scanner.open()
    try:
        pty.unplug()
        with pytest.raises(DeviceGone):
            scanner.read(0.2)
        with pytest.raises(DeviceGone, match="cannot open"):
            scanner.open()
        pty.plug()
        scanner.open()
        pty.send(b"42\r")
        assert eventually(lambda: scanner.read(0.1)) == ["42"]
    finally:
        scanner.close()
        pty.close()


# -- printers ------------------------------------------------------------------


@pytest.fixture
def tcp_printer():
    printer = NetworkPrinter()
    yield printer
    printer.close()


def test_network_printer_gets_the_bytes_and_reports_ready(tcp_printer):
    with escpos_backend.network("p", "127.0.0.1", tcp_printer.port) as printer:
        assert printer.status().ready
        printer.write(b"\x1b@hello\n")
    assert decode(tcp_printer.wait_for(lambda data: b"hello" in data)).lines == ["hello"]


@pytest.mark.parametrize("state, problem", [
    ({"paper_out": True}, "paper_out"), ({"cover_open": True}, "cover_open"), ({"online": False}, "offline")])
def test_network_printer_status_names_the_problem(tcp_printer, state, problem):
    tcp_printer.state.update(state)
    with escpos_backend.network("p", "127.0.0.1", tcp_printer.port) as printer:
        status = printer.status()
    assert (status.ready, status.problem) == (False, problem)


def test_status_bytes_as_an_epson_printer_sends_them():
    # paper end sensor 0x72 (bits 5, 6), cover open 0x16 (bit 2), printer offline 0x1E (bit 3)
    status = dle_eot.parse(0x1E, 0x16, 0x72)
    assert (status.online, status.cover_open, status.paper_out) == (False, True, True)
    assert dle_eot.parse(0x16, 0x12, 0x12).ready


def test_network_printer_that_is_not_there_is_gone(tcp_printer):
    tcp_printer.unplug()
    with pytest.raises(DeviceGone, match="cannot open"):
        escpos_backend.network("p", "127.0.0.1", tcp_printer.port).open()


def test_network_printer_gone_mid_job(tcp_printer):
    printer = escpos_backend.network("p", "127.0.0.1", tcp_printer.port)
    printer.open()
    tcp_printer.unplug()
    with pytest.raises(DeviceGone):
        for _ in range(50):  # the kernel buffers the first writes; a later one meets the reset
            printer.write(b"x" * 65536)
    assert printer.device is None


def test_serial_printer_on_a_pty(tmp_path):
    pty = Pty(tmp_path / "printer")
    try:
        with escpos_backend.serial_port("p", pty.path, 19200, timeout=0.2) as printer:
            printer.write(b"\x1c&" + "￥6.50\n".encode("gb18030"))  # FS &: Chinese mode
            assert not printer.status().answered  # nobody answered the DLE EOT: unknown, not broken
            assert not printer.status().answered  # and not asked again (each question costs the timeout)
        data = pty.received()
        printed = decode(data)
        assert (printed.lines, printed.status_requests) == (["￥6.50"], [1, 2, 4])
    finally:
        pty.close()


def test_file_printer_writes_the_device_file(tmp_path):
    lp = tmp_path / "lp0"
    lp.touch()
    with escpos_backend.device_file("p", str(lp)) as printer:
        printer.write(b"hello\n")
        assert printer.status() == printer.status().__class__(answered=False)
    assert lp.read_bytes() == b"hello\n"


def test_file_printer_missing_device_is_gone(tmp_path):
    with pytest.raises(DeviceGone):
        escpos_backend.device_file("p", str(tmp_path / "no" / "lp0")).open()


# -- cash drawers ----------------------------------------------------------------


@pytest.mark.parametrize("pin, pulse_ms", [(2, 100), (5, 200)])
def test_drawer_pulse_through_the_printer(tcp_printer, pin, pulse_ms):
    with escpos_backend.network("p", "127.0.0.1", tcp_printer.port) as printer:
        PrinterDrawer("drawer", printer, pin, pulse_ms).open_drawer()
    data = tcp_printer.wait_for(lambda data: len(data) >= 5)
    assert decode(data).pulses == [(pin, pulse_ms, pulse_ms)]


def test_drawer_pin_must_exist():
    with pytest.raises(ValueError, match="pin"):
        drawer_pulse(3)


def test_serial_drawer_trigger(tmp_path):
    pty = Pty(tmp_path / "drawer")
    try:
        drawer = SerialDrawer("drawer", SerialTransport(pty.path))
        drawer.open()
        drawer.open_drawer()
        drawer.close()
        assert decode(pty.received()).pulses == [(2, 100, 100)]
    finally:
        pty.close()


# -- customer displays -----------------------------------------------------------


def on_pty_display(tmp_path, display_class, action, **options) -> bytes:
    pty = Pty(tmp_path / "display")
    try:
        with display_class("display", SerialTransport(pty.path, 2400), **options) as display:
            action(display)
        return pty.received()
    finally:
        pty.close()


def test_epson_vfd_two_lines_of_twenty_columns(tmp_path):
    data = on_pty_display(tmp_path, EpsonDisplay, lambda d: d.show_text("可口可乐", "3.00"))
    upper = "可口可乐".encode("gb18030") + b" " * 12
    assert data == b"\x1b@\x0c" + b"\x1f$\x01\x01" + upper + b"\x1f$\x01\x02" + b"3.00" + b" " * 16


def test_cd5220_vfd_amount(tmp_path):
    data = on_pty_display(tmp_path, Cd5220Display, lambda d: d.show_amount("change", 350))
    assert data == b"\x1b@\x0c" + b"\x1bQA" + b"CHANGE".ljust(20) + b"\r" + b"\x1bQB" + b"3.50".rjust(20) + b"\r"


@pytest.mark.parametrize("lamp_command, lamp", [("esc_s", b"\x1bs4"), ("stx_l", b"\x02L4")])
def test_led_price_display_change_lamp(tmp_path, lamp_command, lamp):
    data = on_pty_display(tmp_path, LedDisplay, lambda d: d.show_amount("change", 1234), lamp_command=lamp_command)
    assert data == b"\x1b@\x0c" + b"\x1bQA12.34\r" + lamp


def test_led_price_display_refuses_a_figure_past_eight_digits(tmp_path):
    with pytest.raises(ValueError, match="8 digits"):
        on_pty_display(tmp_path, LedDisplay, lambda d: d.show_amount("total", 1_000_000_00))


def test_display_unplugged_is_gone(tmp_path):
    pty = Pty(tmp_path / "display")
    display = EpsonDisplay("d", SerialTransport(pty.path))
    display.open()
    pty.unplug()
    with pytest.raises(DeviceGone):
        for _ in range(200):  # the pty's buffer takes the first writes
            display.show_text("x" * 20, "y" * 20)
    display.close()


def test_serial_printer_status_read_from_a_pty_that_answers(tmp_path):
    pty = Pty(tmp_path / "printer")
    answers = dle_eot.answer_bytes(cover_open=True)
    stop = threading.Event()

    def printer_side():  # answers each DLE EOT n as a printer with its cover open would
        while not stop.is_set():
            if select.select([pty.master], [], [], 0.05)[0]:
                data = os.read(pty.master, 64)
                for index in range(len(data) - 2):
                    if data[index:index + 2] == dle_eot.DLE_EOT:
                        os.write(pty.master, bytes([answers[data[index + 2]]]))

    answering = threading.Thread(target=printer_side)
    answering.start()
    try:
        with escpos_backend.serial_port("p", pty.path, 115200) as printer:
            status = printer.status()
        assert (status.answered, status.ready, status.problem) == (True, False, "cover_open")
    finally:
        stop.set()
        answering.join()
        pty.close()
