"""Persistence: the event store, its projections and the queries behind every list."""
