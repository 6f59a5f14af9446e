"""StoreEdge: the in-store server."""

__version__ = "0.1.0"
