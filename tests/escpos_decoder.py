"""Reads ESC/POS bytes back into what a printer would do: text lines (Chinese included), cuts, drawer
pulses, QR payloads, barcodes, raster images and status requests. Unknown commands fail loudly, so a
test never passes over bytes nobody checked."""

from __future__ import annotations

from dataclasses import dataclass, field

ESC, GS, FS, DLE, LF = 0x1B, 0x1D, 0x1C, 0x10, 0x0A


@dataclass
class Printed:
    lines: list[str] = field(default_factory=list)
    cuts: int = 0
    pulses: list[tuple[int, int, int]] = field(default_factory=list)  # (pin, on ms, off ms)
    qr: list[str] = field(default_factory=list)
    barcodes: list[str] = field(default_factory=list)
    images: list[tuple[int, int]] = field(default_factory=list)  # (width dots, height dots)
    nv_images: list[int] = field(default_factory=list)  # FS p: images printed from the printer's NV memory
    status_requests: list[int] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # the order: "text", "cut", "pulse", "qr", …
    bold_lines: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(self.lines)


class Decoder:
    def __init__(self, data: bytes):
        self.data = data
        self.at = 0
        self.chinese = False
        self.bold = False
        self.line = bytearray()
        self.out = Printed()

    def take(self, count: int) -> bytes:
        if self.at + count > len(self.data):
            raise ValueError(f"command cut short at byte {self.at}")
        chunk = self.data[self.at:self.at + count]
        self.at += count
        return chunk

    def end_line(self) -> None:
        raw = bytes(self.line)
        self.line.clear()
        text = raw.decode("gb18030") if self.chinese else raw.decode("ascii")
        self.out.lines.append(text)
        self.out.events.append("text")
        if self.bold:
            self.out.bold_lines.append(text)

    def run(self) -> Printed:
        while self.at < len(self.data):
            byte = self.take(1)[0]
            if byte == LF:
                self.end_line()
            elif byte == ESC:
                self.esc(self.take(1))
            elif byte == GS:
                self.gs(self.take(1))
            elif byte == FS:
                command = self.take(1)
                if command == b"p":
                    self.out.nv_images.append(self.take(2)[0])
                    self.out.events.append("nv_image")
                elif command in (b"&", b"."):
                    self.chinese = command == b"&"
                else:
                    raise ValueError(f"unknown FS {command!r}")
            elif byte == DLE:
                if self.take(1) != b"\x04":
                    raise ValueError("unknown DLE command")
                self.out.status_requests.append(self.take(1)[0])
            elif byte < 0x20:
                raise ValueError(f"unexpected control byte {byte:#x} at {self.at - 1}")
            else:
                self.line.append(byte)
        if self.line:
            self.end_line()
        return self.out

    def esc(self, command: bytes) -> None:
        if command == b"@":
            self.chinese = self.bold = False
        elif command == b"E":
            self.bold = bool(self.take(1)[0])
        elif command in (b"a", b"d", b"!", b"M"):
            self.take(1)
        elif command == b"p":
            pin, on, off = self.take(3)
            self.out.pulses.append((2 if pin in (0, 48) else 5, on * 2, off * 2))
            self.out.events.append("pulse")
        else:
            raise ValueError(f"unknown ESC {command!r}")

    def gs(self, command: bytes) -> None:
        if command in (b"!", b"h", b"w", b"H", b"f"):
            self.take(1)
        elif command == b"V":
            mode = self.take(1)[0]
            if mode in (65, 66):
                self.take(1)
            self.out.cuts += 1
            self.out.events.append("cut")
        elif command == b"(":
            kind = self.take(1)
            size = int.from_bytes(self.take(2), "little")
            body = self.take(size)
            if kind == b"k" and body[:2] == b"1P":  # QR: store the data (cn=1, fn=P, m=0)
                self.out.qr.append(body[3:].decode("utf-8"))
                self.out.events.append("qr")
        elif command == b"k":
            kind = self.take(1)[0]
            if kind < 65:
                raise ValueError("only GS k with a length byte (m ≥ 65) is expected")
            data = self.take(self.take(1)[0]).decode("ascii")
            self.out.barcodes.append(data[2:] if data.startswith("{") else data)
            self.out.events.append("barcode")
        elif command == b"v":
            if self.take(2) != b"0\x00":
                raise ValueError("only GS v 0 normal-size raster is expected")
            width_bytes = int.from_bytes(self.take(2), "little")
            height = int.from_bytes(self.take(2), "little")
            self.take(width_bytes * height)
            self.out.images.append((width_bytes * 8, height))
            self.out.lines.append(f"[image {width_bytes * 8}x{height}]")
            self.out.events.append("image")
        else:
            raise ValueError(f"unknown GS {command!r}")


def decode(data: bytes) -> Printed:
    return Decoder(data).run()
