"""Cashier shifts: float, cash in and out, X and Z reports."""
