"""Soak harness: the proxy on the emulator under random, seeded faults.

Run it with ``tox -e soak -- --minutes N --seed S [--json PATH]`` or
``python -m tests.soak ...``; ``harness.run_soak`` is the API.  No file here
is named ``test_*.py``: pytest does not collect this folder (see
``norecursedirs``); ``tests/reliability/test_soak.py`` runs a short soak.
"""
