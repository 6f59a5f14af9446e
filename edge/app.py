"""The application object: config, database and the domain services, passed explicitly."""

from __future__ import annotations

import os
from pathlib import Path

from edge.config import Config, load_config
from edge.db import DB_FILENAME, Database
from edge.staff.secrets import load_or_create_secret
from edge.staff.service import StaffService

DEFAULT_DATA_DIR = "data"


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    return Path(data_dir or os.environ.get("STOREEDGE_DATA_DIR") or DEFAULT_DATA_DIR)


class StoreEdge:
    """One store: its config, its database and the services working on it."""

    def __init__(self, config: Config, data_dir: Path):
        from edge.catalog.service import CatalogService
        from edge.inventory.service import InventoryService
        from edge.sales.refunds import RefundService
        from edge.sales.service import SalesService
        from edge.shifts.service import ShiftService

        self.config = config
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.secret = load_or_create_secret(self.data_dir)
        self.db = Database(self.data_dir / DB_FILENAME)
        self.staff = StaffService(self)
        self.catalog = CatalogService(self)
        self.inventory = InventoryService(self)
        self.shifts = ShiftService(self)
        self.sales = SalesService(self)
        self.refunds = RefundService(self)

    @classmethod
    def open(cls, config_path=None, data_dir=None, migrate: bool = True) -> "StoreEdge":
        store = cls(load_config(config_path), resolve_data_dir(data_dir))
        if migrate:
            store.db.migrate()
        return store

    def web(self):
        """The Flask app serving this store's API."""
        from edge.api.web import WebApp
        from edge.routes import all_endpoints

        return WebApp(self, all_endpoints()).flask
