"""``MuxConnection``: the host's multiplexer state machine, driven with module frames."""

from __future__ import annotations

import pytest

from modem.core.mux import (
    V24,
    ControlMessage,
    DlcState,
    Frame,
    FrameDecoder,
    FrameType,
    MessageType,
    ModemStatus,
    MuxConnection,
    MuxState,
    Parameters,
    decode_messages,
    encode_frame,
    encode_message,
)
from modem.core.mux import events as ev
from modem.core.mux.errors import MuxUsageError
from modem.core.mux.frames import fcs_is_flag
from tests.unit.mux.vectors import ZEPHYR

SABM, UA, DM, DISC, UIH = (FrameType.SABM, FrameType.UA, FrameType.DM, FrameType.DISC,
                           FrameType.UIH)


def module_frame(dlci: int, kind: FrameType, info: bytes = b"", pf: bool = False) -> bytes:
    """A frame as the module (the responder) writes it."""
    response = kind in (UA, DM)
    return encode_frame(Frame(dlci, kind, cr=response, pf=pf, info=info))


def module_message(kind: MessageType, command: bool, value: bytes = b"") -> bytes:
    return module_frame(0, UIH, encode_message(ControlMessage(kind, command, value)))


def frames(data: bytes) -> list[Frame]:
    return FrameDecoder().feed(data)


def messages(data: bytes) -> list[ControlMessage]:
    out: list[ControlMessage] = []
    for frame in frames(data):
        assert frame.dlci == 0
        found, whole = decode_messages(frame.info)
        assert whole
        out += found
    return out


def started(*dlcis: int, n1: int = 127) -> MuxConnection:
    conn = MuxConnection(n1=n1)
    conn.start()
    assert conn.receive_data(module_frame(0, UA, pf=True)) == [ev.DlcOpened(0)]
    for dlci in dlcis:
        conn.open(dlci)
        assert conn.receive_data(module_frame(dlci, UA, pf=True)) == [ev.DlcOpened(dlci)]
    return conn


def test_start_and_open_send_the_frames_zephyr_sends() -> None:
    conn = MuxConnection()
    assert conn.start() == ZEPHYR["sabm dlc 0"][0]
    assert conn.state is MuxState.STARTING
    conn.receive_data(ZEPHYR["ua dlc 0"][0])
    assert conn.state is MuxState.OPEN
    assert conn.open(1) == ZEPHYR["sabm dlc 1"][0]
    assert conn.receive_data(ZEPHYR["ua dlc 1"][0]) == [ev.DlcOpened(1)]
    assert conn.close(1) == ZEPHYR["disc dlc 1"][0]
    assert conn.receive_data(ZEPHYR["ua dlc 1"][0]) == [ev.DlcClosed(1, ev.CloseReason.BY_HOST)]
    assert conn.close_down() == ZEPHYR["cld command"][0]
    assert conn.receive_data(ZEPHYR["cld response"][0]) == [ev.MuxClosed()]
    assert conn.state is MuxState.CLOSED


def test_data_is_cut_at_n1_and_comes_back_whole() -> None:
    conn = started(2, n1=31)
    sent = frames(conn.send(2, bytes(range(100))))
    assert [len(f.info) for f in sent] == [31, 31, 31, 7]
    assert all(f.kind is UIH and f.cr and f.dlci == 2 for f in sent)
    got = conn.receive_data(module_frame(2, UIH, b"hello") + module_frame(2, UIH, b" world"))
    assert got == [ev.DataReceived(2, b"hello"), ev.DataReceived(2, b" world")]


def test_no_frame_goes_out_whose_fcs_is_the_flag() -> None:
    """A 31-byte UIH frame on DLC 1 from the host has the FCS 0xF9: one lost
    byte and the module would take it shifted (``frames`` docstring)."""
    assert fcs_is_flag(1, True, 31)
    conn = started(1, n1=31)
    sent = frames(conn.send(1, bytes(range(100))))
    assert [len(f.info) for f in sent] == [30, 30, 30, 10]
    assert b"".join(f.info for f in sent) == bytes(range(100))


