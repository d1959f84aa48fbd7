"""The package as deploy/Dockerfile installs it (`pip install .`, not editable): every
file the code reads at run time (templates, the stylesheet, the schedules and demo
configuration, migrations, the stroke table) is in the wheel. An editable install, as
`make run` and the other tests use, reads the source tree and cannot notice a file left
out of `package-data`."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("casework", "workflows", "activities")

pytestmark = pytest.mark.integration


def tracked() -> list[str]:
    """The files git tracks or would (not ignored), as a clean checkout has them."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [f for f in out.splitlines() if (REPO / f).is_file()]


def test_the_wheel_holds_every_file_the_packages_ship(tmp_path: Path) -> None:
    source = tmp_path / "src"
    files = tracked()
    for name in files:
        if name.split("/")[0] in PACKAGES or "/" not in name:
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "--wheel-dir",
            str(tmp_path / "dist"),
            str(source),
        ],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("casework-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        inside = set(zf.namelist())
    wanted = {f for f in files if f.split("/")[0] in PACKAGES}
    missing = sorted(wanted - inside)
    assert missing == [], f"left out of the wheel (pyproject.toml package-data): {missing}"
    assert "worker.py" in inside
