"""``MuxHost``: raw 27.010 frames over the emulator's pty, for exact-byte tests.

It frames with ``modem.core.mux`` (the driver's framer; the emulator has its
own, so each checks the other, and both meet other implementations' frames
in ``tests/unit/mux/vectors.py``).  Frames the module sends are sorted:
data into ``inbox[dlci]``, control messages into ``control``, the rest into
``others``.
"""

from __future__ import annotations

import trio

from modem.core.mux import (
    V24,
    ControlMessage,
    Frame,
    FrameDecoder,
    FrameType,
    MessageType,
    ModemStatus,
    decode_messages,
    encode_frame,
    encode_message,
)

from .conftest import HANG_GUARD, Host

FINALS = (b"\r\nOK\r\n", b"\r\nERROR\r\n", b"\r\nCONNECT\r\n", b"\r\nNO CARRIER\r\n",
          b"\r\nSEND OK\r\n", b"\r\nSEND FAIL\r\n")


class MuxHost:
    """The host's end of a multiplexed pty."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.decoder = FrameDecoder()
        self.inbox: dict[int, bytearray] = {}
        self.control: list[ControlMessage] = []
        self.others: list[Frame] = []
        self.data_frames: list[Frame] = []
        self.answer_status = True
        """Answer the module's MSC commands (False: play a host whose answers are lost)."""

    async def enter(self, command: str = "AT+CMUX=0,0,5,127", settle: float = 0.15) -> None:
        """``AT+CMUX`` on the pty (echo off), then the start: SABM on DLC 0 and its UA."""
        assert await self.host.command(command) == b"\r\nOK\r\n"
        await trio.sleep(settle)
        await self.send_frame(0, FrameType.SABM, pf=True)
        assert await self.next_other() == Frame(0, FrameType.UA, cr=True, pf=True)

    async def send_frame(self, dlci: int, kind: FrameType, info: bytes = b"",
                         pf: bool = False) -> None:
        await self.host.send(encode_frame(Frame(dlci, kind, cr=True, pf=pf, info=info)))

    async def send_message(self, kind: MessageType, value: bytes = b"") -> None:
        await self.send_frame(0, FrameType.UIH,
                              encode_message(ControlMessage(kind, True, value)))

    async def set_status(self, dlci: int, signals: V24) -> None:
        await self.send_message(MessageType.MSC, ModemStatus(dlci, signals).encode())

    async def open(self, dlci: int) -> Frame:
        """SABM on ``dlci``; the module's answer (UA, or DM)."""
        await self.send_frame(dlci, FrameType.SABM, pf=True)
        return await self.next_other()

    async def send(self, dlci: int, data: bytes) -> None:
        for i in range(0, len(data), 127):
            await self.send_frame(dlci, FrameType.UIH, data[i:i + 127])

    async def pump(self) -> None:
        """Read one chunk from the pty and sort the frames it completes (bytes
        the ``Host`` read ahead come first)."""
        if self.host.buf:
            chunk = bytes(self.host.buf)
            self.host.buf.clear()
        else:
            with trio.fail_after(HANG_GUARD):
                chunk = await self.host.stream.receive_some(65536)
        assert chunk, "pty closed"
        for frame in self.decoder.feed(chunk):
            if frame.kind is FrameType.UIH and frame.dlci:
                self.data_frames.append(frame)
                self.inbox.setdefault(frame.dlci, bytearray()).extend(frame.info)
            elif frame.kind is FrameType.UIH:
                messages, whole = decode_messages(frame.info)
                assert whole, frame
                self.control += messages
                for found in messages:  # a host answers the module's status, as 27.010 asks
                    if found.kind is MessageType.MSC and found.command and self.answer_status:
                        await self.send_frame(0, FrameType.UIH, encode_message(
                            ControlMessage(MessageType.MSC, False, found.value)))
            else:
                self.others.append(frame)

    async def next_other(self) -> Frame:
        while not self.others:
            await self.pump()
        return self.others.pop(0)

    async def message(self, kind: MessageType, command: bool) -> ControlMessage:
        """The next control message of ``kind`` (earlier others stay)."""
        while True:
            for i, found in enumerate(self.control):
                if found.kind is kind and found.command == command:
                    return self.control.pop(i)
            await self.pump()

    async def read_until(self, dlci: int, marker: bytes) -> bytes:
        box = self.inbox.setdefault(dlci, bytearray())
        while (end := box.find(marker)) < 0:
            await self.pump()
        end += len(marker)
        data = bytes(box[:end])
        del box[:end]
        return data

    async def command(self, dlci: int, text: str) -> bytes:
        """``text`` on ``dlci``; everything up to its final result."""
        await self.send(dlci, text.encode() + b"\r")
        box = self.inbox.setdefault(dlci, bytearray())
        while not (ends := [box.find(f) + len(f) for f in FINALS if f in box]):
            await self.pump()
        end = min(ends)
        data = bytes(box[:end])
        del box[:end]
        return data
