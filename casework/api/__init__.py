"""HTTP API (FastAPI): the same commands and reads as the CLI."""
