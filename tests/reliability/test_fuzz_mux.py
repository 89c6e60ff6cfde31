"""Fuzzing the sans-I/O multiplexer with hypothesis: random and mutated module frames.

The target (``tests/fuzz/mux_session.py``, shared with the atheris run of
``tox -e fuzz -- --target mux``) decodes bytes into a session of host
operations and module output (random bytes, well-formed frames cut
anywhere, mutated frames, golden frames of other implementations).
Contract: only ``MuxUsageError`` from the host side, nothing from
``receive_data``, bounded work and buffers, data only for opened DLCs and
unchanged when framed well, and a way back to a fresh start.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.mux_session import run_mux_session

FUZZ = settings(max_examples=3000, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(st.binary(max_size=3000))
def test_random_programs(data: bytes) -> None:
    run_mux_session(data)


def _op(code: int, *args: int) -> bytes:
    return bytes((code, *args))


START_AND_OPEN = _op(0, 0) + _op(9, 1, 0, 0) + _op(1, 0) + _op(9, 1, 1, 0)  # SABM, UA, SABM 1, UA 1
OPS = st.one_of(
    st.integers(0, 7).flatmap(lambda op: st.binary(min_size=3, max_size=6).map(
        lambda tail: _op(op) + tail)),                                              # host ops
    st.binary(max_size=200).map(lambda d: _op(8, (len(d) + 1) // 2) + d),            # raw bytes
    st.binary(min_size=6, max_size=80).map(lambda d: _op(9) + d),                    # module frame
    st.binary(min_size=6, max_size=80).map(lambda d: _op(10) + d),                   # frame, cut
    st.binary(min_size=8, max_size=40).map(lambda d: _op(11) + d),                   # mutated
    st.binary(min_size=6, max_size=12).map(lambda d: _op(12) + d),                   # golden
    st.binary(min_size=2, max_size=2).map(lambda d: _op(13) + d),                    # MSC
    st.binary(min_size=2, max_size=70).map(lambda d: _op(14) + d),                   # data round
    st.just(_op(15)),                                                                # recover
)


@FUZZ
@given(st.lists(OPS, max_size=40).map(b"".join))
def test_programs_on_an_open_multiplexer(program: bytes) -> None:
    run_mux_session(START_AND_OPEN + program)
