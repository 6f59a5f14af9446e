"""Sync with HQ over MQTT: the outbox up, HQ's broadcasts and commands down (DESIGN.md "MQTT contract")."""
