"""Benchmarks of ssl-proxy against the transparent-mode reference (issue 6).

Not tests: nothing here asserts on timing.  Run with ``tox -e bench`` or
``python -m tests.benchmarks [--quick] [--json PATH]``; see docs/benchmarks.md.
"""
