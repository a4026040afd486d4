"""Shared infrastructure: configuration, storage clients, errors, telemetry, embedded parts."""
