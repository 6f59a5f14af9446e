"""The audit journal: hash-chained, gap-free, verifiable."""

from edge.audit.journal import record, verify

__all__ = ["record", "verify"]
