"""Hypothesis properties of the sans-I/O multiplexer (``modem.core.mux``).

(a) any split of the module's bytes gives the same events as one feed;
(b) random payloads survive framing both ways, whatever N1;
(c) garbage never raises, is counted, and the frames after it are found;
(d) one information byte lost on the line never yields a frame with shifted
    bytes, and no frame the host sends could be taken so.
"""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from modem.core.mux import Frame, FrameDecoder, FrameType, MuxConnection, encode_frame
from modem.core.mux import events as ev
from modem.core.mux.frames import fcs_is_flag

FAST = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
UIH, UA = FrameType.UIH, FrameType.UA
LIMIT = 127


def open_connection(*dlcis: int, n1: int = LIMIT) -> MuxConnection:
    conn = MuxConnection(n1=n1)
    conn.start()
    conn.receive_data(encode_frame(Frame(0, UA, cr=True, pf=True)))
    for dlci in dlcis:
        conn.open(dlci)
        conn.receive_data(encode_frame(Frame(dlci, UA, cr=True, pf=True)))
    return conn


def _taken_for_a_loss(frame: tuple[int, bytes]) -> bool:
    """A frame the decoder drops although it is whole: FCS 0xF9, last byte 0xF9."""
    dlci, info = frame
    return fcs_is_flag(dlci, False, len(info)) and info[-1] == 0xF9


module_frames = st.lists(
    st.tuples(st.integers(1, 3), st.binary(min_size=1, max_size=LIMIT)).filter(
        lambda f: not _taken_for_a_loss(f)), min_size=1, max_size=8)

FLAG_FCS_SIZES = [(d, n) for d in (1, 2, 3) for n in range(1, LIMIT + 1)
                  if fcs_is_flag(d, False, n)]
"""The sizes whose UIH frames from the module have the FCS 0xF9 (two below N1 127)."""
flag_fcs_frames = st.sampled_from(FLAG_FCS_SIZES).flatmap(
    lambda size: st.tuples(st.just(size[0]), st.binary(min_size=size[1], max_size=size[1])))


def split(data: bytes, points: list[int]) -> list[bytes]:
    bounds = sorted({0, len(data), *(p % (len(data) + 1) for p in points)})
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


@FAST
@given(module_frames, st.lists(st.integers(0, 10_000), max_size=30))
def test_any_split_gives_the_same_events(items: list[tuple[int, bytes]], cuts: list[int]) -> None:
    data = b"".join(encode_frame(Frame(d, UIH, info=p)) for d, p in items)
    whole = open_connection(1, 2, 3).receive_data(data)
    conn = open_connection(1, 2, 3)
    pieces = [e for piece in split(data, cuts) for e in conn.receive_data(piece)]
    assert pieces == whole == [ev.DataReceived(d, p) for d, p in items]


@FAST
@given(st.binary(max_size=5000), st.integers(1, 1600), st.integers(1, 4))
def test_a_payload_survives_the_hosts_framing(payload: bytes, n1: int, dlci: int) -> None:
    conn = open_connection(dlci, n1=n1)
    frames = FrameDecoder(max_info=n1).feed(conn.send(dlci, payload))
    assert all(f.dlci == dlci and f.kind is UIH and len(f.info) <= n1 for f in frames)
    assert not any(fcs_is_flag(f.dlci, f.cr, len(f.info)) for f in frames)
    assert b"".join(f.info for f in frames) == payload


@FAST
@given(st.lists(st.one_of(flag_fcs_frames, module_frames.map(lambda fs: fs[0])),
                min_size=1, max_size=6), st.integers(0, 10_000), st.integers(0, 10_000))
def test_a_lost_information_byte_never_yields_shifted_bytes(
        items: list[tuple[int, bytes]], which: int, where: int) -> None:
    # The damaged frame (and the one whose opening flag it swallows) may be
    # lost; every frame found is one that was sent, whole and in order.
    frames = [encode_frame(Frame(d, UIH, info=p)) for d, p in items]
    hit = which % len(frames)
    damaged = frames[hit]
    header = 5 if len(items[hit][1]) >= 0x80 else 4
    at = header + where % len(items[hit][1])
    frames[hit] = damaged[:at] + damaged[at + 1:]
    found = [(f.dlci, f.info) for f in FrameDecoder().feed(b"".join(frames) + b"\xf9")]
    rest = iter(items)
    assert all(any(got == sent for sent in rest) for got in found), (found, items)


flagless = st.binary(max_size=400).map(lambda b: b.replace(b"\xf9", b""))


@FAST
@given(flagless, module_frames)
@example(b"\x01s\x13\x00", [(1, b"\x00\x00\x00\x00")])  # found by hypothesis
@example(b"\x01s\x01\x00", [(1, b"\x00")])
def test_garbage_without_flags_is_counted_and_never_hides_a_loss(
        garbage: bytes, items: list[tuple[int, bytes]]) -> None:
    # Noise right after a frame may pass for the start of another (the last
    # closing flag may open the next frame); the quiet line settles it.  When
    # its length ends on a later flag (here the next frame's closing one), the
    # bytes it spans are one bad frame: the real frame inside is lost, and
    # counted as a drop (the connection's on_frames_lost hears of it), never
    # read out of a frame that failed its FCS, where data could forge one.
    conn = open_connection(1, 2, 3)
    data = garbage + b"".join(encode_frame(Frame(d, UIH, info=p)) for d, p in items)
    got = conn.receive_data(data) + conn.resync()
    sent = [ev.DataReceived(d, p) for d, p in items]
    counters = conn.counters
    dropped = counters.bad_fcs + counters.bad_frames + counters.too_long
    # Every garbage byte is counted, as garbage or inside a bad frame.
    assert counters.garbage_bytes == len(garbage) or dropped
    if got != sent:
        assert got == sent[len(sent) - len(got):]  # what is found comes whole, in order
        assert dropped


@FAST
@given(st.binary(max_size=2000), module_frames)
def test_any_garbage_resynchronises(garbage: bytes, items: list[tuple[int, bytes]]) -> None:
    # Any false start is settled within one frame's worth of bytes: after
    # that many flagless bytes, the frames that follow are all found.
    conn = open_connection(1, 2, 3)
    conn.receive_data(garbage)
    assert conn._decoder.buffered <= LIMIT + 7
    conn.receive_data(bytes(LIMIT + 8))
    data = b"".join(encode_frame(Frame(d, UIH, info=p)) for d, p in items)
    assert [e for e in conn.receive_data(data) if isinstance(e, ev.DataReceived)] == [
        ev.DataReceived(d, p) for d, p in items]
