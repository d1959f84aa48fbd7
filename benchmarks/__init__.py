"""Side-by-side benchmarks: casework beside bare Temporal / bare SQL baselines measured
in the same process, the same run and on the same Temporal dev server.

Run with `make bench` (`python -m benchmarks`); importing this package does nothing.
"""
