"""Reports: summary tables kept from the sales (by a watermark on the audit journal) and sales targets.

The summaries are derived data: `storeedge reports rebuild` recomputes them from the sales, refunds
and top-ups, so they are never the only copy of anything.
"""

SQL = """
CREATE TABLE report_category_day (
    day TEXT NOT NULL,
    category_id INTEGER NOT NULL,
    sold_qty INTEGER NOT NULL DEFAULT 0,
    sold_amount INTEGER NOT NULL DEFAULT 0,
    lines INTEGER NOT NULL DEFAULT 0,
    refund_qty INTEGER NOT NULL DEFAULT 0,
    refund_amount INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, category_id)
);

CREATE TABLE report_ticket_hour (
    day TEXT NOT NULL,
    hour INTEGER NOT NULL,
    tickets INTEGER NOT NULL DEFAULT 0,
    amount INTEGER NOT NULL DEFAULT 0,
    items INTEGER NOT NULL DEFAULT 0,
    member_tickets INTEGER NOT NULL DEFAULT 0,
    refunds INTEGER NOT NULL DEFAULT 0,
    refund_amount INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, hour)
);

CREATE TABLE report_product_day (
    day TEXT NOT NULL,
    product_id INTEGER NOT NULL,
    sold_qty INTEGER NOT NULL DEFAULT 0,
    sold_amount INTEGER NOT NULL DEFAULT 0,
    tickets INTEGER NOT NULL DEFAULT 0,
    refund_qty INTEGER NOT NULL DEFAULT 0,
    refund_amount INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, product_id)
);

-- the same by calendar month (YYYY-MM), so a long period reads months and only its partial months by day
CREATE TABLE report_product_month (
    month TEXT NOT NULL,
    product_id INTEGER NOT NULL,
    sold_qty INTEGER NOT NULL DEFAULT 0,
    sold_amount INTEGER NOT NULL DEFAULT 0,
    tickets INTEGER NOT NULL DEFAULT 0,
    refund_qty INTEGER NOT NULL DEFAULT 0,
    refund_amount INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (month, product_id)
);

CREATE TABLE report_staff_day (
    day TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('salesperson', 'cashier')),
    staff_id INTEGER NOT NULL,
    tickets INTEGER NOT NULL DEFAULT 0,
    amount INTEGER NOT NULL DEFAULT 0,
    items INTEGER NOT NULL DEFAULT 0,
    member_tickets INTEGER NOT NULL DEFAULT 0,
    refunds INTEGER NOT NULL DEFAULT 0,
    refund_amount INTEGER NOT NULL DEFAULT 0,
    stored_value_sold INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, role, staff_id)
);

CREATE TABLE report_pair_day (
    day TEXT NOT NULL,
    product_a INTEGER NOT NULL,
    product_b INTEGER NOT NULL,
    tickets INTEGER NOT NULL,
    PRIMARY KEY (day, product_a, product_b)
);

CREATE TABLE report_pair_month (
    month TEXT NOT NULL,
    product_a INTEGER NOT NULL,
    product_b INTEGER NOT NULL,
    tickets INTEGER NOT NULL,
    PRIMARY KEY (month, product_a, product_b)
);
-- a month's frequent pairs first: the candidates for "bought together" over a long period
CREATE INDEX report_pair_month_frequent ON report_pair_month (month, tickets);
-- and one pair's months, to sum the candidates exactly
CREATE INDEX report_pair_month_pair ON report_pair_month (product_a, product_b, month);

CREATE INDEX refund_line_refund ON refund_line (refund_id);

-- Stock movements other than sales and refunds (receipts, adjustments, stocktakes: few), by time, for the
-- stock report (sales and refunds come from the summaries). Partial, so the checkout's inserts skip it.
CREATE INDEX stock_movement_other_at ON stock_movement (at) WHERE reason NOT IN ('sale', 'refund');

-- the salesperson (导购) of one line, when not the sale's: several counters' staff on one ticket
ALTER TABLE sale_line ADD COLUMN salesperson_id INTEGER REFERENCES staff (id);

CREATE TABLE sales_target (
    id TEXT PRIMARY KEY,
    staff_id INTEGER NOT NULL REFERENCES staff (id),
    role TEXT NOT NULL CHECK (role IN ('salesperson', 'cashier')),
    period_from TEXT NOT NULL,
    period_to TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    set_by INTEGER NOT NULL REFERENCES staff (id),
    set_at TEXT NOT NULL,
    UNIQUE (staff_id, role, period_from, period_to)
)
"""
