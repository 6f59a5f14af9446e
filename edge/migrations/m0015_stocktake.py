"""Back office stock: stocktakes (盘点) counted line by line and posted at once, and reorder points."""

SQL = """
CREATE TABLE stocktake (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('counting', 'posted', 'cancelled')),
    note TEXT,
    started_by INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    finished_by INTEGER,
    finished_at TEXT
);
CREATE UNIQUE INDEX stocktake_one_counting ON stocktake (status) WHERE status = 'counting';

CREATE TABLE stocktake_line (
    stocktake_id TEXT NOT NULL,
    product_id INTEGER NOT NULL,
    counted INTEGER NOT NULL CHECK (counted >= 0),
    expected INTEGER,
    movement_id TEXT,
    counted_at TEXT NOT NULL,
    PRIMARY KEY (stocktake_id, product_id)
);

CREATE TABLE reorder_point (
    product_id INTEGER PRIMARY KEY,
    reorder_point INTEGER NOT NULL CHECK (reorder_point >= 0),
    updated_at TEXT NOT NULL
)
"""
