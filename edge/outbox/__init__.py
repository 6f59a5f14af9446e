"""The outbox: every business fact's event, kept until HQ acknowledges it."""
