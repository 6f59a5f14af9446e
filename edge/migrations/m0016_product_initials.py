"""Products carry the pinyin initials of their name (拼音首字母), indexed, for the cashier's search.

NOCASE, so a LIKE 'kkkl%' prefix search can use the index. The products already there get theirs in
`after` (worked out in Python: SQLite has no pinyin).
"""

SQL = """
ALTER TABLE product ADD COLUMN initials TEXT NOT NULL DEFAULT '' COLLATE NOCASE;
CREATE INDEX product_initials ON product (initials)
"""


def after(connection) -> None:
    """Fill in the initials of every product written before this step (same transaction as the SQL)."""
    from edge.catalog.initials import initials

    rows = connection.execute_sql("SELECT id, name FROM product").fetchall()
    for product_id, name in rows:
        connection.execute_sql("UPDATE product SET initials = ? WHERE id = ?", (initials(name), product_id))
