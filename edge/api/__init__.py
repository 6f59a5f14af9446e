"""The HTTP edge: one endpoint registry, validation, idempotency, errors, OpenAPI."""
