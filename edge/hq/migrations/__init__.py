"""HQ's numbered schema migrations (hNNNN_name.py), for SQLite and PostgreSQL alike.

Each step has its SQL per backend (``SQL = {"sqlite": …, "postgresql": …}``)
and may add a ``run(db)`` for what SQL cannot say. Steps are frozen once
released: a later change is a new step, never an edit, so every HQ database
walks the same path and an HQ upgrade keeps its data.
"""
