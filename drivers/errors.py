"""Device failures the gateway tells apart: gone (reopen later) and refusing (keep the work queued)."""


class DeviceError(Exception):
    """A device that cannot be used now."""


class DeviceGone(DeviceError):
    """The device file, socket or port is not there or broke: close it and reopen when it returns."""


class DeviceNotReady(DeviceError):
    """The device answers but cannot work: paper out, cover open, offline."""
