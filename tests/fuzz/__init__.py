"""Fuzzing of the protocol layers: the shared targets (``protocol_session`` for the AT
protocol, ``mux_session`` for the 07.10 multiplexer), atheris (``python -m tests.fuzz
[--target mux]``, ``tox -e fuzz``) and a replayer (``python -m tests.fuzz.replay``).
Nothing here is named ``test_*.py``; the hypothesis runs are
``tests/reliability/test_fuzz_protocol.py`` and ``test_fuzz_mux.py``."""
