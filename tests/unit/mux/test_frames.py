"""27.010 frames (``modem.core.mux.frames``): golden vectors, lengths, FCS, resynchronisation."""

from __future__ import annotations

import pytest

from modem.core.mux import Frame, FrameDecoder, FrameType, encode_frame, fcs
from tests.unit.mux.vectors import ALL, BG96, hexbytes

UIH = FrameType.UIH


@pytest.mark.parametrize("name", sorted(ALL))
def test_golden_frames_decode_and_encode_byte_for_byte(name: str) -> None:
    raw, frame = ALL[name]
    decoder = FrameDecoder()
    assert decoder.feed(raw) == [frame]
    assert encode_frame(frame) == raw
    assert decoder.counters.problems == 0


def test_the_fcs_of_annex_b() -> None:
    assert fcs(b"\x03\x3f\x01") == 0x1C  # Zephyr's SABM on DLC 0
    assert fcs(b"\x09\xef\x03") == 0x32  # a BG96's one-byte UIH on DLC 2


def test_a_one_byte_echo_per_frame_as_a_bg96_writes_it() -> None:
    stream = b"".join(BG96[k][0] for k in ("echo A on dlc 2", "echo T on dlc 2",
                                           "echo CR on dlc 2"))
    assert [f.info for f in FrameDecoder().feed(stream)] == [b"A", b"T", b"\r"]


@pytest.mark.parametrize("size", [0, 1, 127, 128, 300, 32767])
def test_one_and_two_octet_lengths(size: int) -> None:
    info = bytes(i % 251 for i in range(size))
    raw = encode_frame(Frame(3, UIH, cr=True, info=info))
    assert len(raw) == size + (6 if size < 128 else 7)
    assert FrameDecoder().feed(raw) == [Frame(3, UIH, cr=True, info=info)]


def test_info_full_of_flags_is_data_in_the_basic_option() -> None:
    frame = Frame(1, UIH, info=b"\xf9" * 10 + b"\xf9\x07\xef\x05AT0\xf9")
    assert FrameDecoder().feed(encode_frame(frame)) == [frame]


def test_ui_frames_check_their_information_too() -> None:
    frame = Frame(1, FrameType.UI, info=b"hello")
    raw = bytearray(encode_frame(frame))
    assert raw[-2] == fcs(raw[1:-2])
    raw[5] ^= 0x01
    decoder = FrameDecoder()
    assert decoder.feed(bytes(raw)) == []
    assert decoder.counters.bad_fcs == 1


def test_encode_refuses_what_a_frame_cannot_carry() -> None:
    with pytest.raises(ValueError, match="DLCI 64"):
        encode_frame(Frame(64, UIH))
    with pytest.raises(ValueError, match="32768 bytes"):
        encode_frame(Frame(1, UIH, info=bytes(32768)))


def test_flags_between_frames_and_a_shared_closing_flag() -> None:
    a = encode_frame(Frame(1, UIH, info=b"one"))
    b = encode_frame(Frame(2, UIH, info=b"two"))
    decoder = FrameDecoder()
    assert [f.info for f in decoder.feed(b"\xf9\xf9" + a + b"\xf9\xf9\xf9" + b)] == [b"one", b"two"]
    assert [f.info for f in decoder.feed(a[:-1] + b)] == [b"one", b"two"]  # one flag between
    assert decoder.counters.problems == 0


def test_garbage_between_frames_is_counted_and_skipped() -> None:
    a = encode_frame(Frame(1, UIH, info=b"one"))
    decoder = FrameDecoder()
    assert [f.info for f in decoder.feed(b"\r\nOK\r\n" + a + b"noise" + a)] == [b"one", b"one"]
    assert decoder.counters.garbage_bytes == 6 + 5


def test_a_bad_fcs_loses_that_frame_only() -> None:
    a = bytearray(encode_frame(Frame(1, UIH, info=b"one")))
    a[-2] ^= 0xFF
    b = encode_frame(Frame(1, UIH, info=b"two"))
    decoder = FrameDecoder()
    assert [f.info for f in decoder.feed(bytes(a) + b)] == [b"two"]
    assert decoder.counters.bad_fcs == 1


def test_a_wrong_length_resynchronises_at_the_next_flag() -> None:
    good = encode_frame(Frame(1, UIH, info=b"good"))
    lying = hexbytes("F9 07 EF 21") + b"ab"  # says 16 bytes, has 2, then a frame follows
    decoder = FrameDecoder()
    frames = decoder.feed(lying + good + good)
    assert [f.info for f in frames] == [b"good", b"good"]
    assert decoder.counters.bad_frames == 1


def test_a_length_over_the_bound_is_skipped_at_once() -> None:
    good = encode_frame(Frame(1, UIH, info=b"good"))
    decoder = FrameDecoder(max_info=127)
    assert decoder.feed(hexbytes("F9 07 EF 00 10") + good) == [Frame(1, UIH, info=b"good")]
    assert decoder.counters.too_long == 1
    assert decoder.buffered <= 1


@pytest.mark.parametrize("header", ["F9 06 EF 05", "F9 07 EE 05", "F9 07 00 05"])
def test_a_bad_address_or_control_octet_is_a_false_start(header: str) -> None:
    good = encode_frame(Frame(1, UIH, info=b"good"))
    decoder = FrameDecoder()
    assert decoder.feed(hexbytes(header) + good) == [Frame(1, UIH, info=b"good")]
    assert decoder.counters.bad_frames == 1


def test_the_buffer_stays_bounded_by_one_frame() -> None:
    decoder = FrameDecoder(max_info=127)
    decoder.feed(hexbytes("F9 07 EF FF") + bytes(100))  # 127 bytes announced, 100 here
    assert decoder.buffered == 104
    decoder.feed(bytes(10_000))
    assert decoder.buffered == 0
    assert decoder.counters.bad_frames == 1


def test_noise_after_a_frame_holds_the_next_one_until_the_line_is_quiet() -> None:
    a = encode_frame(Frame(1, UIH, info=b"one"))
    b = encode_frame(Frame(1, UIH, info=b"two"))
    decoder = FrameDecoder()
    # 01 EF after a's closing flag reads as a header; b's flag as a length of 124.
    assert [f.info for f in decoder.feed(a + b"\x01\xef" + b)] == [b"one"]
    assert [f.info for f in decoder.flush()] == [b"two"]
    assert decoder.buffered <= 1
    assert decoder.counters.bad_frames == 1
