"""Fuzzing the protocol layer with hypothesis: random and mutated module output.

The target (``tests/fuzz/protocol_session.py``, shared with the atheris run
of ``tox -e fuzz``) decodes bytes into a session: host commands from the
golden transcripts, module output that is random, cut from a transcript,
mutated, or built from framing tokens; every information line and error
goes through the typed parsers.  Contract: only ``AtProtocolError`` from
the host side, nothing from ``receive_data``, only ``ValueError`` from the
parsers, bounded buffers, bounded work, and a way back to a known state.
"""

from __future__ import annotations

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modem.core.errors import CmeError, error_for_text
from tests.fuzz.protocol_session import COMMANDS, TOKENS, TRANSCRIPT_BYTES, run_session

FUZZ = settings(max_examples=4000, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def u16(n: int) -> bytes:
    return struct.pack(">H", n)


TRANSCRIPT = st.integers(0, len(TRANSCRIPT_BYTES) - 1)
MUTATION = st.tuples(st.integers(0, 4), st.integers(0, 0xFFFF), st.integers(0, 255),
                     st.binary(min_size=8, max_size=8)).map(
    lambda m: bytes([m[0]]) + u16(m[1]) + bytes([m[2]]) + m[3])
OPS = st.one_of(
    st.integers(0, len(COMMANDS) - 1).map(lambda i: bytes([0, i])),            # send
    st.binary(max_size=64).map(lambda p: bytes([1, 0]) + u16(len(p)) + p),     # payload
    st.just(bytes([1, 1, 0])),                                                 # a golden payload
    st.just(bytes([2])),                                                       # abort
    st.just(bytes([3])),                                                       # +++
    st.binary(max_size=300).map(lambda d: bytes([4]) + u16(len(d)) + d),       # raw bytes
    st.tuples(TRANSCRIPT, st.integers(0, 0xFFFF), st.integers(0, 0xFFFF),
              st.integers(0, 3)).map(                                          # a cut
        lambda t: bytes([5, t[0]]) + u16(t[1]) + u16(t[2]) + bytes([t[3]])),
    st.tuples(TRANSCRIPT, st.lists(MUTATION, min_size=1, max_size=4)).map(    # mutated
        lambda t: bytes([6, t[0], len(t[1]) - 1]) + b"".join(t[1])),
    st.lists(st.integers(0, len(TOKENS) - 1), max_size=15).map(               # tokens
        lambda ks: bytes([7, len(ks)]) + bytes(ks)),
    st.just(bytes([8])),                                                       # recover
)


@FUZZ
@given(st.binary(max_size=4000))
def test_random_programs(data: bytes) -> None:
    run_session(data)


@FUZZ
@given(st.lists(OPS, max_size=40).map(b"".join))
def test_programs_over_golden_transcripts(program: bytes) -> None:
    run_session(program)


def test_every_golden_transcript_whole_and_cut_everywhere() -> None:
    for i, data in enumerate(TRANSCRIPT_BYTES):
        run_session(bytes([5, i, 0, 0, 0, 0, 0, 8]))
        for cut in range(len(data) + 1):
            run_session(bytes([5, i]) + u16(0) + u16(cut) + bytes([1, 5, i]) + u16(cut)
                        + u16(len(data)) + bytes([1]))


def test_cme_error_text_with_a_superscript_digit_is_a_cme_error() -> None:
    """Found by this fuzzing: ``+CME ERROR: ²`` (a noisy line) must not raise ValueError."""
    exc = error_for_text("²", "AT+QSSLSEND=1,10")
    assert isinstance(exc, CmeError)
