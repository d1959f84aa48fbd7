"""Encryption of personal data: master keys, the Temporal payload codec, field-level
envelope encryption with per-case data keys, and the codec server for Temporal's UI."""
