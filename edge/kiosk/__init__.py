"""The self-service kiosk: members' own PINs and short-lived sessions, and what a member does there."""
