"""`python -m benchmarks`: run every benchmark, print the table, update BENCHMARKS.md."""

from benchmarks.cli import main

raise SystemExit(main())
