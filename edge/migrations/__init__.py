"""Numbered schema migrations (mNNNN_name.py, each with a SQL string).

Steps are frozen once released: a later change is a new step, never an edit,
so every shop's database walks the same path.
"""
