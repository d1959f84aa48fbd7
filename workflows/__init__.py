"""Temporal workflow code only: deterministic, no I/O, no clock, no randomness."""
