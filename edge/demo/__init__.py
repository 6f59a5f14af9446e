"""Demo data for `make run`: a small convenience store and fruit corner."""
