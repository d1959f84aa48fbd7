"""The funds ledger's words shared by the case types that draw on a fund (issue #14)."""

from __future__ import annotations

AWAITING_FUNDS = "awaiting_funds"
"""The stage of a case whose fund was short when it came to be paid: it waits for a
top-up (no task; `stuck` lists it) and goes on by itself when the fund has room."""
FUNDS_AVAILABLE = "funds_available"
"""The signal a movement of a district's fund sends the cases waiting for it."""
