"""Fuzzing of the protocol layer: the shared target (``protocol_session``), atheris
(``python -m tests.fuzz``, ``tox -e fuzz``) and a replayer (``python -m tests.fuzz.replay``).
Nothing here is named ``test_*.py``; the hypothesis run is
``tests/reliability/test_fuzz_protocol.py``."""
