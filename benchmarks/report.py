"""The table on stdout and the results section of BENCHMARKS.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from benchmarks.results import Comparison, Section, fmt

BEGIN = "<!-- benchmarks:results:begin -->"
END = "<!-- benchmarks:results:end -->"

INTRO = """# Benchmarks

Side-by-side measurements named in the foundation issue (#2) and the supervision issue
(#3). Reproduce with

    make bench          # = .venv/bin/python -m benchmarks (about 8 minutes)
    .venv/bin/python -m benchmarks --quick   # smaller smoke run; prints, writes nothing

Every figure is a ratio against a baseline measured in the same process, in the same
run, against the same Temporal dev server (started by the harness: `temporal server
start-dev --headless` with a temporary home and free ports) and, for the store, the same
database. The worker is `worker.build_worker` running in-process with the fake bank and
civil-affairs registry and a one-second public notice; the baselines run on a second
worker in the same process. Machines here are shared, so single runs are noisy: compare
ratios, not absolute figures, and rerun before drawing conclusions.

The results section below is rewritten by each full run (`make bench`, or
`--output FILE`); the analysis after it is written by hand and dated.
"""


def _row(c: Comparison) -> list[str]:
    return [
        c.benchmark,
        c.backend,
        c.metric,
        fmt(c.casework, c.unit),
        f"{fmt(c.baseline, c.unit)} ({c.baseline_name})",
        _ratio(c.ratio),
        str(c.target) if c.target else "-",
        c.verdict,
    ]


def _ratio(ratio: float) -> str:
    if 0 < ratio < 0.1:  # e.g. an indexed query beside a full scan
        return f"{ratio:.3f}× (1/{1 / ratio:,.0f})"
    return f"{ratio:.2f}×"


HEADER = ["benchmark", "back-end", "figure", "casework", "baseline", "ratio", "target", "result"]


def table(sections: list[Section]) -> str:
    rows = [_row(c) for s in sections for c in s.comparisons]
    skipped = [f"{s.title}: skipped ({s.skipped})" for s in sections if s.skipped]
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in [HEADER]]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join([*lines, *skipped])


def markdown(
    sections: list[Section], machine: dict[str, Any], run: dict[str, Any], quick: bool
) -> str:
    out = [BEGIN, "", f"## Latest run: {run['date']}{' (quick)' if quick else ''}", ""]
    out += ["| machine | |", "| --- | --- |"]
    out += [f"| {k} | {v} |" for k, v in {**machine, **run}.items() if k != "date"]
    out += ["", "| " + " | ".join(HEADER) + " |", "|" + " --- |" * len(HEADER)]
    for s in sections:
        for c in s.comparisons:
            out.append("| " + " | ".join(_row(c)) + " |")
    for s in sections:
        out += ["", f"### {s.title}", ""]
        if s.skipped:
            out.append(f"Skipped: {s.skipped}.")
            continue
        out += [f"- {note}" for note in s.notes]
    out += ["", END, ""]
    return "\n".join(out)


def write(path: Path, results_md: str) -> None:
    """Replace the results section of `path`, creating the file with its intro if needed."""
    text = path.read_text(encoding="utf-8") if path.exists() else INTRO + "\n"
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n?", re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _m: results_md, text)
    else:
        text = text.rstrip("\n") + "\n\n" + results_md
    path.write_text(text, encoding="utf-8")
