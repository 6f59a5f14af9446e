"""E-invoice requests: taken at the kiosk or the till, sent to HQ, their status from HQ shown."""
