"""Product input: one schema for the API and the CSV import."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from edge.api.registry import Schema
from edge.money import MAX_AMOUNT


class ProductIn(Schema):
    sku: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=100)
    category: str | None = Field(None, max_length=64)
    unit: str = Field("件", min_length=1, max_length=8)
    sold_by: Literal["each", "weight"] = "each"
    price: int = Field(ge=0, le=MAX_AMOUNT, description="fen; per kg when sold_by is weight")
    member_price: int | None = Field(None, ge=0, le=MAX_AMOUNT,
                                     description="fen, 会员价; at most price; omitted keeps it, null clears it")
    tax_rate: int = Field(1300, ge=0, le=10000, description="basis points: 1300 = 13 %")
    barcodes: list[str] = Field(default_factory=list, max_length=20)
    plu: str | None = Field(None, pattern=r"^[0-9]{4,6}$", description="scale PLU for in-store labels")
    active: bool = True

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("member_price")
    @classmethod
    def _member_price_within_price(cls, value: int | None, info: ValidationInfo) -> int | None:
        price = info.data.get("price")
        if value is not None and price is not None and value > price:
            raise ValueError(f"must not be more than price ({price} fen)")
        return value


class ProductQuery(Schema):
    barcode: str | None = Field(None, max_length=32)
    sku: str | None = Field(None, max_length=64)
    q: str | None = Field(None, max_length=64, description="in the name, the start of the SKU, or the start of the "
                          "name's pinyin initials (kkkl: 可口可乐)")
    limit: int = Field(20, ge=1, le=200)

    model_config = {**Schema.model_config, "strict": False}
