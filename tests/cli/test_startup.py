"""The command line starts without the Temporal client: most commands only read the
store (inbox, stuck, board, case show), and importing `temporalio.client` cost about a
third of every command's start. The commands that talk to Temporal import it when they
run."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_cli_leaves_the_temporal_client_alone() -> None:
    probe = (
        "import sys, casework.cli; "
        "print(sorted(m for m in ('temporalio.client', 'casework.service') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_a_refusal_raised_by_the_service_is_the_one_the_cli_catches() -> None:
    """The exceptions moved to casework.service_errors are the same classes
    casework.service raises and its callers import from there."""
    from casework import service, service_errors

    assert service.ActionRefused is service_errors.ActionRefused
    assert service.ActionPending is service_errors.ActionPending
    assert service.CaseNotFound is service_errors.CaseNotFound