def test_a_frame_that_lost_a_byte_where_its_fcs_is_the_flag_is_dropped() -> None:
    """114 bytes on DLC 1 from the module: FCS 0xF9.  Losing one information
    byte leaves a frame that ends where its length says; it is dropped and
    counted, and the frames after it still come."""
    assert fcs_is_flag(1, False, 114)
    conn = started(1)
    damaged = module_frame(1, UIH, bytes(range(114)))
    damaged = damaged[:20] + damaged[21:]
    got = conn.receive_data(damaged + module_frame(1, UIH, b"next") + module_frame(1, UIH, b"!"))
    assert got == [ev.DataReceived(1, b"next"), ev.DataReceived(1, b"!")]
    assert conn.counters.bad_frames == 1


def test_a_refused_dlc_and_a_refused_multiplexer() -> None:
    conn = started()
    conn.open(5)
    assert conn.receive_data(module_frame(5, DM, pf=True)) == [
        ev.DlcClosed(5, ev.CloseReason.REFUSED)]
    assert conn.dlc_state(5) is DlcState.CLOSED
    fresh = MuxConnection()
    fresh.start()
    assert fresh.receive_data(module_frame(0, DM, pf=True)) == [
        ev.DlcClosed(0, ev.CloseReason.REFUSED)]
    assert fresh.state is MuxState.IDLE


def test_the_module_closing_a_dlc_is_answered_with_ua() -> None:
    conn = started(1, 2)
    assert conn.receive_data(module_frame(2, DISC, pf=True)) == [
        ev.DlcClosed(2, ev.CloseReason.BY_MODULE)]
    assert frames(conn.data_to_send()) == [Frame(2, UA, cr=False, pf=True)]
    assert conn.open_dlcs() == [1]


def test_the_modules_msc_is_answered_and_its_fc_bit_stops_one_dlc() -> None:
    conn = started(1, 2)
    value = ModemStatus(1, V24.FC | V24.RTC | V24.RTR).encode()
    got = conn.receive_data(module_message(MessageType.MSC, True, value))
    assert got == [ev.PeerStatus(1, V24.FC | V24.RTC | V24.RTR), ev.FlowControl(1, True)]
    assert conn.stopped(1) and not conn.stopped(2)
    assert messages(conn.data_to_send()) == [ControlMessage(MessageType.MSC, False, value)]
    clear = ModemStatus(1, V24.RTC | V24.RTR | V24.DV).encode()
    got = conn.receive_data(module_message(MessageType.MSC, True, clear))
    assert got == [ev.PeerStatus(1, V24.RTC | V24.RTR | V24.DV), ev.FlowControl(1, False)]
    assert conn.peer_signals(1) == V24.RTC | V24.RTR | V24.DV
    assert not conn.stopped(1)


def test_fcoff_and_fcon_stop_every_dlc() -> None:
    conn = started(1, 2)
    assert conn.receive_data(ZEPHYR["fcoff command"][0]) == [ev.FlowControl(None, True)]
    assert conn.stopped(1) and conn.stopped(2)
    assert messages(conn.data_to_send()) == [ControlMessage(MessageType.FCOFF, False)]
    assert conn.receive_data(ZEPHYR["fcon command"][0]) == [ev.FlowControl(None, False)]
    assert not conn.stopped(1)


def test_our_msc_sets_dtr_and_rts() -> None:
    conn = started(1)
    sent = messages(conn.send_status(1, V24.RTC | V24.RTR))
    assert sent == [ControlMessage(MessageType.MSC, True, bytes((0x07, 0x0D)))]
    answer = conn.receive_data(module_message(MessageType.MSC, False, bytes((0x07, 0x0D))))
    assert answer == [ev.StatusAnswered(1, V24.RTC | V24.RTR)]
    assert conn.receive_data(module_message(MessageType.MSC, False, b"\x07")) == []
    assert conn.counters.bad_messages == 1


