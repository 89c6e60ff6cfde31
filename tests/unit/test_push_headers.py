"""One lost byte anywhere in a push header never hands a frame to another socket
(``modem.core.push_headers``, ``modem.core.frames``)."""

from __future__ import annotations

import pytest

from modem.core import events as ev
from modem.core.frames import FrameStyle
from modem.core.limits import CLIENT_IDS
from modem.core.protocol import AtConnection
from modem.core.push_headers import BUFFER_ONLY_IDS, garbled
from modem.sockets.client_ids import ClientIdPool

PUSH_IDS = [i for i in range(CLIENT_IDS) if i not in BUFFER_ONLY_IDS]


def one_byte_short(line: bytes) -> list[bytes]:
    return [line[:i] + line[i + 1:] for i in range(len(line))]


@pytest.mark.parametrize("style", list(FrameStyle))
@pytest.mark.parametrize("client_id", range(CLIENT_IDS))
@pytest.mark.parametrize("length", [1, 5, 32, 100, 1500])
def test_a_header_short_of_one_byte_never_delivers_to_another_socket(
        style: FrameStyle, client_id: int, length: int) -> None:
    payload = bytes(range(33, 33 + 60)) * 30
    payload = payload[:length]
    trailer = b"\r\n" if style is FrameStyle.TRAILER else b""
    header = b'+QSSLURC: "recv",%d,%d' % (client_id, length)
    follower = ev.SslPushData(9 if client_id != 9 else 8, b"abc")
    for short in one_byte_short(header):
        conn = AtConnection(push_style=style)
        events = conn.receive_data(b"\r\n" + short + b"\r\n" + payload + trailer
                                   + b'\r\n+QSSLURC: "recv",%d,3\r\nabc' % follower.client_id
                                   + trailer + b"\r\n+QIND: \"csq\",20,99\r\n")
        pushes = [e for e in events if isinstance(e, ev.SslPushData) and e != follower]
        others = [p for p in pushes if p.client_id != client_id]
        if client_id in BUFFER_ONLY_IDS:
            continue  # opened in buffer mode: no header of theirs is ever real
        assert not others, (short, others)
        for push in pushes:
            if push.client_id == client_id:
                assert push.data == payload, short  # the space lost: still the same
        # Its payload went to its socket whole, or the loss was seen.
        assert pushes or any(isinstance(e, ev.LineLost | ev.PushFrameBroken)
                             for e in events), short


def test_a_lost_comma_or_name_byte_is_seen_as_garbled() -> None:
    assert garbled('+QSSLURC: "recv",05', parsed=True)
    assert not garbled('+QSSLURC: "recv",0,5', parsed=True)
    assert garbled('+QSLURC: "recv",3,1500', parsed=False)
    assert garbled('QSSLURC: "recv",3,1500', parsed=False)
    assert not garbled('+QIND: "csq",20,99', parsed=False)
    assert not garbled('+QSSLURC: "closed",3', parsed=False)


def test_the_buffer_only_ids_are_handed_out_last() -> None:
    pool = ClientIdPool(last=BUFFER_ONLY_IDS)
    taken = [pool.acquire_nowait() for _ in range(CLIENT_IDS)]
    assert taken[-3:] == sorted(BUFFER_ONLY_IDS) and sorted(taken) == list(range(CLIENT_IDS))
    pool.release(11)
    pool.release(4)
    assert pool.acquire_nowait() == 4
    assert pool.acquire_nowait() == 11
