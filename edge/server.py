"""Running the web service under gunicorn (one worker, threads for every open socket)."""

from __future__ import annotations

import os
import sys
import threading
import time
import urllib.request

from gunicorn.app.base import BaseApplication


SWITCH_INTERVAL = 0.0005


class GunicornServer(BaseApplication):
    """gunicorn with our settings; the store is opened in the worker, after the fork."""

    def __init__(self, config_path: str | None, data_dir: str, host: str, port: int, threads: int,
                 access_log: bool = False, certificate: tuple[str, str] | None = None):
        self.config_path = config_path
        self.data_dir = data_dir
        self.settings = {
            "bind": f"{host}:{port}",
            "workers": 1,
            "worker_class": "gthread",
            "threads": threads,
            "control_socket_disable": True,
            "graceful_timeout": 10,
            "timeout": 60,
            "accesslog": "-" if access_log else None,
            "post_worker_init": _worker_ready,
            # HTTPS when [web] tls is on: (cert_file, key_file)
            "certfile": certificate[0] if certificate else None,
            "keyfile": certificate[1] if certificate else None,
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.settings.items():
            if value is not None:
                self.cfg.set(key, value)

    def load(self):
        from edge.app import StoreEdge

        # Threads that return from socket I/O wait for the GIL up to the switch
        # interval (5 ms by default); a shorter one keeps short requests short
        # when lanes arrive together.
        sys.setswitchinterval(SWITCH_INTERVAL)

        return serving(StoreEdge.open(self.config_path, self.data_dir, migrate=False))


def _worker_ready(worker) -> None:
    """In the worker, with the app loaded: READY=1, then WATCHDOG=1 for as long as /api/v1/health answers."""
    from edge.systemd import Watchdog, notify

    notify(f"READY=1\nSTATUS=serving on {worker.cfg.bind[0]}")
    watchdog = Watchdog(any_pid=True)  # systemd watches the arbiter; the worker is what can hang
    if watchdog.interval is not None:
        url = f"{'https' if worker.cfg.is_ssl else 'http'}://{_loopback(worker.cfg.bind[0])}/api/v1/health"
        context = None
        if worker.cfg.is_ssl:
            from edge.field.tls import loopback_context

            context = loopback_context(worker.cfg.certfile)
        threading.Thread(target=_watch_health, args=(watchdog, url, context), name="watchdog", daemon=True).start()


def _loopback(bind: str) -> str:
    """host:port to reach a listener bound to `bind` from this machine."""
    host, _, port = bind.rpartition(":")
    return f"{'127.0.0.1' if host in ('0.0.0.0', '') else '[::1]' if host in ('[::]', '::') else host}:{port}"


def _watch_health(watchdog, url: str, context) -> None:
    """Ping only after the worker served a real request: a hung worker stops the pings and gets restarted."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=watchdog.interval, context=context) as answer:
                if answer.status == 200:
                    watchdog.ping()
        except OSError:
            pass  # no ping: systemd restarts the service when this lasts a whole WatchdogSec
        time.sleep(watchdog.interval / 2)


def wsgi_app():
    """Entry for an external gunicorn: `gunicorn --no-control-socket 'edge.server:wsgi_app()'`."""
    from edge.app import StoreEdge

    return serving(StoreEdge.open(os.environ.get("STOREEDGE_CONFIG"), os.environ.get("STOREEDGE_DATA_DIR")))


def serving(store):
    """The web app of a store served for real: its timers run for as long as the process does."""
    store.reports.start_background()
    return store.web()
