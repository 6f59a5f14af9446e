"""Report endpoints (manager): JSON, or CSV for Excel with ?format=csv or Accept: text/csv."""

from __future__ import annotations

from typing import Literal

from flask import Response, request
from pydantic import Field

from edge.api.registry import Call, Routes, Schema
from edge.money import MAX_AMOUNT
from edge.reports.export import to_csv
from edge.reports.queries import Period

routes = Routes("reports")

DAY = r"^\d{4}-\d{2}-\d{2}$"


class ReportPeriodQuery(Schema):
    model_config = {**Schema.model_config, "strict": False}

    from_: str | None = Field(None, alias="from", pattern=DAY,
                              description="first local day, YYYY-MM-DD (default: 29 days before `to`)")
    to: str | None = Field(None, pattern=DAY, description="last local day, YYYY-MM-DD (default: today)")
    format: Literal["json", "csv"] | None = Field(None, description="csv: a file for Excel (or send Accept: text/csv)")


class ReportSalesQuery(ReportPeriodQuery):
    by: Literal["hour", "day", "week", "category", "product"] = "day"
    limit: int = Field(100, ge=1, le=10_000, description="products: the best this many")


class ReportStaffQuery(ReportPeriodQuery):
    role: Literal["salesperson", "cashier"] = Field("salesperson", description="导购 or 收银员")


class ReportBasketQuery(ReportPeriodQuery):
    min_support: float = Field(0.01, ge=0.001, le=1, description="least share of all tickets holding the pair")
    limit: int = Field(50, ge=1, le=1000)


class ReportStockQuery(ReportPeriodQuery):
    low_days: int = Field(7, ge=1, le=365, description="low: stock lasts fewer days than this at the period's pace")


class SalesTargetIn(Schema):
    staff_id: int = Field(ge=1)
    role: Literal["salesperson", "cashier"] = "salesperson"
    from_: str = Field(alias="from", pattern=DAY, description="first day of the period, YYYY-MM-DD")
    to: str = Field(pattern=DAY, description="last day of the period, YYYY-MM-DD")
    amount: int = Field(gt=0, le=MAX_AMOUNT, description="net sales to reach, fen")


def _period(call: Call) -> Period:
    return call.store.reports.period(call.query.from_, call.query.to)


def _answer(call: Call, report: dict):
    """The report as JSON, or as a CSV download when asked for."""
    wants_csv = call.query.format == "csv" or (call.query.format is None
                                               and request.accept_mimetypes.best == "text/csv")
    if not wants_csv:
        return report
    name = f"{report['report']}_{report['period']['from']}_{report['period']['to']}.csv"
    return Response(to_csv(report).encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@routes.get("/reports/sales", "Sales by hour, day, week, category or product for a period", query=ReportSalesQuery,
            role="manager")
def sales(call: Call):
    return _answer(call, call.store.reports.fresh().sales(_period(call), call.query.by, call.query.limit))


@routes.get("/reports/traffic", "Tickets by time slot (hour of day) and weekday for a period", query=ReportPeriodQuery,
            role="manager")
def traffic(call: Call):
    return _answer(call, call.store.reports.fresh().traffic(_period(call)))


@routes.get("/reports/staff", "Staff ranking by salesperson (导购) or cashier, with targets", query=ReportStaffQuery,
            role="manager")
def staff(call: Call):
    return _answer(call, call.store.reports.fresh().staff(_period(call), call.query.role))


@routes.get("/reports/basket", "Products bought together: support, confidence and lift", query=ReportBasketQuery,
            role="manager")
def basket(call: Call):
    query = call.query
    return _answer(call, call.store.reports.fresh().basket(_period(call), query.min_support, query.limit))


@routes.get("/reports/stock", "Stock turnover, days of cover and low stock", query=ReportStockQuery, role="manager")
def stock(call: Call):
    return _answer(call, call.store.reports.fresh().stock(_period(call), call.query.low_days))


@routes.get("/reports/settlement", "Stored value by store: this store's side of the cross-store settlement",
            query=ReportPeriodQuery, role="manager")
def settlement(call: Call):
    return _answer(call, call.store.reports.reports.settlement(_period(call)))


@routes.get("/reports/targets", "Sales targets overlapping a period, with progress", query=ReportPeriodQuery,
            role="manager")
def targets(call: Call):
    period = _period(call)
    rows = call.store.reports.targets(period)
    return _answer(call, {"report": "targets", "period": period.as_dict(),
                          "columns": ["id", "staff_id", "name", "role", "from", "to", "amount", "net", "progress"],
                          "money": ["amount", "net"], "rows": rows})


@routes.post("/reports/targets", "Set a person's sales target for a period (replaces the one for that period)",
             body=SalesTargetIn, role="manager", status=201)
def set_target(call: Call):
    body = call.body
    target = call.store.reports.set_target(call.caller, body.staff_id, body.role, body.from_, body.to, body.amount)
    return call.store.reports.target_dict(target)
