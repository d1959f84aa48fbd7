"""README's Quick start, run as written: `casework up` (what `make run` runs: the
embedded Temporal dev server, a worker, the web/API and the demo seed) in a process of
its own, then every `.venv/bin/casework` command of the Quick start's code blocks, in
order, from the repository root at an 80-column terminal. Each must succeed, print no
id cut short, and the files it names must exist. `casework demo` is left out here: it
drives six cases for about a minute and tests/e2e/test_legal_aid_cli.py runs it."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from casework.domain.calendar import CHINA_TZ
from tests.e2e.test_cli_against_dev_server import free_port

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CASEWORK = str(Path(sys.executable).parent / "casework")
README_YEAR = "2026"
"""The year README's case numbers carry (seeded cases take the current year's)."""


def quick_start_commands() -> list[list[str]]:
    """The `.venv/bin/casework` commands of README's Quick start, continuation lines
    joined and comments dropped."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    commands: list[list[str]] = []
    for block in re.findall(r"\n```\n(.*?)\n```", section, re.S):
        text = block.replace("\\\n", " ")
        for line in text.splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == ".venv/bin/casework":
                commands.append(words[1:])
    return commands


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    home = tmp_path_factory.mktemp("quick-start")
    env = {
        **os.environ,
        "CASEWORK_HOME": str(home),
        "CASEWORK_DATABASE_URL": f"sqlite:///{home / 'casework.db'}",
        "CASEWORK_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "CASEWORK_TEMPORAL_UI_PORT": str(free_port()),
        "CASEWORK_API_PORT": str(free_port()),
        "CASEWORK_TASK_QUEUE": "quick-start",
        "COLUMNS": "80",
    }
    env.pop("CASEWORK_CONFIG", None)  # `make run`'s own demo configuration
    log = (home / "up.log").open("w")
    up = subprocess.Popen(
        [CASEWORK, "up"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while "已启动 (running)" not in (home / "up.log").read_text(encoding="utf-8"):
            assert up.poll() is None, (home / "up.log").read_text(encoding="utf-8")
            assert time.monotonic() < deadline, "casework up did not come up in 120 s"
            time.sleep(0.5)
        yield env
    finally:
        os.killpg(up.pid, signal.SIGINT)  # Ctrl-C, as README says
        try:
            up.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait(timeout=10)
        log.close()


def test_the_quick_start_runs_as_written(stack: dict[str, str]) -> None:
    year = str(datetime.now(UTC).astimezone(CHINA_TZ).year)
    commands = quick_start_commands()
    assert ["users", "list"] in commands and len(commands) >= 10
    outputs = []
    for words in commands:
        if words[:1] == ["demo"]:
            continue
        args = [w.replace(f"-{README_YEAR}-", f"-{year}-") for w in words]
        for option in ("--file", "--data-file"):
            if option in args:
                assert (REPO / args[args.index(option) + 1]).is_file(), args
        proc = subprocess.run(
            [CASEWORK, *args],
            env=stack,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        assert "…" not in proc.stdout, (args, proc.stdout)  # nothing cut at 80 columns
        outputs.append((args, proc.stdout))
    text = dict((" ".join(a[:3]), out) for a, out in outputs)
    assert f"HR-{year}-000001" in text["inbox --as chongchuan.grassroots2"]
    opened = [out for a, out in outputs if a[:2] == ["case", "open"]]
    assert re.search(rf"已立案 \(opened\) HR-{year}-\d{{6}}", opened[0])
    history = text[f"case history HR-{year}-000001"]
    assert "基层初审通过" in history  # the events in words, as README shows them
    # The demo seed holds 王五's review (海门区) for the supervisors' views.
    held = subprocess.run(
        [CASEWORK, "case", "show", f"HR-{year}-000003"],
        env=stack,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "计时暂停 clock paused" in held.stdout, held.stdout
    # Approving a home visit without its findings says which option carries them and
    # where the example is (李四's case, 通州区, is seeded at the home visit).
    bare = subprocess.run(
        [CASEWORK, "act", f"HR-{year}-000002", "approve", "--as", "tongzhou.grassroots2"],
        env=stack,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bare.returncode == 2, (bare.stdout, bare.stderr)
    assert "--data-file" in bare.stderr and "examples/home-visit-findings.json" in bare.stderr
    assert "Traceback" not in bare.stderr
    # Supervisors see cases that have waited (casework.demo.backlog): overdue and
    # escalated ones in `stuck`, idle, held and waiting ones with --idle-days.
    stuck = text["stuck --as city.supervisor"]
    for note in ("已升级 escalated", "暂停 on hold", "待补材料 waiting info", "工作日无进展 idle"):
        assert note in stuck, (note, stuck)
    assert all(d in stuck for d in ("崇川区", "通州区", "海门区", "市总工会")), stuck
    for n in range(6, 14):  # README: HR-2026-000006 to 000013
        assert f"HR-{year}-{n:06d}" in stuck, (n, stuck)
    board = text["board --as city.supervisor"]
    assert all(d in board for d in ("崇川区", "通州区", "海门区", "市总工会")), board
