"""The hardware gateway's device drivers.

One small interface per device kind (scanner, printer, drawer, display);
one module per connection backend of it, as python-escpos does for
printers. Every backend opens, closes, writes and reads; the commands a
kind speaks are built above the backend, so a test double made of real OS
parts (a pty, a TCP socket, a stream of evdev events) stands in for any
of them.
"""
