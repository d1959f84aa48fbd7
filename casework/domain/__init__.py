"""Pure domain: models, rules and decisions. Imports nothing of ours outside this package,
performs no I/O and reads no clock, so workflow code may call it directly."""
