"""Every domain's endpoints, in one list: the registry the web app and OpenAPI are built from."""

from edge.api.registry import Endpoint
from edge.catalog.routes import routes as catalog
from edge.hardware.routes import routes as hardware
from edge.health import routes as health
from edge.insight.routes import routes as insight
from edge.inventory.routes import routes as inventory
from edge.invoices.routes import routes as invoices
from edge.kiosk.routes import routes as kiosk
from edge.marketing.routes import routes as marketing
from edge.inventory.stocktake_routes import routes as stocktake
from edge.members.card_routes import routes as card
from edge.members.coupon_routes import routes as coupons
from edge.members.gift_routes import routes as gifts
from edge.members.loyalty_routes import routes as loyalty
from edge.members.routes import routes as members
from edge.members.stored_value_routes import routes as stored_value
from edge.promotions.routes import routes as promotions
from edge.payments.routes import routes as payments
from edge.reports.routes import routes as reports
from edge.sales.routes import routes as sales
from edge.settings import routes as settings
from edge.shifts.routes import routes as shifts
from edge.staff.management_routes import routes as staff_management
from edge.staff.routes import routes as staff

GROUPS = (health, staff, catalog, inventory, shifts, sales, loyalty, members, stored_value, coupons, card,
          gifts, promotions, payments, hardware, staff_management, stocktake, settings, kiosk, invoices, marketing,
          reports, insight)


def all_endpoints() -> list[Endpoint]:
    return [endpoint for group in GROUPS for endpoint in group.endpoints]