def test_test_command_and_its_reply() -> None:
    conn = started()
    assert messages(conn.send_test(b"ping")) == [ControlMessage(MessageType.TEST, True, b"ping")]
    assert conn.receive_data(module_message(MessageType.TEST, False, b"ping")) == [
        ev.TestReply(b"ping")]
    conn.receive_data(module_message(MessageType.TEST, True, b"yours"))
    assert messages(conn.data_to_send()) == [ControlMessage(MessageType.TEST, False, b"yours")]


def test_the_modules_answer_to_pn_sets_n1() -> None:
    conn = started(n1=127)
    conn.negotiate(Parameters(1, n1=1500))
    agreed = Parameters(1, n1=64)
    assert conn.receive_data(module_message(MessageType.PN, False, agreed.encode())) == [
        ev.ParametersAgreed(agreed)]
    assert conn.n1(1) == 64
    conn.open(1)
    conn.receive_data(module_frame(1, UA, pf=True))
    assert [len(f.info) for f in frames(conn.send(1, bytes(100)))] == [64, 36]


def test_pn_not_offered_is_a_not_supported_event() -> None:
    conn = started()
    conn.negotiate(Parameters(1, n1=1500))
    got = conn.receive_data(module_message(MessageType.NSC, False, bytes((0x83,))))
    assert got == [ev.NotSupported(MessageType.PN)]
    assert conn.n1(1) == 127


def test_a_command_we_do_not_know_is_answered_nsc() -> None:
    conn = started()
    conn.receive_data(module_message(MessageType.RPN, True, b"\x07"))
    assert messages(conn.data_to_send()) == [
        ControlMessage(MessageType.NSC, False, bytes((0x93,)))]


def test_cld_from_the_module_closes_every_dlc() -> None:
    conn = started(1, 3)
    got = conn.receive_data(module_message(MessageType.CLD, True))
    assert got == [ev.DlcClosed(1, ev.CloseReason.MUX_CLOSED),
                   ev.DlcClosed(3, ev.CloseReason.MUX_CLOSED), ev.MuxClosed()]
    assert messages(conn.data_to_send()) == [ControlMessage(MessageType.CLD, False)]
    assert conn.state is MuxState.CLOSED


def test_frames_for_dlcs_that_are_not_open_are_counted() -> None:
    conn = started(1)
    assert conn.receive_data(module_frame(4, UIH, b"lost")) == []
    assert conn.receive_data(module_frame(0, UA)) == []
    assert conn.counters.unknown_dlc == 1
    assert conn.counters.unexpected == 1
    conn.receive_data(module_frame(9, SABM, pf=True))  # the module may not open DLCs
    assert frames(conn.data_to_send()) == [Frame(9, DM, cr=False, pf=True)]


def test_broken_control_messages_are_counted() -> None:
    conn = started(1)
    assert conn.receive_data(module_frame(0, UIH, b"\xe3\x09\x07")) == []  # length past the end
    assert conn.receive_data(module_message(MessageType.MSC, True, b"\x07")) == []  # no signals
    assert conn.counters.bad_messages == 2


def test_misuse_raises_before_anything_is_sent() -> None:
    conn = MuxConnection()
    with pytest.raises(MuxUsageError, match="idle"):
        conn.open(1)
    conn = started()
    with pytest.raises(MuxUsageError, match="DLC 1"):
        conn.send(1, b"x")
    with pytest.raises(MuxUsageError, match="DLCI 0"):
        conn.open(0)
    with pytest.raises(MuxUsageError, match="exceeds N1"):
        conn.send_test(bytes(200))
    with pytest.raises(ValueError, match="N1"):
        MuxConnection(n1=0)
