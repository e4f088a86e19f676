"""Benchmarks: each script measures a path and a floor in the same run and prints the ratio.

    python -m bench.catalog      # catalogue queries, memory, end-to-end browsing
    python -m bench.enrollment   # enrollment requests against single-row inserts

Bounded loops, loopback only, temporary files removed at the end. Results: docs/PERFORMANCE.md.
"""
