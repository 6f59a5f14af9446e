"""Shifts, sales with lines and payments, refunds, receipt numbers, the stock ledger."""

SQL = """
CREATE TABLE shift (
    id TEXT PRIMARY KEY,
    device_id INTEGER NOT NULL REFERENCES device (id),
    lane INTEGER,
    opened_by INTEGER NOT NULL REFERENCES staff (id),
    opened_at TEXT NOT NULL,
    opening_float INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    closed_by INTEGER REFERENCES staff (id),
    closed_at TEXT,
    counted_cash INTEGER,
    expected_cash INTEGER,
    variance INTEGER,
    report TEXT
);
CREATE UNIQUE INDEX shift_one_open_per_device ON shift (device_id) WHERE status = 'open';

CREATE TABLE cash_movement (
    id TEXT PRIMARY KEY,
    shift_id TEXT NOT NULL REFERENCES shift (id),
    kind TEXT NOT NULL CHECK (kind IN ('in', 'out', 'no_sale')),
    amount INTEGER NOT NULL,
    reason TEXT NOT NULL,
    staff_id INTEGER NOT NULL REFERENCES staff (id),
    approved_by INTEGER REFERENCES staff (id),
    at TEXT NOT NULL
);

CREATE TABLE receipt_counter (
    business_date TEXT PRIMARY KEY,
    last_no INTEGER NOT NULL
);

CREATE TABLE sale (
    id TEXT PRIMARY KEY,
    device_id INTEGER NOT NULL REFERENCES device (id),
    lane INTEGER,
    shift_id TEXT REFERENCES shift (id),
    cashier_id INTEGER NOT NULL REFERENCES staff (id),
    salesperson_id INTEGER REFERENCES staff (id),
    status TEXT NOT NULL CHECK (status IN ('open', 'suspended', 'completed', 'voided')),
    opened_at TEXT NOT NULL,
    completed_at TEXT,
    business_date TEXT,
    receipt_no TEXT UNIQUE,
    discount_kind TEXT CHECK (discount_kind IN ('amount', 'percent')),
    discount_value INTEGER,
    discount_approved_by INTEGER REFERENCES staff (id),
    subtotal INTEGER NOT NULL DEFAULT 0,
    discount_total INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    rounding INTEGER NOT NULL DEFAULT 0,
    paid INTEGER NOT NULL DEFAULT 0,
    change INTEGER NOT NULL DEFAULT 0,
    voided_by INTEGER REFERENCES staff (id),
    void_reason TEXT
);
CREATE INDEX sale_device_status ON sale (device_id, status);
CREATE INDEX sale_shift ON sale (shift_id);

CREATE TABLE sale_line (
    id TEXT PRIMARY KEY,
    sale_id TEXT NOT NULL REFERENCES sale (id),
    line_no INTEGER NOT NULL,
    product_id INTEGER NOT NULL REFERENCES product (id),
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    barcode TEXT,
    sold_by TEXT NOT NULL,
    qty INTEGER NOT NULL,
    label_price INTEGER,
    list_price INTEGER NOT NULL,
    unit_price INTEGER NOT NULL,
    price_override_by INTEGER REFERENCES staff (id),
    tax_rate INTEGER NOT NULL,
    discount_kind TEXT CHECK (discount_kind IN ('amount', 'percent')),
    discount_value INTEGER,
    discount_approved_by INTEGER REFERENCES staff (id),
    gross INTEGER NOT NULL,
    line_discount INTEGER NOT NULL DEFAULT 0,
    sale_discount INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL,
    UNIQUE (sale_id, line_no)
);

CREATE TABLE payment (
    id TEXT PRIMARY KEY,
    sale_id TEXT NOT NULL REFERENCES sale (id),
    method TEXT NOT NULL,
    amount INTEGER NOT NULL,
    tendered INTEGER NOT NULL,
    change INTEGER NOT NULL,
    reference TEXT,
    at TEXT NOT NULL
);
CREATE INDEX payment_sale ON payment (sale_id);

CREATE TABLE refund (
    id TEXT PRIMARY KEY,
    refund_no TEXT NOT NULL UNIQUE,
    sale_id TEXT NOT NULL REFERENCES sale (id),
    device_id INTEGER NOT NULL REFERENCES device (id),
    shift_id TEXT REFERENCES shift (id),
    staff_id INTEGER NOT NULL REFERENCES staff (id),
    approved_by INTEGER NOT NULL REFERENCES staff (id),
    reason TEXT NOT NULL,
    total INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX refund_sale ON refund (sale_id);

CREATE TABLE refund_line (
    id TEXT PRIMARY KEY,
    refund_id TEXT NOT NULL REFERENCES refund (id),
    sale_line_id TEXT NOT NULL REFERENCES sale_line (id),
    qty INTEGER NOT NULL,
    amount INTEGER NOT NULL
);
CREATE INDEX refund_line_sale_line ON refund_line (sale_line_id);

CREATE TABLE refund_payment (
    id TEXT PRIMARY KEY,
    refund_id TEXT NOT NULL REFERENCES refund (id),
    method TEXT NOT NULL,
    amount INTEGER NOT NULL,
    reference TEXT
);

CREATE TABLE stock_level (
    product_id INTEGER PRIMARY KEY REFERENCES product (id),
    on_hand INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE stock_movement (
    id TEXT PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES product (id),
    qty INTEGER NOT NULL,
    reason TEXT NOT NULL CHECK (reason IN ('sale', 'refund', 'receipt', 'adjustment', 'stocktake')),
    ref TEXT,
    note TEXT,
    staff_id INTEGER REFERENCES staff (id),
    at TEXT NOT NULL
);
CREATE INDEX stock_movement_product ON stock_movement (product_id)
"""
