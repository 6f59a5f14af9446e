"""Running the web service under gunicorn (one worker, threads for every open socket)."""

from __future__ import annotations

import os
import sys

from gunicorn.app.base import BaseApplication


SWITCH_INTERVAL = 0.0005


class GunicornServer(BaseApplication):
    """gunicorn with our settings; the store is opened in the worker, after the fork."""

    def __init__(self, config_path: str | None, data_dir: str, host: str, port: int, threads: int,
                 access_log: bool = False):
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

        return StoreEdge.open(self.config_path, self.data_dir, migrate=False).web()


def wsgi_app():
    """Entry for an external gunicorn: `gunicorn --no-control-socket 'edge.server:wsgi_app()'`."""
    from edge.app import StoreEdge

    return StoreEdge.open(os.environ.get("STOREEDGE_CONFIG"), os.environ.get("STOREEDGE_DATA_DIR")).web()
