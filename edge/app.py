"""The application object: config, database and the domain services, passed explicitly."""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from zoneinfo import ZoneInfo
from pathlib import Path

from edge import audit
from edge.catalog.service import CatalogService
from edge.config import Config, load_config
from edge.db import DB_FILENAME, Database
from edge.hardware.service import HardwareService
from edge.insight.service import InsightService
from edge.inventory.service import InventoryService
from edge.invoices.service import InvoicesService
from edge.kiosk.service import KioskService
from edge.marketing.service import MarketingService
from edge.inventory.stocktake import StocktakeService
from edge.members.coupons import CouponsService
from edge.members.gifts import GiftsService
from edge.members.level_review import LevelReviewService
from edge.members.levels import LevelsService
from edge.members.points import PointsService
from edge.members.service import MembersService
from edge.members.stored_value import StoredValueService
from edge.promotions.service import PromotionsService
from edge.reports.service import ReportsService
from edge.payments.service import PaymentService
from edge.sales.refunds import RefundService
from edge.sales.service import SalesService
from edge.shifts.service import ShiftService
from edge.staff.management import StaffManagement
from edge.staff.secrets import load_or_create_secret
from edge.staff.service import StaffService
from edge.store_meta import Meta

DEFAULT_DATA_DIR = "data"
CONFIG_KEY = "config"
SECRET_KEYS = ("hq.password", "gateway.token")


def flatten(tree, prefix: str = "") -> dict:
    """{'a': {'b': 1}} → {'a.b': 1}; lists keep their JSON form."""
    flat = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    return Path(data_dir or os.environ.get("STOREEDGE_DATA_DIR") or DEFAULT_DATA_DIR)


class StoreEdge:
    """One store: its config, its database and the services working on it."""

    def __init__(self, config: Config, data_dir: Path):
        self.config = config
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.secret = load_or_create_secret(self.data_dir)
        self.db = Database(self.data_dir / DB_FILENAME)
        self.staff = StaffService(self)
        self.staff_management = StaffManagement(self)
        self.catalog = CatalogService(self)
        self.inventory = InventoryService(self)
        self.stocktakes = StocktakeService(self)
        self.shifts = ShiftService(self)
        self.sales = SalesService(self)
        self.refunds = RefundService(self)
        self.members = MembersService(self)
        self.points = PointsService(self)  # before levels: a sale earns at the level held when buying
        self.levels = LevelsService(self)
        self.stored_value = StoredValueService(self)
        self.coupons = CouponsService(self)
        self.level_review = LevelReviewService(self)
        self.gifts = GiftsService(self)
        self.promotions = PromotionsService(self)
        self.payments = PaymentService(self)
        self.reports = ReportsService(self)
        self.insight = InsightService(self)
        if config.hq is not None:
            from edge.sync.floor import OfflineFloorLimit

            self.sales.tenders.wrap_ledger("stored_value", lambda ledger: OfflineFloorLimit(self, ledger))
        self.hardware = HardwareService(self)  # last: its receipt sees what the other listeners wrote
        self.kiosk = KioskService(self)
        self.invoices = InvoicesService(self)
        # after hardware, whose receipts it adds notes to; its sale listener then sees a level just raised
        self.marketing = MarketingService(self)

    @classmethod
    def open(cls, config_path=None, data_dir=None, migrate: bool = True) -> "StoreEdge":
        store = cls(load_config(config_path), resolve_data_dir(data_dir))
        if migrate:
            store.db.migrate()
            store.record_config_change()
        return store

    def record_config_change(self) -> list[str]:
        """Audit a config that differs from the one the store last ran with; returns the changed keys."""
        current = flatten(self.config.model_dump(mode="json"))
        for secret in SECRET_KEYS:
            if current.get(secret) is not None:
                current[secret] = "(set)"
        with self.db.transaction():
            stored = Meta.get_value(CONFIG_KEY)
            previous = json.loads(stored) if stored else {}
            changed = sorted(k for k in current.keys() | previous.keys() if current.get(k) != previous.get(k))
            if changed:
                Meta.put(CONFIG_KEY, json.dumps(current, ensure_ascii=False, sort_keys=True))
                if previous:
                    audit.record("config.changed", entity="config", data={
                        "keys": changed, "before": {k: previous.get(k) for k in changed},
                        "after": {k: current.get(k) for k in changed}})
                else:
                    audit.record("config.first_start", entity="config", data={"config": current})
        return changed

    def today(self) -> date:
        """The store's calendar day, in its time zone: business dates, birthdays, validity windows."""
        return datetime.now(ZoneInfo(self.config.store.timezone)).date()

    def web(self):
        """The Flask app serving this store's API."""
        from edge.api.web import WebApp
        from edge.routes import all_endpoints

        from edge.hardware.sockets import attach

        self.db.checkpoint_in_background()
        self.payments.start_background()
        flask_app = WebApp(self, all_endpoints()).flask
        attach(flask_app, self)
        from kiosk_ui import attach as attach_screens

        attach_screens(flask_app)
        return flask_app
