"""The reference HQ (`storeedge hq`): consumes the stores' events, acks, relays, pushes, reports."""
